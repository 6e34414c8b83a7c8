import Foundation
import PHCTestSupport
import Testing

@testable import PHCCore

@Suite("Ed25519 signatures checked in batches")
struct SignatureBatchTests {
    /// `count` signatures by as many keys, of messages of different lengths (all valid).
    static func signed(_ count: Int) throws -> [SignatureCheck] {
        try (0..<count).map { index in
            let key = SigningKey()
            let message =
                Array("manifest \(index) ".utf8) + [UInt8](repeating: UInt8(index % 251), count: index * 7 % 300)
            return SignatureCheck(key: key.publicKey, signature: try key.sign(message), message: message)
        }
    }

    /// BoringSSL's answer, one signature at a time.
    static func alone(_ check: SignatureCheck) -> Bool {
        check.key.isValidSignature(check.signature, for: check.message)
    }

    @Test(
        "valid signatures all pass, in batches of every size around the collector's chunk",
        arguments: [1, 2, 3, 63, 64, 65, 200])
    func valid(count: Int) throws {
        let checks = try Self.signed(count)
        #expect(SignatureBatch.verify(checks) == [Bool](repeating: true, count: count))
        #expect(SignatureBatch.verify([]) == [])
    }

    @Test("each altered signature, message or key is found among the valid ones, as BoringSSL finds it alone")
    func alteredAmongValid() throws {
        var checks = try Self.signed(64)
        var generator = SystemRandomNumberGenerator()
        var altered = Set<Int>()
        for round in 0..<24 {
            let index = Int.random(in: 0..<checks.count, using: &generator)
            altered.insert(index)
            switch round % 4 {
            case 0:  // a bit of R or of s
                let byte = Int.random(in: 0..<64, using: &generator)
                checks[index].signature[byte] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 1:  // a bit of the message
                checks[index].message.append(UInt8(round))
            case 2:  // another device's key
                checks[index].key = SigningKey().publicKey
            default:  // another message's valid signature
                checks[index].signature = checks[(index + 1) % checks.count].signature
            }
            let results = SignatureBatch.verify(checks)
            #expect(results == checks.map(Self.alone))
            #expect(results.indices.filter { !results[$0] } == altered.sorted().filter { !Self.alone(checks[$0]) })
            #expect(results.filter { !$0 }.count >= 1)
        }
    }

    @Test("a batch of nothing but bad signatures gets every answer right")
    func allInvalid() throws {
        let checks = try Self.signed(20).map { check in
            var bad = check
            bad.message += [0]
            return bad
        }
        #expect(SignatureBatch.verify(checks) == [Bool](repeating: false, count: 20))
    }

    @Test("what cannot be in a batch is invalid: a short signature, a small-order or non-canonical key")
    func unusable() throws {
        var checks = try Self.signed(4)
        checks[1].signature = checks[1].signature.prefix(63)
        checks[2].key = PublicKey(
            rawBytes: hexBytes("0100000000000000000000000000000000000000000000000000000000000000"))
        checks[3].key = PublicKey(rawBytes: hexBytes("ed" + String(repeating: "ff", count: 30) + "7f"))
        #expect(SignatureBatch.verify(checks) == [true, false, false, false])
        // The forgery that needs no private key (R the identity, s = 0) passes nothing.
        let forged = SignatureCheck(
            key: checks[2].key, signature: Data(checks[2].key.rawBytes + [UInt8](repeating: 0, count: 32)), message: [])
        #expect(SignatureBatch.verify([forged]) == [false])
    }

    @Test(
        "Wycheproof's 151 vectors, alone and all in one batch: valid ones pass, invalid ones (malleable, non-canonical) do not"
    )
    func wycheproof() throws {
        let file = try JSONDecoder().decode(
            Ed25519VectorTests.File.self,
            from: Repository.read(Repository.fixture("PHCCoreTests", "wycheproof-ed25519_test.json")))
        var checks: [SignatureCheck] = []
        var expected: [Bool] = []
        var comments: [String] = []
        for group in file.testGroups {
            for test in group.tests {
                checks.append(
                    SignatureCheck(
                        key: PublicKey(rawBytes: hexBytes(group.publicKey.pk)), signature: Data(hexBytes(test.sig)),
                        message: hexBytes(test.msg)))
                expected.append(test.result == "valid")
                comments.append("tcId \(test.tcId): \(test.comment)")
            }
        }
        #expect(checks.count == 151)
        let batched = SignatureBatch.verify(checks)
        for index in checks.indices {
            #expect(batched[index] == expected[index], "\(comments[index]) (in one batch)")
            #expect(SignatureBatch.verify([checks[index]]) == [expected[index]], "\(comments[index]) (alone)")
        }
        // Only the valid ones, in one batch: the batch passes as a whole.
        let valid = checks.indices.filter { expected[$0] }.map { checks[$0] }
        #expect(valid.count == 88)
        #expect(SignatureBatch.verify(valid) == [Bool](repeating: true, count: 88))
    }

    /// Made by the holder of the key: R is the nonce's point plus a point of order 8 (with Python's
    /// integers and the Edwards addition law when this test was written), s = r + k a as usual, with
    /// k from that R. `[s]B − [k]A` is `R` less the small-order point.
    static let torsion = (
        key: "3eb4efd5b31facaf515d43bb184503aec8ddca937d1e8b0a71037d7e91907042",
        message: "a manifest signed with a small-order component in R",
        signature: "4db7ee49531f16e63fdaeb993e8da2ab6be09eca79fa97dc94a51b1539d5247c"
            + "a2dc6a31c97c488044d26f2bcd515d21ca1385f84c900822fc5161f016949e0e"
    )

    @Test(
        "the one difference from BoringSSL: a key holder's signature with a small-order part in R passes, alone or in a batch"
    )
    func cofactored() throws {
        let check = SignatureCheck(
            key: PublicKey(rawBytes: hexBytes(Self.torsion.key)), signature: Data(hexBytes(Self.torsion.signature)),
            message: Array(Self.torsion.message.utf8))
        #expect(!Self.alone(check), "BoringSSL's cofactorless rule refuses it")
        #expect(SignatureBatch.verify([check]) == [true])
        var batch = try Self.signed(10)
        batch.insert(check, at: 4)
        #expect(SignatureBatch.verify(batch) == [Bool](repeating: true, count: 11))
        // It is still bound to its message and key like any signature.
        var altered = check
        altered.message += [0]
        #expect(SignatureBatch.verify([altered]) == [false])
    }
}
