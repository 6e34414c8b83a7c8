#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// What a pass will read for one device folder: the files that changed since they were last read.
struct DeviceWork: Sendable {
    var folder: DeviceFolder
    var trusted: [PublicKey] = []
    /// The device's last accepted sequence before this pass.
    var baseline: Int64?
    var backlogs: [FileRef] = []
    var manifest: FileRef?
    var legacy: [FileRef] = []
    /// Legacy files whose refusal (if they are refused) has not been recorded yet.
    var unrecordedLegacy: Set<String> = []
    /// Backlog and legacy files that are not readable files, with whether that was already recorded.
    var scanProblems: [(problem: ScanProblem, recorded: Bool)] = []
    /// Signatures of the backlog and legacy files present now (nil when they were not listed this pass).
    var present: [String: String]?

    var isEmpty: Bool { backlogs.isEmpty && manifest == nil && legacy.isEmpty }

    /// Nothing to read and nothing to say: no problem with the folder or its files, and its files
    /// were not even listed (nothing changed that would make the ledger look at them).
    var isQuiet: Bool { isEmpty && folder.problem == nil && scanProblems.isEmpty && present == nil }
}

/// A legacy `_status.json` as read.
struct LegacyReading: Sendable {
    var file: FileRef
    var result: Result<LegacyStatusFile, LegacyStatusFile.Failure>
}

/// What was read and verified for one device. Built in parallel, touching only files;
/// the ledger then decides what it means.
struct DeviceEvidence: Sendable {
    var work: DeviceWork
    var backlogs: [BacklogReading] = []
    var manifest: (file: FileRef, verdict: Verdict)?
    /// The manifest as read, not verified yet: reading is file I/O, done before the pass's
    /// transaction; verifying (``verifyManifest(keep:)``) is pure, done beside the store.
    var unverified: (file: FileRef, envelope: Data)?
    var legacy: [LegacyReading] = []
    /// The memory budget ran out: what was not read waits for the next pass.
    var deferred = false

    /// Reads what `work` names, within the device's and the pass's memory budget: backlogs are
    /// verified as they are read (line by line, within the budget), the manifest is only read.
    static func read(_ work: DeviceWork, limit: Int, budget: ReadBudget, now: Int64, keep: Bool = false)
        -> DeviceEvidence
    {
        var evidence = DeviceEvidence(work: work)
        guard !work.isEmpty else { return evidence }
        // Once the pass is over budget, whole devices wait for the next pass.
        guard !budget.isExhausted else {
            evidence.deferred = true
            return evidence
        }
        var held = 0
        for backlog in work.backlogs {
            let (reading, cost) = BacklogReader.read(
                backlog, folder: work.folder.name, trusted: work.trusted, baseline: work.baseline, lineLimit: limit,
                deviceAllowance: budget.perDevice - held, budget: budget, receivedAt: now, keep: keep)
            held += cost
            evidence.backlogs.append(reading)
            guard reading.complete else {
                // The manifest is newer than what remains: it waits too, so history stays in order.
                evidence.deferred = true
                return evidence
            }
        }
        if let file = work.manifest {
            switch ManifestVerifier.read(file: file, limit: limit) {
            case .success(let envelope):
                _ = budget.take(envelope.count)
                evidence.unverified = (file, envelope)
            case .failure(let unreadable):
                evidence.manifest = (file, unreadable.verdict)
            }
        }
        evidence.legacy = work.legacy.map { file in
            guard file.size <= LegacyStatusFile.maxBytes else {
                return LegacyReading(
                    file: file,
                    result: .failure(
                        .init(description: "over the \(ByteCount.format(Int64(LegacyStatusFile.maxBytes))) limit")))
            }
            do {
                return LegacyReading(
                    file: file,
                    result: .success(
                        try LegacyStatusFile.parse(FileReader.read(file.path, limit: LegacyStatusFile.maxBytes))))
            } catch let failure as LegacyStatusFile.Failure {
                return LegacyReading(file: file, result: .failure(failure))
            } catch {
                return LegacyReading(file: file, result: .failure(.init(description: "cannot be read: \(error)")))
            }
        }
        return evidence
    }

    /// Verifies the manifests that ``read(_:limit:budget:now:keep:)`` read of `items` (pure), their
    /// signatures in one batch.
    /// - Parameter keep: keep the envelopes' bytes in the verdicts (for the archive).
    static func verifyManifests(_ items: inout [DeviceEvidence], keep: Bool = false) {
        let waiting = items.indices.compactMap { index in items[index].unverified.map { (index, $0) } }
        guard !waiting.isEmpty else { return }
        let verdicts = ManifestVerifier.verify(
            waiting.map { index, read in
                ManifestVerifier.Envelope(
                    data: read.envelope, folder: items[index].work.folder.name, trusted: items[index].work.trusted)
            }, keep: keep)
        for ((index, read), verdict) in zip(waiting, verdicts) {
            items[index].manifest = (read.file, verdict)
            items[index].unverified = nil
        }
    }
}
