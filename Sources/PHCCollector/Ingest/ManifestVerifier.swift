#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// Why a manifest was not used as health data.
public enum RejectionKind: String, Sendable, Codable {
    /// Not signed by a key trusted for this device, or the signature does not verify.
    case signature
    /// The manifest's `device` is not the folder it was found in.
    case mismatch
    /// The sequence number is not newer than the last accepted one.
    case replay
    /// Not readable: too large, truncated, not JSON, not a `phc.manifest/v1`, out of range.
    case unreadable
    /// Not followed: a symlink out of the devices folder, a FIFO or folder where a file belongs,
    /// folders whose names differ only in case.
    case refused

    /// The alert a rejection of this kind raises.
    var alertName: AlertName {
        switch self {
        case .signature, .mismatch: .signatureInvalid
        case .replay: .manifestReplay
        case .unreadable, .refused: .manifestUnreadable
        }
    }

    /// Forged or replayed evidence is crit; what merely cannot be read is warn.
    var severity: CheckStatus {
        switch self {
        case .signature, .mismatch, .replay: .crit
        case .unreadable, .refused: .warn
        }
    }
}

/// A manifest that passed every check but the sequence number (which needs the store).
struct VerifiedManifest: Sendable {
    var manifest: ManifestHead
    var keyID: String
    /// SHA-256 of the payload, to tell a re-written identical file from a replay.
    var digest: String
    /// The envelope as read, when the pass archives envelopes.
    var envelope: Data?

    /// About how many bytes this value holds, for the pass's memory budget.
    var retainedBytes: Int {
        manifest.checks.reduce(512) { $0 + $1.id.utf8.count + $1.summary.utf8.count + 96 } + 48 * manifest.values.count
            + (envelope?.count ?? 0)
    }
}

/// The outcome for one envelope.
enum Verdict: Sendable {
    case verified(VerifiedManifest)
    case rejected(RejectionKind, String, sequence: Int64?)

    var sequence: Int64? {
        switch self {
        case .verified(let verified): verified.manifest.sequence
        case .rejected(_, _, let sequence): sequence
        }
    }
}

/// Reads and verifies envelopes, in parallel across the cores.
///
/// Signatures are checked by ``SignatureBatch`` (its rule is the cofactored equation), all the
/// envelopes given at once in one batch: checking a pass's manifests one at a time with BoringSSL
/// was most of a full pass's work.
enum ManifestVerifier {
    /// An envelope to verify, found in `folder`'s folder, with the keys trusted for that device.
    struct Envelope: Sendable {
        var data: Data
        var folder: String
        var trusted: [PublicKey]
    }

    /// Verifies one envelope found in `folder`'s folder with `trusted` keys.
    /// - Parameter keep: keep the envelope's bytes in the verdict (for the archive).
    static func verify(envelope data: Data, folder: String, trusted: [PublicKey], keep: Bool = false) -> Verdict {
        verify([Envelope(data: data, folder: folder, trusted: trusted)], keep: keep)[0]
    }

    /// Verifies `envelopes`, their signatures in one batch; the verdicts are in their order, each
    /// the one that envelope alone gets.
    static func verify(_ envelopes: [Envelope], keep: Bool = false) -> [Verdict] {
        let opened = envelopes.map(open)
        // Each envelope's first check goes into the batch (the usual envelope has exactly one); the
        // others are tried one at a time, and only when the first fails.
        let firsts = opened.map { opened -> SignatureCheck? in
            guard case .pending(let pending) = opened else { return nil }
            return pending.checks.first
        }
        var answers = SignatureBatch.verify(firsts.compactMap { $0 }).makeIterator()
        let firstPassed = firsts.map { first in first.map { _ in answers.next()! } }
        return envelopes.indices.map { index in
            switch opened[index] {
            case .refused(let verdict): return verdict
            case .pending(let pending):
                let outcome = Result { () throws(SignatureError) in
                    try pending.outcome { check in
                        check == 0 ? firstPassed[index]! : SignatureBatch.verify([pending.checks[check]])[0]
                    }
                }
                return read(outcome, of: envelopes[index], keep: keep)
            }
        }
    }

    /// An envelope decoded as far as its signature checks, or refused before any.
    private enum Opened {
        case refused(Verdict)
        case pending(DSSEEnvelope.Pending)
    }

    private static func open(_ envelope: Envelope) -> Opened {
        let decoded: DSSEEnvelope
        do {
            decoded = try DSSEEnvelope.decode(envelope.data)
        } catch {
            return .refused(.rejected(.unreadable, error.description, sequence: nil))
        }
        guard decoded.payloadType == Manifest.payloadType else {
            return .refused(
                .rejected(.unreadable, SignatureError.wrongPayloadType(decoded.payloadType).description, sequence: nil))
        }
        guard !envelope.trusted.isEmpty else {
            return .refused(
                .rejected(
                    .signature,
                    "no key is trusted for device \(envelope.folder) (enrol it: phc-collector trust add \(envelope.folder) ed25519:…)",
                    sequence: nil))
        }
        do {
            return .pending(try decoded.pending(trustedKeys: envelope.trusted))
        } catch {
            return .refused(.rejected(.signature, error.description, sequence: nil))
        }
    }

    /// The verdict on an envelope whose signatures were checked: its manifest read, when one verified.
    private static func read(
        _ outcome: Result<(payload: Data, key: PublicKey), SignatureError>, of envelope: Envelope, keep: Bool
    ) -> Verdict {
        let payload: Data
        let key: PublicKey
        switch outcome {
        case .failure(let error): return .rejected(.signature, error.description, sequence: nil)
        case .success(let verified): (payload, key) = verified
        }
        let manifest: ManifestHead
        do {
            manifest = try ManifestHead.decode(payload)
        } catch {
            return .rejected(.unreadable, error.description, sequence: nil)
        }
        guard manifest.device.lowercased() == envelope.folder else {
            return .rejected(
                .mismatch,
                "manifest of device \(InertText.clipped(InertText.terminal(manifest.device), to: 64)) "
                    + "found in the folder of \(envelope.folder)",
                sequence: manifest.sequence)
        }
        return .verified(
            VerifiedManifest(
                manifest: manifest, keyID: key.keyID, digest: Digest.sha256Hex(payload),
                envelope: keep ? envelope.data : nil))
    }

    /// Reads a capped envelope file (the I/O half of a manifest's verification, done before the
    /// pass's transaction): its bytes, or the verdict on a file too large or unreadable.
    static func read(file: FileRef, limit: Int) -> Result<Data, Unreadable> {
        guard file.size <= Int64(limit) else {
            return .failure(
                Unreadable(
                    reason:
                        "\(file.path) is \(ByteCount.format(file.size)), over the \(ByteCount.format(Int64(limit))) limit"
                ))
        }
        do {
            return .success(try FileReader.read(file.path, limit: limit))
        } catch {
            return .failure(Unreadable(reason: error.description))
        }
    }

    /// Why an envelope file could not be read.
    struct Unreadable: Error {
        var reason: String
        var verdict: Verdict { .rejected(.unreadable, reason, sequence: nil) }
    }
}
