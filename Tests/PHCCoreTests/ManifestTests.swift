import Foundation
import Testing

@testable import PHCCore

@Suite("Manifest v1")
struct ManifestTests {
    static func sample(_ statuses: [CheckStatus]) -> Manifest {
        Manifest(
            device: "armitage", agent: AgentInfo(version: "0.1.0", os: "Fedora Linux 41", kernel: "6.11.4"),
            sequence: 1043, issuedAt: Timestamp(secondsSinceEpoch: 1_795_773_603),
            expiresAt: Timestamp(secondsSinceEpoch: 1_795_773_783), intervalS: 60, bootID: "b",
            checks: statuses.enumerated().map { index, status in
                CheckResult(
                    id: "mount:/mnt/\(index)", kind: "mount", status: status, summary: "s",
                    observations: ["free_bytes": 871_878_656_000, "statfs_ms": 3], durationMs: 4)
            })
    }

    @Test(
        "status is the worst check status; crit outranks unknown",
        arguments: [
            ([], CheckStatus.ok), ([CheckStatus.ok, .warn], CheckStatus.warn),
            ([CheckStatus.warn, .unknown], CheckStatus.unknown),
            ([CheckStatus.unknown, .crit, .ok], CheckStatus.crit),
        ] as [([CheckStatus], CheckStatus)])
    func worstStatus(statuses: [CheckStatus], expected: CheckStatus) {
        #expect(Self.sample(statuses).status == expected)
    }

    @Test("encodes the SPEC's field names and decodes back")
    func roundTrip() throws {
        let manifest = Self.sample([.ok])
        let data = manifest.encoded()
        let text = String(decoding: data, as: UTF8.self)
        for field in [
            "\"schema\":\"phc.manifest/v1\"", "\"issued_at\":\"2026-11-27T10:00:03Z\"", "\"interval_s\":60",
            "\"duration_ms\":4", "\"id\":\"mount:/mnt/0\"", "\"free_bytes\":871878656000", "\"boot_id\":\"b\"",
        ] {
            #expect(text.contains(field), "\(field)")
        }
        #expect(try Manifest.decode(data) == manifest)
    }

    @Test("the canonical bytes are JSONEncoder's (sorted keys, slashes unescaped), byte for byte")
    func sameBytesAsJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let awkward = [
            "", "plain", "a/b </script>", "q\"uo\\te", "\u{1}\u{8}\u{c}\u{1f}\u{7f}", "\n\r\t", "é 🔥 \u{2028}\u{2029}",
            String(repeating: "x", count: 3000),
        ]
        let numbers: [Double] = [
            0, -0.0, 84.5, 300, 1e-7, 2.5e-5, 0.1, 1.0 / 3, 1e15, 1e16, 1e20, 9_007_199_254_740_993, 5e-324,
            .greatestFiniteMagnitude, -123_456_789.123, .nan, .infinity, -.infinity,
        ]
        var manifests: [Manifest] = [Self.sample([]), Self.sample([.ok, .warn, .crit, .unknown])]
        for (index, text) in awkward.enumerated() {
            var observations: [String: ObservationValue] = [
                "text": .string(text), "flag": .bool(index % 2 == 0), "count": .int(Int64(index) - 3),
                "max": .int(.max), "min": .int(.min), "Z_upper": .int(1), "a_b": .int(2), "aB": .int(3), "é": .int(4),
            ]
            for (position, number) in numbers.enumerated() { observations["n\(position)"] = .double(number) }
            manifests.append(
                Manifest(
                    device: "dev-\(index)", agent: AgentInfo(version: text, os: "Debian \(text)", kernel: "6.1"),
                    sequence: Int64(index) * 1_000_003, issuedAt: Timestamp(secondsSinceEpoch: -86_400 * Int64(index)),
                    expiresAt: Timestamp(secondsSinceEpoch: 1_795_773_783), intervalS: 60, bootID: text,
                    checks: [
                        CheckResult(
                            id: "marker:\(text)", kind: "marker", status: .warn, summary: text,
                            observations: observations,
                            durationMs: 12),
                        CheckResult(id: "system", kind: "system", status: .ok, summary: "fine"),
                    ]))
        }
        for manifest in manifests {
            let ours = manifest.encoded()
            #expect(ours == (try encoder.encode(manifest)), "\(String(decoding: ours, as: UTF8.self).prefix(300))")
            let key = SigningKey()
            let envelope = try DSSEEnvelope.sign(payload: ours, payloadType: Manifest.payloadType, with: key)
            #expect(envelope.encoded() == (try encoder.encode(envelope)))
        }
        let foreign = DSSEEnvelope(payloadType: "x/y", payload: "", signatures: [])
        #expect(foreign.encoded() == (try encoder.encode(foreign)))
    }

    @Test("a signed manifest verifies only with the right key, payload type and schema")
    func signedManifest() throws {
        let key = SigningKey()
        let payload = Self.sample([.ok]).encoded()
        let good = try DSSEEnvelope.sign(payload: payload, payloadType: Manifest.payloadType, with: key).encoded()
        let verified = try SignedManifest(envelope: good, trustedKeys: [key.publicKey])
        #expect(verified.manifest == Self.sample([.ok]) && verified.signer == key.publicKey)
        let otherType = try DSSEEnvelope.sign(payload: payload, payloadType: "application/json", with: key).encoded()
        #expect(throws: SignatureError.wrongPayloadType("application/json")) {
            try SignedManifest(envelope: otherType, trustedKeys: [key.publicKey])
        }
        let notManifest = try DSSEEnvelope.sign(payload: Data("{}".utf8), payloadType: Manifest.payloadType, with: key)
        #expect(throws: ManifestError.self) {
            try SignedManifest(envelope: notManifest.encoded(), trustedKeys: [key.publicKey])
        }
    }

    @Test("bad payloads are errors that say what is wrong")
    func badPayloads() throws {
        #expect(throws: ManifestError.malformed("not valid JSON")) { try Manifest.decode(Data("{".utf8)) }
        var other = try JSONSerialization.jsonObject(with: Self.sample([]).encoded()) as! [String: Any]
        other["schema"] = "phc.manifest/v2"
        #expect(throws: ManifestError.unsupportedSchema("phc.manifest/v2")) {
            try Manifest.decode(try JSONSerialization.data(withJSONObject: other))
        }
        other["schema"] = "phc.manifest/v1"
        other.removeValue(forKey: "sequence")
        #expect(throws: ManifestError.malformed("missing field sequence")) {
            try Manifest.decode(try JSONSerialization.data(withJSONObject: other))
        }
    }

    @Test("backlog names state their sequence range, and only well-formed names do")
    func backlogNames() {
        #expect(BacklogFile.name(first: 2, last: 13) == "backlog-2-13.jsonl.gz")
        #expect(BacklogFile.sequences(in: "backlog-2-13.jsonl.gz") == 2...13)
        for name in [
            "backlog-13-2.jsonl.gz", "backlog-2.jsonl.gz", "backlog-a-b.jsonl.gz", "backlog-2-3.jsonl",
            "x-2-3.jsonl.gz",
        ] {
            #expect(BacklogFile.sequences(in: name) == nil, "\(name)")
        }
    }
}
