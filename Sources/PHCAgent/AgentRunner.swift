#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
internal import PHCConfig
public import PHCCore
public import Logging
internal import Synchronization

/// One agent cycle: run the checks in parallel under the deadline, sign the
/// manifest, publish it (or spool it), remember what the checks asked to.
///
/// The run finishes within ``AgentConfiguration/deadline`` whatever hangs:
/// checks get the first part of it (``checkBudget(deadline:)``) and anything
/// still running then is reported `unknown`; publishing gets the rest.
public struct AgentRunner: Sendable {
    public let configuration: AgentConfiguration
    let logger: Logger
    let clock: WallClock
    let mountTablePath: String

    public init(
        configuration: AgentConfiguration, logger: Logger, clock: WallClock = .system,
        mountTablePath: String = MountTable.defaultPath
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.mountTablePath = mountTablePath
    }

    /// The part of the deadline given to checks; the rest (a quarter, at most 5 s) is kept for publishing.
    public static func checkBudget(deadline: Duration) -> Duration {
        deadline - min(deadline / 4, .seconds(5))
    }

    /// What a finished run did.
    public struct Outcome: Sendable {
        public var manifest: Manifest
        /// nil for a dry run.
        public var publish: PublishOutcome?
        /// Notes for the operator (state recovered, spool trimmed…), already logged.
        public var notes: [String]
    }

    /// Runs one cycle. With `dryRun`, returns the manifest that would be signed and writes nothing.
    ///
    /// - Throws: ``AgentRunError`` when nothing can be signed (no key, no state folder).
    public func run(dryRun: Bool = false) async throws(AgentRunError) -> Outcome {
        let started = Monotonic.nanoseconds()
        let deadlineNanoseconds = started + configuration.deadline.nanosecondsInt64

        if dryRun {
            let state = Self.peekState(stateDir: configuration.stateDir)
            let (results, _) = await runChecks(memory: state.memory)
            let manifest = makeManifest(results: results, sequence: state.sequence + 1)
            return Outcome(manifest: manifest, publish: nil, notes: [])
        }

        let key: SigningKey
        do { key = try SigningKey.load(path: configuration.keyFile) } catch { throw .key(error) }
        let store: StateStore
        do {
            store = try StateStore(directory: configuration.stateDir, lockWait: configuration.deadline / 4)
        } catch { throw .state(error) }

        var notes: [String] = []
        var state: AgentState
        var recoveredFloor: Int64?
        switch store.load() {
        case .loaded(let loaded): state = loaded
        case .fresh:
            state = AgentState()
            recoveredFloor = await sequenceEvidence(includeClock: false)
        case .corrupt(let reason, let movedTo):
            state = AgentState()
            recoveredFloor = await sequenceEvidence(includeClock: true)
            notes.append(
                "state file \(store.statePath) was unusable (\(reason))\(movedTo.map { "; kept as \($0)" } ?? ""); "
                    + "sequence resumes above \(recoveredFloor ?? 0)")
        }
        if let recoveredFloor { state.sequence = max(state.sequence, recoveredFloor) }

        let (results, memory) = await runChecks(memory: state.memory)

        // Reserve the number durably before signing: a crash may skip it, never reuse it.
        state.sequence += 1
        let sequence = state.sequence
        do { try store.save(state) } catch { throw .state(error) }

        let manifest = makeManifest(results: results, sequence: sequence)
        let envelopeLine: Data
        do {
            let payload = try manifest.encoded()
            envelopeLine = try DSSEEnvelope.sign(payload: payload, payloadType: Manifest.payloadType, with: key).encoded()
        } catch {
            throw .signing(String(describing: error))
        }

        let spool = Spool(stateDirectory: configuration.stateDir, limit: configuration.spoolLimit)
        let publisher = ManifestPublisher(
            devicesDir: configuration.devicesDir, device: configuration.device,
            legacyUser: configuration.legacyStatusUser, spool: spool)
        let legacy = configuration.legacyStatusUser.flatMap { LegacyStatus.encode(manifest: manifest, user: $0) }
        // Leave a little of the deadline for saving state and exiting.
        let left = Duration.nanoseconds(deadlineNanoseconds - Monotonic.nanoseconds()) - .milliseconds(100)
        let outcome = await publisher.publish(
            envelope: envelopeLine, sequence: sequence, legacyStatus: legacy,
            probe: FilesystemProbe(stateDirectory: configuration.stateDir, clock: clock),
            mounts: MountGate(), timeout: max(left, .milliseconds(100)))
        if case .spooled(_, _, let dropped) = outcome, dropped > 0 {
            notes.append("spool full: dropped the \(dropped) oldest manifest\(dropped == 1 ? "" : "s")")
        }

        state.memory = memory
        state.lastRun = manifest.issuedAt
        do { try store.save(state) } catch { notes.append(error.description) }
        for note in notes { logger.warning("\(note)") }
        return Outcome(manifest: manifest, publish: outcome, notes: notes)
    }

