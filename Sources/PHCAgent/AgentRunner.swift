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
        let deadline = Deadline(after: configuration.deadline)

        if dryRun {
            let state = Self.peekState(stateDir: configuration.stateDir)
            let manifest = makeManifest(
                results: await runChecks(memory: state.memory).results,
                sequence: min(state.sequence, ManifestLimits.sequence.upperBound - 1) + 1)
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
        enum Recovery { case none, fresh, corrupt }
        var recovery = Recovery.none
        switch store.load() {
        case .loaded(let loaded):
            state = loaded
        case .fresh:
            state = AgentState()
            recovery = .fresh
        case .corrupt(let reason, let movedTo):
            state = AgentState()
            recovery = .corrupt
            notes.append(
                "state file \(store.statePath) was unusable (\(reason))\(movedTo.map { "; kept as \($0)" } ?? "")")
        }

        // The next number is reserved durably (two fsyncs, on a thread of its own) while the checks
        // run: a crash may skip it, never reuse it. After a fresh or corrupt state it must first clear
        // what the share and the spool hold, which is known only after the checks.
        let statePath = store.statePath
        func nextSequence() throws(AgentRunError) -> Int64 {
            guard state.sequence < ManifestLimits.sequence.upperBound else {
                throw .sequenceExhausted(statePath: statePath, sequence: state.sequence, device: configuration.device)
            }
            return state.sequence + 1
        }
        var reservation: Task<StateError?, Never>?
        if recovery == .none {
            var reserved = state
            reserved.sequence = try nextSequence()
            reservation = Task { await Self.save(reserved, to: statePath, durable: true) }
        }

        // Whether the share answers is found out while the checks run.
        let probe = FilesystemProbe(stateDirectory: configuration.stateDir, clock: clock)
        let devicesDir = configuration.devicesDir
        let covered = configuration.mounts.contains { MountGate.path(devicesDir, isUnder: $0.path) }
        // Time spent waiting for the lock comes out of the checks' share.
        let elapsed = Duration.nanoseconds(Monotonic.nanoseconds() - started)
        let budget = max(Self.checkBudget(deadline: configuration.deadline) - elapsed, .milliseconds(10))
        let preflight: Task<FilesystemProbe.Outcome, Never>? =
            covered ? nil : Task { await probe.probe(path: devicesDir, timeout: min(budget, .seconds(5))) }

        let checked = await runChecks(memory: state.memory, budget: budget)

        func timeLeft() -> Duration {
            // A little of the deadline stays for exiting.
            deadline.remaining - .milliseconds(100)
        }
        let shareProblem = await ManifestPublisher.shareProblem(
            devicesDir: devicesDir, mounts: checked.gate, preflight: preflight, probe: probe,
            timeout: max(timeLeft(), .milliseconds(50)))
        let spool = Spool(stateDirectory: configuration.stateDir, limit: configuration.spoolLimit)
        if recovery != .none {
            let floor = await sequenceEvidence(
                spool: spool, shareUsable: shareProblem == nil, includeClock: recovery == .corrupt,
                timeout: max(timeLeft() / 2, .milliseconds(50)))
            state.sequence = max(state.sequence, floor)
            if recovery == .corrupt { notes.append("sequence resumes above \(floor)") }
        }

        state.sequence = try nextSequence()
        state.memory = checked.memory
        let manifest = makeManifest(results: checked.results, sequence: state.sequence)
        state.lastRun = manifest.issuedAt
        if let failed = await reservation?.value { throw .state(failed) }
        // The state with the checks' memory, written while the manifest is encoded and signed here:
        // durably where the number was not reserved yet, otherwise without fsyncs (a crash may lose
        // the memory, never the reservation). Nothing is published before it is written.
        let written = state
        let reserved = reservation != nil
        async let saving = Self.save(written, to: statePath, durable: !reserved)

        let signed: Result<Data, AgentRunError>
        do {
            let payload = manifest.encoded()
            signed = .success(
                try DSSEEnvelope.sign(payload: payload, payloadType: Manifest.payloadType, with: key).encoded())
        } catch {
            signed = .failure(.signing(String(describing: error)))
        }
        if let failed = await saving { throw .state(failed) }
        let envelopeLine = try signed.get()

        let publisher = ManifestPublisher(
            devicesDir: devicesDir, device: configuration.device,
            legacyUser: configuration.legacyStatusUser, spool: spool)
        let legacy = configuration.legacyStatusUser.flatMap { LegacyStatus.encode(manifest: manifest, user: $0) }
        let outcome = await publisher.publish(
            envelope: envelopeLine, sequence: state.sequence, legacyStatus: legacy, shareProblem: shareProblem,
            timeout: max(timeLeft(), .milliseconds(100)))
        if case .spooled(_, _, let dropped) = outcome, dropped > 0 {
            notes.append("spool full: dropped the \(dropped) oldest manifest\(dropped == 1 ? "" : "s")")
        }
        for note in notes { logger.warning("\(note)") }
        return Outcome(manifest: manifest, publish: outcome, notes: notes)
    }

    /// Saves `state` on a thread of its own; the error, if it could not.
    private static func save(_ state: AgentState, to statePath: String, durable: Bool) async -> StateError? {
        await BlockingWork.run {
            do throws(StateError) {
                try StateStore.save(state, to: statePath, durable: durable)
                return nil
            } catch {
                return error
            }
        }
    }

    /// What a round of checks produced.
    public struct Checked: Sendable {
        /// In configuration order.
        public var results: [CheckResult]
        /// What the checks want remembered until the next run.
        public var memory: [String: [String: String]]
        /// The verdicts of the configured mounts.
        public var gate: MountGate
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
        return await runChecks(memory: memory, selectors: selectors, detailed: true).results.filter {
            Self.matches($0.id, selectors)
        }
    }

    static func matches(_ id: String, _ selectors: [String]) -> Bool {
        selectors.isEmpty
            || selectors.contains { id == $0 || id.hasPrefix($0 + ":") || id.hasPrefix($0) && $0.hasSuffix(":") }
    }

    /// Runs the checks (those with a result matching `selectors`; all when empty) and
    /// returns their results in configuration order, with what they want remembered.
    public func runChecks(
        memory: [String: [String: String]], selectors: [String] = [], budget: Duration? = nil, detailed: Bool = false
    ) async -> Checked {
        let budget = budget ?? Self.checkBudget(deadline: configuration.deadline)
        let context = CheckContext(
            device: configuration.device, now: clock.now(), stateDir: configuration.stateDir, memory: memory,
            probe: FilesystemProbe(stateDirectory: configuration.stateDir, clock: clock), logger: logger,
            detailed: detailed)
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
                let report = await Self.timed(mount, in: context)
                collector.deliver(index, report)
                return report
            }
            verdicts[mount.configuration.path] = Task { MountGate.verdict(of: await task.value) }
        }
        var gated = context
        gated.mounts = MountGate(verdicts: verdicts)
        for (index, check) in checks.enumerated() where !(check is MountCheck) {
            Task { [gated] in collector.deliver(index, await Self.timed(check, in: gated)) }
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
        return Checked(results: results, memory: newMemory, gate: gated.mounts)
    }

    /// Runs `check`; each of its results carries the check's wall time.
    static func timed(_ check: any HostCheck, in context: CheckContext) async -> CheckReport {
        let start = Monotonic.nanoseconds()
        var report = await check.run(in: context)
        let elapsed = Monotonic.millisecondsSince(start)
        for index in report.results.indices { report.results[index].durationMs = elapsed }
        return report
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
            bootID: HostFacts.bootID,
            checks: results)
    }

    /// The state as it is, without locking or repairing it (for dry runs and `check`).
    static func peekState(stateDir: String) -> AgentState {
        guard let data = try? FileReader.read(stateDir + "/state.json", limit: 16 * 1024 * 1024),
            let state = AgentState.decode(data)
        else { return AgentState() }
        return state
    }

    /// The highest sequence number that may already have been used, from what was
    /// spooled and (when the share answers) published, and after corruption the
    /// clock too: used when the state file cannot say.
    private func sequenceEvidence(spool: Spool, shareUsable: Bool, includeClock: Bool, timeout: Duration) async
        -> Int64
    {
        // Evidence beyond what any manifest may carry (a damaged or planted file name) is no evidence.
        let usable: @Sendable (Int64) -> Int64 = { ManifestLimits.sequence.contains($0) ? $0 : 0 }
        var highest: Int64 = includeClock ? clock.now().secondsSinceEpoch : 0
        highest = max(highest, usable(spool.entries().last(where: { usable($0.sequence) > 0 })?.sequence ?? 0))
        guard shareUsable else { return highest }
        let health = "\(configuration.devicesDir)/\(configuration.device)/_health"
        let published = await BlockingWork.run(timeout: timeout) { () -> Int64 in
            var found: Int64 = 0
            if let data = try? FileReader.read(health + "/manifest.json", limit: 16 * 1024 * 1024),
                let envelope = try? DSSEEnvelope.decode(data), let payload = try? envelope.payloadBytes(),
                let manifest = try? Manifest.decode(payload)
            {
                found = usable(manifest.sequence)
            }
            for name in (try? Directory.list(health)) ?? [] {
                if let sequences = BacklogFile.sequences(in: name) { found = max(found, usable(sequences.upperBound)) }
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
    private typealias Waiter = CheckedContinuation<[Int: CheckReport], Never>
    private struct State {
        var reports: [Int: CheckReport] = [:]
        var waiter: Waiter?
        var timer: Task<Void, Never>?
        var finished = false
    }
    private let state = Mutex(State())
    private let count: Int

    init(count: Int) {
        self.count = count
    }

    func deliver(_ index: Int, _ report: CheckReport) {
        finish { state in
            state.reports[index] = report
            return state.reports.count == count
        }
    }

    /// All reports, or those that arrived within `timeout`.
    func wait(timeout: Duration) async -> [Int: CheckReport] {
        await withCheckedContinuation { (waiter: Waiter) in
            let timer = Task {
                try? await Task.sleep(for: timeout)
                self.finish { _ in true }
            }
            state.withLock { state in
                state.waiter = waiter
                state.timer = timer
            }
            finish { state in state.reports.count == count }
        }
    }

    /// Resumes the waiter once, when `isDone` says so.
    private func finish(_ isDone: (inout State) -> Bool) {
        let resume: (Waiter, [Int: CheckReport], Task<Void, Never>?)? = state.withLock { state in
            guard !state.finished, isDone(&state), let waiter = state.waiter else { return nil }
            state.finished = true
            state.waiter = nil
            return (waiter, state.reports, state.timer)
        }
        guard let (waiter, reports, timer) = resume else { return }
        timer?.cancel()
        waiter.resume(returning: reports)
    }
}

/// Why a run could not sign anything.
public enum AgentRunError: Error, Sendable, CustomStringConvertible {
    case key(KeyFileError)
    case state(StateError)
    case signing(String)
    /// The state holds the largest sequence a manifest may carry: nothing newer can be signed.
    case sequenceExhausted(statePath: String, sequence: Int64, device: String)

    public var description: String {
        switch self {
        case .key(let error): error.description
        case .state(let error): error.description
        case .signing(let reason): "cannot sign the manifest: \(reason)"
        case .sequenceExhausted(let path, let sequence, let device):
            "\(path) holds sequence \(sequence), the largest a manifest may carry is "
                + "\(ManifestLimits.sequence.upperBound): no newer manifest can be signed; move \(path) aside "
                + "and run 'phc-collector trust reset \(device)' on the collector"
        }
    }
}
