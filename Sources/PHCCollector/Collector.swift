#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
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
    public var firing: Int
    public var milliseconds: Int64
}

/// One collector pass: read every device's manifest (and backlog, and legacy
/// status), trust only what verifies, keep history, notice silence, and update
/// alert state, all committed in one SQLite transaction.
///
/// A pass killed halfway commits nothing, so the next one re-reads the same
/// files: no sequence state is lost and no history row is counted twice. Files
/// that have not changed since the pass that read them are not read again.
public struct Collector: Sendable {
    public let configuration: CollectorConfiguration
    let logger: Logger
    let clock: WallClock

    public init(configuration: CollectorConfiguration, logger: Logger, clock: WallClock = .system) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
    }

    /// Work for the parallel phase: one manifest or backlog file.
    private struct Job: Sendable {
        var folder: String
        var file: FileRef
        var isBacklog: Bool
        var trusted: [PublicKey]
    }

    private enum JobResult: Sendable {
        case manifest(Verdict)
        case backlog([Verdict], problem: String?)
    }

    /// Runs one pass.
    ///
    /// - Throws: when nothing can be done at all (no devices folder, unusable database or trust file).
    ///   A bad file is never an error of the pass: it is a rejection, recorded and shown.
    public func pass() throws -> PassSummary {
        let started = Monotonic.nanoseconds()
        let now = clock.now().secondsSinceEpoch
        let trust = try TrustStore.load(path: configuration.trustFile)
        let trustedKeys = trust.lookup(configured: configuration.devices)
        let store = try CollectorStore(path: configuration.database)
        var known = try store.devices()
        let folders = try DeviceScanner.scan(configuration.devicesDir, skipping: configuration.publishDir)
        let root = DeviceScanner.realPath(configuration.devicesDir) ?? configuration.devicesDir

        // 1. What changed since the last pass: only that is read and verified.
        var jobs: [Job] = []
        var unchanged = 0
        for folder in folders where folder.problem == nil {
            guard let manifest = folder.manifest else { continue }
            if known[folder.name]?.manifestSignature == manifest.signature {
                unchanged += 1
                continue
            }
            let trusted = trustedKeys(folder.name)
            if let health = folder.healthDir {
                for backlog in DeviceScanner.backlogs(in: health, root: root)
                where (try? store.fileSignature(backlog.path)) != backlog.signature {
                    jobs.append(Job(folder: folder.name, file: backlog, isBacklog: true, trusted: trusted))
                }
            }
            jobs.append(Job(folder: folder.name, file: manifest, isBacklog: false, trusted: trusted))
        }

        logger.debug(
            "scanned \(folders.count) folders, \(jobs.count) files to read (\(Monotonic.millisecondsSince(started)) ms)"
        )
        // 2. Read and verify in parallel.
        let verifying = Monotonic.nanoseconds()
        let limit = configuration.maxManifestBytes
        let results = ManifestVerifier.parallelMap(jobs) { job -> JobResult in
            job.isBacklog
                ? Self.verifyBacklog(job.file, folder: job.folder, trusted: job.trusted, limit: limit)
                : .manifest(
                    ManifestVerifier.verify(file: job.file, folder: job.folder, trusted: job.trusted, limit: limit))
        }

        logger.debug("verified \(jobs.count) files in \(Monotonic.millisecondsSince(verifying)) ms")
        // 3. Apply, evaluate and commit in one transaction.
        let storing = Monotonic.nanoseconds()
        let folderByName = Dictionary(folders.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var accepted = 0
        var rejected = 0
        var firing = 0
        try store.transaction {
            for folder in folders {
                guard let problem = folder.problem else { continue }
                var record = known[folder.name] ?? DeviceRecord(name: folder.name, displayName: folder.displayName)
                if record.rejection != problem {
                    try store.recordRejection(
                        device: folder.name, path: folder.path, kind: RejectionKind.refused.rawValue, reason: problem,
                        sequence: nil, at: now)
                    rejected += 1
                }
                record.rejection = problem
                record.rejectionKind = RejectionKind.refused.rawValue
                record.manifestSignature = nil
                try store.save(record)
                known[folder.name] = record
            }
            for (job, result) in zip(jobs, results) {
                let folder = folderByName[job.folder]!
                var record = known[job.folder] ?? DeviceRecord(name: job.folder, displayName: folder.displayName)
                switch result {
                case .backlog(let verdicts, let problem):
                    for verdict in verdicts {
                        if case .verified(let verified) = verdict,
                            try apply(verified, to: &record, source: "backlog", file: job.file, now: now, store: store)
                        {
                            accepted += 1
                        }
                    }
                    if let problem {
                        try store.recordRejection(
                            device: job.folder, path: job.file.path, kind: RejectionKind.unreadable.rawValue,
                            reason: problem, sequence: nil, at: now)
                        rejected += 1
                    }
                    try store.setFileSignature(job.file.path, job.file.signature)
                case .manifest(let verdict):
                    record.manifestSignature = job.file.signature
                    var rejection: (RejectionKind, String, Int64?)?
                    switch verdict {
                    case .verified(let verified):
                        do {
                            if try apply(
                                verified, to: &record, source: "manifest", file: job.file, now: now, store: store)
                            {
                                accepted += 1
                            }
                            record.rejection = nil
                            record.rejectionKind = nil
                        } catch let replay as Replay {
                            rejection = (.replay, replay.reason, verified.manifest.sequence)
                        }
                    case .rejected(let kind, let reason, let sequence):
                        rejection = (kind, reason, sequence)
                    }
                    if let (kind, reason, sequence) = rejection {
                        try store.recordRejection(
                            device: job.folder, path: job.file.path, kind: kind.rawValue, reason: reason,
                            sequence: sequence,
                            at: now)
                        record.rejection = reason
                        record.rejectionKind = kind.rawValue
                        rejected += 1
                        logger.warning("rejected \(job.file.path): \(reason)")
                    }
                }
                if record.displayName != folder.displayName { record.displayName = folder.displayName }
                try store.save(record)
                known[job.folder] = record
            }
            try ingestLegacy(folders: folders, root: root, known: &known, store: store, now: now)

            let conditions = Self.conditions(
                devices: known, configured: configuration.devices, now: now,
                defaultSilentAfter: configuration.silentAfter)
            let changes = AlertEvaluator.evaluate(
                conditions: conditions, existing: try store.alerts(), threshold: configuration.failureThreshold,
                now: now)
            for alert in changes.save { try store.save(alert) }
            for key in changes.delete { try store.deleteAlert(key) }
            try store.pruneResolved(before: now - 7 * 86400)
            // Every alert that was not resolved is in `save` or `delete`: the firing ones are all in `save`.
            firing = changes.save.filter { $0.state == "firing" }.count
            try store.recordPass(
                startedAt: now, finishedAt: clock.now().secondsSinceEpoch, devices: folders.count, accepted: accepted,
                rejected: rejected)
        }
        logger.debug("stored and evaluated in \(Monotonic.millisecondsSince(storing)) ms")
        return PassSummary(
            devices: folders.count, accepted: accepted, rejected: rejected, unchanged: unchanged, firing: firing,
            milliseconds: Monotonic.millisecondsSince(started))
    }

    struct Replay: Error {
        let reason: String
    }

    /// Records a verified manifest if its sequence is new. Returns whether it was accepted.
    ///
    /// - Throws: ``Replay`` when manifest.json goes back in sequence (backlog duplicates are skipped quietly).
    private func apply(
        _ verified: VerifiedManifest, to record: inout DeviceRecord, source: String, file: FileRef, now: Int64,
        store: CollectorStore
    ) throws -> Bool {
        let manifest = verified.manifest
        if let last = record.lastSequence, manifest.sequence <= last {
            guard source == "manifest" else { return false }
            if manifest.sequence == last && verified.digest == record.payloadDigest { return false }
            let reason =
                manifest.sequence == last
                ? "sequence \(manifest.sequence) was already accepted with other content (replay or forgery)"
                : "sequence \(manifest.sequence) is older than the last accepted \(last) (replayed or rolled back)"
            throw Replay(reason: reason)
        }
        let checks = manifest.checks
        let previous = Dictionary(record.checks.map { ($0.id, $0.status) }, uniquingKeysWith: { a, _ in a })
        for check in checks where previous[check.id] != check.status {
            try store.recordTransition(
                device: record.name, check: check, sequence: manifest.sequence,
                issuedAt: manifest.issuedAt.secondsSinceEpoch)
        }
        try store.recordManifest(
            device: record.name, sequence: manifest.sequence, issuedAt: manifest.issuedAt.secondsSinceEpoch,
            receivedAt: now, status: manifest.status, source: source)
        record.trust = "signed"
        record.lastSequence = manifest.sequence
        record.payloadDigest = verified.digest
        record.issuedAt = manifest.issuedAt.secondsSinceEpoch
        record.expiresAt = manifest.expiresAt.secondsSinceEpoch
        record.intervalS = manifest.intervalS
        record.status = manifest.status
        record.checks = checks
        record.keyID = verified.keyID
        record.agentVersion = manifest.agent.version
        record.lastSeen = now
        if source == "manifest" {
            // The agent writes within moments of issuing: a file time far from issued_at,
            // or an issued_at in the future, means a clock is off.
            let skewLimit = configuration.clockSkew.milliseconds / 1000
            let issued = manifest.issuedAt.secondsSinceEpoch
            let fromFile = issued - file.modified
            let fromNow = issued - now
            record.skewSeconds = abs(fromFile) > skewLimit ? fromFile : (fromNow > skewLimit ? fromNow : 0)
        }
        return true
    }

    private static func verifyBacklog(_ file: FileRef, folder: String, trusted: [PublicKey], limit: Int) -> JobResult {
        let compressedLimit = 64 * 1024 * 1024
        guard file.size <= Int64(compressedLimit) else {
            return .backlog([], problem: "\(file.path) is \(ByteCount.format(file.size)), over the 64 MiB limit")
        }
        let lines: [Data]
        do {
            let raw = try FileReader.read(file.path, limit: compressedLimit)
            let text = try Gzip.decompress(raw, limit: 512 * 1024 * 1024)
            lines = text.split(separator: UInt8(ascii: "\n")).map { Data($0) }
        } catch let error as FileReader.Failure {
            return .backlog([], problem: error.description)
        } catch {
            return .backlog([], problem: "\(file.path): \(error)")
        }
        var verdicts: [Verdict] = []
        var bad = 0
        for line in lines {
            let verdict =
                line.count > limit
                ? .rejected(.unreadable, "an envelope over the \(ByteCount.format(Int64(limit))) limit", sequence: nil)
                : ManifestVerifier.verify(envelope: line, folder: folder, trusted: trusted)
            if case .rejected = verdict { bad += 1 }
            verdicts.append(verdict)
        }
        verdicts.sort { sequence($0) < sequence($1) }
        let problem = bad > 0 ? "\(bad) of \(lines.count) envelopes in \(file.path) did not verify" : nil
        return .backlog(verdicts, problem: problem)
    }

    private static func sequence(_ verdict: Verdict) -> Int64 {
        if case .verified(let verified) = verdict { return verified.manifest.sequence }
        return .max
    }

    /// Legacy `_status.json` for folders without signed manifests (or configured `legacy: true`).
    private func ingestLegacy(
        folders: [DeviceFolder], root: String, known: inout [String: DeviceRecord], store: CollectorStore, now: Int64
    ) throws {
        for folder in folders where folder.problem == nil {
            let configured = configuration.devices[folder.name]
            let hasSigned = known[folder.name]?.trust == "signed"
            guard configured?.legacy == true || (folder.manifest == nil && !hasSigned) else { continue }
            for file in DeviceScanner.legacyFiles(in: folder.path, root: root) {
                guard try store.fileSignature(file.path) != file.signature else { continue }
                try store.setFileSignature(file.path, file.signature)
                var record = known[folder.name] ?? DeviceRecord(name: folder.name, displayName: folder.displayName)
                guard file.size <= 64 * 1024, let data = try? FileReader.read(file.path, limit: 64 * 1024) else {
                    try store.recordRejection(
                        device: folder.name, path: file.path, kind: RejectionKind.unreadable.rawValue,
                        reason: "\(file.path) cannot be read or is over 64 KiB", sequence: nil, at: now)
                    continue
                }
                do {
                    let legacy = try LegacyStatusFile.parse(data)
                    let issued = legacy.timestamp?.secondsSinceEpoch ?? file.modified
                    guard issued >= (record.issuedAt ?? .min) else { continue }
                    record.trust = "unsigned"
                    record.issuedAt = issued
                    record.expiresAt = nil
                    record.status = CheckStatus.worst(legacy.checks.map(\.status))
                    record.checks = legacy.checks
                    record.lastSeen = now
                    record.rejection = nil
                    record.rejectionKind = nil
                    try store.save(record)
                    known[folder.name] = record
                } catch {
                    try store.recordRejection(
                        device: folder.name, path: file.path, kind: RejectionKind.unreadable.rawValue,
                        reason: "\(file.path): \(error)", sequence: nil, at: now)
                }
            }
        }
    }

    /// Legacy writers say nothing about their interval; silence after this long.
    static let legacySilence: Int64 = 15 * 60

    /// Whether a device is silent, with a one-line reason.
    static func silence(
        of record: DeviceRecord?, configured: DeviceConfiguration?, now: Int64, defaultSilentAfter: Duration?
    ) -> String? {
        guard let record, let issued = record.issuedAt else {
            return configured == nil ? nil : "never seen"
        }
        let limit = (configured?.silentAfter ?? defaultSilentAfter).map { $0.milliseconds / 1000 }
        let deadline: Int64
        if let limit {
            deadline = issued + limit
        } else if let expires = record.expiresAt {
            deadline = expires
        } else {
            deadline = issued + legacySilence
        }
        guard now > deadline else { return nil }
        return "silent: last manifest issued \(Age.text(now - issued)) ago"
    }

    /// How bad silence is: always-on devices are expected to talk.
    static func silenceSeverity(_ configured: DeviceConfiguration?) -> CheckStatus {
        configured?.alwaysOn == true ? .crit : .warn
    }

    /// What is wrong right now, device by device.
    static func conditions(
        devices: [String: DeviceRecord], configured: [String: DeviceConfiguration], now: Int64,
        defaultSilentAfter: Duration?
    ) -> [AlertCondition] {
        var conditions: [AlertCondition] = []
        for name in Set(devices.keys).union(configured.keys).sorted() {
            let record = devices[name]
            let device = configured[name]
            if let reason = silence(of: record, configured: device, now: now, defaultSilentAfter: defaultSilentAfter) {
                conditions.append(
                    AlertCondition(
                        name: AlertEvaluator.deviceSilent, device: name,
                        severity: silenceSeverity(device),
                        summary: "\(name) is \(reason)"))
            } else if let record {
                // A silent device's old check results are not news: only a talking device's are.
                for problem in record.problems {
                    conditions.append(
                        AlertCondition(
                            name: AlertEvaluator.checkFailing, device: name, checkID: problem.id,
                            severity: problem.status == .crit ? .crit : .warn, summary: problem.summary))
                }
            }
            if let record, let rejection = record.rejection, let kind = record.rejectionKind {
                let (alert, severity): (String, CheckStatus) =
                    switch RejectionKind(rawValue: kind) {
                    case .replay: (AlertEvaluator.manifestReplay, .crit)
                    case .unreadable: (AlertEvaluator.manifestUnreadable, .warn)
                    default: (AlertEvaluator.signatureInvalid, .crit)
                    }
                conditions.append(AlertCondition(name: alert, device: name, severity: severity, summary: rejection))
            }
            if let record, record.skewSeconds != 0 {
                conditions.append(
                    AlertCondition(
                        name: AlertEvaluator.clockSkew, device: name, severity: .warn,
                        summary: "\(name)'s clock is \(Age.text(abs(record.skewSeconds))) "
                            + (record.skewSeconds > 0 ? "ahead" : "behind")))
            }
        }
        return conditions
    }
}

/// "3m", "2h5m", "4d": the age texts of reports, to two units at most.
enum Age {
    static func text(_ seconds: Int64) -> String {
        let seconds = max(0, seconds)
        let precision: Int64 = seconds < 60 ? 1 : seconds < 86400 ? 60 : 3600
        return DurationText.format(.seconds(seconds / precision * precision))
    }
}
