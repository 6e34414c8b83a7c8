import Foundation
import PHCTestSupport
import Testing

@testable import PHCCore

@Suite("Ed25519 verification against Wycheproof")
struct Ed25519VectorTests {
    struct File: Decodable {
        struct Group: Decodable {
            struct Key: Decodable { let pk: String }
            struct Case: Decodable {
                let tcId: Int
                let comment: String
                let msg: String
                let sig: String
                let result: String
            }
            let publicKey: Key
            let tests: [Case]
        }
        let numberOfTests: Int
        let testGroups: [Group]
    }

    @Test("all 151 vectors: valid ones verify, invalid ones (malleable, non-canonical) are refused")
    func wycheproof() throws {
        let file = try JSONDecoder().decode(
            File.self, from: Repository.read(Repository.fixture("PHCCoreTests", "wycheproof-ed25519_test.json")))
        var checked = 0
        for group in file.testGroups {
            let key = PublicKey(rawBytes: hexBytes(group.publicKey.pk))
            for test in group.tests {
                let verifies = key.isValidSignature(hexBytes(test.sig), for: hexBytes(test.msg))
                #expect(verifies == (test.result == "valid"), "tcId \(test.tcId): \(test.comment)")
                checked += 1
            }
        }
        #expect(checked == file.numberOfTests)
        // Every Wycheproof key is a proper key: the weak-key rule refuses none of them.
        for group in file.testGroups {
            let line = "ed25519:" + Data(hexBytes(group.publicKey.pk)).base64EncodedString()
            #expect(throws: Never.self, "\(group.publicKey.pk)") { _ = try PublicKey.parse(line: line) }
        }
    }

    /// The eight points of small order, with the sign bit either way and `y + p` where it fits:
    /// all 14 encodings, computed independently (Python, Edwards arithmetic) when this was written.
    static let smallOrder = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ]

    @Test("small-order keys are refused in every encoding, and verify nothing", arguments: smallOrder)
    func smallOrderKeys(encoding: String) throws {
        let bytes = hexBytes(encoding)
        #expect(throws: PublicKey.Problem.smallOrder) {
            _ = try PublicKey.parse(line: "ed25519:" + Data(bytes).base64EncodedString())
        }
        #expect(PublicKey(line: "ed25519:" + Data(bytes).base64EncodedString()) == nil)
        // The forgery that needs no private key: R = the identity, S = 0, for any message.
        let key = PublicKey(rawBytes: bytes)
        let identity = hexBytes("0100000000000000000000000000000000000000000000000000000000000000")
        let forged = identity + [UInt8](repeating: 0, count: 32)
        for message in [[], Array("anything".utf8)] as [[UInt8]] {
            #expect(!key.isValidSignature(forged, for: message))
        }
        // Nor does an envelope "signed" that way verify, even with the key trusted by hand.
        let payload = Data(#"{"schema":"phc.manifest/v1"}"#.utf8)
        let envelope = DSSEEnvelope(
            payloadType: Manifest.payloadType, payload: payload.base64EncodedString(),
            signatures: [.init(keyid: key.keyID, sig: Data(forged).base64EncodedString())])
        #expect(throws: SignatureError.badSignature) { _ = try envelope.verify(trustedKeys: [key]) }
    }

    @Test("non-canonical encodings (y ≥ p) are refused", arguments: ["ef", "f0", "fe", "ff"])
    func nonCanonical(low: String) {
        let bytes = hexBytes(low + String(repeating: "ff", count: 30) + "7f")
        #expect(throws: PublicKey.Problem.nonCanonical) {
            _ = try PublicKey.parse(line: "ed25519:" + Data(bytes).base64EncodedString())
        }
        #expect(!PublicKey(rawBytes: bytes).isValidSignature([UInt8](repeating: 0, count: 64), for: []))
    }
}
