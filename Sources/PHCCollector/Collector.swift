#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCConfig
public import PHCCore
public import Logging

/// What one pass did.
public struct PassSummary: Sendable, Equatable {
    public var devices: Int
    public var accepted: Int
    public var rejected: Int
    /// Device folders whose manifest had not changed since the last pass.
    public var unchanged: Int
    /// Devices whose files wait for the next pass (the pass's memory budget ran out).
    public var deferred: Int
    public var firing: Int
    /// Notifications written to the outbox.
    public var queued: Int = 0
    /// Something the published files show changed (a device, an alert, silence, availability).
    public var changed = true
    public var milliseconds: Int64
}

/// What a pass does with a device folder before anything is read.
enum FolderStep: Sendable {
    /// Nothing to read and nothing to say (most folders of most passes): not even planned.
    case quiet
    /// Planned, as a full look at the folder finds it, with the backlogs listed beside a changed
    /// manifest (or a standing file problem). Boxed: a step of the usual, quiet kind stays a word.
    indirect case plan(DeviceFolder, listing: (files: [FileRef], problems: [ScanProblem])?)
}

/// One collector pass: read every device's manifest (and backlog, and legacy
/// status), trust only what verifies, keep history, notice silence, and update
/// alert state, all committed in one SQLite transaction.
///
/// The stages, each with one home:
/// 1. scan (``DeviceScanner``, the file system only) and plan what changed;
/// 2. read in parallel (``DeviceEvidence``), within a memory budget: the pass's file I/O on the
///    share ends here;
/// 3. in the one transaction: manifests verified and the ledger's rules (``Ledger``, pure) applied
///    on all cores, while the calling thread stores each slice of devices as it is done;
/// 4. alert conditions and evaluation (pure), routing into the outbox, and the commit. The
///    transaction reads no file on the share and makes no network call (the archive, when kept, is
///    written next to the database before the commit).
///
/// A pass killed halfway commits nothing, so the next one re-reads the same
/// files: no sequence state is lost and no history row is counted twice. Files
/// that have not changed since the pass that read them are not read again. Two
/// passes never overlap: each holds the database's pass lock.
public struct Collector: Sendable {
    public let configuration: CollectorConfiguration
    let logger: Logger
    let clock: WallClock

    /// How long a pass waits for another one to finish.
    public var lockWait: Duration = .seconds(60)
    /// Bytes of verified evidence a pass may hold before the rest waits for the next pass
    /// (for the pass, for one device).
    var readBudget = (perPass: ReadBudget.perPass, perDevice: ReadBudget.perDevice)

    /// The collector's own name: the `device` of `Watchdog` and `ReceiverFailing`.
    let host: String

    public init(
        configuration: CollectorConfiguration, logger: Logger, clock: WallClock = .system,
        host: String = HostName.short()
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.host = host
    }

    /// Fault injection for the crash tests: `PHC_FAULT=kill-before-commit` or `kill-after-commit`
    /// makes the process die by SIGKILL at that point of a pass.
    static let fault = ProcessInfo.processInfo.environment["PHC_FAULT"]

    /// Resolved alerts are kept (for `alerts --all`, the report and resolved notices) this long.
    static let resolvedKeptSeconds: Int64 = 7 * 86_400
    /// Finished notifications and ended silences are kept this long.
    static let outboxKeptSeconds: Int64 = 7 * 86_400

    /// Rejections are kept this long, and at most this many per device.
    static let rejectionRetentionSeconds: Int64 = 30 * 86_400
    static let rejectionsPerDevice = 1_000

