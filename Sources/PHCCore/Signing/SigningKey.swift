#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif
internal import Crypto

/// A device's Ed25519 private key, stored as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
public struct SigningKey: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public init() {
        key = Curve25519.Signing.PrivateKey()
    }

    /// A key from its 32-byte seed.
    ///
    /// - Throws: ``KeyFileError/malformed(path:reason:)`` when `seed` is not 32 bytes.
    public init(seed: some ContiguousBytes) throws(KeyFileError) {
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw .malformed(path: "", reason: "an Ed25519 seed is 32 bytes")
        }
    }

    public var publicKey: PublicKey {
        PublicKey(rawBytes: Array(key.publicKey.rawRepresentation))
    }

    public func sign(_ message: [UInt8]) throws -> Data {
        try key.signature(for: message)
    }

    /// PKCS#8 (RFC 8410) PEM text of this key.
    public var pemRepresentation: String {
        let der = PKCS8.ed25519Prefix + Array(key.rawRepresentation)
        let body = Data(der).base64EncodedString()
        return "-----BEGIN PRIVATE KEY-----\n\(body)\n-----END PRIVATE KEY-----\n"
    }

    /// Parses PKCS#8 PEM text (as written by this tool or `openssl genpkey -algorithm ed25519`).
    public init(pem: String, path: String = "") throws(KeyFileError) {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmed() }
        guard let begin = lines.firstIndex(of: "-----BEGIN PRIVATE KEY-----"),
            let end = lines[begin...].firstIndex(of: "-----END PRIVATE KEY-----")
        else {
            throw .malformed(path: path, reason: "no '-----BEGIN PRIVATE KEY-----' block (expected PKCS#8 PEM)")
        }
        guard let der = Data(base64Encoded: lines[(begin + 1)..<end].joined()) else {
            throw .malformed(path: path, reason: "PEM body is not base64")
        }
        guard let seed = PKCS8.ed25519Seed(fromDER: Array(der)) else {
            throw .malformed(path: path, reason: "not an Ed25519 PKCS#8 private key")
        }
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw .malformed(path: path, reason: "not an Ed25519 PKCS#8 private key")
        }
    }
}

