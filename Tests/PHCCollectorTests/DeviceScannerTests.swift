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
        #expect(DeviceScanner.signature(info) == "\(inode):\(size):\(seconds).\(nanoseconds)")
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
