import Crypto
import Foundation
import PHCTestSupport
import Testing

@testable import PHCCore

@Suite("DSSE envelopes")
struct DSSETests {
    struct Vector: Decodable {
        struct Key: Decodable {
            let x_decimal: String
            let y_decimal: String
        }
        let serialized_body_utf8: String
        let payload_type: String
        let pae_ascii: String
        let key: Key
        let envelope: DSSEEnvelope
    }

    static func vector() throws -> Vector {
        try JSONDecoder().decode(
            Vector.self, from: Repository.read(Repository.fixture("PHCCoreTests", "dsse-protocol-test-vector.json")))
    }

    @Test("PAE matches the DSSE specification's test vector")
    func paeMatchesVector() throws {
        let vector = try Self.vector()
        let pae = DSSEEnvelope.preAuthenticationEncoding(
            payloadType: vector.payload_type, payload: Array(vector.serialized_body_utf8.utf8))
        #expect(String(decoding: pae, as: UTF8.self) == vector.pae_ascii)
    }

    @Test("the vector's ECDSA signature verifies over our PAE bytes")
    func vectorSignatureVerifiesOverOurPAE() throws {
        // An independent signer (the spec authors) signed the PAE: if our PAE
        // differed by one byte, their signature would not verify over it.
        let vector = try Self.vector()
        let point = [0x04] + Self.bigEndian32(vector.key.x_decimal) + Self.bigEndian32(vector.key.y_decimal)
        let key = try P256.Signing.PublicKey(x963Representation: point)
        let payload = try #require(Base64.decode(vector.envelope.payload))
        let pae = DSSEEnvelope.preAuthenticationEncoding(payloadType: vector.envelope.payloadType, payload: payload)
        let signature = try P256.Signing.ECDSASignature(
            rawRepresentation: try #require(Base64.decode(vector.envelope.signatures[0].sig)))
        #expect(key.isValidSignature(signature, for: Data(pae)))
        var altered = pae
        altered[altered.count - 1] ^= 1
        #expect(!key.isValidSignature(signature, for: Data(altered)))
    }

    @Test("sign, verify, then reject a tampered payload or signature")
    func signVerifyTamper() throws {
        let key = try SigningKey(seed: [UInt8](repeating: 7, count: 32))
        let payload = Data(#"{"schema":"phc.manifest/v1","sequence":1}"#.utf8)
        let envelope = try DSSEEnvelope.sign(payload: payload, payloadType: Manifest.payloadType, with: key)
        #expect(envelope.signatures.first?.keyid == key.publicKey.keyID)
        let (verified, signer) = try envelope.verify(trustedKeys: [key.publicKey])
        #expect(verified == payload)
        #expect(signer == key.publicKey)

        var tamperedPayload = envelope
        tamperedPayload.payload = Data(#"{"schema":"phc.manifest/v1","sequence":2}"#.utf8).base64EncodedString()
        #expect(throws: SignatureError.badSignature) { try tamperedPayload.verify(trustedKeys: [key.publicKey]) }

        var tamperedType = envelope
        tamperedType.payloadType = "application/json"
        #expect(throws: SignatureError.badSignature) { try tamperedType.verify(trustedKeys: [key.publicKey]) }

        var tamperedSignature = envelope
        var bytes = try #require(Base64.decode(envelope.signatures[0].sig))
        bytes[5] ^= 0x40
        tamperedSignature.signatures[0].sig = bytes.base64EncodedString()
        #expect(throws: SignatureError.badSignature) { try tamperedSignature.verify(trustedKeys: [key.publicKey]) }

        let stranger = try SigningKey(seed: [UInt8](repeating: 9, count: 32))
        #expect(throws: SignatureError.untrustedKey([key.publicKey.keyID])) {
            try envelope.verify(trustedKeys: [stranger.publicKey])
        }
    }

    @Test("an envelope round-trips through its JSON and accepts URL-safe base64")
    func jsonRoundTrip() throws {
        let key = SigningKey()
        let payload = Data((0..<200).map { UInt8($0) })
        let envelope = try DSSEEnvelope.sign(payload: payload, payloadType: "x/y", with: key)
        let decoded = try DSSEEnvelope.decode(envelope.encoded())
        #expect(decoded == envelope)
        var urlSafe = decoded
        urlSafe.payload = envelope.payload.replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
        #expect(try urlSafe.verify(trustedKeys: [key.publicKey]).payload == payload)
        #expect(throws: SignatureError.self) { try DSSEEnvelope.decode(Data("{\"payload\":1}".utf8)) }
    }

    @Test("keyid is the hex SHA-256 of the raw public key")
    func keyIDIsDigestOfRawKey() throws {
        let key = try SigningKey(seed: [UInt8](repeating: 1, count: 32))
        let expected = SHA256.hash(data: key.publicKey.rawBytes).map { String(format: "%02x", $0) }.joined()
        #expect(key.publicKey.keyID == expected)
        #expect(key.publicKey.keyID.count == 64)
    }

    @Test(
        "a Python cryptography implementation verifies our envelope",
        .enabled(if: Self.pythonCryptography, "needs python3 with cryptography"))
    func independentVerification() async throws {
        let key = SigningKey()
        let payload = Data(#"{"device":"armitage","schema":"phc.manifest/v1"}"#.utf8)
        let envelope = try DSSEEnvelope.sign(payload: payload, payloadType: Manifest.payloadType, with: key)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let envelopePath = try directory.write("envelope.json", String(decoding: envelope.encoded(), as: UTF8.self))
        // An independent DSSE verifier: PAE written from the spec, Ed25519 from OpenSSL via cryptography.
        let script = """
            import base64, json, sys
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
            env = json.load(open(sys.argv[1]))
            body = base64.b64decode(env["payload"])
            t = env["payloadType"].encode()
            pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)
            raw = base64.b64decode(sys.argv[2].split(":", 1)[1])
            Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(env["signatures"][0]["sig"]), pae)
            print("verified")
            """
        let scriptPath = try directory.write("verify.py", script)
        let result = try await Command.run("/usr/bin/env", ["python3", scriptPath, envelopePath, key.publicKey.line])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("verified"))
    }

    static let pythonCryptography: Bool = {
        (try? Command.runBlocking("/usr/bin/env", ["python3", "-c", "import cryptography"]))?.status == 0
    }()

    /// Decimal text to a 32-byte big-endian integer.
    static func bigEndian32(_ decimal: String) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        for digit in decimal.utf8 {
            var carry = Int(digit - 48)
            for index in stride(from: 31, through: 0, by: -1) {
                let value = Int(bytes[index]) * 10 + carry
                bytes[index] = UInt8(value & 0xff)
                carry = value >> 8
            }
        }
        return bytes
    }
}
