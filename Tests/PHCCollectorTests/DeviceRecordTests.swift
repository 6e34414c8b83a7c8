import Foundation
import PHCCore
import PHCTestSupport
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

    @Test("the latest values column: one check␟key␟value line each, numbers as Swift prints them, read back")
    func latestValuesText() {
        let values = [
            SeriesValue(check: "gpu:0", key: "temperature_c", value: 84),
            SeriesValue(check: "mount:/mnt/space", key: "free_bytes", value: 1e16),
            SeriesValue(check: "vllm:chat", key: "requests_running", value: 0.1),
            SeriesValue(check: "system", key: "load1", value: -2.5),
        ]
        var record = DeviceRecord(name: "armitage", displayName: "armitage")
        record.latestValues = values
        #expect(
            record.latestValuesText
                == "gpu:0\u{1F}temperature_c\u{1F}84.0\nmount:/mnt/space\u{1F}free_bytes\u{1F}1e+16\n"
                + "vllm:chat\u{1F}requests_running\u{1F}0.1\nsystem\u{1F}load1\u{1F}-2.5")
        #expect(record.latestValues == values)
        record.latestValues = []
        #expect(record.latestValuesText == "" && record.latestValues.isEmpty)
    }

    @Test("records without their bodies: the rest as stored, bodies loaded for the names asked, a save keeps them")
    func summariesAndBodies() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try CollectorStore(path: directory.file("collector.sqlite"))
        var whole: [DeviceRecord] = []
        for name in ["armitage", "motoko", "wintermute"] {
            var record = DeviceRecord(name: name, displayName: name.uppercased(), trust: .signed, lastSequence: 7)
            record.payloadDigest = "digest-\(name)"
            record.keyID = "key-\(name)"
            record.checks = [CheckSummary(id: "gpu:0", status: .warn, summary: "\(name) hot")]
            record.latestValues = [SeriesValue(check: "gpu:0", key: "temperature_c", value: 84)]
            record.manifestStamp = FileStamp(inode: 1, size: 2, seconds: 3, nanoseconds: 4)
            record.lastSeen = 1_800_000_000
            record.fileProblem = FileProblem(path: "/p", kind: .unreadable, reason: "r", signature: "s")
            whole.append(record)
        }
        try store.save(whole)
        let stored = try store.devices()
        #expect(stored["motoko"] == whole[1])

        var summaries = try store.deviceSummaries()
        for record in whole {
            var expected = record
            (expected.payloadDigest, expected.keyID, expected.checksJSON, expected.latestValuesText) = (
                nil, nil, "[]", ""
            )
            expected.hasBody = false
            #expect(summaries[record.name] == expected)
        }
        try store.loadBodies(of: ["motoko", "nobody"], into: &summaries)
        #expect(summaries["motoko"] == whole[1], "loaded whole")
        #expect(summaries["armitage"]?.hasBody == false && summaries["nobody"] == nil)

        // A record saved without its body changes what it says and leaves the stored body as it was.
        var light = try #require(summaries["armitage"])
        light.lastSequence = 8
        light.problemsJSON = "[]"
        try store.save([light, try #require(summaries["motoko"])])
        let after = try store.devices()
        #expect(after["armitage"]?.lastSequence == 8 && after["armitage"]?.problems == [])
        #expect(after["armitage"]?.checks == whole[0].checks && after["armitage"]?.payloadDigest == "digest-armitage")
        #expect(after["armitage"]?.latestValues == whole[0].latestValues && after["armitage"]?.keyID == "key-armitage")
        #expect(after["motoko"] == whole[1])
    }

    @Test("every record reads back as saved, whatever it shares with the one before (name, version, trust, status)")
    func recordsReadBackAlone() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try CollectorStore(path: directory.file("collector.sqlite"))
        var records: [DeviceRecord] = []
        for (index, (version, trust, status)) in [
            ("0.1.0", DeviceTrust.signed, CheckStatus?.some(.ok)), ("0.1.0", .unsigned, .warn),
            ("0.2.0", .unknown, nil),
            (nil, .signed, .crit), ("0.1.0-with-a-longer-build-name", .signed, .unknown), ("", .unsigned, .ok),
        ].enumerated() {
            var record = DeviceRecord(name: "dev\(index)", displayName: index % 2 == 0 ? "dev\(index)" : "Dev\(index)")
            (record.agentVersion, record.trust, record.status) = (version, trust, status)
            record.problemsJSON = index == 3 ? #"[{"id":"gpu:0","status":"crit","summary":"hot"}]"# : "[]"
            records.append(record)
        }
        try store.save(records)
        let loaded = try store.devices()
        for record in records { #expect(loaded[record.name] == record, "\(record.name)") }
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

    @Test(
        "records by name: a name put again replaces its record in place, reads find each by name, order does not count")
    func recordsByName() {
        var records = DeviceRecords(minimumCapacity: 2)
        records.put(DeviceRecord(name: "motoko", displayName: "motoko"))
        records.put(DeviceRecord(name: "armitage", displayName: "armitage"))
        var renamed = DeviceRecord(name: "motoko", displayName: "Motoko")
        renamed.lastSequence = 7
        records.put(renamed)
        #expect(records.count == 2 && records.all.map(\.name) == ["motoko", "armitage"])
        #expect(records["motoko"] == renamed && records["nobody"] == nil)
        #expect(records.position(of: "armitage") == 1 && records.all[1].displayName == "armitage")
        // A likely position is only a first guess.
        #expect(records.position(of: "armitage", likely: 1) == 1 && records.position(of: "armitage", likely: 0) == 1)
        #expect(records.position(of: "armitage", likely: -1) == 1 && records.position(of: "armitage", likely: 9) == 1)
        #expect(records.position(of: "nobody", likely: 0) == nil)
        records.update(at: 1) { record in
            record.lastSequence = 3
            record.name = "someone else"
        }
        #expect(records["armitage"]?.lastSequence == 3, "still found by its name")
        #expect(records.all.map(\.name) == ["motoko", "armitage"])
        var seen: [String] = []
        records.eachRecord { seen.append($0.pointee.name) }
        #expect(seen == ["motoko", "armitage"] && records.record(at: 0) { $0.pointee.lastSequence } == 7)

        var reversed = DeviceRecords()
        for record in records.all.reversed() { reversed.put(record) }
        #expect(reversed == records)
        reversed.put(DeviceRecord(name: "armitage", displayName: "armitage"))
        #expect(reversed != records)
    }

    @Test(
        "a folder is quiet for its record only with the same manifest, no standing file problem, the same folder name")
    func quietFolder() {
        let stamp = FileStamp(inode: 7, size: 1_324, seconds: 1_800_000_000, nanoseconds: 5)
        var record = DeviceRecord(name: "motoko", displayName: "motoko")
        record.manifestStamp = stamp
        let folder = DeviceFolder(
            name: "motoko", displayName: "motoko", path: "", manifest: FileRef(path: "", stamp: stamp))
        func quiet(_ record: DeviceRecord, _ folder: DeviceFolder) -> Bool {
            var records = DeviceRecords()
            records.put(DeviceRecord(name: "armitage", displayName: "armitage"))
            records.put(record)
            return records.isQuiet(at: 1, folder)
        }
        #expect(quiet(record, folder))
        var changed = folder
        changed.manifest?.stamp.nanoseconds = 6
        #expect(!quiet(record, changed), "another manifest")
        var gone = folder
        gone.manifest = nil
        #expect(!quiet(record, gone), "no manifest")
        var refused = folder
        refused.problem = "a symbolic link leading out"
        #expect(!quiet(record, refused), "a folder problem")
        var renamed = folder
        renamed.displayName = "Motoko"
        #expect(!quiet(record, renamed), "the folder renamed")
        var troubled = record
        troubled.fileProblem = FileProblem(path: "/p", kind: .refused, reason: "a FIFO", signature: "scan:")
        #expect(!quiet(troubled, folder), "a standing file problem")
        var never = record
        never.manifestStamp = nil
        #expect(!quiet(never, folder), "no manifest examined yet")
    }
}
