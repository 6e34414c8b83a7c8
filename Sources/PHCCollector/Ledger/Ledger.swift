#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// The rows one pass writes, gathered before the commit.
struct PassWrites: Sendable {
    var devices: [DeviceRecord] = []
    var manifests: [(device: String, row: CollectorStore.ManifestRow)] = []
    var transitions: [(device: String, row: CollectorStore.TransitionRow)] = []
    /// Series values of accepted manifests (backlog history included), at their issue time.
    var points: [(device: String, time: Int64, value: SeriesValue)] = []
    /// Accepted envelopes, as read, for the archive (only when archiving).
    var archive: [(device: String, time: Int64, envelope: Data)] = []
    var rejections: [CollectorStore.Rejection] = []
    var filesSeen: [(path: String, signature: String)] = []
    var accepted = 0
    var rejected = 0

    /// Adds another device's writes after these (the pass applies the ledger device by device, in
    /// parallel, then merges in the devices' order).
    mutating func append(_ other: PassWrites) {
        devices += other.devices
        manifests += other.manifests
        transitions += other.transitions
        points += other.points
        archive += other.archive
        rejections += other.rejections
        filesSeen += other.filesSeen
        accepted += other.accepted
        rejected += other.rejected
    }

    /// A manifest kept as history: its row, its series values and (when archiving) its envelope.
    mutating func addHistory(
        device: String, row: CollectorStore.ManifestRow, values: [SeriesValue], envelope: Data?
    ) {
        manifests.append((device, row))
        for value in values { points.append((device, row.issuedAt, value)) }
        if let envelope { archive.append((device, row.issuedAt, envelope)) }
    }
}

/// The collector's rules for evidence, as values: what a verified manifest, a backlog, a
/// legacy file or a refused file does to a device's record, and which rows that writes.
///
/// Pure: no file, no database. The sequence rule (strictly newer than the last accepted, a
/// replay or rollback refused), the skew rule (issued far from the file's time, or in the
/// future) and the legacy rules (newest wins, but never a time in the future) live here.
struct Ledger: Sendable {
    var now: Int64
    /// `clock_skew` in seconds.
    var skewLimit: Int64

    /// Applies one device's evidence to `record` and adds the rows it writes to `writes`.
    func apply(_ evidence: DeviceEvidence, to record: inout DeviceRecord, writes: inout PassWrites) {
        let folder = evidence.work.folder
        if record.displayName != folder.displayName { record.displayName = folder.displayName }
        if let problem = folder.problem {
            refuseFolder(problem, folder: folder, record: &record, writes: &writes)
            return
        }
        var newProblem: FileProblem?
        for reading in evidence.backlogs {
            for verified in reading.verified {
                if accept(verified, source: .backlog, file: reading.file, record: &record, writes: &writes) {
                    writes.accepted += 1
                }
            }
            for late in reading.late {
                writes.addHistory(device: record.name, row: late.row, values: late.values, envelope: late.envelope)
            }
            if let reason = reading.refusalSummary {
                let kind = reading.refusedCount > 0 ? reading.worstKind : .unreadable
                writes.rejections.append(
                    .init(
                        device: record.name, path: reading.file.path, kind: kind, reason: reason, sequence: nil, at: now
                    ))
                writes.rejected += 1
                newProblem = FileProblem(
                    path: reading.file.path, kind: kind, reason: reason, signature: reading.file.signature)
            }
            if reading.complete { writes.filesSeen.append((reading.file.path, reading.file.signature)) }
        }
        if let (file, verdict) = evidence.manifest {
            applyManifest(verdict, file: file, record: &record, writes: &writes)
        }
        applyLegacy(evidence.legacy, unrecorded: evidence.work.unrecordedLegacy, record: &record, writes: &writes)
        for (problem, recorded) in evidence.work.scanProblems {
            let signature = "scan:" + problem.reason
            if !recorded {
                writes.rejections.append(
                    .init(
                        device: record.name, path: problem.path, kind: .refused, reason: problem.reason, sequence: nil,
                        at: now))
                writes.rejected += 1
                writes.filesSeen.append((problem.path, signature))
            }
            if newProblem == nil, record.fileProblem?.path != problem.path || !recorded {
                newProblem = FileProblem(
                    path: problem.path, kind: .refused, reason: problem.reason, signature: signature)
            }
        }
        if let newProblem {
            record.fileProblem = newProblem
        } else if let old = record.fileProblem, let present = evidence.work.present {
            // The problem stays while its file is there unchanged (or still not a readable file).
            let stillThere =
                present[old.path] == old.signature
                || evidence.work.scanProblems.contains {
                    "scan:" + $0.problem.reason == old.signature && $0.problem.path == old.path
                }
            if !stillThere { record.fileProblem = nil }
        }
    }

