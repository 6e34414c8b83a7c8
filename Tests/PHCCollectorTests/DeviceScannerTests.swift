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
}
