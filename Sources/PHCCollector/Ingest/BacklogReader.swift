#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore
internal import Synchronization

/// The caps on what one backlog file may cost a pass. What is over a cap is refused with a
/// recorded reason; nothing a device writes makes a pass slow or large.
enum BacklogLimits {
    /// The gzip file itself.
    static let maxCompressedBytes = 64 * 1024 * 1024
    /// What it may inflate to (streamed, never held).
    static let maxDecompressedBytes = 2 * BacklogFile.maxBytes
    /// Envelopes read from one file; the rest are refused.
    static let maxEnvelopes = BacklogFile.maxEnvelopes
    /// Refused lines named one by one in the recorded reason.
    static let namedRefusals = 5
}

/// Memory the read stage may fill before the pass stops reading and leaves the rest for the
/// next pass: verified manifests are held until the pass commits.
final class ReadBudget: Sendable {
    /// The default for the whole pass.
    static let perPass = 64 * 1024 * 1024
    /// The default for one device (its backlogs and manifest together).
    static let perDevice = 16 * 1024 * 1024

    private let used = Mutex(0)
    let limit: Int
    let perDevice: Int

    init(limit: Int = ReadBudget.perPass, perDevice: Int = ReadBudget.perDevice) {
        self.limit = limit
        self.perDevice = perDevice
    }

    /// Counts `bytes` as held; false when the pass was already over its budget.
    func take(_ bytes: Int) -> Bool {
        used.withLock { total in
            guard total < limit else { return false }
            total += bytes
            return true
        }
    }

    var isExhausted: Bool { used.withLock { $0 >= limit } }
}

/// A backlog line at or below the device's last accepted sequence: history, not news.
struct LateEntry: Sendable, Equatable {
    var row: CollectorStore.ManifestRow
    var values: [SeriesValue]
    /// The envelope, when archiving.
    var envelope: Data?
}

/// A line of a backlog that was refused.
struct RefusedLine: Equatable, Sendable {
    var line: Int
    var sequence: Int64?
    var kind: RejectionKind
    var reason: String
}

/// What reading one backlog file found.
struct BacklogReading: Sendable {
    var file: FileRef
    /// New evidence (sequence above the device's baseline), by sequence.
    var verified: [VerifiedManifest] = []
    /// Verified lines at or below the baseline: history only, kept in compact form.
    var late: [LateEntry] = []
    var refused: [RefusedLine] = []
    var refusedCount = 0
    var envelopes = 0
    /// Why the file (or its rest) could not be read.
    var problem: String?
    /// False when reading stopped for the memory budget: the file is read again next pass.
    var complete = true

    /// One line on what was refused and why, or nil when nothing was: the file's own problem
    /// first, then the refused lines grouped by reason (`lines 1, 2, 3: not a DSSE envelope`).
    var refusalSummary: String? {
        guard problem != nil || refusedCount > 0 else { return nil }
        var parts: [String] = []
        if let problem { parts.append(problem) }
        if refusedCount > 0 {
            var groups: [(reason: String, lines: [String])] = []
            for line in refused {
                let name = "\(line.line)\(line.sequence.map { " (sequence \($0))" } ?? "")"
                if let index = groups.firstIndex(where: { $0.reason == line.reason }) {
                    groups[index].lines.append(name)
                } else {
                    groups.append((line.reason, [name]))
                }
            }
            let named = groups.map { group in
                "line\(group.lines.count == 1 ? "" : "s") \(group.lines.joined(separator: ", ")): \(group.reason)"
            }
            let more = refusedCount - refused.count
            parts.append(
                "\(refusedCount) of \(envelopes) envelopes in \(file.path) refused: "
                    + named.joined(separator: "; ") + (more > 0 ? "; and \(more) more" : ""))
        }
        return parts.joined(separator: "; ")
    }

    /// The worst kind among the refusals: forged or misplaced lines count before unreadable ones.
    var worstKind: RejectionKind {
        if refused.contains(where: { $0.kind == .signature || $0.kind == .mismatch }) { return .signature }
        return .unreadable
    }
}

/// Streams a backlog file, verifying each line as it comes.
enum BacklogReader {
    /// - Parameters:
    ///   - baseline: the device's last accepted sequence before this pass; lines at or below it are late
    ///     history and cost almost nothing to hold.
    ///   - lineLimit: the largest envelope (`max_manifest_size`).
    ///   - deviceAllowance: what this device may still hold; past it, or past the pass's budget, reading
    ///     stops and the file is read again next pass.
    static func read(
        _ file: FileRef, folder: String, trusted: [PublicKey], baseline: Int64?, lineLimit: Int,
        deviceAllowance: Int, budget: ReadBudget, receivedAt: Int64, keep: Bool = false
    ) -> (BacklogReading, held: Int) {
        var reading = BacklogReading(file: file)
        var held = 0
        var lineNumber = 0
        func refuse(_ kind: RejectionKind, _ reason: String, sequence: Int64?) {
            reading.refusedCount += 1
            if reading.refused.count < BacklogLimits.namedRefusals {
                reading.refused.append(
                    RefusedLine(
                        line: lineNumber, sequence: sequence, kind: kind, reason: InertText.clipped(reason, to: 160)))
            }
        }
        do {
            try GzipLineReader.forEachLine(
                path: file.path, compressedLimit: BacklogLimits.maxCompressedBytes,
                decompressedLimit: BacklogLimits.maxDecompressedBytes, lineLimit: lineLimit
            ) { item in
                lineNumber += 1
                guard reading.envelopes < BacklogLimits.maxEnvelopes else {
                    reading.problem =
                        "\(file.path) holds more than \(BacklogLimits.maxEnvelopes) envelopes; the rest is refused"
                    return false
                }
                reading.envelopes += 1
                let envelope: Data
                switch item {
                case .oversized(let bytes):
                    refuse(
                        .unreadable,
                        "an envelope of \(ByteCount.format(Int64(bytes))), over the "
                            + "\(ByteCount.format(Int64(lineLimit))) limit", sequence: nil)
                    return true
                case .line(let data): envelope = data
                }
                switch ManifestVerifier.verify(envelope: envelope, folder: folder, trusted: trusted, keep: keep) {
                case .rejected(let kind, let reason, let sequence):
                    refuse(kind, reason, sequence: sequence)
                case .verified(let verified):
                    if let baseline, verified.manifest.sequence <= baseline {
                        let head = verified.manifest
                        reading.late.append(
                            LateEntry(
                                row: CollectorStore.ManifestRow(
                                    sequence: head.sequence, issuedAt: head.issuedAt.secondsSinceEpoch,
                                    receivedAt: receivedAt, status: head.status, source: .backlog,
                                    expiresAt: head.expiresAt.secondsSinceEpoch),
                                values: head.values, envelope: verified.envelope))
                        held += 64 + 48 * head.values.count + (verified.envelope?.count ?? 0)
                        return true
                    }
                    let size = verified.retainedBytes
                    held += size
                    reading.verified.append(verified)
                    guard held <= deviceAllowance, budget.take(size) else {
                        reading.complete = false
                        return false
                    }
                }
                return true
            }
        } catch {
            reading.problem = error.description
        }
        reading.verified.sort { $0.manifest.sequence < $1.manifest.sequence }
        return (reading, held)
    }
}