    /// Runs the checks selected by `selectors` (ids or prefixes such as `mount` or
    /// `unit:litellm.service`; all when empty) for `phc-agent check`: nothing is
    /// signed, published or remembered.
    ///
    /// - Throws: ``AgentRunError/state(_:)`` when another run holds the state folder.
    public func check(selecting selectors: [String]) async throws(AgentRunError) -> [CheckResult] {
        // The lock keeps probe bookkeeping consistent with a concurrent `run`.
        let store: StateStore
        do {
            store = try StateStore(directory: configuration.stateDir, lockWait: configuration.deadline / 4)
        } catch { throw .state(error) }
        let memory = Self.peekState(stateDir: store.directory).memory
        let (results, _) = await runChecks(memory: memory, selectors: selectors)
        return results.filter { Self.matches($0.id, selectors) }
    }

    static func matches(_ id: String, _ selectors: [String]) -> Bool {
        selectors.isEmpty || selectors.contains { id == $0 || id.hasPrefix($0 + ":") || id.hasPrefix($0) && $0.hasSuffix(":") }
    }

    /// Runs the checks (those with a result matching `selectors`; all when empty) and
    /// returns their results in configuration order, with what they want remembered.
    public func runChecks(memory: [String: [String: String]], selectors: [String] = []) async
        -> ([CheckResult], [String: [String: String]])
    {
        let budget = Self.checkBudget(deadline: configuration.deadline)
        let context = CheckContext(
            device: configuration.device, now: clock.now(), stateDir: configuration.stateDir, memory: memory,
            probe: FilesystemProbe(stateDirectory: configuration.stateDir, clock: clock), logger: logger)
        var checks = CheckCatalog.checks(for: configuration, mountTablePath: mountTablePath)
        if !selectors.isEmpty {
            checks = checks.filter { check in check.resultIDs.contains { Self.matches($0, selectors) } }
        }
        let collector = ResultCollector(count: checks.count)

        // Mounts first: other checks of paths on a share wait for their verdict.
        var verdicts: [String: Task<String?, Never>] = [:]
        for (index, check) in checks.enumerated() {
            guard let mount = check as? MountCheck else { continue }
            let task = Task { () -> CheckReport in
                let report = await mount.run(in: context)
                collector.deliver(index, report)
                return report
            }
            verdicts[mount.configuration.path] = Task { MountGate.verdict(of: await task.value) }
        }
        var gated = context
        gated.mounts = MountGate(verdicts: verdicts)
        for (index, check) in checks.enumerated() where !(check is MountCheck) {
            Task { [gated] in collector.deliver(index, await check.run(in: gated)) }
        }
        let reports = await collector.wait(timeout: budget)

        var results: [CheckResult] = []
        var newMemory = memory
        for (index, check) in checks.enumerated() {
            guard let report = reports[index] else {
                results += check.resultIDs.map { id in
                    CheckResult(
                        id: id, kind: check.kind == "systemd" ? String(id.prefix { $0 != ":" }) : check.kind,
                        status: .unknown,
                        summary: "did not finish within the \(DurationText.format(budget)) given to checks",
                        durationMs: budget.milliseconds)
                }
                continue
            }
            results += report.results
            for (id, values) in report.memory { newMemory[id] = values }
        }
        return (results, newMemory)
    }

    func makeManifest(results: [CheckResult], sequence: Int64) -> Manifest {
        let issued = clock.now()
        let interval = max(1, configuration.interval.milliseconds / 1000)
        return Manifest(
            device: configuration.device,
            agent: AgentInfo(
                version: PHCVersion.current, os: HostFacts.operatingSystem(), kernel: HostFacts.kernelRelease()),
            sequence: sequence,
            issuedAt: issued,
            expiresAt: issued + 3 * interval,
            intervalS: interval,
            bootID: HostFacts.bootID(),
            checks: results)
    }

