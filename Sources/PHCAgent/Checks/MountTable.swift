#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
public import PHCCore
internal import Synchronization

/// One line of `/proc/self/mountinfo`.
public struct MountEntry: Sendable, Equatable {
    public var mountID: Int
    public var parentID: Int
    /// Root of the mount within its filesystem (`/` unless a bind mount of a subfolder).
    public var root: String
    /// Where it is mounted, with `\040`-style escapes decoded.
    public var mountPoint: String
    /// Per-mount options (`rw`, `ro`, `relatime`…).
    public var mountOptions: [String]
    public var fstype: String
    public var source: String
    /// Per-superblock options (`rw`, `ro`, `emergency_ro`, `vers=3.0`…).
    public var superOptions: [String]

    /// Read-only at the mount or the superblock level, including `emergency_ro`.
    public var isReadOnly: Bool {
        mountOptions.contains("ro") || superOptions.contains("ro") || readOnlyReason == "emergency_ro"
    }

    /// `emergency_ro` when the filesystem forced itself read-only, `ro` otherwise, nil when writable.
    public var readOnlyReason: String? {
        if superOptions.contains("emergency_ro") || mountOptions.contains("emergency_ro") { return "emergency_ro" }
        if mountOptions.contains("ro") || superOptions.contains("ro") { return "ro" }
        return nil
    }
}

/// The kernel's mount table (`/proc/self/mountinfo`), which never blocks on a hung mount.
public enum MountTable {
    public static let defaultPath = "/proc/self/mountinfo"

    /// Reads and parses the mount table.
    ///
    /// - Throws: ``FileReader/Failure`` when the file cannot be read.
    public static func read(path: String = defaultPath) throws(FileReader.Failure) -> [MountEntry] {
        parse(bytes: Array(try FileReader.read(path, limit: 32 * 1024 * 1024)))
    }

    /// Parses mountinfo text; lines that do not have the expected shape are skipped.
    public static func parse(_ text: String) -> [MountEntry] {
        parse(bytes: Array(text.utf8))
    }

    /// Parses mountinfo bytes. Its separators (newline, space, comma) are ASCII, so the lines and
    /// fields are cut from the bytes; only the fields kept become strings, each decoded as UTF-8
    /// on its own (invalid bytes read as U+FFFD).
    static func parse(bytes: [UInt8]) -> [MountEntry] {
        bytes.split(separator: UInt8(ascii: "\n")).compactMap(parseLine)
    }

    /// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
    static func parseLine(_ line: ArraySlice<UInt8>) -> MountEntry? {
        let fields = line.split(separator: UInt8(ascii: " "))
        guard fields.count >= 9,
            let separator = fields[6...].firstIndex(where: { $0.count == 1 && $0.first == UInt8(ascii: "-") }),
            separator + 2 < fields.count, let mountID = Int(text(fields[0])), let parentID = Int(text(fields[1]))
        else { return nil }
        let superOptions = separator + 3 < fields.count ? fields[separator + 3] : []
        return MountEntry(
            mountID: mountID,
            parentID: parentID,
            root: unescape(fields[3]),
            mountPoint: unescape(fields[4]),
            mountOptions: options(fields[5]),
            fstype: unescape(fields[separator + 1]),
            source: unescape(fields[separator + 2]),
            superOptions: options(superOptions)
        )
    }

    private static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field, as: UTF8.self)
    }

    private static func options(_ field: ArraySlice<UInt8>) -> [String] {
        field.split(separator: UInt8(ascii: ",")).map(text)
    }

    /// Decodes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
    public static func unescape(_ field: Substring) -> String {
        unescape(ArraySlice(field.utf8))
    }

    static func unescape(_ raw: ArraySlice<UInt8>) -> String {
        guard raw.contains(UInt8(ascii: "\\")) else { return text(raw) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            if raw[index] == UInt8(ascii: "\\"), let value = octal(raw, at: index + 1) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(raw[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func octal(_ raw: ArraySlice<UInt8>, at start: Int) -> UInt8? {
        guard start + 3 <= raw.endIndex else { return nil }
        var value: UInt32 = 0
        for byte in raw[start..<start + 3] {
            guard (48...55).contains(byte) else { return nil }
            value = value * 8 + UInt32(byte - 48)
        }
        return value <= 255 ? UInt8(value) : nil
    }
}

/// The mount table, read at most once and shared by every mount check of a run.
public final class MountTableSnapshot: Sendable {
    public let path: String
    private let cached = Mutex<Result<[MountEntry], FileReader.Failure>?>(nil)

    public init(path: String = MountTable.defaultPath) {
        self.path = path
    }

    /// The entries, read on first use.
    public func entries() throws(FileReader.Failure) -> [MountEntry] {
        try cached.withLock { cached in
            if let cached { return cached }
            let read = Result { () throws(FileReader.Failure) in try MountTable.read(path: path) }
            cached = read
            return read
        }.get()
    }
}
