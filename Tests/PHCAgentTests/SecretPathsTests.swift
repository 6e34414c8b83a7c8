import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

/// Secrets on the error paths: a config mistake, a token in a URL, a server echoing the token.
@Suite("Secrets on error paths")
struct SecretPathsTests {
    let canary = "phc-canary-\(UInt64.random(in: 1...UInt64.max))"

    func context() -> CheckContext {
        CheckContext(
            device: "armitage", now: WallClock.system.now(), stateDir: "/nonexistent",
            probe: FilesystemProbe(stateDirectory: "/nonexistent"),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    @Test("an env file named as the secrets map, or as the configuration, is refused without a word of it")
    func envFileAsYAML() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let header = "# Managed by Ansible from Azure Key Vault\n# Do not edit\n"
        // Shapes YAML would read as a value, a mapping key, or a multi-line scalar.
        let env = try sandbox.directory.write(
            "litellm.env", header + "LITELLM_MASTER_KEY=\(canary)\nOTHER: \(canary)-x\nexport THIRD=\(canary)\n",
            mode: 0o600)
        let configPath = sandbox.directory.file("agent.yaml")
        _ = try sandbox.configuration(checks: "  secrets:\n    map: \(env)\n")
        let agent = Command.built("phc-agent")
        let run = try await Command.run(agent, ["run", "--config", configPath, "--verbose"])
        #expect(run.status == 0, "\(run.stderr)")
        let check = try await Command.run(agent, ["check", "--config", configPath, "--json"])
        let validateEnv = try await Command.run(agent, ["config", "validate", "--config", env])
        #expect(validateEnv.status == 1)
        #expect(
            validateEnv.stderr
                == "\(env):3:1: this is an env file (KEY=value lines), not YAML; its contents are not shown\n")
        let mapResult = try #require(try sandbox.published().check("secrets:\(env)"))
        #expect(mapResult.status == .unknown)
        #expect(mapResult.summary.contains("this is an env file"), "\(mapResult.summary)")
        let places = [
            ("run", run.stdout + run.stderr), ("check", check.stdout + check.stderr),
            ("validate", validateEnv.stdout + validateEnv.stderr),
            ("manifest", String(decoding: try Repository.read(sandbox.manifestPath), as: UTF8.self)),
            ("state", String(decoding: try Repository.read(sandbox.stateDir + "/state.json"), as: UTF8.self)),
        ]
        for (place, text) in places {
            #expect(!text.contains(canary) && !text.contains(String(canary.suffix(10))), "leaked into \(place)")
        }
    }

    @Test("a YAML file that is not configuration is never quoted either")
    func notConfiguration() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A PEM key or a bare token read as YAML is one plain value.
        let path = try directory.write("key.pem", "-----BEGIN PRIVATE KEY-----\n\(canary)\n-----END PRIVATE KEY-----\n")
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.load(path: path) }
        #expect(error?.description.contains("found a single value") == true, "\(String(describing: error))")
        #expect(error?.description.contains(canary) == false)
    }

    @Test("a token in the URL's query never reaches a summary")
    func queryToken() async throws {
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "") }
        let url = server.baseURL + "/health?token=\(canary)&x=1#\(canary)-fragment"
        server.stop()
        let refused = await HTTPCheck(HTTPCheckConfiguration(name: "q", url: url)).run(in: context()).results[0]
        #expect(refused.status == .crit)
        #expect(refused.summary.contains("\(server.baseURL)/health"), "\(refused.summary)")
        #expect(!refused.summary.contains(canary) && !refused.summary.contains("?"), "\(refused.summary)")
        #expect(URLText.redacted("https://u:p@h/x?token=a#b") == "https://h/x")
    }

    @Test("a server echoing the bearer token into a redirect cannot make it reach a message")
    func echoedToken() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let env = try directory.write("t.env", "TOKEN=\(canary)\n", mode: 0o600)
        let server = try LoopbackHTTPServer { request in
            let token = (request.headers["authorization"] ?? "").replacing("Bearer ", with: "")
            return .redirect(to: "http://\(token).invalid/\(token)")
        }
        defer { server.stop() }
        var configuration = HTTPCheckConfiguration(name: "echo", url: server.baseURL + "/health")
        configuration.token = TokenSource(file: env, key: "TOKEN")
        configuration.followRedirects = true
        // Generous: the check's clock runs while its task waits for a thread of a busy test run.
        configuration.timeout = .seconds(120)
        let result = await HTTPCheck(configuration).run(in: context()).results[0]
        #expect(server.requests.first?.headers["authorization"] == "Bearer \(canary)", "the token was sent")
        #expect(result.status == .crit)
        #expect(result.summary.contains("[redacted]"), "\(result.summary)")
        let text = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        #expect(!text.contains(canary) && !text.contains(String(canary.suffix(10))), "\(result.summary)")
    }

    @Test("a state file holding the largest sequence stops the run with one line, and signs nothing")
    func exhaustedSequence() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        _ = try sandbox.configuration()
        try FileManager.default.createDirectory(atPath: sandbox.stateDir, withIntermediateDirectories: true)
        try Data(#"{"sequence":9223372036854775807,"memory":{}}"#.utf8).write(
            to: URL(fileURLWithPath: sandbox.stateDir + "/state.json"))
        let result = try await Command.run(
            Command.built("phc-agent"), ["run", "--config", sandbox.directory.file("agent.yaml")])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("holds sequence 9223372036854775807"), "\(result.stderr)")
        #expect(result.stderr.contains("phc-collector trust reset testhost"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.manifestPath))
        let dry = try await Command.run(
            Command.built("phc-agent"), ["run", "--dry-run", "--config", sandbox.directory.file("agent.yaml")])
        #expect(dry.status == 0, "a dry run still shows what would be signed: \(dry.stderr)")
    }
}
