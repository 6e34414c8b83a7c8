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
enum ManifestVerifier {
    /// Verifies one envelope found in `folder`'s folder with `trusted` keys.
    /// - Parameter keep: keep the envelope's bytes in the verdict (for the archive).
    static func verify(envelope data: Data, folder: String, trusted: [PublicKey], keep: Bool = false) -> Verdict {
        let envelope: DSSEEnvelope
        do {
            envelope = try DSSEEnvelope.decode(data)
        } catch {
            return .rejected(.unreadable, error.description, sequence: nil)
        }
        guard envelope.payloadType == Manifest.payloadType else {
            return .rejected(
                .unreadable, SignatureError.wrongPayloadType(envelope.payloadType).description, sequence: nil)
        }
        guard !trusted.isEmpty else {
            return .rejected(
                .signature,
                "no key is trusted for device \(folder) (enrol it: phc-collector trust add \(folder) ed25519:…)",
                sequence: nil)
        }
        let payload: Data
        let key: PublicKey
        do {
            (payload, key) = try envelope.verify(trustedKeys: trusted)
        } catch {
            return .rejected(.signature, error.description, sequence: nil)
        }
        let manifest: ManifestHead
        do {
            manifest = try ManifestHead.decode(payload)
        } catch {
            return .rejected(.unreadable, error.description, sequence: nil)
        }
        guard manifest.device.lowercased() == folder else {
            return .rejected(
                .mismatch,
                "manifest of device \(InertText.clipped(InertText.terminal(manifest.device), to: 64)) "
                    + "found in the folder of \(folder)",
                sequence: manifest.sequence)
        }
        return .verified(
            VerifiedManifest(
                manifest: manifest, keyID: key.keyID, digest: Digest.sha256Hex(payload), envelope: keep ? data : nil))
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
