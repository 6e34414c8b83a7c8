#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCCore

/// A device record's summary (all of it but the body) as one blob, a row of `device_summaries`:
/// what every pass loads for every device, read as one column instead of nineteen. Reading the
/// nineteen columns of ten thousand rows was about 30 ms of CPU (SQLite's work for each column
/// read, then a string or a number for each), half of what a pass that found nothing changed
/// spent on both cores.
///
/// The columns of `devices` stay, written with the blob in the same save, for whoever reads the
/// database with `sqlite3` and for the statements that change one column
/// (``CollectorStore/resetSequence(device:by:at:)``, which sets the blob to NULL). The blob is used
/// only when it decodes whole; a NULL, short, longer or unknown blob, or none, is not an error: that
/// device is read from its columns.
///
/// Layout, little-endian: a version byte, the trust, a 16-bit word saying which fields follow, then
/// those fields in that word's bit order. Numbers are 8 bytes; texts a 4-byte length and UTF-8;
/// the enumerations one byte, their index in a fixed list (never their declaration order).
enum PackedSummary {
    static let version: UInt8 = 1

    private static let trusts: [DeviceTrust] = [.signed, .unsigned, .unknown]
    private static let statuses: [CheckStatus] = [.ok, .warn, .crit, .unknown]
    private static let rejectionKinds: [RejectionKind] = [.signature, .mismatch, .replay, .unreadable, .refused]

    /// Which fields follow the header; a field absent is nil, or its usual value.
    private struct Present: OptionSet {
        let rawValue: UInt16
        static let displayName = Present(rawValue: 1 << 0)  // absent: the name
        static let lastSequence = Present(rawValue: 1 << 1)
        static let issuedAt = Present(rawValue: 1 << 2)
        static let expiresAt = Present(rawValue: 1 << 3)
        static let intervalS = Present(rawValue: 1 << 4)
        static let status = Present(rawValue: 1 << 5)
        static let problems = Present(rawValue: 1 << 6)  // absent: "[]"
        static let agentVersion = Present(rawValue: 1 << 7)
        static let lastSeen = Present(rawValue: 1 << 8)
        static let manifestStamp = Present(rawValue: 1 << 9)
        static let rejection = Present(rawValue: 1 << 10)
        static let rejectionKind = Present(rawValue: 1 << 11)
        static let skew = Present(rawValue: 1 << 12)  // absent: 0
        static let fileProblem = Present(rawValue: 1 << 13)
        static let all = Present(rawValue: (1 << 14) - 1)
    }

    /// The blob for `record`'s summary, holding what its columns hold (the rejection and a file
    /// problem's reason cut as they are); nil (the row is read from its columns) for a value one of
    /// the fixed lists does not have, a case added to an enumeration and not to its list.
    static func pack(_ record: DeviceRecord) -> [UInt8]? {
        let capped = CollectorStore.capped
        var present: Present = []
        if record.displayName != record.name { present.insert(.displayName) }
        if record.lastSequence != nil { present.insert(.lastSequence) }
        if record.issuedAt != nil { present.insert(.issuedAt) }
        if record.expiresAt != nil { present.insert(.expiresAt) }
        if record.intervalS != nil { present.insert(.intervalS) }
        if record.status != nil { present.insert(.status) }
        if record.problemsJSON != "[]" { present.insert(.problems) }
        if record.agentVersion != nil { present.insert(.agentVersion) }
        if record.lastSeen != nil { present.insert(.lastSeen) }
        if record.manifestStamp != nil { present.insert(.manifestStamp) }
        if record.rejection != nil { present.insert(.rejection) }
        if record.rejectionKind != nil { present.insert(.rejectionKind) }
        if record.skewSeconds != 0 { present.insert(.skew) }
        if record.fileProblem != nil { present.insert(.fileProblem) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + record.problemsJSON.utf8.count)
        func put(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        func put(_ value: Int64?) { if let value { put(UInt64(bitPattern: value)) } }
        func put(_ text: String?) {
            guard var text else { return }
            text.withUTF8 { utf8 in
                withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: utf8)
            }
        }
        var unlisted = false
        func put<Value: Equatable>(_ value: Value?, in list: [Value]) {
            guard let value else { return }
            guard let index = list.firstIndex(of: value) else { return unlisted = true }
            bytes.append(UInt8(index))
        }
        bytes.append(version)
        put(record.trust, in: trusts)
        withUnsafeBytes(of: present.rawValue.littleEndian) { bytes.append(contentsOf: $0) }
        if present.contains(.displayName) { put(record.displayName) }
        put(record.lastSequence)
        put(record.issuedAt)
        put(record.expiresAt)
        put(record.intervalS)
        put(record.status, in: statuses)
        if present.contains(.problems) { put(record.problemsJSON) }
        put(record.agentVersion)
        put(record.lastSeen)
        if let stamp = record.manifestStamp {
            put(stamp.inode)
            put(stamp.size)
            put(stamp.seconds)
            put(stamp.nanoseconds)
        }
        put(record.rejection.map(capped))
        put(record.rejectionKind, in: rejectionKinds)
        if present.contains(.skew) { put(record.skewSeconds) }
        if let problem = record.fileProblem {
            put(problem.path)
            put(problem.kind, in: rejectionKinds)
            put(capped(problem.reason))
            put(problem.signature)
        }
        return unlisted ? nil : bytes
    }

