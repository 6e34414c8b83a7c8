#if canImport(Glibc)
    public import Glibc
#endif
import Foundation

/// A fresh folder under /tmp, removed (after unmounting anything left in it) by ``remove()``.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ prefix: String = "phc-test") throws {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXFailure("mkdtemp", errno) }
        path = String(cString: made)
    }

    /// `path/name`.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Creates `path/name` (and parents) and returns it.
    @discardableResult
    public func folder(_ name: String, mode: mode_t = 0o755) throws -> String {
        let full = file(name)
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        chmod(full, mode)
        return full
    }

    /// Writes `text` to `path/name` with `mode`.
    @discardableResult
    public func write(_ name: String, _ text: String, mode: mode_t = 0o644) throws -> String {
        let full = file(name)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // O_CLOEXEC: a process forked meanwhile by a parallel test must not keep
        // this file open for writing, or executing it fails with ETXTBSY.
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw POSIXFailure("create \(full)", errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.isEmpty || Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw POSIXFailure("write \(full)", errno)
        }
        fchmod(fd, mode)
        return full
    }

    /// Unmounts whatever is still mounted below, then deletes the folder.
    public func remove() {
        for mountPoint in Mounts.mountPoints(under: path).reversed() {
            umount2(mountPoint, Int32(MNT_DETACH))
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}

public struct POSIXFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ what: String, _ code: Int32) {
        description = "\(what): \(String(cString: strerror(code)))"
    }
}
