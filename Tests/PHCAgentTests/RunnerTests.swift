#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import InMemoryLogging
import Logging
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("Agent runs: sequence, state, publishing, spool")
struct RunnerTests {
    @Test(
        "each run signs the next sequence number and persists it; the manifest verifies and expires after 3 intervals")
    func sequenceAdvances() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let configuration = try sandbox.configuration()
        for expected in Int64(1)...3 {
            let outcome = try await sandbox.runner(configuration).run()
            #expect(outcome.manifest.sequence == expected)
            #expect(outcome.publish == .published(path: sandbox.manifestPath, backlog: nil))
            let manifest = try sandbox.published()
            #expect(manifest.sequence == expected)
            #expect(manifest.expiresAt.seconds(since: manifest.issuedAt) == 180)
            #expect(manifest.device == "testhost" && manifest.schema == "phc.manifest/v1")
        }
        let state = try JSONDecoder().decode(AgentState.self, from: Repository.read(sandbox.stateDir + "/state.json"))
        #expect(state.sequence == 3)
        #expect(try FileStatus(path: sandbox.stateDir + "/state.json").permissions == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.healthDir) == ["manifest.json"])
    }

    @Test("a dry run writes nothing and uses no sequence number")
    func dryRun() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let configuration = try sandbox.configuration()
        let outcome = try await sandbox.runner(configuration).run(dryRun: true)
        #expect(outcome.publish == nil && outcome.manifest.sequence == 1)
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDir))
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.devicesDir).isEmpty)
        #expect(try await sandbox.runner(configuration).run().manifest.sequence == 1)
    }

    @Test("a corrupt state file is kept aside and the sequence resumes above anything published")
    func corruptState() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let configuration = try sandbox.configuration()
        for _ in 0..<3 { _ = try await sandbox.runner(configuration).run() }
        try sandbox.directory.write("state/state.json", "{\"sequence\": 3, \"mem")
        let outcome = try await sandbox.runner(configuration).run()
        #expect(outcome.manifest.sequence > 3)
        // The clock joins the evidence after corruption: the number can only jump forward.
        #expect(outcome.manifest.sequence > WallClock.system.now().secondsSinceEpoch - 60)
        #expect(outcome.notes.contains { $0.contains("was unusable (not valid state JSON)") && $0.contains("kept as") })
        let kept = try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDir).filter {
            $0.hasPrefix("state.json.corrupt-")
        }
        #expect(kept.count == 1)
        #expect(try sandbox.published().sequence == outcome.manifest.sequence)
        #expect(try await sandbox.runner(configuration).run().manifest.sequence == outcome.manifest.sequence + 1)
    }

    @Test(
        "a sequence that cannot be saved (state folder full) is not published: the share keeps the last manifest",
        .enabled(if: Mounts.canMount, "needs root to mount tmpfs"))
    func unsavableStatePublishesNothing() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        try Mounts.tmpfs(at: sandbox.stateDir, size: "256k")
        let configuration = try sandbox.configuration()
        #expect(try await sandbox.runner(configuration).run().manifest.sequence == 1)
        // Fill the state folder's file system: the next state.json cannot be written.
        let filler = sandbox.stateDir + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT, 0o600)
        let block = [UInt8](repeating: 0x41, count: 4096)
        while write(fd, block, block.count) > 0 {}
        close(fd)
        let error = await #expect(throws: AgentRunError.self) { _ = try await sandbox.runner(configuration).run() }
        #expect(error?.description.hasPrefix("cannot save agent state") == true, "\(String(describing: error))")
        #expect(try sandbox.published().sequence == 1, "nothing newer was published")
        try FileManager.default.removeItem(atPath: filler)
        #expect(try await sandbox.runner(configuration).run().manifest.sequence == 2)
        #expect(try sandbox.published().sequence == 2)
    }

    @Test("the next number is saved while the checks run, before anything is signed or published")
    func reservedDuringChecks() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        // A check whose answer is held back until the test lets it go: the reservation must be on
        // disk while that check is still waiting, however slowly a loaded machine runs either side.
        let asked = Locked(false)
        let held = Locked(false)
        let server = try LoopbackHTTPServer { _ in
            asked.set(true)
            let limit = Deadline(after: .seconds(50))
            while held.get(), !limit.hasPassed { usleep(10_000) }
            return .respond(status: 200, body: "ok", contentType: "text/plain")
        }
        defer { server.stop() }
        let configuration = try sandbox.configuration(
            checks: "  http:\n    - {name: slow, url: \"\(server.baseURL)/\", timeout: 40s}\n", deadline: "45s")
        #expect(try await sandbox.runner(configuration).run().manifest.sequence == 1)
        asked.set(false)
        held.set(true)
        let run = Task { try await sandbox.runner(configuration).run() }
        let statePath = sandbox.stateDir + "/state.json"
        func savedSequence() -> Int64? {
            guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
            return (try? JSONDecoder().decode(AgentState.self, from: data))?.sequence
        }
        // Generous: this task may wait long for a thread of a busy test run (the check's own timeout
        // ends the run at 40 s whatever happens).
        let giveUp = Deadline(after: .seconds(45))
        while savedSequence() != 2 || !asked.get(), !giveUp.hasPassed { try await Task.sleep(for: .milliseconds(20)) }
        #expect(asked.get(), "the slow check was asked")
        #expect(savedSequence() == 2, "reserved while the slow check had not answered")
        #expect(try sandbox.published().sequence == 1, "while the checks still ran, nothing newer was published")
        held.set(false)
        #expect(try await run.value.manifest.sequence == 2)
        #expect(try sandbox.published().sequence == 2 && savedSequence() == 2)
    }

    @Test("state.json is written as JSONEncoder writes it and read as JSONDecoder reads it")
    func stateFileFormat() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let states = [
            AgentState(),
            AgentState(
                sequence: 9_007_199_254_740_993,
                memory: [
                    "unit:litellm.service": ["restarts": "3", "boot": "b/1 \"x\"\n"], "z": [:], "é": ["k": "🔥\u{1}"],
                ], lastRun: Timestamp(secondsSinceEpoch: 1_795_773_603)),
        ]
        for state in states {
            #expect(state.encoded() == (try encoder.encode(state)))
            #expect(AgentState.decode(state.encoded()) == state)
        }
        let texts = [
            #"{"sequence":4,"memory":{},"last_run":null}"#, #"{"memory":{"a":{"b":"c"}},"sequence":4,"extra":[1,{}]}"#,
            #"{"sequence":4}"#, #"{"memory":{}}"#, #"{"sequence":"4","memory":{}}"#,
            #"{"sequence":4,"memory":{"a":{"b":1}}}"#,
            #"{"sequence":4,"memory":{},"last_run":"yesterday"}"#, #"{"sequence":4.5,"memory":{}}"#, "[]", "", "{} {}",
        ]
        for text in texts {
            let theirs = try? JSONDecoder().decode(AgentState.self, from: Data(text.utf8))
            #expect(AgentState.decode(Data(text.utf8)) == theirs, "\(text)")
        }
    }

    @Test("a lost state folder resumes after the last published sequence, not at 1")
    func lostState() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let configuration = try sandbox.configuration()
        for _ in 0..<4 { _ = try await sandbox.runner(configuration).run() }
        try FileManager.default.removeItem(atPath: sandbox.stateDir)
        #expect(try await sandbox.runner(configuration).run().manifest.sequence == 5)
    }

    @Test(
        "share down (read-only) for two runs, then back: the backlog holds both envelopes and each verifies",
        .enabled(if: Mounts.canMount, "needs root to mount tmpfs"))
    func shareDownThenBack() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        try Mounts.tmpfs(at: sandbox.devicesDir)
        let configuration = try sandbox.configuration()
        _ = try await sandbox.runner(configuration).run()
        try Mounts.remount(sandbox.devicesDir, readOnly: true)
        for expected in Int64(2)...3 {
            let outcome = try await sandbox.runner(configuration).run()
            guard case .spooled(let reason, let waiting, 0)? = outcome.publish else {
                Issue.record("run \(expected) was not spooled: \(String(describing: outcome.publish))")
                return
            }
            #expect(reason.contains("Read-only file system"), "\(reason)")
            #expect(waiting == Int(expected) - 1)
        }
        #expect(try sandbox.published().sequence == 1)
        try Mounts.remount(sandbox.devicesDir, readOnly: false)
        let back = try await sandbox.runner(configuration).run()
        #expect(back.publish == .published(path: sandbox.manifestPath, backlog: "backlog-2-3.jsonl.gz"))
        #expect(try sandbox.published().sequence == 4)
        let lines = try Gzip.decompress(Repository.read(sandbox.healthDir + "/backlog-2-3.jsonl.gz"))
            .split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 2)
        let sequences = try lines.map { try AgentSandbox.verify(Data($0), key: sandbox.key).sequence }
        #expect(sequences == [2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDir + "/spool").isEmpty)
    }

    @Test("a devices folder that is a file, or missing, spools with a clear reason")
    func devicesFolderNotAFolder() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        try FileManager.default.removeItem(atPath: sandbox.devicesDir)
        let configuration = try sandbox.configuration()
        let missing = try await sandbox.runner(configuration).run()
        #expect(
            missing.publish
                == .spooled(
                    reason: "devices_dir \(sandbox.devicesDir) does not exist (share not mounted?)", waiting: 1,
                    dropped: 0))
        #expect(!FileManager.default.fileExists(atPath: sandbox.devicesDir), "the agent must not create devices_dir")
        try sandbox.directory.write("devices", "I am a file")
        let file = try await sandbox.runner(configuration).run()
        #expect(
            file.publish
                == .spooled(
                    reason: "devices_dir \(sandbox.devicesDir) is a regular file, not a folder", waiting: 2, dropped: 0)
        )
    }

    @Test("the spool is bounded: the oldest envelopes are dropped first")
    func spoolLimit() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        try FileManager.default.removeItem(atPath: sandbox.devicesDir)
        let configuration = try sandbox.configuration(extra: "spool_limit: 2")
        var last: AgentRunner.Outcome?
        for _ in 0..<4 { last = try await sandbox.runner(configuration).run() }
        let names = try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDir + "/spool").sorted()
        #expect(names == [Spool.name(3), Spool.name(4)])
        guard case .spooled(_, let waiting, let dropped)? = last?.publish else {
            Issue.record("the last run was not spooled: \(String(describing: last?.publish))")
            return
        }
        #expect(waiting == 2 && dropped == 1)
        #expect(sandbox.logs.entries.contains { "\($0.message)".contains("dropped the 1 oldest manifest") })
    }

    @Test("a reader polling manifest.json during 40 publications never sees a partial or invalid file")
    func concurrentReader() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let configuration = try sandbox.configuration()
        _ = try await sandbox.runner(configuration).run()
        let done = Locked(false)
        let reads = Locked(0)
        let failures = Locked([String]())
        let sequences = Locked(Set<Int64>())
        let path = sandbox.manifestPath
        let key = sandbox.key
        let reader = Thread {
            while !done.get() {
                guard let data = FileManager.default.contents(atPath: path) else {
                    failures.update { $0.append("missing") }
                    continue
                }
                do {
                    let manifest = try AgentSandbox.verify(data, key: key)
                    sequences.update { $0.insert(manifest.sequence) }
                } catch {
                    failures.update { $0.append("\(error) in \(data.count) bytes") }
                }
                reads.update { $0 += 1 }
            }
        }
        reader.start()
        for _ in 0..<40 { _ = try await sandbox.runner(configuration).run() }
        done.set(true)
        let seen = failures.get()
        #expect(seen.count == 0, "\(seen.prefix(3))")
        #expect(reads.get() > 100)
        #expect(sequences.get().count > 5)
    }

    @Test("two runs at once: the second waits for the state lock or gives up clearly")
    func stateLock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let held = try StateStore(directory: directory.path, lockWait: .zero)
        #expect(throws: StateError.locked(directory.path + "/lock")) {
            try StateStore(directory: directory.path, lockWait: .milliseconds(50))
        }
        _ = held
    }

    @Test("the legacy _status.json is written for old readers")
    func legacyStatus() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let configuration = try sandbox.configuration(
            checks: "  mounts:\n    - path: \(sandbox.directory.file("nowhere"))\n", extra: "legacy_status: {user: mdt}"
        )
        _ = try await sandbox.runner(configuration).run()
        let data = try Repository.read("\(sandbox.devicesDir)/testhost/mdt/_status.json")
        let status = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(status?["status"] as? String == "degraded")
        #expect(status?["device"] as? String == "testhost")
        #expect((status?["components"] as? [String: Any])?["mounts"] as? [String: Bool] == ["nowhere": false])
    }

    /// A check that takes a known time and reports two results.
    struct SlowCheck: HostCheck {
        var resultIDs: [String] { ["slow:a", "slow:b"] }
        var kind: String { "slow" }
        var timeout: Duration { .seconds(5) }

        func run(in context: CheckContext) async -> CheckReport {
            try? await Task.sleep(for: .milliseconds(250))
            return CheckReport(results: resultIDs.map { CheckResult(id: $0, kind: kind, status: .ok, summary: "") })
        }
    }

    @Test("every result carries the wall time of the check that made it")
    func checkDurations() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let context = CheckContext(
            device: "t", now: WallClock.system.now(), stateDir: directory.file("state"),
            probe: FilesystemProbe(stateDirectory: directory.path), logger: Logger(label: "t"))
        let report = await AgentRunner.timed(SlowCheck(), in: context)
        #expect(report.results.count == 2)
        for result in report.results {
            // At least the check's own time; the upper bound only catches nonsense (a loaded machine may
            // keep a 250 ms sleep waiting for a thread for seconds).
            #expect(result.durationMs >= 250 && result.durationMs < 60_000, "\(result.id): \(result.durationMs) ms")
        }
    }
}
