#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif
internal import CEd25519Batch
internal import Crypto

/// One Ed25519 signature to check: by `key`, of `message`.
public struct SignatureCheck: Sendable {
    public var key: PublicKey
    public var signature: Data
    public var message: [UInt8]

    public init(key: PublicKey, signature: Data, message: [UInt8]) {
        self.key = key
        self.signature = signature
        self.message = message
    }
}

/// Ed25519 signatures checked many at a time: a batch is one multi-scalar multiplication
/// (RFC 8032 §5.1.7), about a quarter of the work of checking each signature alone with
/// BoringSSL, for a collector pass that checks a signature of every device.
///
/// The rule is the cofactored equation `[8][s]B = [8]R + [8][k]A`, with `R` and `A` canonical point
/// encodings, `s < L`, and no key that ``PublicKey`` refuses (small order, non-canonical). A
/// signature that any single verifier accepts passes it. It differs from BoringSSL's cofactorless
/// rule (`[s]B − [k]A` encodes to `R`, used by ``PublicKey/isValidSignature(_:for:)``) only for
/// signatures with a small-order component, which only the holder of the private key can make: such a
/// signature is accepted here. A batch that fails is split in halves until each signature's answer
/// is known, so every answer is that signature's own, whatever else is in the batch.
public enum SignatureBatch {
    /// Whether each check's signature is valid, in the checks' order.
    public static func verify(_ checks: [SignatureCheck]) -> [Bool] {
        var results = [Bool](repeating: false, count: checks.count)
        // What can be in a batch: a 64-byte signature by a usable key; anything else is invalid.
        let usable = checks.indices.filter { index in
            checks[index].signature.count == 64 && PublicKey.weakness(of: checks[index].key.rawBytes) == nil
        }
        guard !usable.isEmpty else { return results }
        // One record per signature, as the batch reads them: key, signature, digest, weight.
        let size = Int(PHC_ED25519_RECORD)
        var records: [UInt8] = []
        records.reserveCapacity(size * usable.count)
        var generator = SystemRandomNumberGenerator()
        for index in usable {
            let check = checks[index]
            records += check.key.rawBytes
            records += check.signature
            // k = SHA-512(R || A || M), reduced mod L by the batch.
            var hash = SHA512()
            hash.update(data: check.signature.prefix(32))
            hash.update(data: check.key.rawBytes)
            hash.update(data: check.message)
            hash.finalize().withUnsafeBytes { records += $0 }
            for _ in 0..<2 { withUnsafeBytes(of: generator.next() as UInt64) { records += $0 } }
        }
        records.withUnsafeBufferPointer { records in
            settle(0..<usable.count) { range in
                phc_ed25519_verify_batch(range.count, records.baseAddress! + size * range.lowerBound) == 1
            } valid: { range in
                for slot in range { results[usable[slot]] = true }
            }
        }
        return results
    }

    /// Checks `range` as one batch; one that fails is split in halves, down to single signatures,
    /// so that the valid ones are found among the invalid. Measured on 64 signatures: all valid,
    /// 42 µs each; one bad, 118 µs each; all bad, 422 µs each, about twice OpenSSL's single check
    /// (202 µs on the same machine): forged manifests cost a pass more than valid ones, never without bound.
    private static func settle(_ range: Range<Int>, batch: (Range<Int>) -> Bool, valid: (Range<Int>) -> Void) {
        if batch(range) {
            valid(range)
            return
        }
        guard range.count > 1 else { return }
        let middle = range.lowerBound + range.count / 2
        settle(range.lowerBound..<middle, batch: batch, valid: valid)
        settle(middle..<range.upperBound, batch: batch, valid: valid)
    }
}