/// An Ed25519 public key, written `ed25519:<base64 of the 32 raw bytes>` in configs and on enrolment.
///
/// Keys that cannot stand for a device are refused wherever a key line is read (``init(line:)``,
/// ``parse(line:)``) and can never verify a signature (``isValidSignature(_:for:)``): the eight
/// points of small order, in every encoding (with either sign bit, and `y + p` where that fits),
/// against which a "signature" can be made without any private key; and non-canonical encodings
/// (`y ≥ p`), which name a point some other way than the one every implementation writes.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    public let rawBytes: [UInt8]
    /// Lowercase hex SHA-256 of the raw key: the DSSE `keyid` (computed once).
    public let keyID: String

    public init(rawBytes: [UInt8]) {
        self.rawBytes = rawBytes
        self.keyID = Digest.sha256Hex(rawBytes)
    }

    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.rawBytes == rhs.rawBytes }

    public func hash(into hasher: inout Hasher) { hasher.combine(rawBytes) }

    /// Why a key line cannot be used.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notAKeyLine
        case wrongLength(Int)
        case smallOrder
        case nonCanonical

        public var description: String {
            switch self {
            case .notAKeyLine: "not a public key line (ed25519:<base64 of 32 bytes>, as phc-agent keygen prints)"
            case .wrongLength(let count): "an Ed25519 public key is 32 bytes, this one is \(count)"
            case .smallOrder:
                "a point of small order, which anyone can forge signatures for; this is not a device's key"
            case .nonCanonical: "a non-canonical encoding of a point (y ≥ 2^255 − 19); this is not a device's key"
            }
        }
    }

    /// Parses `ed25519:<base64>`, refusing weak keys.
    ///
    /// - Throws: ``Problem`` saying what is wrong with the line.
    public static func parse(line: String) throws(Problem) -> PublicKey {
        let text = line.trimmed()
        guard text.hasPrefix("ed25519:"), let data = Base64.decode(String(text.dropFirst("ed25519:".count))) else {
            throw .notAKeyLine
        }
        guard data.count == 32 else { throw .wrongLength(data.count) }
        let bytes = Array(data)
        if let problem = weakness(of: bytes) { throw problem }
        return PublicKey(rawBytes: bytes)
    }

    /// Parses `ed25519:<base64>`; nil for anything ``parse(line:)`` refuses.
    public init?(line: String) {
        guard let key = try? Self.parse(line: line) else { return nil }
        self = key
    }

    /// `ed25519:<base64>`.
    public var line: String { "ed25519:" + Data(rawBytes).base64EncodedString() }

    public var description: String { line }

    /// Whether `signature` is a valid Ed25519 signature of `message` by this key. Always false for a
    /// small-order or non-canonical key.
    public func isValidSignature(_ signature: some DataProtocol, for message: [UInt8]) -> Bool {
        guard rawBytes.count == 32, Self.weakness(of: rawBytes) == nil,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawBytes)
        else { return false }
        return key.isValidSignature(signature, for: message)
    }

    /// The encodings of the points of small order with the sign bit cleared (libsodium's blocklist):
    /// the identity, the points of order 2, 4 and 8, and `p`, `p + 1` (non-canonical 0 and 1).
    static let smallOrderEncodings: [[UInt8]] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ].map { hex in
        stride(from: 0, to: hex.count, by: 2).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    /// Why these 32 bytes are no usable key, or nil.
    static func weakness(of bytes: [UInt8]) -> Problem? {
        guard bytes.count == 32 else { return .wrongLength(bytes.count) }
        var masked = bytes
        masked[31] &= 0x7F
        if smallOrderEncodings.contains(masked) { return .smallOrder }
        // y ≥ p = 2^255 − 19: 0x7f, thirty 0xff, and a low byte of 0xed or more (little-endian).
        if masked[31] == 0x7F, masked[1...30].allSatisfy({ $0 == 0xFF }), masked[0] >= 0xED { return .nonCanonical }
        return nil
    }
}

/// The fixed DER framing of an Ed25519 PKCS#8 key (RFC 8410 §7).
enum PKCS8 {
    /// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }
    static let ed25519Prefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]
    private static let algorithm: [UInt8] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]

    /// Extracts the 32-byte seed from a v1 or v2 (OneAsymmetricKey, with public key) encoding.
    static func ed25519Seed(fromDER der: [UInt8]) -> [UInt8]? {
        // Outer SEQUENCE with a short length.
        guard der.count >= 48, der[0] == 0x30, Int(der[1]) == der.count - 2 else { return nil }
        // version 0 or 1
        guard der[2] == 0x02, der[3] == 0x01, der[4] <= 1 else { return nil }
        guard Array(der[5..<12]) == algorithm else { return nil }
        guard der[12] == 0x04, der[13] == 0x22, der[14] == 0x04, der[15] == 0x20 else { return nil }
        return Array(der[16..<48])
    }
}

/// Why a key file could not be used. Never contains key material.
public enum KeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case tooOpen(path: String, mode: UInt32)
    case alreadyExists(path: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let path):
            "key file \(path) does not exist (create it with: phc-agent keygen --key \(path))"
        case .unreadable(let path, let reason): "cannot read key file \(path): \(reason)"
        case .malformed(let path, let reason): "key file \(path) is not usable: \(reason)"
        case .tooOpen(let path, let mode):
            "key file \(path) is readable by others (mode \(FileMode.octal(mode))); fix with: chmod 600 \(path)"
        case .alreadyExists(let path): "key file \(path) already exists; refusing to overwrite it"
        case .unwritable(let path, let reason): "cannot write key file \(path): \(reason)"
        }
    }
}