    /// Runs one pass.
    ///
    /// - Throws: when nothing can be done at all (no devices folder, unusable database or trust file,
    ///   another pass holding the lock). A bad file is never an error of the pass: it is a rejection,
    ///   recorded and shown.
    public func pass() throws -> PassSummary {
        let started = Monotonic.nanoseconds()
        let lock = try PassLock(database: configuration.database, wait: lockWait)
        defer { lock.release() }
        let now = clock.now().secondsSinceEpoch
        // The folders are listed (the file system only) while the database is opened and the records
        // are read (the database only).
        let (devicesDir, publishDir) = (configuration.devicesDir, configuration.publishDir)
        var loading: Int64 = 0
        let (listed, (store, summaries)) = try Parallel.pair({
            Result { () throws(DeviceScanner.Failure) in
                let started = Monotonic.nanoseconds()
                return (try DeviceScanner.scan(devicesDir, skipping: publishDir), Monotonic.millisecondsSince(started))
            }
        }) {
            let started = Monotonic.nanoseconds()
            defer { loading = Monotonic.millisecondsSince(started) }
            let store = try CollectorStore(path: configuration.database)
            return (store, try store.deviceSummaries())
        }
        // Taken out of the result, so that the pass's own names hold the only references (let go at the end).
        let (folders, listing): ([DeviceFolder], Int64)
        switch consume listed {
        case .success(let scanned): (folders, listing) = scanned
        case .failure(let failure): throw failure
        }
        logger.debug(
            "loaded \(summaries.count) records in \(loading) ms while listing \(folders.count) folders in \(listing) ms"
        )
        let root = DeviceScanner.realPath(configuration.devicesDir) ?? configuration.devicesDir

        // 1. What changed since the last pass: only that is read and verified. Each folder is looked at
        // on all cores: most are quiet (nothing to read, nothing to say); beside a changed manifest, or
        // where a file problem stands, the backlogs are listed (the file system only).
        let legacyDevices = Set(configuration.devices.filter { $0.value.legacy == true }.keys)
        let steps = Parallel.map(Array(0..<folders.count)) { index -> FolderStep in
            let found = folders[index]
            // Looked up once (where the records, in name order too, usually have it), and read where it
            // lies: most folders are quiet.
            let position = summaries.position(of: found.name, likely: index)
            if let position, summaries.isQuiet(at: position, found), !legacyDevices.contains(found.name) {
                return .quiet
            }
            let record = position.map { summaries.all[$0] }
            let folder = DeviceScanner.settled(found, root: root)
            guard folder.problem == nil else { return .plan(folder, listing: nil) }
            if let health = folder.healthDir,
                folder.manifestChanged(since: record?.manifestStamp) || record?.fileProblem != nil
            {
                return .plan(folder, listing: DeviceScanner.backlogs(in: health, root: root))
            }
            return .plan(folder, listing: nil)
        }
        var works: [DeviceWork] = []
        var unchanged = 0
        for step in steps {
            guard case .plan(let folder, let listing) = step else {
                unchanged += 1
                continue
            }
            let record = summaries[folder.name]
            let work = try plan(folder, record: record, root: root, store: store, listing: listing)
            if folder.manifest != nil && work.manifest == nil && folder.problem == nil { unchanged += 1 }
            // A device with nothing to read, no problem and the same folder name: the ledger would
            // change nothing, so its record is not even copied.
            if let record, work.isQuiet, record.displayName == folder.displayName { continue }
            works.append(work)
        }
        // The ledger compares a new manifest with the last one: the records of the devices read get
        // their bodies.
        var withBodies = consume summaries
        try store.loadBodies(of: works.map(\.folder.name), into: &withBodies)
        let known = consume withBodies
        logger.debug(
            "scanned \(folders.count) folders, \(works.filter { !$0.isEmpty }.count) to read, \(folders.count - works.count) quiet (\(Monotonic.millisecondsSince(started)) ms)"
        )

        // 2. Read in parallel, within the memory budget: the file I/O, all before the transaction.
        let reading = Monotonic.nanoseconds()
        let limit = configuration.maxManifestBytes
        let budget = ReadBudget(limit: readBudget.perPass, perDevice: readBudget.perDevice)
        let keep = configuration.archive
        // The trust file is read when something needs verifying (a pass over an unchanged fleet needs
        // nothing); each device's keys are parsed on the way, on all cores.
        let needsKeys = works.contains { !$0.backlogs.isEmpty || $0.manifest != nil }
        let lookup =
            needsKeys
            ? try TrustStore.load(path: configuration.trustFile).lookup(configured: configuration.devices) : nil
        let evidence = Parallel.map(works) { planned in
            var work = planned
            if let lookup, !work.backlogs.isEmpty || work.manifest != nil { work.trusted = lookup(work.folder.name) }
            return DeviceEvidence.read(work, limit: limit, budget: budget, now: now, keep: keep)
        }
        works.removeAll()
        let deferred = evidence.filter(\.deferred).count
        if deferred > 0 {
            logger.notice("\(deferred) devices' files wait for the next pass (the pass's read budget is spent)")
        }
        logger.debug("read in \(Monotonic.millisecondsSince(reading)) ms")

        // 3. In the transaction, the manifests are verified and the ledger's rules (pure) applied on
        // all cores, device by device, while this thread stores each slice of devices as it is done.
        let ledger = Ledger(now: now, skewLimit: configuration.clockSkew.milliseconds / 1000)
        let history = HistoryKeeper(retention: configuration.retention, now: now)
        var writes = PassWrites()
        var records = known
        let storing = Monotonic.nanoseconds()
        let (firing, queued, changed): (Int, Int, Bool) = try store.transaction {
            var points = PointRecorder(history: history)
            var lifetimes: [Int64] = []
            var devicesChanged = false
            var stored: (devices: Int64, manifests: Int64, transitions: Int64, points: Int64) = (0, 0, 0, 0)
            try Parallel.stream(evidence) { chunk in
                // The chunk's manifests are verified together: their signatures are one batch.
                var items = Array(chunk)
                DeviceEvidence.verifyManifests(&items, keep: keep)
                return items.map { item in
                    let name = item.work.folder.name
                    let previous = known[name]
                    let original = previous ?? DeviceRecord(name: name, displayName: item.work.folder.displayName)
                    var record = original
                    var writes = PassWrites()
                    ledger.apply(item, to: &record, writes: &writes)
                    if record != original || previous == nil { writes.devices.append(record) }
                    return (record: record, writes: writes)
                }
            } consume: { slice in
                var part = PassWrites()
                for (record, rows) in slice {
                    part.append(rows)
                    // Stored by now: what the rest of the pass reads of it is not its body.
                    records.put(record.summary)
                }
                var clock = Monotonic.nanoseconds()
                func lap(_ total: inout Int64) {
                    let now = Monotonic.nanoseconds()
                    total += now - clock
                    clock = now
                }
                try store.save(part.devices)
                lap(&stored.devices)
                try store.recordManifests(part.manifests)
                lap(&stored.manifests)
                try store.recordTransitions(part.transitions)
                lap(&stored.transitions)
                try points.record(part.points, store: store)
                lap(&stored.points)
                // What is stored is let go; of it the rest of the pass needs only how long manifests
                // live and whether any device changed.
                lifetimes += part.manifests.compactMap { entry in entry.row.expiresAt.map { $0 - entry.row.issuedAt } }
                devicesChanged = devicesChanged || !part.devices.isEmpty
                part.devices = []
                part.manifests = []
                part.transitions = []
                part.points = []
                writes.append(part)
            }
            logger.debug(
                "verified and stored in \(Monotonic.millisecondsSince(storing)) ms (on this thread: devices \(stored.devices / 1_000_000) ms, manifests \(stored.manifests / 1_000_000) ms, check changes \(stored.transitions / 1_000_000) ms, series \(stored.points / 1_000_000) ms)"
            )
            for rejection in writes.rejections {
                logger.warning("rejected \(rejection.path): \(InertText.clipped(rejection.reason, to: 300))")
            }

            // The archive is written before the commit (into the collector's own state folder, not the
            // share): a crash in between archives an envelope twice, never loses one. Old day files go
            // once a day.
            if configuration.archive {
                let archive = EnvelopeArchive(database: configuration.database)
                do throws(EnvelopeArchive.Failure) { try archive.append(writes.archive) } catch {
                    logger.error("\(error.description)")
                }
                let today = Timestamp.floorDiv(now, 86_400)
                if (try store.historyState("archive_pruned")) != today {
                    archive.prune(before: now.saturatingSubtract(configuration.retention.daily.wholeSeconds))
                }
                writes.archive = []
            }

            // 4. Alert evaluation (pure), routing into the outbox, and the pass's other rows.
            let existing = try store.alerts(includingResolvedSince: now.saturatingSubtract(Self.resolvedKeptSeconds))
            var conditions = AlertConditions.of(
                devices: records, configured: configuration.devices, now: now,
                defaultSilentAfter: configuration.silentAfter)
            let health = try store.receiverHealth()
            for receiver in configuration.receivers {
                guard let state = health[receiver.name], state.isFailing(at: now) else { continue }
                conditions.append(
                    AlertCondition(
                        name: .receiverFailing, device: host, checkID: receiver.name, severity: .warn,
                        summary: "receiver \(receiver.name) has failed \(state.failures) times in a row"
                            + (state.failingSince.map { " since \(Timestamp(secondsSinceEpoch: $0))" } ?? "")
                            + (state.lastError.map { ": \($0)" } ?? "")))
            }
            let changes = AlertEvaluator.evaluate(
                conditions: conditions, existing: existing, failureThreshold: configuration.failureThreshold,
                recoveryThreshold: configuration.recoveryThreshold,
                progress: Self.progress(of: existing, in: records), now: now)
            // History: rollups, availability and retention, in bounded slices.
            try history.noteLifetimes(lifetimes, store: store)
            let rolled = try history.compact(store: store)
            if configuration.archive { try store.setHistoryState("archive_pruned", Timestamp.floorDiv(now, 86_400)) }
            for rejection in writes.rejections { try store.recordRejection(rejection) }
            for (path, signature) in writes.filesSeen { try store.setFileSignature(path, signature) }
            try store.save(changes.save)
            for key in changes.delete { try store.deleteAlert(key) }

            // What the receivers are told, written with the alert changes that cause it.
            let before = Dictionary(existing.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            var alerts = before
            for key in changes.delete { alerts[key] = nil }
            for alert in changes.save { alerts[alert.key] = alert }
            let silentDevices = conditions.filter { $0.name == .deviceSilent }.map(\.device)
            let outcome = notify(
                alerts: Array(alerts.values), silentDevices: Set(silentDevices),
                silences: try store.silences(), groups: try store.groups(), now: now)
            for notification in outcome.notifications { try store.enqueue(notification, at: now) }
            for group in outcome.save { try store.save(group) }
            for key in outcome.delete { try store.deleteGroup(key) }

            try store.pruneResolved(before: now.saturatingSubtract(Self.resolvedKeptSeconds))
            try store.pruneRejections(
                before: now.saturatingSubtract(Self.rejectionRetentionSeconds), perDevice: Self.rejectionsPerDevice)
            try store.pruneOutbox(before: now.saturatingSubtract(Self.outboxKeptSeconds))
            try store.pruneSilences(before: now.saturatingSubtract(Self.outboxKeptSeconds))
            try store.recordPass(
                startedAt: now, finishedAt: clock.now().secondsSinceEpoch, devices: folders.count,
                accepted: writes.accepted, rejected: writes.rejected)
            // Did anything the published files show change? (Ages alone do not count: the files are
            // rebuilt every few minutes for them.)
            let silent = silentDevices.sorted().joined(separator: "\n")
            let silentHash = Int64(bitPattern: UInt64(Digest.sha256Hex(Array(silent.utf8)).prefix(15), radix: 16) ?? 0)
            let silenceChanged = try store.historyState("published_silent") != silentHash
            let changed =
                silenceChanged || devicesChanged || !changes.delete.isEmpty || rolled
                || changes.save.contains { alert in
                    before[alert.key].map {
                        ($0.state, $0.severity, $0.summary) != (alert.state, alert.severity, alert.summary)
                    }
                        ?? true
                }
                || outcome.notifications.contains { $0.kind == .group }
            try store.setHistoryState("published_silent", silentHash)
            if Self.fault == "kill-before-commit" { kill(getpid(), SIGKILL) }
            return (alerts.values.filter { $0.state == .firing }.count, outcome.notifications.count, changed)
        }
        if Self.fault == "kill-after-commit" { kill(getpid(), SIGKILL) }
        logger.debug("stored, evaluated and committed in \(Monotonic.millisecondsSince(storing)) ms")
        let summary = PassSummary(
            devices: folders.count, accepted: writes.accepted, rejected: writes.rejected, unchanged: unchanged,
            deferred: deferred, firing: firing, queued: queued, changed: changed,
            milliseconds: Monotonic.millisecondsSince(started))
        // Freed on a thread of their own: the calling thread goes on to deliver, publish or exit.
        BlockingWork.release((consume known, consume records, consume folders, consume steps, consume evidence))
        return summary
    }

    /// The last accepted sequence of each device with a firing alert: all the evaluator asks for (a
    /// recovery is counted in manifests), not every record copied every pass.
    static func progress(of alerts: [AlertRecord], in records: DeviceRecords) -> [String: Int64] {
        var progress: [String: Int64] = [:]
        for alert in alerts where alert.state == .firing && progress[alert.device] == nil {
            if let sequence = records[alert.device]?.lastSequence { progress[alert.device] = sequence }
        }
        return progress
    }

    /// Which alerts are sent where: silences and inhibitions applied, then the routes. Pure.
    func notify(
        alerts: [AlertRecord], silentDevices: Set<String>, silences: [AlertSilence], groups: [String: GroupState],
        now: Int64
    ) -> Router.Outcome {
        // Without routes no alert goes anywhere: their notices are not even made.
        let candidates = configuration.routes.isEmpty ? [] : alerts.filter { $0.state != .pending }
        let inhibited = Inhibition.inhibited(candidates, silentDevices: silentDevices)
        let active = silences.filter { $0.isActive(at: now) }
        let routed = candidates.map { alert in
            let notice = AlertNotice(alert)
            return RoutedAlert(
                notice: notice, silenced: active.contains { $0.matches(notice.labels) },
                inhibited: inhibited.contains(alert.key))
        }
        let router = Router(
            routes: configuration.routes,
            kinds: Dictionary(configuration.receivers.map { ($0.name, $0.kind) }) { a, _ in a },
            heartbeat: configuration.heartbeatReceiver, host: host, now: now)
        return router.route(routed, groups: groups)
    }

    /// One pass, then delivery of what is due (the pass's own notifications and any retries), then
    /// publishing into `publish_dir`.
    ///
    /// - Returns: what the pass and the delivery did, and why publishing failed if it did.
    /// - Throws: what ``pass()`` throws; a receiver that fails, or a publish folder that cannot be
    ///   written, is never an error of the run.
    public func run() async throws -> (pass: PassSummary, delivery: DeliverySummary, publishProblem: String?) {
        let started = Monotonic.nanoseconds()
        let summary = try pass()
        let delivery = try await deliver()
        var problem: String?
        if configuration.publish {
            do {
                try Publisher(configuration: configuration, host: host, clock: clock).publish(
                    passMilliseconds: Monotonic.millisecondsSince(started),
                    changed: summary.changed || delivery.attempted > 0)
            } catch {
                problem = "publishing into \(configuration.publishDir) failed: \(error)"
                logger.error("\(problem!)")
            }
        }
        return (summary, delivery, problem)
    }

    /// Sends the notifications that are due (between passes too: `run --every` calls it as retries fall due).
    public func deliver() async throws -> DeliverySummary {
        guard !configuration.receivers.isEmpty else { return DeliverySummary() }
        let deliverer = Deliverer(
            receivers: Dictionary(configuration.receivers.map { ($0.name, $0) }) { a, _ in a },
            interval: configuration.interval, giveUpAfter: configuration.giveUpAfter, clock: clock, logger: logger)
        return try await deliverer.deliver(database: configuration.database)
    }

    /// When the next notification is due, if one waits.
    public func nextDelivery() throws -> Timestamp? {
        guard FileStatus.exists(configuration.database) else { return nil }
        return try CollectorStore(path: configuration.database).nextDue().map(Timestamp.init(secondsSinceEpoch:))
    }

    /// What to read for `folder`: a changed manifest, its changed backlogs, and legacy files
    /// where the device has no signed manifests (or is configured `legacy: true`).
    private func plan(
        _ folder: DeviceFolder, record: DeviceRecord?, root: String, store: CollectorStore,
        listing: (files: [FileRef], problems: [ScanProblem])?
    ) throws -> DeviceWork {
        var work = DeviceWork(folder: folder, baseline: record?.lastSequence)
        guard folder.problem == nil else { return work }
        var present: [String: String] = [:]
        var listed = false
        func note(_ problems: [ScanProblem]) throws {
            for problem in problems {
                let recorded = try store.fileSignature(problem.path) == "scan:" + problem.reason
                work.scanProblems.append((problem, recorded))
            }
        }
        let manifestChanged = folder.manifestChanged(since: record?.manifestStamp)
        // Listed beforehand, in parallel, where the manifest changed or a file problem stands.
        if let (backlogs, problems) = listing {
            listed = true
            for backlog in backlogs {
                let signature = backlog.signature
                present[backlog.path] = signature
                if try store.fileSignature(backlog.path) != signature { work.backlogs.append(backlog) }
            }
            try note(problems)
        }
        if manifestChanged { work.manifest = folder.manifest }
        let legacyConfigured = configuration.devices[folder.name]?.legacy == true
        if legacyConfigured || (folder.manifest == nil && record?.trust != .signed) {
            listed = true
            let (files, problems) = DeviceScanner.legacyFiles(in: folder.path, root: root)
            for file in files {
                let signature = file.signature
                present[file.path] = signature
                // A file dated in the future is read every pass (its clock stays off while it is there),
                // its refusal recorded once.
                switch try store.fileSignature(file.path) {
                case signature: continue
                case Ledger.futureMark + signature: work.legacy.append(file)
                default:
                    work.legacy.append(file)
                    work.unrecordedLegacy.insert(file.path)
                }
            }
            try note(problems)
        }
        if listed { work.present = present }
        return work
    }
}
