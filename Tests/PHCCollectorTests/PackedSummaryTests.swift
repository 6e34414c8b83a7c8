import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

@Suite("Device summaries packed in one column")
struct PackedSummaryTests {
    /// Records that between them set and leave out every field a summary has, at its extremes.
    static func records() -> [DeviceRecord] {
        var plain = DeviceRecord(name: "armitage", displayName: "armitage")
        plain.hasBody = false
        var full = DeviceRecord(name: "motoko", displayName: "Motoko-Ü", trust: .signed, lastSequence: .max)
        (full.issuedAt, full.expiresAt, full.intervalS, full.lastSeen) = (.min, 1_800_000_180, 0, -1)
        full.status = .crit
        full.problemsJSON = #"[{"id":"gpu:0","status":"crit","summary":"91 °C \u0000"}]"#
        full.agentVersion = "0.1.0-with-a-longer-build-name"
        full.manifestStamp = FileStamp(inode: .max, size: -1, seconds: .min, nanoseconds: 999_999_999)
        full.rejection = "replayed: sequence 7 is not newer than 9"
        full.rejectionKind = .replay
        full.skewSeconds = -86_400
        full.fileProblem = FileProblem(
            path: "/space/devices/motoko/_health/backlog/x", kind: .refused, reason: "a FIFO", signature: "scan:")
        full.hasBody = false
        var unsigned = DeviceRecord(name: "wintermute", displayName: "wintermute", trust: .unsigned)
        (unsigned.status, unsigned.agentVersion, unsigned.rejectionKind) = (.unknown, "", .signature)
        unsigned.fileProblem = FileProblem(path: "", kind: .unreadable, reason: "", signature: "")
        unsigned.hasBody = false
        return [plain, full, unsigned]
    }

    static func pack(_ record: DeviceRecord) -> [UInt8] { PackedSummary.pack(record) ?? [] }

    @Test("a summary reads back as packed, every field set or left out, at its extremes")
    func roundTrip() {
        for record in Self.records() {
            let read = Self.pack(record).withUnsafeBytes {
                PackedSummary.record($0, name: record.name, reusing: "0.1.0-with-a-longer-build-name")
            }
            #expect(read == record, "\(record.name)")
        }
    }

