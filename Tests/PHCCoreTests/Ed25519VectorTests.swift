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
            let key = PublicKey(rawBytes: hex(group.publicKey.pk))
            for test in group.tests {
                let verifies = key.isValidSignature(hex(test.sig), for: hex(test.msg))
                #expect(verifies == (test.result == "valid"), "tcId \(test.tcId): \(test.comment)")
                checked += 1
            }
        }
        #expect(checked == file.numberOfTests)
    }

    func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