    private func refuseFolder(
        _ problem: String, folder: DeviceFolder, record: inout DeviceRecord, writes: inout PassWrites
    ) {
        if record.rejection != problem {
            writes.rejections.append(
                .init(device: record.name, path: folder.path, kind: .refused, reason: problem, sequence: nil, at: now))
            writes.rejected += 1
        }
        record.rejection = problem
        record.rejectionKind = .refused
        record.manifestStamp = nil
    }

    private func applyManifest(_ verdict: Verdict, file: FileRef, record: inout DeviceRecord, writes: inout PassWrites)
    {
        record.manifestStamp = file.stamp
        var refusal: (RejectionKind, String, Int64?)?
        switch verdict {
        case .verified(let verified):
            switch decide(verified, source: .manifest, record: record) {
            case .accept:
                _ = accept(verified, source: .manifest, file: file, record: &record, writes: &writes)
                writes.accepted += 1
                record.rejection = nil
                record.rejectionKind = nil
            case .unchanged:
                record.rejection = nil
                record.rejectionKind = nil
            case .late:
                break
            case .refuse(let reason):
                refusal = (.replay, reason, verified.manifest.sequence)
            }
        case .rejected(let kind, let reason, let sequence):
            refusal = (kind, reason, sequence)
        }
        if let (kind, reason, sequence) = refusal {
            writes.rejections.append(
                .init(device: record.name, path: file.path, kind: kind, reason: reason, sequence: sequence, at: now))
            writes.rejected += 1
            record.rejection = reason
            record.rejectionKind = kind
        }
    }

    enum Decision: Equatable {
        /// Newer than anything accepted: the device's current state.
        case accept
        /// The same manifest again (re-written file): nothing to do.
        case unchanged
        /// A backlog line at or below the last accepted sequence: history only.
        case late
        /// manifest.json going back in sequence, or the same number with other content.
        case refuse(String)
    }

    /// The sequence rule.
    func decide(_ verified: VerifiedManifest, source: ManifestSource, record: DeviceRecord) -> Decision {
        let sequence = verified.manifest.sequence
        guard let last = record.lastSequence, sequence <= last else { return .accept }
        guard source == .manifest else { return .late }
        if sequence == last && verified.digest == record.payloadDigest { return .unchanged }
        return .refuse(
            sequence == last
                ? "sequence \(sequence) was already accepted with other content (replay or forgery)"
                : "sequence \(sequence) is older than the last accepted \(last) (replayed or rolled back)")
    }

