#if canImport(Glibc)
    import Glibc
#endif
import ArgumentParser
import PHCCore
import PHCTestSupport
import Testing

@testable import phc_agent
@testable import phc_collector

@Suite("run without the argument parser, in both commands")
struct PlainCommandLineTests {
    @Test(
        "the plain forms of phc-agent run are recognised",
        arguments: [
            (["run"], nil, false, false),
            (["run", "--config", "a.yaml"], "a.yaml", false, false),
            (["run", "-c", "a.yaml", "--dry-run"], "a.yaml", true, false),
            (["run", "--config=/x/a.yaml", "-v"], "/x/a.yaml", false, true),
            (["run", "--verbose", "--dry-run", "-c", "b"], "b", true, true),
        ])
    func agentRecognised(arguments: [String], config: String?, dryRun: Bool, verbose: Bool) throws {
        let parsed = try #require(PlainCommandLine.agentRun(arguments))
        #expect(parsed.options["config"] == config)
        #expect(parsed.flags.contains("dry-run") == dryRun && parsed.flags.contains("verbose") == verbose)
    }

    @Test(
        "anything else goes to phc-agent's argument parser",
        arguments: [
            ["check"], [], ["run", "--help"], ["run", "-h"], ["run", "-c"], ["run", "--config", "-v"],
            ["run", "-c", "a", "-c", "b"], ["run", "--dry-run", "--dry-run"], ["run", "extra"], ["run", "--config="],
            ["run", "-vc", "a"], ["run", "-c=a"], ["run", "--config", ""], ["run", "--every", "1m"],
        ])
    func agentFallsBack(arguments: [String]) {
        #expect(PlainCommandLine.agentRun(arguments) == nil)
    }

    @Test("phc-collector run with its config, --verbose and a valid --every is recognised; the rest is not")
    func collector() throws {
        let parsed = try #require(PlainCommandLine.collectorRun(["run", "-c", "c.yaml", "--every", "30s", "-v"]))
        #expect(parsed.options == ["config": "c.yaml", "every": "30s"] && parsed.flags == ["verbose"])
        #expect(PlainCommandLine.collectorRun(["run"]) == PlainCommandLine(["run"], subcommand: "run"))
        #expect(PlainCommandLine.collectorRun(["run", "--every=5m"])?.options == ["every": "5m"])
        // The argument parser says what is wrong with these, as it always did.
        for arguments in [["run", "--every", "soon"], ["run", "--dry-run"], ["report"], ["run", "--every"]] {
            #expect(PlainCommandLine.collectorRun(arguments) == nil, "\(arguments)")
        }
    }

    @Test("only a lone --version is answered without the argument parser, and with what the parser would print")
    func version() {
        #expect(asksVersion(["--version"]))
        for arguments in [[], ["--version", "run"], ["run", "--version"], ["-v"], ["--version="], ["version"], [""]] {
            #expect(!asksVersion(arguments), "\(arguments)")
        }
        #expect(PHCAgentCommand.configuration.version == PHCVersion.summary)
        #expect(PHCCollectorCommand.configuration.version == PHCVersion.summary)
    }

    /// ``PlainCommandLine/asksVersion(_:)`` over `arguments` as C strings, as a binary gets them.
    private func asksVersion(_ arguments: [String]) -> Bool {
        let strings = arguments.map { strdup($0) }
        defer { for string in strings { free(string) } }
        return strings.withUnsafeBufferPointer { PlainCommandLine.asksVersion($0) }
    }

    @Test("both binaries answer --version with the summary line alone")
    func versionAnswered() async throws {
        for binary in ["phc-agent", "phc-collector"] {
            let result = try await Command.run(Command.built(binary), ["--version"])
            #expect(
                result.status == 0 && result.stdout == PHCVersion.summary + "\n" && result.stderr.isEmpty, "\(binary)")
        }
    }
}