    /// The record (without its body) that `blob` holds for the device `name`; nil unless the blob is
    /// one this version wrote, whole and nothing after it. `knownVersion` is returned as the agent
    /// version when the bytes are the same (no new string for each record of a fleet on one version).
    static func record(_ blob: UnsafeRawBufferPointer, name: String, reusing knownVersion: String) -> DeviceRecord? {
        var reader = Reader(bytes: blob)
        // Filled in place: a record returned by a throwing read was copied, all 352 bytes and every string.
        var record = DeviceRecord(name: name, displayName: name)
        do { try reader.read(into: &record, reusing: knownVersion) } catch { return nil }
        return record
    }

    /// Reads a blob front to back; any read past its end, or a value outside its list, throws.
    private struct Reader {
        struct Malformed: Error {}

        let bytes: UnsafeRawBufferPointer
        var at = 0

        /// Reads the blob into `record`, a new record of the device's name.
        mutating func read(into record: inout DeviceRecord, reusing knownVersion: String) throws(Malformed) {
            guard try byte() == version else { throw Malformed() }
            record.trust = try byte(in: trusts)
            record.hasBody = false
            let present = Present(rawValue: UInt16(try byte()) | UInt16(try byte()) << 8)
            guard present.isSubset(of: .all) else { throw Malformed() }
            if present.contains(.displayName) { record.displayName = try text() }
            if present.contains(.lastSequence) { record.lastSequence = try number() }
            if present.contains(.issuedAt) { record.issuedAt = try number() }
            if present.contains(.expiresAt) { record.expiresAt = try number() }
            if present.contains(.intervalS) { record.intervalS = try number() }
            if present.contains(.status) { record.status = try byte(in: statuses) }
            if present.contains(.problems) { record.problemsJSON = try text() }
            if present.contains(.agentVersion) { record.agentVersion = try text(reusing: knownVersion) }
            if present.contains(.lastSeen) { record.lastSeen = try number() }
            if present.contains(.manifestStamp) {
                record.manifestStamp = FileStamp(
                    inode: UInt64(bitPattern: try number()), size: try number(), seconds: try number(),
                    nanoseconds: try number())
            }
            if present.contains(.rejection) { record.rejection = try text() }
            if present.contains(.rejectionKind) { record.rejectionKind = try byte(in: rejectionKinds) }
            if present.contains(.skew) { record.skewSeconds = try number() }
            if present.contains(.fileProblem) {
                record.fileProblem = FileProblem(
                    path: try text(), kind: try byte(in: rejectionKinds), reason: try text(), signature: try text())
            }
            guard at == bytes.count else { throw Malformed() }
        }

        mutating func byte() throws(Malformed) -> UInt8 {
            guard at < bytes.count else { throw Malformed() }
            defer { at += 1 }
            return bytes[at]
        }

        mutating func byte<Value>(in list: [Value]) throws(Malformed) -> Value {
            let index = Int(try byte())
            guard index < list.count else { throw Malformed() }
            return list[index]
        }

        mutating func number() throws(Malformed) -> Int64 {
            guard bytes.count - at >= 8 else { throw Malformed() }
            defer { at += 8 }
            return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int64.self))
        }

        mutating func text(reusing known: String = "") throws(Malformed) -> String {
            guard bytes.count - at >= 4 else { throw Malformed() }
            let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            guard bytes.count - at - 4 >= count else { throw Malformed() }
            let utf8 = UnsafeRawBufferPointer(rebasing: bytes[at + 4..<at + 4 + count])
            at += 4 + count
            var known = known
            if count > 0, known.utf8.count == count,
                known.withUTF8({ memcmp($0.baseAddress!, utf8.baseAddress!, count) == 0 })
            {
                return known
            }
            return String(decoding: utf8, as: UTF8.self)
        }
    }
}
