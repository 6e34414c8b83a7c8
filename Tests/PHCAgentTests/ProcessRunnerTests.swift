#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("Running commands under a timeout")
struct ProcessRunnerTests {
    let runner = ProcessRunner()

    @Test("output and a non-zero exit status are a result, not an error")
    func output() async throws {
        let result = try await runner.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], timeout: .seconds(5))
        #expect(result.exitStatus == 3)
        #expect(result.standardOutput == "out\n")
        #expect(result.firstErrorLine == "err")
    }

    @Test("the child runs with LC_ALL=C and an empty signal mask")
    func environment() async throws {
        let result = try await runner.run(
            "/bin/sh", ["-c", "echo $LC_ALL; grep SigBlk /proc/self/status"], timeout: .seconds(5))
        #expect(result.standardOutput.hasPrefix("C\nSigBlk:\t0000000000000000"))
    }

    @Test("a command past its timeout is killed with its whole process group")
    func timeout() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = directory.file("grandchild.pid")
        let start = Date()
        await #expect(throws: CommandError.timedOut(command: "/bin/sh", timeout: .milliseconds(300))) {
            try await runner.run(
                "/bin/sh", ["-c", "sleep 120 & echo $! > \(pidFile); wait"], timeout: .milliseconds(300))
        }
        #expect(Date().timeIntervalSince(start) < 60, "the 120 s sleep was waited for")
        let pid = try #require(
            Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await Task.sleep(for: .milliseconds(100))
        #expect(kill(pid, 0) != 0 || Command.pids(named: "sleep").contains(pid) == false, "grandchild \(pid) survived")
    }

    @Test("a daemonised grandchild holding the output pipe does not keep us waiting")
    func daemonisedGrandchild() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pidFile = directory.file("daemon.pid")
        // Waiting for the daemon's end would run into the 10 s timeout and throw.
        let result = try await runner.run(
            "/bin/sh", ["-c", "(sleep 120 & echo $! > \(pidFile)); echo done"], timeout: .seconds(10))
        #expect(result.standardOutput == "done\n")
        if let pid = Int32(
            (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                ?? "")
        {
            kill(pid, SIGKILL)
        }
    }

    @Test("missing commands and floods are errors naming the command")
    func errors() async throws {
        await #expect(throws: CommandError.notFound(command: "phc-no-such-command")) {
            try await runner.run("phc-no-such-command", [], timeout: .seconds(1))
        }
        await #expect(throws: CommandError.outputTooLarge(command: "/bin/sh", limit: 1000)) {
            try await runner.run("/bin/sh", ["-c", "yes | head -c 100000"], timeout: .seconds(5), outputLimit: 1000)
        }
    }
}