    /// Makes `verified` the device's current state when the sequence rule allows; returns whether it did.
    @discardableResult
    private func accept(
        _ verified: VerifiedManifest, source: ManifestSource, file: FileRef, record: inout DeviceRecord,
        writes: inout PassWrites
    ) -> Bool {
        let manifest = verified.manifest
        let row = CollectorStore.ManifestRow(
            sequence: manifest.sequence, issuedAt: manifest.issuedAt.secondsSinceEpoch, receivedAt: now,
            status: manifest.status, source: source, expiresAt: manifest.expiresAt.secondsSinceEpoch)
        switch decide(verified, source: source, record: record) {
        case .accept: break
        case .late:
            writes.addHistory(device: record.name, row: row, values: manifest.values, envelope: verified.envelope)
            return false
        case .unchanged, .refuse: return false
        }
        writes.addHistory(device: record.name, row: row, values: manifest.values, envelope: verified.envelope)
        let previous = Dictionary(record.checks.map { ($0.id, $0.status) }, uniquingKeysWith: { a, _ in a })
        for check in manifest.checks where previous[check.id] != check.status {
            writes.transitions.append(
                (
                    record.name,
                    .init(
                        checkID: check.id, sequence: manifest.sequence, issuedAt: row.issuedAt, status: check.status,
                        summary: check.summary)
                ))
        }
        record.trust = .signed
        record.lastSequence = manifest.sequence
        record.payloadDigest = verified.digest
        record.issuedAt = manifest.issuedAt.secondsSinceEpoch
        record.expiresAt = manifest.expiresAt.secondsSinceEpoch
        record.intervalS = manifest.intervalS
        record.status = manifest.status
        record.checks = manifest.checks
        record.latestValues = manifest.values
        record.keyID = verified.keyID
        record.agentVersion = manifest.agent.version
        record.lastSeen = now
        if source == .manifest {
            record.skewSeconds = skew(issued: row.issuedAt, fileTime: file.modified)
        }
        return true
    }

    /// The agent writes within moments of issuing: a file time far from issued_at, or an
    /// issued_at in the future, means a clock is off. Positive: the device's clock is ahead.
    func skew(issued: Int64, fileTime: Int64) -> Int64 {
        let fromFile = issued.saturatingSubtract(fileTime)
        let fromNow = issued.saturatingSubtract(now)
        if fromFile.saturatingMagnitude > skewLimit { return fromFile }
        return fromNow > skewLimit ? fromNow : 0
    }

    /// Marks, in `files_seen`, a legacy file refused for its future date: read again every pass.
    static let futureMark = "future:"

    /// Whether `time` is further in the future than the skew allows.
    func isFuture(_ time: Int64) -> Bool { time > now.saturatingAdd(skewLimit) }

    /// Legacy `_status.json` files: the newest wins, but a time further ahead than `clock_skew`
    /// is a clock that is off, not news: refused (with `ClockSkew`) and never made the newest.
    private func applyLegacy(
        _ readings: [LegacyReading], unrecorded: Set<String>, record: inout DeviceRecord, writes: inout PassWrites
    ) {
        guard !readings.isEmpty else { return }
        var ahead: Int64 = 0
        for reading in readings {
            let legacy: LegacyStatusFile
            switch reading.result {
            case .failure(let failure):
                writes.filesSeen.append((reading.file.path, reading.file.signature))
                writes.rejections.append(
                    .init(
                        device: record.name, path: reading.file.path, kind: .unreadable,
                        reason: "\(reading.file.path): \(failure.description)", sequence: nil, at: now))
                writes.rejected += 1
                continue
            case .success(let value): legacy = value
            }
            let issued = legacy.timestamp?.secondsSinceEpoch ?? reading.file.modified
            if isFuture(issued) {
                ahead = max(ahead, issued.saturatingSubtract(now))
                writes.filesSeen.append((reading.file.path, Self.futureMark + reading.file.signature))
                guard unrecorded.contains(reading.file.path) else { continue }
                writes.rejections.append(
                    .init(
                        device: record.name, path: reading.file.path, kind: .unreadable,
                        reason: "\(reading.file.path) is dated \(Timestamp(secondsSinceEpoch: issued)), "
                            + "\(Age.text(issued.saturatingSubtract(now))) in the future: a clock is off; not used",
                        sequence: nil, at: now))
                writes.rejected += 1
                continue
            }
            writes.filesSeen.append((reading.file.path, reading.file.signature))
            // A newest time that is itself in the future (stored before this rule) counts for nothing.
            let newest = record.issuedAt.flatMap { isFuture($0) ? nil : $0 } ?? .min
            guard issued >= newest else { continue }
            record.trust = .unsigned
            record.issuedAt = issued
            record.expiresAt = nil
            record.status = CheckStatus.worst(legacy.checks.map(\.status))
            record.checks = legacy.checks
            record.lastSeen = now
            record.rejection = nil
            record.rejectionKind = nil
        }
        if record.trust != .signed { record.skewSeconds = ahead }
    }
}
