#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A DSSE v1 envelope ("Dead Simple Signing Envelope", as used by in-toto and Sigstore).
///
/// Signatures cover ``preAuthenticationEncoding(payloadType:payload:)`` of the
/// payload type and the raw payload bytes, never the JSON of the envelope, so
/// any independent DSSE implementation can verify them.
public struct DSSEEnvelope: Codable, Sendable, Equatable {
    public var payloadType: String
    /// Standard base64 of the payload bytes.
    public var payload: String
    public var signatures: [Signature]

    public struct Signature: Codable, Sendable, Equatable {
        /// Lowercase hex SHA-256 of the signer's raw public key (may be empty in foreign envelopes).
        public var keyid: String
        /// Standard base64 of the signature bytes.
        public var sig: String

        public init(keyid: String, sig: String) {
            self.keyid = keyid
            self.sig = sig
        }

        enum CodingKeys: String, CodingKey { case keyid, sig }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            keyid = try container.decodeIfPresent(String.self, forKey: .keyid) ?? ""
            sig = try container.decode(String.self, forKey: .sig)
        }
    }

    public init(payloadType: String, payload: String, signatures: [Signature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in ASCII decimal bytes.
    public static func preAuthenticationEncoding(payloadType: String, payload: some Collection<UInt8>) -> [UInt8] {
        let type = Array(payloadType.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + type.count + 32)
        out += Array("DSSEv1 \(type.count) ".utf8)
        out += type
        out += Array(" \(payload.count) ".utf8)
        out += payload
        return out
    }

    /// Signs `payload` and wraps it in an envelope with one signature.
    public static func sign(payload: Data, payloadType: String, with key: SigningKey) throws -> DSSEEnvelope {
        let pae = preAuthenticationEncoding(payloadType: payloadType, payload: payload)
        let signature = try key.sign(pae)
        return DSSEEnvelope(
            payloadType: payloadType,
            payload: payload.base64EncodedString(),
            signatures: [Signature(keyid: key.publicKey.keyID, sig: signature.base64EncodedString())]
        )
    }

    /// The decoded payload bytes.
    ///
    /// - Throws: ``SignatureError/malformedEnvelope(_:)`` when the payload is not base64.
    public func payloadBytes() throws(SignatureError) -> Data {
        guard let data = Base64.decode(payload) else { throw .malformedEnvelope("payload is not base64") }
        return data
    }

    /// Verifies the envelope against `trustedKeys`.
    ///
    /// A signature counts only if its key id names one of `trustedKeys` (or is
    /// empty and the signature verifies with one of them). One good signature is
    /// enough; extra unknown signatures are not an error.
    ///
    /// - Returns: the payload bytes and the key that verified them.
    /// - Throws: ``SignatureError`` saying why nothing verified.
    public func verify(trustedKeys: [PublicKey]) throws(SignatureError) -> (payload: Data, key: PublicKey) {
        let pending = try pending(trustedKeys: trustedKeys)
        return try pending.outcome { check in
            pending.checks[check].key.isValidSignature(
                pending.checks[check].signature, for: pending.checks[check].message)
        }
    }

    /// The envelope ready to be verified against `trustedKeys`, by checks that may be made elsewhere
    /// (``SignatureBatch``, with other envelopes' checks).
    ///
    /// - Throws: ``SignatureError/malformedEnvelope(_:)`` when the payload is not base64 or there is no
    ///   signature.
    public func pending(trustedKeys: [PublicKey]) throws(SignatureError) -> Pending {
        let payloadData = try payloadBytes()
        guard !signatures.isEmpty else { throw .malformedEnvelope("no signatures") }
        let pae = Self.preAuthenticationEncoding(payloadType: payloadType, payload: payloadData)
        var checks: [SignatureCheck] = []
        var sawTrustedKey = false
        for signature in signatures {
            let candidates = trustedKeys.filter { signature.keyid.isEmpty || $0.keyID == signature.keyid.lowercased() }
            guard !candidates.isEmpty else { continue }
            sawTrustedKey = true
            guard let signatureBytes = Base64.decode(signature.sig) else { continue }
            for key in candidates { checks.append(SignatureCheck(key: key, signature: signatureBytes, message: pae)) }
        }
        let failure: SignatureError =
            sawTrustedKey ? .badSignature : .untrustedKey(signatures.map(\.keyid).filter { !$0.isEmpty })
        return Pending(payload: payloadData, checks: checks, failure: failure)
    }

    /// An envelope's payload, decoded, and the signature checks that verify it: each signature whose
    /// key id names a trusted key (or is empty), with each such key, in the order they are tried.
    public struct Pending: Sendable {
        public let payload: Data
        public let checks: [SignatureCheck]
        /// Why nothing verified, when no check passes.
        let failure: SignatureError

        /// The payload and the key of the first check that `passed` (asked in order, until one did).
        ///
        /// - Throws: ``SignatureError/badSignature`` when a trusted key's signature is there but none
        ///   passed, ``SignatureError/untrustedKey(_:)`` when no signature names a trusted key.
        public func outcome(passed: (Int) -> Bool) throws(SignatureError) -> (payload: Data, key: PublicKey) {
            for index in checks.indices where passed(index) { return (payload, checks[index].key) }
            throw failure
        }
    }

    /// Compact JSON (one line, sorted keys): the bytes of `manifest.json` and of a backlog line, as
    /// `JSONEncoder` writes them with `.sortedKeys` and `.withoutEscapingSlashes`.
    public func encoded() -> Data {
        var json = JSONWriter(capacity: payload.utf8.count + 256)
        json.object { envelope in
            envelope.string("payload", payload)
            envelope.string("payloadType", payloadType)
            envelope.array("signatures") { list in
                for signature in signatures {
                    list.object { item in
                        item.string("keyid", signature.keyid)
                        item.string("sig", signature.sig)
                    }
                }
            }
        }
        return Data(json.bytes)
    }

    /// Parses an envelope.
    ///
    /// - Throws: ``SignatureError/malformedEnvelope(_:)`` for anything that is not a DSSE envelope.
    public static func decode(_ data: Data) throws(SignatureError) -> DSSEEnvelope {
        guard let envelope = JSONReader.read(data, read) else {
            throw .malformedEnvelope("not a DSSE envelope (expected JSON with payloadType, payload, signatures)")
        }
        return envelope
    }

    /// The envelope's three members, as `Codable` would read them (others ignored); nil when one is missing.
    private static func read(_ reader: inout JSONReader) throws(JSONReader.Failure) -> DSSEEnvelope? {
        var payloadType: String?
        var payload: String?
        var signatures: [Signature]?
        try reader.beginObject()
        while let key = try reader.nextKey() {
            switch key {
            case "payloadType": payloadType = try reader.string()
            case "payload": payload = try reader.string()
            case "signatures":
                var list: [Signature] = []
                try reader.beginArray()
                while try reader.nextElement() {
                    var keyid = ""
                    var sig: String?
                    try reader.beginObject()
                    while let field = try reader.nextKey() {
                        switch field {
                        case "keyid": keyid = try reader.null() ? "" : try reader.string()
                        case "sig": sig = try reader.string()
                        default: try reader.skipValue()
                        }
                    }
                    guard let sig else { return nil }
                    list.append(Signature(keyid: keyid, sig: sig))
                }
                signatures = list
            default: try reader.skipValue()
            }
        }
        guard let payloadType, let payload, let signatures else { return nil }
        return DSSEEnvelope(payloadType: payloadType, payload: payload, signatures: signatures)
    }
}

/// Why an envelope did not verify.
public enum SignatureError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformedEnvelope(String)
    /// None of the envelope's key ids is trusted (the ids are listed).
    case untrustedKey([String])
    /// A trusted key's signature is present but does not verify: the payload was altered or the signature forged.
    case badSignature
    case wrongPayloadType(String)

    public var description: String {
        switch self {
        case .malformedEnvelope(let reason): "malformed envelope: \(reason)"
        case .untrustedKey(let ids):
            ids.isEmpty
                ? "signed by an unknown key"
                : "signed by an unknown key (keyid "
                    + ids.prefix(4).map { InertText.terminal(String($0.prefix(16))) }.joined(separator: ", ")
                    + (ids.count > 4 ? " and \(ids.count - 4) more" : "") + ")"
        case .badSignature: "signature does not verify (payload altered or signature forged)"
        case .wrongPayloadType(let type):
            "payloadType '\(InertText.clipped(InertText.terminal(type), to: 64))' is not \(Manifest.payloadType)"
        }
    }
}

/// Base64 that accepts the standard and URL-safe alphabets, with or without padding, as DSSE allows.
public enum Base64 {
    public static func decode(_ text: String) -> Data? {
        // The common case, standard padded base64, goes straight to the decoder (which refuses the
        // URL-safe alphabet and missing padding, handled below).
        if text.utf8.count % 4 == 0, let data = Data(base64Encoded: text) { return data }
        var normalized = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        let remainder = normalized.utf8.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { normalized += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: normalized)
    }
}
