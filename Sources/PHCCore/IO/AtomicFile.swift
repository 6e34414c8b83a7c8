#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif

/// Writes files so that a reader sees either the old content or the new, never a mix.
///
/// The bytes go to a temporary file in the same folder (named `.<name>.<random>.tmp`,
/// which the collector ignores), are fsynced, renamed over the target, and the
/// folder is fsynced so the rename itself survives a crash.
public enum AtomicFile {
    /// Writes `data` to `path` atomically with permission bits `mode`.
    ///
    /// - Parameter durable: fsync the file and its folder. Without, readers still see the old
    ///   content or the new, but after a crash the file may hold the old content (or, on a file
    ///   system that does not flush a file renamed over another, nothing).
    /// - Throws: ``SystemError`` naming the step and the path; on error the old
    ///   file is untouched and the temporary file is removed.
    public static func write(
        _ data: some DataProtocol, to path: String, mode: UInt32 = 0o644, durable: Bool = true
    ) throws(SystemError) {
        try replace(path, mode: mode, durable: durable) { fd, temporary in
            // Region by region as they lie (a copy into one array was another buffer of the file's size).
            for region in data.regions {
                if let failure = region.withUnsafeBytes({ FileDescriptor.writeAll(fd, $0) }) {
                    return SystemError("write", path: temporary, errno: failure)
                }
            }
            return nil
        }
    }

    /// Writes the content of the file `source`, then `tail`, to `path` atomically, as
    /// ``write(_:to:mode:durable:)`` does; the kernel copies the file (`sendfile`), which is not read
    /// into memory and written back (a published file of megabytes, rewritten every pass from its
    /// cached part).
    ///
    /// - Throws: ``SystemError`` naming the step and the path, also where the file system cannot copy
    ///   that way; the old file is untouched and the temporary file is removed.
    public static func write(
        copying source: String, then tail: [UInt8], to path: String, mode: UInt32 = 0o644, durable: Bool = true
    ) throws(SystemError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw SystemError("open", path: source, errno: errno) }
        defer { close(input) }
        try replace(path, mode: mode, durable: durable) { fd, temporary in
            while true {
                let copied = sendfile(fd, input, nil, 1 << 30)
                if copied < 0 && errno == EINTR { continue }
                guard copied >= 0 else { return SystemError("copy \(source) to", path: temporary, errno: errno) }
                if copied == 0 { break }
            }
            return FileDescriptor.writeAll(fd, tail).map { SystemError("write", path: temporary, errno: $0) }
        }
    }

    /// A temporary file beside `path`, filled by `fill` (given its descriptor and path; it returns what
    /// failed, if anything), given `mode`, fsynced when `durable`, and renamed over `path`.
    private static func replace(
        _ path: String, mode: UInt32, durable: Bool, fill: (Int32, String) -> SystemError?
    ) throws(SystemError) {
        let (directory, name) = split(path)
        let temporary = "\(directory)/.\(name).\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff_ffff).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw SystemError("create", path: temporary, errno: errno) }
        var failure = fill(fd, temporary)
        if failure == nil, fchmod(fd, mode_t(mode)) != 0 {
            failure = SystemError("chmod", path: temporary, errno: errno)
        }
        if durable, failure == nil, fsync(fd) != 0 {
            failure = SystemError("fsync", path: temporary, errno: errno)
        }
        if close(fd) != 0, failure == nil {
            failure = SystemError("close", path: temporary, errno: errno)
        }
        if failure == nil, rename(temporary, path) != 0 {
            failure = SystemError("rename", path: path, errno: errno)
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        if durable { syncDirectory(directory) }
    }

    /// fsync of a folder, so that renames and unlinks in it are durable. Best effort.
    public static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// The folder and the last component of `path` (`/a/b` → `/a`, `b`).
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}

/// Folder helpers.
public enum Directory {
    /// Creates `path` and missing parents with `mode`; an existing folder is fine.
    ///
    /// - Throws: ``SystemError``; `ENOTDIR` when a component is a file.
    public static func create(_ path: String, mode: UInt32 = 0o755) throws(SystemError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw SystemError("create folder", path: path, errno: ENOTDIR)
            }
            return
        }
        let (parent, _) = AtomicFile.split(path)
        if parent != path, parent != "/", parent != "." {
            try create(parent, mode: mode)
        }
        if mkdir(path, mode_t(mode)) != 0, errno != EEXIST {
            throw SystemError("create folder", path: path, errno: errno)
        }
    }

    /// Names in `path` (without `.` and `..`), unsorted.
    public static func list(_ path: String) throws(SystemError) -> [String] {
        try entries(path).map(\.name)
    }

    /// Names in `path` with the `d_type` the file system gave (`DT_DIR`, `DT_LNK`, `DT_REG`…;
    /// `DT_UNKNOWN` where it gives none): what `lstat` would say of the type, without the call.
    public static func entries(_ path: String) throws(SystemError) -> [(name: String, type: UInt8)] {
        guard let dir = opendir(path) else { throw SystemError("list", path: path, errno: errno) }
        defer { closedir(dir) }
        var entries: [(name: String, type: UInt8)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { entries.append((name, entry.pointee.d_type)) }
        }
        return entries
    }

    /// Removes a file; a missing file is not an error.
    public static func removeFile(_ path: String) throws(SystemError) {
        if unlink(path) != 0, errno != ENOENT { throw SystemError("remove", path: path, errno: errno) }
    }
}