    /// The state as it is, without locking or repairing it (for dry runs and `check`).
    static func peekState(stateDir: String) -> AgentState {
        guard let data = try? FileReader.read(stateDir + "/state.json", limit: 16 * 1024 * 1024),
            let state = try? JSONDecoder().decode(AgentState.self, from: data)
        else { return AgentState() }
        return state
    }

    /// The highest sequence number that may already have been used, from what was published
    /// and spooled (and, after corruption, the clock), when the state file cannot say.
    private func sequenceEvidence(includeClock: Bool) async -> Int64 {
        var highest: Int64 = includeClock ? clock.now().secondsSinceEpoch : 0
        let spool = Spool(stateDirectory: configuration.stateDir, limit: configuration.spoolLimit)
        highest = max(highest, spool.entries().last?.sequence ?? 0)
        let health = "\(configuration.devicesDir)/\(configuration.device)/_health"
        let probe = FilesystemProbe(stateDirectory: configuration.stateDir, clock: clock)
        guard case .completed = await probe.probe(path: configuration.devicesDir, timeout: .seconds(2)) else {
            return highest
        }
        let published = await BlockingWork.run(timeout: .seconds(2)) { () -> Int64 in
            var found: Int64 = 0
            if let data = try? FileReader.read(health + "/manifest.json", limit: 16 * 1024 * 1024),
                let envelope = try? DSSEEnvelope.decode(data), let payload = try? envelope.payloadBytes(),
                let manifest = try? Manifest.decode(payload)
            {
                found = manifest.sequence
            }
            for name in (try? Directory.list(health)) ?? [] where name.hasPrefix("backlog-") {
                let parts = name.dropFirst("backlog-".count).split(separator: "-")
                if parts.count == 2, let last = Int64(parts[1].prefix { $0.isNumber }) { found = max(found, last) }
            }
            return found
        }
        return max(highest, published ?? 0)
    }
}

extension MountGate {
    /// nil when the mount answered; else why paths under it must not be touched.
    static func verdict(of report: CheckReport) -> String? {
        guard let result = report.results.first else { return nil }
        if result.observations["mounted"] == .bool(false) { return "is not mounted" }
        if result.observations[MountCheck.responsiveKey] == .bool(false) { return "is not responding" }
        return nil
    }
}

/// Collects check reports as they arrive; gives up waiting at the budget.
final class ResultCollector: Sendable {
    private struct State {
        var reports: [Int: CheckReport] = [:]
        var continuation: CheckedContinuation<[Int: CheckReport], Never>?
        var finished = false
    }
    private let state = Mutex(State())
    private let count: Int

    init(count: Int) {
        self.count = count
    }

    func deliver(_ index: Int, _ report: CheckReport) {
        let resume: (CheckedContinuation<[Int: CheckReport], Never>, [Int: CheckReport])? = state.withLock { state in
            guard !state.finished else { return nil }
            state.reports[index] = report
            guard state.reports.count == count, let continuation = state.continuation else { return nil }
            state.finished = true
            state.continuation = nil
            return (continuation, state.reports)
        }
        if let (continuation, reports) = resume { continuation.resume(returning: reports) }
    }

    func wait(timeout: Duration) async -> [Int: CheckReport] {
        await withCheckedContinuation { continuation in
            let ready: [Int: CheckReport]? = state.withLock { state in
                if state.reports.count == count {
                    state.finished = true
                    return state.reports
                }
                state.continuation = continuation
                return nil
            }
            if let ready {
                continuation.resume(returning: ready)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let expired: (CheckedContinuation<[Int: CheckReport], Never>, [Int: CheckReport])? = self.state.withLock {
                    state in
                    guard !state.finished, let continuation = state.continuation else { return nil }
                    state.finished = true
                    state.continuation = nil
                    return (continuation, state.reports)
                }
                if let (continuation, reports) = expired { continuation.resume(returning: reports) }
            }
        }
    }
}

/// Why a run could not sign anything.
public enum AgentRunError: Error, Sendable, CustomStringConvertible {
    case key(KeyFileError)
    case state(StateError)
    case signing(String)

    public var description: String {
        switch self {
        case .key(let error): error.description
        case .state(let error): error.description
        case .signing(let reason): "cannot sign the manifest: \(reason)"
        }
    }
}

extension Duration {
    var nanosecondsInt64: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
