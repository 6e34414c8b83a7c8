#if canImport(Glibc)
    public import Glibc
#endif
import Foundation

/// Real mounts for tests (root only): tmpfs via mount(2), and a FUSE bindfs that can be frozen.
public enum Mounts {
    /// Whether this process may mount (root).
    public static var canMount: Bool { getuid() == 0 }

    /// Mounts a tmpfs of `size` on `path` (created if missing).
    public static func tmpfs(at path: String, size: String = "4m", readOnly: Bool = false, options: String = "") throws
    {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let flags = UInt(readOnly ? MS_RDONLY : 0)
        guard mount("tmpfs", path, "tmpfs", flags, "size=\(size)" + (options.isEmpty ? "" : "," + options)) == 0 else {
            throw POSIXFailure("mount tmpfs on \(path)", errno)
        }
    }

    /// Remounts the mount on `path` read-only or read-write.
    public static func remount(_ path: String, readOnly: Bool) throws {
        let flags = UInt(MS_REMOUNT) | UInt(readOnly ? MS_RDONLY : 0)
        guard mount("tmpfs", path, "tmpfs", flags, nil) == 0 else {
            throw POSIXFailure("remount \(path)", errno)
        }
    }

    /// Unmounts `path` (lazily, so a busy or hung mount still goes).
    public static func unmount(_ path: String) {
        umount2(path, Int32(MNT_DETACH))
    }

    /// Mount points at or below `folder`, in mount-table order.
    public static func mountPoints(under folder: String) -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = String(fields[4]).replacingOccurrences(of: "\\040", with: " ")
            return point == folder || point.hasPrefix(folder + "/") ? point : nil
        }
    }

    /// Whether FUSE and bindfs are here.
    public static var bindfsAvailable: Bool {
        canMount && FileManager.default.fileExists(atPath: "/dev/fuse") && Command.which("bindfs") != nil
    }
}

/// A bindfs FUSE mount whose daemon can be stopped: statfs on it then blocks for real.
public final class FrozenFUSEMount: @unchecked Sendable {
    public let source: String
    public let mountPoint: String
    public private(set) var daemonPID: pid_t = 0

    /// Mounts `source` on `mountPoint` with bindfs (foreground daemon, so its pid is ours to stop).
    public init(source: String, mountPoint: String) throws {
        self.source = source
        self.mountPoint = mountPoint
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.which("bindfs")!)
        process.arguments = ["-f", "--no-allow-other", source, mountPoint]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        daemonPID = process.processIdentifier
        let giveUp = Date().addingTimeInterval(10)
        while !Mounts.mountPoints(under: mountPoint).contains(mountPoint) {
            guard Date() < giveUp else { throw POSIXFailure("bindfs did not mount \(mountPoint)", ETIMEDOUT) }
            usleep(20_000)
        }
    }

    /// SIGSTOP the daemon: every filesystem call on the mount now waits.
    public func freeze() { kill(daemonPID, SIGSTOP) }

    /// SIGCONT the daemon.
    public func thaw() { kill(daemonPID, SIGCONT) }

    /// Thaws, unmounts and reaps the daemon.
    public func tearDown() {
        thaw()
        Mounts.unmount(mountPoint)
        kill(daemonPID, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<200 {
            if waitpid(daemonPID, &status, WNOHANG) != 0 { return }
            usleep(10_000)
        }
        kill(daemonPID, SIGKILL)
        waitpid(daemonPID, &status, 0)
    }
}
