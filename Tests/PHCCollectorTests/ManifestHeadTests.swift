import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// The head the collector reads with its pull reader is the manifest the full decoder reads.
@Suite("Manifest heads")
struct ManifestHeadTests {
    @Test("checks, statuses and summaries as the full decoder reads them; only allow-listed finite numbers as series")
    func sameAsTheFullDecoder() throws {
        let checks = [
            CheckResult(
                id: "gpu:0", kind: "gpu", status: .warn, summary: "84 °C, \"hot\"\n",
                observations: [
                    "temperature_c": .double(84.5), "memory_used_bytes": .int(9_000_000_000), "name": .string("H100"),
                    "ecc_ok": .bool(true), "power_draw_w": .int(300),
                ]),
            CheckResult(
                id: "system", kind: "system", status: .ok, summary: "fine", observations: ["load1": .double(0.25)]),
            CheckResult(id: "marker:/x", kind: "marker", status: .crit, summary: String(repeating: "é", count: 900)),
        ]
        let manifest = Manifest(
            device: "armitage", agent: AgentInfo(version: "0.1.0", os: "Debian", kernel: "6.1"),
            sequence: 9_007_199_254_740_991, issuedAt: Timestamp(secondsSinceEpoch: 1_700_000_000),
            expiresAt: Timestamp(secondsSinceEpoch: 1_700_000_180), intervalS: 60, bootID: "b", checks: checks)
        let head = try ManifestHead.decode(manifest.encoded())
        let full = try Manifest.decode(manifest.encoded())
        #expect(head.device == full.device && head.sequence == full.sequence && head.agent.version == "0.1.0")
        #expect(head.issuedAt == full.issuedAt && head.expiresAt == full.expiresAt && head.intervalS == 60)
        #expect(head.status == full.status)
        #expect(head.checks.map(\.id) == full.checks.map(\.id))
        #expect(head.checks.map(\.status) == full.checks.map(\.status))
        #expect(head.checks[0].summary == full.checks[0].summary)
        #expect(
            head.checks[2].summary == InertText.clipped(full.checks[2].summary, to: CheckSummary.maxSummaryBytes)
                && head.checks[2].summary != full.checks[2].summary, "long summaries are cut")
        let series = Set(head.values.map { "\($0.check) \($0.key) \($0.value)" })
        #expect(
            series == [
                "gpu:0 temperature_c 84.5", "gpu:0 memory_used_bytes 9000000000.0", "gpu:0 power_draw_w 300.0",
                "system load1 0.25",
            ])
    }

    @Test("a field missing or of the wrong type is refused with the full decoder's reason; unknown fields are not")
    func refusals() throws {
        let good = Manifest(
            device: "armitage", agent: AgentInfo(version: "1", os: "x", kernel: "y"), sequence: 7,
            issuedAt: Timestamp(secondsSinceEpoch: 1000), expiresAt: Timestamp(secondsSinceEpoch: 1180), intervalS: 60,
            bootID: "b", checks: []
        ).encoded()
        var object = try #require(try JSONSerialization.jsonObject(with: good) as? [String: Any])
        object["future_field"] = ["nested": [1, 2, 3]]
        #expect(try ManifestHead.decode(try JSONSerialization.data(withJSONObject: object)).sequence == 7)
        for (key, value) in [("sequence", "7" as Any), ("issued_at", "yesterday"), ("status", "fine"), ("checks", 3)] {
            var broken = object
            broken[key] = value
            let data = try JSONSerialization.data(withJSONObject: broken)
            let ours = #expect(throws: ManifestError.self) { try ManifestHead.decode(data) }
            let theirs = #expect(throws: ManifestError.self) { try Manifest.decode(data) }
            #expect(ours == theirs, "\(key)")
        }
    }

    @Test("observations written before the check's id are the id's series; a check refused takes its series with it")
    func observationsBeforeTheID() throws {
        func payload(_ checks: String) -> Data {
            Data(
                ("{\"agent\":{\"version\":\"1\"},\"boot_id\":\"b\",\"checks\":[\(checks)],\"device\":\"armitage\","
                    + "\"expires_at\":\"2023-11-14T22:16:20Z\",\"interval_s\":60,\"issued_at\":\"2023-11-14T22:13:20Z\","
                    + "\"schema\":\"phc.manifest/v1\",\"sequence\":3,\"status\":\"ok\"}").utf8)
        }
        let first = "{\"observations\":{\"load1\":0.5},\"summary\":\"fine\",\"status\":\"ok\",\"id\":\"system\"}"
        let second =
            "{\"id\":\"gpu:0\",\"observations\":{\"temperature_c\":1},\"observations\":{\"temperature_c\":70},"
            + "\"status\":\"warn\",\"summary\":\"warm\"}"
        let head = try ManifestHead.decode(payload(first + "," + second))
        #expect(head.checks.map(\.id) == ["system", "gpu:0"])
        #expect(
            head.values.map { "\($0.check) \($0.key) \($0.value)" } == [
                "system load1 0.5", "gpu:0 temperature_c 70.0",
            ],
            "the last observations object counts")
        let unusable = "{\"observations\":{\"load1\":0.5},\"status\":\"purple\",\"id\":\"system\",\"summary\":\"x\"}"
        #expect(throws: ManifestError.self) { try ManifestHead.decode(payload(unusable)) }
    }
}
