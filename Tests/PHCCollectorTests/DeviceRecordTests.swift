import Foundation
import PHCCore
import Testing

@testable import PHCCollector

@Suite("Device records")
struct DeviceRecordTests {
    @Test("the checks column reads back what was written (escapes, Unicode), and as JSONDecoder reads it")
    func checksRoundTrip() throws {
        let checks = [
            CheckSummary(id: "gpu:0", status: .warn, summary: "84 °C, \"hot\"\n\u{1}\\/"),
            CheckSummary(id: "mount:/mnt/space", status: .ok, summary: ""),
            CheckSummary(id: "marker:/x", status: .crit, summary: "🔥 x"),
        ]
        var record = DeviceRecord(name: "armitage", displayName: "armitage")
        record.checks = checks
        #expect(record.checks == checks)
        #expect(record.problems == [checks[0], checks[2]])
        let decoded = try JSONDecoder().decode([CheckSummary].self, from: Data(record.checksJSON.utf8))
        #expect(DeviceRecord.decode(record.checksJSON) == decoded)
        // Written by another encoder, keys in another order, a field more: the same checks.
        let other = #"[{"summary":"fine","extra":[1,{"a":null}],"status":"ok","id":"system"}]"#
        #expect(DeviceRecord.decode(other) == [CheckSummary(id: "system", status: .ok, summary: "fine")])
    }

    @Test(
        "a checks column that is not a list of checks reads as none",
        arguments: [
            "", "[", "{}", "[{}]", #"[{"id":"a","status":"purple","summary":"x"}]"#, #"[{"id":"a","status":"ok"}]"#,
            #"[{"id":1,"status":"ok","summary":"x"}]"#, #"[] []"#,
        ])
    func malformedChecks(text: String) {
        #expect(DeviceRecord.decode(text) == [])
    }

    @Test("ids and summaries longer than the limits are cut when read")
    func longFieldsCut() {
        let long = String(repeating: "é", count: 2_000)
        let text = #"[{"id":"\#(long)","status":"ok","summary":"\#(long)"}]"#
        let read = DeviceRecord.decode(text)
        #expect(read.count == 1)
        #expect(read.first?.id == InertText.clipped(long, to: CheckSummary.maxIDBytes))
        #expect(read.first?.summary == InertText.clipped(long, to: CheckSummary.maxSummaryBytes))
    }
}