    @Test("a blob cut short, longer, of another version or with an unknown value reads as nothing, never a trap")
    func malformed() {
        let packed = Self.pack(Self.records()[1])
        var blobs = (0..<packed.count).map { Array(packed.prefix($0)) }
        blobs.append(packed + [0])
        var otherVersion = packed
        otherVersion[0] = 2
        var unknownTrust = packed
        unknownTrust[1] = 3
        var unknownField = packed
        unknownField[3] |= 0x40
        var hugeText = packed
        hugeText.replaceSubrange(4..<8, with: [0xFF, 0xFF, 0xFF, 0xFF])
        blobs += [otherVersion, unknownTrust, unknownField, hugeText]
        for blob in blobs {
            #expect(
                blob.withUnsafeBytes { PackedSummary.record($0, name: "motoko", reusing: "") } == nil,
                "\(blob.count) bytes")
        }
    }

    @Test(
        "the store reads the same records from the blob and, where it is NULL, damaged or missing, from the columns"
    )
    func blobAndColumnsAgree() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collector.sqlite")
        let store = try CollectorStore(path: path)
        try store.save(Self.records())
        let fromBlobs = try store.deviceSummaries()
        #expect(fromBlobs.count == 3)
        Self.expectRecords(fromBlobs)
        #expect(try Self.summaries(store.database) == Self.allPacked)

        // NULL for one, a damaged blob for another, none for the third: all three come from their
        // columns, the same.
        try store.database.execute("UPDATE device_summaries SET summary = NULL WHERE name = 'motoko'")
        try store.database.execute("UPDATE device_summaries SET summary = x'01ff' WHERE name = 'wintermute'")
        try store.database.execute("DELETE FROM device_summaries WHERE name = 'armitage'")
        #expect(try store.deviceSummaries() == fromBlobs)
        let whole = try store.devices()
        #expect(whole.count == 3 && whole.all.allSatisfy { fromBlobs[$0.name] == $0.summary }, "with bodies too")
        // Saving writes the blobs again.
        try store.save(Self.records())
        #expect(try Self.summaries(store.database) == Self.allPacked)
    }

    /// What ``summaries(_:)`` says when every record of ``records()`` has its blob.
    static let allPacked = ["armitage": true, "motoko": true, "wintermute": true]

    /// Expects `loaded` to hold each of ``records()`` as it is.
    static func expectRecords(
        _ loaded: DeviceRecords, _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for record in records() {
            #expect(loaded[record.name] == record, "\(label) \(record.name)", sourceLocation: sourceLocation)
        }
    }

    /// Each row of `device_summaries`: whether it holds a blob.
    static func summaries(_ database: SQLiteDatabase) throws -> [String: Bool] {
        Dictionary(
            uniqueKeysWithValues: try database.statement("SELECT name, summary IS NOT NULL FROM device_summaries")
                .rows([]) { ($0.text(0), $0.int(1) == 1) })
    }

    @Test(
        "trust reset empties the blob, so the reset reads back; a database from before the blob is read from its columns, and packed when opened to write"
    )
    func resetAndMigration() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collector.sqlite")
        let records = Self.records()
        do {
            let store = try CollectorStore(path: path)
            try store.save(records)
            #expect(try store.resetSequence(device: "motoko", by: "test", at: 1) == Int64.max)
            #expect(try Self.summaries(store.database)["motoko"] == false)
            let reset = try store.deviceSummaries()["motoko"]
            #expect(reset?.lastSequence == nil && reset?.manifestStamp == nil && reset?.rejection == nil)
            #expect(reset?.status == .crit && reset?.displayName == "Motoko-Ü", "the rest as it was")
            try store.save(records)
        }
        // The database as version 4 left it: no summary anywhere.
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute("DROP TABLE device_summaries; ALTER TABLE devices DROP COLUMN summary")
            try database.setUserVersion(4)
        }
        // Read-only (a report before the first pass of this version): from the columns.
        let before = try CollectorStore(path: path, readOnly: true).deviceSummaries()
        Self.expectRecords(before, "read-only")
        let reopened = try CollectorStore(path: path)
        #expect(reopened.database.userVersion == Schema.migrations.count)
        #expect(
            try Self.summaries(reopened.database) == Self.allPacked,
            "packed when opened")
        let loaded = try reopened.deviceSummaries()
        Self.expectRecords(loaded)
    }

    @Test(
        "a database whose blobs are a column of devices (version 5): they move to their own table as they are, the column is emptied, a NULL one is packed"
    )
    func blobsMoveToTheirTable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("collector.sqlite")
        let records = Self.records()
        do {
            let store = try CollectorStore(path: path)
            try store.save(records)
        }
        // Version 5: the blob in devices.summary; wintermute's damaged, motoko's NULL (reset).
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute(
                """
                UPDATE devices SET summary = (SELECT summary FROM device_summaries s WHERE s.name = devices.name);
                UPDATE devices SET summary = x'01ff' WHERE name = 'wintermute';
                UPDATE devices SET summary = NULL WHERE name = 'motoko';
                DROP TABLE device_summaries;
                """)
            try database.setUserVersion(5)
        }
        // Read-only before the migration: from the columns.
        let before = try CollectorStore(path: path, readOnly: true).deviceSummaries()
        Self.expectRecords(before, "read-only")
        let store = try CollectorStore(path: path)
        #expect(store.database.userVersion == Schema.summaryTable)
        #expect(
            try store.database.statement("SELECT count(*) FROM devices WHERE summary IS NOT NULL").rows([]) {
                $0.int(0)
            } == [0], "the old column emptied")
        // Copied as they were (the damaged one too, read from its columns), the NULL one packed.
        let blobs = Dictionary(
            uniqueKeysWithValues: try store.database.statement("SELECT name, summary FROM device_summaries").rows([]) {
                ($0.text(0), $0.blob(1).map { Array($0) })
            })
        #expect(blobs["wintermute"] == [0x01, 0xFF])
        #expect(blobs["motoko"] == Self.pack(records[1]) && blobs["armitage"] == Self.pack(records[0]))
        let loaded = try store.deviceSummaries()
        Self.expectRecords(loaded)
    }
}
