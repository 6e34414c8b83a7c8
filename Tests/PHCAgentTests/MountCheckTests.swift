#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("Mount check on real mounts", .enabled(if: Mounts.canMount, "needs root to mount tmpfs"))
struct MountCheckTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory("phc-mount")
    }

    func run(_ configuration: MountCheckConfiguration, mountTable: String = MountTable.defaultPath) async -> CheckResult
    {
        let context = CheckContext(
            device: "testhost", now: WallClock.system.now(), stateDir: directory.file("state"),
            probe: FilesystemProbe(stateDirectory: directory.file("state")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        return await MountCheck(configuration, mountTable: MountTableSnapshot(path: mountTable)).run(in: context)
            .results[0]
    }

    @Test("a healthy tmpfs with a write probe is ok, with free space and timings, and leaves no file behind")
    func healthy() async throws {
        defer { directory.remove() }
        let path = directory.file("space")
        try Mounts.tmpfs(at: path, size: "8m")
        let result = await run(
            MountCheckConfiguration(
                path: path, fstype: "tmpfs", source: "tmpfs", writeProbe: true,
                minFree: Thresholds(warn: .percent(10), crit: .percent(5))))
        #expect(result.status == .ok, "\(result.summary)")
        #expect(result.id == "mount:\(path)")
        #expect(result.observations["free_bytes"]?.number ?? 0 > 7_000_000)
        #expect(result.observations["total_bytes"] == .int(8 * 1_048_576))
        #expect(result.observations["write_probe_ms"] != nil)
        #expect(result.observations["responsive"] == .bool(true))
        #expect(result.summary.hasPrefix("tmpfs tmpfs, 8 MiB free (100%)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).isEmpty)
    }

    @Test("a mount point with spaces in its name is found (\\040 in mountinfo)")
    func spaces() async throws {
        defer { directory.remove() }
        let path = directory.file("my share")
        try Mounts.tmpfs(at: path)
        let result = await run(MountCheckConfiguration(path: path, writeProbe: true))
        #expect(result.status == .ok, "\(result.summary)")
    }

    @Test("read-only is crit unless expected; expected read-only but writable is warn")
    func readOnly() async throws {
        defer { directory.remove() }
        let path = directory.file("time")
        try Mounts.tmpfs(at: path, readOnly: true)
        let result = await run(MountCheckConfiguration(path: path, writeProbe: true))
        #expect(result.status == .crit)
        #expect(result.summary.hasPrefix("mounted read-only (ro)"))
        #expect(await run(MountCheckConfiguration(path: path, readOnly: true)).status == .ok)
        try Mounts.remount(path, readOnly: false)
        let writable = await run(MountCheckConfiguration(path: path, readOnly: true))
        #expect(writable.status == .warn && writable.summary.contains("expected read-only"))
    }

    @Test("two mounts stacked on one point are crit, naming both")
    func stacked() async throws {
        defer { directory.remove() }
        let path = directory.file("time")
        try Mounts.tmpfs(at: path)
        try Mounts.tmpfs(at: path, readOnly: true)
        let result = await run(MountCheckConfiguration(path: path, readOnly: true))
        #expect(result.status == .crit)
        #expect(result.summary.contains("2 mounts stacked on \(path): tmpfs tmpfs, tmpfs tmpfs (ro)"))
        #expect(result.observations["mounts_stacked"] == .int(2))
    }

    @Test("not mounted is crit and marks the mount unusable for other checks")
    func notMounted() async throws {
        defer { directory.remove() }
        let path = try directory.folder("flux")
        let result = await run(MountCheckConfiguration(path: path, fstype: "cifs", source: "//motoko/flux"))
        #expect(result.status == .crit)
        #expect(result.summary == "not mounted (expected cifs //motoko/flux)")
        #expect(MountGate.verdict(of: CheckReport(result)) == "is not mounted")
    }

    @Test("a different fstype or source is crit")
    func wrongFilesystem() async throws {
        defer { directory.remove() }
        let path = directory.file("space")
        try Mounts.tmpfs(at: path)
        let result = await run(MountCheckConfiguration(path: path, fstype: "cifs", source: "//motoko/space"))
        #expect(result.status == .crit)
        #expect(result.summary.contains("fstype tmpfs, expected cifs"))
        #expect(result.summary.contains("source tmpfs, expected //motoko/space"))
    }

    @Test("little free space is crit or warn against min_free")
    func freeSpace() async throws {
        defer { directory.remove() }
        let path = directory.file("small")
        try Mounts.tmpfs(at: path, size: "1m")
        try Data(count: 950 * 1024).write(to: URL(fileURLWithPath: path + "/fill"))
        let crit = await run(
            MountCheckConfiguration(path: path, minFree: Thresholds(warn: .percent(20), crit: .percent(10))))
        #expect(crit.status == .crit, "\(crit.summary)")
        #expect(crit.summary.contains("below 10%"))
        let warn = await run(MountCheckConfiguration(path: path, minFree: Thresholds(warn: .bytes(512 * 1024))))
        #expect(warn.status == .warn && warn.summary.contains("below 512 KiB"))
    }

    @Test("running out of inodes is crit against a percentage min_free")
    func inodes() async throws {
        defer { directory.remove() }
        let path = directory.file("inodes")
        try Mounts.tmpfs(at: path, size: "4m", options: "nr_inodes=20")
        for index in 0..<19 { FileManager.default.createFile(atPath: "\(path)/f\(index)", contents: nil) }
        let result = await run(
            MountCheckConfiguration(path: path, minFree: Thresholds(warn: .percent(20), crit: .percent(10))))
        #expect(result.status == .crit, "\(result.summary)")
        #expect(result.summary.contains("inodes free, below 10%"))
        #expect(result.observations["inodes_total"] == .int(20))
    }

    @Test("emergency_ro reported by the kernel is crit (mount table from a capture, statfs on a real mount)")
    func emergencyReadOnly() async throws {
        defer { directory.remove() }
        let path = directory.file("time")
        try Mounts.tmpfs(at: path)
        let table = try directory.write(
            "mountinfo", "812 29 8:33 / \(path) rw,relatime shared:400 - exfat /dev/sdc1 rw,emergency_ro,fmask=0022\n")
        let result = await run(MountCheckConfiguration(path: path), mountTable: table)
        #expect(result.status == .crit)
        #expect(result.summary.hasPrefix("mounted read-only (emergency_ro)"))
    }
}
