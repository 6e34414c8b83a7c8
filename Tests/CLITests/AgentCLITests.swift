#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCCore
import PHCTestSupport
import Testing

@Suite("phc-agent command line")
struct AgentCLITests {
    let agent = Command.built("phc-agent")

    func agentRun(_ arguments: String...) async throws -> Command.Output {
        try await Command.run(agent, arguments)
    }

    @Test("keygen prints exactly one ed25519 line, writes 0600 and refuses to overwrite")
    func keygen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = directory.file("keys/agent.key")
        let first = try await agentRun("keygen", "--key", key)
        #expect(first.status == 0)
        let lines = first.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "exactly one line: \(first.stdout)")
        #expect(first.stdout.range(of: #"^ed25519:[A-Za-z0-9+/]{43}=\n$"#, options: .regularExpression) != nil)
        #expect(first.stderr.isEmpty)
        #expect(try FileStatus(path: key).permissions == 0o600)
        let before = try Repository.read(key)

        let second = try await agentRun("keygen", "--key", key)
        #expect(second.status == 1)
        #expect(second.stdout.isEmpty)
        #expect(second.stderr == "phc-agent: error: key file \(key) already exists; refusing to overwrite it\n")
        #expect(try Repository.read(key) == before)

        let pub = try await agentRun("pubkey", "--key", key)
        #expect(pub.stdout == first.stdout)
    }

    @Test("config validate: problems with file:line:column, exit 1; a good file, exit 0")
    func configValidate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bad = try directory.write("bad.yaml", "device: x\ndeadline: soon\nchecks:\n  mount:\n    - path: /\n")
        let result = try await agentRun("config", "validate", "--config", bad)
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "\(bad):2:11: deadline: 'soon' is not a duration (write 500ms, 30s, 5m, 4h or 30d)",
                "\(bad):4:3: checks.mount: unknown key 'mount' (did you mean 'mounts'?)",
            ])
        // validate checks what run checks: without a usable key, run would refuse, so validate does.
        let good = try directory.write(
            "good.yaml", "device: x\nkey_file: agent.key\nstate_dir: state\ndevices_dir: devices\n")
        let noKey = try await agentRun("config", "validate", "--config", good)
        #expect(noKey.status == 1)
        #expect(
            noKey.stderr.contains("key_file: key file \(directory.file("agent.key")) does not exist (create it with"))
        #expect(try await agentRun("keygen", "--key", directory.file("agent.key")).status == 0)
        let ok = try await agentRun("config", "validate", "--config", good)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("\(good): OK (device x, 1 checks)"))
        chmod(directory.file("agent.key"), 0o644)
        let open = try await agentRun("config", "validate", "--config", good)
        #expect(open.status == 1 && open.stderr.contains("readable by others (mode 0644)"), "\(open.stderr)")
        let run = try await agentRun("run", "--config", good)
        #expect(run.status == 1 && run.stderr.contains("readable by others (mode 0644)"), "run refuses it too")
        // Every interval validate accepts gives manifests the agent's own verify accepts.
        let huge = try directory.write("huge.yaml", "device: x\nkey_file: agent.key\ninterval: 300000000000s\n")
        let refused = try await agentRun("config", "validate", "--config", huge)
        #expect(refused.status == 1 && refused.stderr.contains("interval: 300000000000s is too long (at most 7d)"))
    }

    @Test("--version that cannot be written (stdout on a full device) exits 1, both binaries")
    func versionUnwritten() throws {
        for binary in [agent, Command.built("phc-collector")] {
            let shell = try Command.runBlocking("/bin/sh", ["-c", "exec \"$0\" --version > /dev/full", binary])
            #expect(shell.status == 1, "\(binary): \(shell.stderr)")
            #expect(try Command.runBlocking(binary, ["--version"]).status == 0)
        }
    }

    @Test("run without a key: one line naming the key file and the fix, exit 1, no stack trace")
    func runWithoutKey() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try directory.write(
            "agent.yaml", "device: x\nkey_file: missing.key\nstate_dir: state\ndevices_dir: devices\n")
        let result = try await agentRun("run", "--config", config)
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "phc-agent: error: key file \(directory.file("missing.key")) does not exist (create it with: phc-agent keygen --key \(directory.file("missing.key")))\n"
        )
    }

    @Test(
        "check exits as a Nagios plugin: 0 ok, 2 crit, 3 unknown",
        .enabled(if: Mounts.canMount, "needs root to mount tmpfs"))
    func checkExitCodes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Mounts.tmpfs(at: directory.file("share"))
        let lax = "  system: {load_per_cpu: {warn: 1000}, memory_available: {warn: 0%}, root_free: {warn: 0%}}\n"
        func config(_ name: String, _ checks: String) throws -> String {
            try directory.write(
                name, "device: x\nstate_dir: state\ndevices_dir: devices\nkey_file: k\nchecks:\n\(lax)\(checks)")
        }
        let ok = try await agentRun(
            "check", "--config", try config("ok.yaml", "  mounts: [{path: \(directory.file("share"))}]\n"))
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(ok.stdout.contains("OK      mount:\(directory.file("share"))"))
        let crit = try config("crit.yaml", "  mounts: [{path: \(directory.file("share")), fstype: cifs}]\n")
        #expect(try await agentRun("check", "--config", crit).status == 2)
        let unknown = try config("unknown.yaml", "  systemd: {units: [a.service], systemctl: phc-no-such-systemctl}\n")
        let result = try await agentRun("check", "--config", unknown, "--json")
        #expect(result.status == 3)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(json?["status"] as? String == "unknown")
        #expect(try await agentRun("check", "--config", unknown, "system").status == 0)
        #expect(try await agentRun("check", "--config", unknown, "nothing-like-this").status == 3)
    }

    @Test(
        "verify accepts a good manifest and a backlog, and rejects a tampered one",
        .enabled(if: Mounts.canMount, "needs root to mount tmpfs"))
    func verify() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = directory.file("agent.key")
        let line = try await agentRun("keygen", "--key", key).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let devices = directory.file("devices")
        try Mounts.tmpfs(at: devices)
        let config = try directory.write(
            "agent.yaml",
            "device: v\nstate_dir: state\ndevices_dir: devices\nkey_file: agent.key\ndeadline: 5s\ninterval: 60s\n")
        #expect(try await agentRun("run", "--config", config).stdout.hasPrefix("published sequence 1 "))
        try Mounts.remount(devices, readOnly: true)
        #expect(try await agentRun("run", "--config", config).stdout.hasPrefix("spooled sequence 2 "))
        try Mounts.remount(devices, readOnly: false)
        let delivered = try await agentRun("run", "--config", config)
        #expect(delivered.stdout.contains("delivered backlog backlog-2-2.jsonl.gz"), "\(delivered.stdout)")

        let manifest = "\(devices)/v/_health/manifest.json"
        let good = try await agentRun("verify", manifest, "--key-line", line)
        #expect(good.status == 0)
        #expect(good.stdout.hasPrefix("OK \(manifest): v sequence 3, "))
        #expect(good.stdout.contains("\"schema\" : \"phc.manifest/v1\""))
        let backlog = try await agentRun("verify", "\(devices)/v/_health/backlog-2-2.jsonl.gz", "--key", key)
        #expect(backlog.status == 0 && backlog.stdout.contains("v sequence 2"))

        var envelope = try JSONSerialization.jsonObject(with: Repository.read(manifest)) as! [String: Any]
        let payload = Data(base64Encoded: envelope["payload"] as! String)!
        envelope["payload"] = Data(
            String(decoding: payload, as: UTF8.self)
                .replacingOccurrences(of: "\"sequence\":3", with: "\"sequence\":99").utf8
        ).base64EncodedString()
        let tampered = directory.file("tampered.json")
        try JSONSerialization.data(withJSONObject: envelope).write(to: URL(fileURLWithPath: tampered))
        let rejected = try await agentRun("verify", tampered, "--key-line", line)
        #expect(rejected.status == 1)
        #expect(
            rejected.stdout == "FAILED \(tampered): signature does not verify (payload altered or signature forged)\n")
        let stranger = try await agentRun("keygen", "--key", directory.file("other.key")).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let unknown = try await agentRun("verify", manifest, "--key-line", stranger)
        #expect(unknown.status == 1 && unknown.stdout.contains("signed by an unknown key"))
        let random = directory.file("random.json")
        try Data((0..<3_000_000).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: random))
        let garbage = try await agentRun("verify", random, "--key-line", line)
        #expect(garbage.status == 1)
        #expect(
            garbage.stdout
                == "FAILED \(random): malformed envelope: not a DSSE envelope (expected JSON with payloadType, payload, signatures)\n"
        )
    }

    @Test("the first README command's config (agent-config/default.yaml) runs and says where the manifest went")
    func defaultConfiguration() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configFolder = try directory.folder("agent-config")
        try FileManager.default.copyItem(
            atPath: "\(Repository.root)/agent-config/default.yaml", toPath: configFolder + "/default.yaml")
        try FileManager.default.createDirectory(
            atPath: directory.file(".phc-demo/devices"), withIntermediateDirectories: true)
        _ = try await agentRun("keygen", "--key", directory.file(".phc-demo/agent.key"))
        let result = try await agentRun("run", "--config", configFolder + "/default.yaml")
        #expect(result.status == 0, "\(result.stderr)")
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first!.lowercased()
        let expected = "\(directory.file(".phc-demo/devices"))/\(host)/_health/manifest.json"
        #expect(result.stdout.hasPrefix("published sequence 1 "))
        #expect(result.stdout.hasSuffix(" to \(expected)\n"), "\(result.stdout)")
        #expect(FileManager.default.fileExists(atPath: expected))
    }

    @Test(
        "every command explains itself with --help",
        arguments: [
            ["--help"], ["run", "--help"], ["check", "--help"], ["keygen", "--help"], ["verify", "--help"],
            ["config", "validate", "--help"], ["pubkey", "--help"],
        ])
    func help(arguments: [String]) async throws {
        let result = try await Command.run(agent, arguments)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: phc-agent"))
        #expect(result.stdout.count > 200)
    }
}
