#if canImport(Glibc)
    import Glibc
#endif
import Testing

@testable import PHCCollector

@Suite("Device scanner")
struct DeviceScannerTests {
    @Test(
        "a file's signature is inode:size:seconds.nanoseconds, whatever the numbers",
        arguments: [
            (UInt64(12), Int64(0), Int64(0), Int64(0)),
            (UInt64.max, Int64.max, Int64.max, Int64(999_999_999)),
            (UInt64(16_532_723), Int64(1_332), Int64(1_796_284_031), Int64(5)),
            (UInt64(1), Int64(-1), Int64.min, Int64.min),
            (UInt64(10), Int64(100), Int64(-86_400), Int64(-1)),
        ])
    func signature(inode: UInt64, size: Int64, seconds: Int64, nanoseconds: Int64) {
        var info = stat()
        info.st_ino = UInt(inode)
        info.st_size = Int(size)
        info.st_mtim = timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))
        let text = "\(inode):\(size):\(seconds).\(nanoseconds)"
        #expect(FileStamp(info).description == text)
        // Read back from the database as the same stamp.
        #expect(FileStamp(text) == FileStamp(info))
    }

    @Test(
        "a stored signature spelled any other way, or not one at all, reads as no stamp (the file counts as changed)",
        arguments: [
            "", "1", "1:2", "1:2:3", "1:2:3.", ":2:3.4", "1::3.4", "1:2:.4", "01:2:3.4", "1:02:3.4", "1:2:3.04",
            "-1:2:3.4", "1:-0:3.4", "1:+2:3.4", "1:2:3.4.5", "1:2:3:4", "1.2:3.4", "1:2:3.4 ", " 1:2:3.4", "1:2:3.-",
            "1:2:3.--4", "1:2-:3.4", "a:2:3.4", "18446744073709551616:0:0.0", "0:9223372036854775808:0.0",
            "0:0:-9223372036854775809.0", "0:0:0.99999999999999999999999",
        ])
    func notAStamp(text: String) {
        #expect(FileStamp(text) == nil)
    }

    @Test(
        "the manifest is looked up as entry/_health/manifest.json, nothing more", arguments: ["a", "dev00001", "ünï-ç"])
    func relativeManifest(entry: String) {
        var seen: String?
        let answer = DeviceScanner.relativeManifest(entry) { path in
            seen = String(cString: path)
            return true
        }
        #expect(answer && seen == entry + "/_health/manifest.json")
    }

    @Test(
        "a folder's path is the devices folder, a slash and the entry, as written",
        arguments: [("/srv/devices", "a"), ("/", "dev00001"), ("/mnt/ünï", "ünï-ç"), ("", "")])
    func path(directory: String, name: String) {
        #expect(DeviceScanner.path(directory, name) == directory + "/" + name)
    }

    @Test(
        "listed names sorted by their sixteen-byte keys, and as strings where the keys tie, come in the strings' own order"
    )
    func sortKeysOrderAsStrings() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab-_.09z~".utf8) + [0x01, 0x7F]
        var names = [
            "a", "ab", "abc", "b", "dev00001", "dev00010", "dev0001", "0123456789abcdef", "0123456789abcdeg",
            "0123456789abcdef0", "0123456789abcdefz", "0123456789abcdef-", "~", "\u{7F}",
        ]
        for _ in 0..<500 {
            let length = Int.random(in: 1...24, using: &generator)
            // A shared prefix half the time, so that keys tie and ties are broken by the strings.
            let head = Bool.random(using: &generator) ? "0123456789abcdef" : ""
            names.append(
                head
                    + String(
                        decoding: (0..<length).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self))
        }
        // Hidden names (a '.' or '_' first) are not sorted at all.
        names.removeAll { $0.hasPrefix(".") || $0.hasPrefix("_") }
        let byKey = names.sorted { a, b in
            let (first, second) = (DeviceScanner.SortKey.look(a).key!, DeviceScanner.SortKey.look(b).key!)
            return first != second ? first < second : a < b
        }
        let expected = names.sorted()
        let wrong = expected.indices.first { byKey[$0] != expected[$0] }
        #expect(
            wrong == nil,
            "\(wrong.map { "\(byKey[$0].debugDescription) where \(expected[$0].debugDescription) is" } ?? "")")
    }

    @Test(
        "a listed name starting with '.' or '_' is hidden; one with capitals or beyond ASCII has no key (compared as a string)",
        arguments: [
            (".motoko.tmp", true, false), ("_fleet", true, false), ("motoko", false, true), ("Motoko", false, false),
            ("mötoko", false, false), ("dev-01.lab_2", false, true),
        ])
    func look(entry: String, hidden: Bool, keyed: Bool) {
        let look = DeviceScanner.SortKey.look(entry)
        #expect(look.hidden == hidden && (look.key != nil) == keyed)
    }
}
