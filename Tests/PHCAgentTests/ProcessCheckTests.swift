#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

/// Real processes the test starts: a busy loop, a process with busy threads, an idle one.
@Suite("Process check", .serialized)
struct ProcessCheckTests {
    /// Starts `python3 -c program marker`, niced so the rest of the suite keeps its share of the
    /// CPUs; the marker makes its command line unique.
    final class Child: @unchecked Sendable {
        let process = Process()
        let marker = "phc-test-\(UInt64.random(in: 1...UInt64.max))"

        init(_ program: String) throws {
            process.executableURL = URL(fileURLWithPath: Command.which("python3") ?? "/usr/bin/python3")
            process.arguments = ["-c", Self.guardian + program, marker]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Niced, and gone within two minutes or as soon as the test process is, whatever happens to it.
        static let guardian = """
            import os, threading, time
            os.nice(10)
            parent = os.getppid()
            def guard():
                end = time.time() + 120
                while time.time() < end and os.getppid() == parent: time.sleep(0.5)
                os._exit(0)
            threading.Thread(target=guard, daemon=True).start()

            """

        var pid: Int32 { process.processIdentifier }

        /// Waits (up to 60 s) until the child runs Python with its marker: `Process.run` returns before
        /// the child's exec, and a check that looks at once may not see it yet.
        func waitUntilRunning() async throws {
            let giveUp = Deadline(after: .seconds(60))
            while !giveUp.hasPassed {
                let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
                if String(decoding: cmdline, as: UTF8.self).contains(marker) { return }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        /// Waits (up to 60 s) until the child's resident memory reaches `bytes`: a niced child on a
        /// loaded machine can take well over a second to fill what it allocates.
        func waitUntilResident(_ bytes: Int64) async throws {
            let giveUp = Deadline(after: .seconds(60))
            while !giveUp.hasPassed {
                let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
                let kib = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
                    .flatMap { Int64($0.split(separator: " ").dropFirst().first ?? "") }
                if let kib, kib * 1024 >= bytes { return }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        /// utime + stime of the whole process, in clock ticks, as /proc says.
        var ticks: Int64 { ProcessCheck.stat(procRoot: "/proc", pid: pid)?.cpu ?? 0 }

        /// SIGKILL; Foundation reaps the child on its own thread (waiting here would hold a thread
        /// of the cooperative pool).
        func stop() {
            kill(pid, SIGKILL)
        }
    }

    static let busyThreads = """
        import hashlib, threading, sys
        data = b'x' * 4_000_000
        def spin():
            while True: hashlib.sha256(data).digest()   # releases the GIL: threads run in parallel
        for _ in range(2): threading.Thread(target=spin, daemon=True).start()
        threading.Event().wait()
        """

    func context(memory: [String: [String: String]] = [:]) -> CheckContext {
        CheckContext(
            device: "testhost", now: WallClock.system.now(), stateDir: "/nonexistent", memory: memory,
            probe: FilesystemProbe(stateDirectory: "/nonexistent"),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    func cpu(_ result: CheckResult) -> Double? {
        if case .double(let value)? = result.observations["cpu_percent"] { return value }
        if case .int(let value)? = result.observations["cpu_percent"] { return Double(value) }
        return nil
    }

    @Test("CPU since the last run counts every thread: it matches what /proc says, and may pass 100 %")
    func threadsAndRuns() async throws {
        let child = try Child(Self.busyThreads)
        defer { child.stop() }
        try await child.waitUntilRunning()
        try await Task.sleep(for: .milliseconds(300))
        var configuration = ProcessCheckConfiguration(name: "busy", match: child.marker)
        configuration.cpuPercent = Thresholds(warn: 1)
        configuration.cpuFor = 2
        let check = ProcessCheck(configuration)
        // First run: no earlier reading, a short sample instead. Over the limit once: not yet.
        let first = await check.run(in: context())
        let result = first.results[0]
        #expect(result.observations["running"] == .int(1))
        #expect(result.observations["threads"].map { if case .int(let n) = $0 { n >= 3 } else { false } } == true)
        #expect(result.status == .ok, "one run over the limit does not count with for: 2 — \(result.summary)")
        #expect(result.summary.contains("over 1 % for 1 of 2 runs"), "\(result.summary)")

        // Between two runs: the check's readings are /proc's, and its figure is their arithmetic.
        let ticksBefore = child.ticks
        try await Task.sleep(for: .seconds(1))
        let secondReport = await check.run(in: context(memory: first.memory))
        let ticksAfter = child.ticks
        let second = secondReport.results[0]
        let before = try #require(ProcessCheck.Reading(memory: first.memory[check.id]))
        let after = try #require(ProcessCheck.Reading(memory: secondReport.memory[check.id]))
        let key = try #require(after.ticks.keys.first { $0.hasPrefix("\(child.pid):") })
        let ticks = try #require(after.ticks[key])
        #expect(ticks >= ticksBefore && ticks <= ticksAfter, "the reading is the process's own utime + stime")
        let used = Double(ticks - (before.ticks[key] ?? 0)) / Double(sysconf(Int32(_SC_CLK_TCK)))
        let expected = used / (Double(after.bootMilliseconds - before.bootMilliseconds) / 1000) * 100
        let measured = try #require(cpu(second))
        #expect(abs(measured - expected) < 0.11, "check \(measured) %, from its readings \(expected) %")
        #expect(second.status == .warn, "\(second.summary)")
        #expect(second.summary.contains("is over 1 % for 2 runs"), "\(second.summary)")
        // All threads count: a process's utime + stime is the sum over its threads' (/proc/<pid>/task).
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(child.pid)/task")) ?? []
        #expect(threads.count >= 3)
    }

    @Test("count against min and max, by comm and by command line; memory against its limit")
    func countAndMemory() async throws {
        let idle = try Child("import time, sys\nbuf = bytearray(64 * 1024 * 1024)\ntime.sleep(600)")
        let other = try Child("import time\ntime.sleep(600)")
        defer {
            idle.stop()
            other.stop()
        }
        try await idle.waitUntilResident(64 * 1024 * 1024)
        try await other.waitUntilRunning()
        var one = ProcessCheckConfiguration(name: "idle", match: idle.marker)
        one.memory = Thresholds(warn: Amount("32MiB"))
        let result = await ProcessCheck(one).run(in: context()).results[0]
        #expect(result.observations["running"] == .int(1))
        #expect(result.status == .warn && result.summary.contains("resident, over 32 MiB"), "\(result.summary)")
        if case .double(let value)? = result.observations["cpu_percent"] { #expect(value < 50) }

        var both = ProcessCheckConfiguration(name: "both", match: "\(idle.marker)|\(other.marker)")
        both.max = 1
        let two = await ProcessCheck(both).run(in: context()).results[0]
        #expect(two.observations["running"] == .int(2) && two.status == .warn, "\(two.summary)")

        let missing = await ProcessCheck(ProcessCheckConfiguration(name: "no-such-proc")).run(in: context()).results[0]
        #expect(missing.status == .crit && missing.summary.hasPrefix("not running (no process with comm no-such-proc)"))

        // By comm: the python processes' own name.
        var byComm = ProcessCheckConfiguration(name: "python3")
        byComm.min = 2
        let comm = await ProcessCheck(byComm).run(in: context()).results[0]
        #expect((comm.observations["running"].map { if case .int(let n) = $0 { n >= 2 } else { false } }) == true)
    }

    @Test("the configuration: ids, limits, a bad regex and a long comm are errors with their line")
    func configuration() throws {
        let parsed = try AgentConfiguration.parse(
            """
            checks:
              processes:
                - name: tailscaled
                  cpu_percent: {warn: 150, crit: 300}
                  for: 3
                  memory: {warn: 1GiB}
                - {name: vllm, match: "python3? -m vllm", min: 1, max: 2}
            """, file: "a.yaml")
        #expect(parsed.processes.map(\.name) == ["tailscaled", "vllm"])
        #expect(parsed.processes[0].cpuPercent == Thresholds(warn: 150, crit: 300) && parsed.processes[0].cpuFor == 3)
        #expect(parsed.processes[1].match == "python3? -m vllm" && parsed.processes[1].max == 2)
        let error = #expect(throws: ConfigError.self) {
            try AgentConfiguration.parse(
                """
                checks:
                  processes:
                    - {name: x, match: "(unclosed"}
                    - {name: a-very-long-process-name}
                    - {name: y, min: 3, max: 1}
                """, file: "b.yaml")
        }
        let text = error?.description ?? ""
        #expect(text.contains("b.yaml:3:24: checks.processes[0].match: not a regular expression"), "\(text)")
        #expect(text.contains("checks.processes[1].name: a process name (comm) has at most 15 characters"), "\(text)")
        #expect(text.contains("checks.processes[2].max: max 1 is below min 3"), "\(text)")
    }

    @Test("run to run, the state between runs lives in state_dir")
    func stateBetweenRuns() async throws {
        let child = try Child("while True: pass")
        defer { child.stop() }
        try await child.waitUntilRunning()
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let configuration = try sandbox.configuration(
            checks: "  processes:\n    - {name: spin, match: \"\(child.marker)\", cpu_percent: {warn: 2}}\n")
        _ = try await sandbox.runner(configuration).run()
        let saved = try JSONDecoder().decode(
            AgentState.self, from: try Repository.read(sandbox.stateDir + "/state.json"))
        #expect(saved.memory["process:spin"]?["ticks"]?.hasPrefix("\(child.pid):") == true)
        try await Task.sleep(for: .milliseconds(500))
        _ = try await sandbox.runner(configuration).run()
        let result = try #require(try sandbox.published().check("process:spin"))
        #expect(result.status == .warn, "a busy loop uses more than 2 % of a CPU: \(result.summary)")
    }
}
