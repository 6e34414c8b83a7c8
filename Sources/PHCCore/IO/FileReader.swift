#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif

/// Reads whole files with a size cap, so a 1 GB file or a FIFO cannot exhaust memory.
public enum FileReader {
    /// Why a file could not be read.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case notFound(path: String)
        case notAFile(path: String, kind: FileStatus.Kind)
        case tooLarge(path: String, size: Int64, limit: Int)
        case system(SystemError)

        public var description: String {
            switch self {
            case .notFound(let path): "\(path) does not exist"
            case .notAFile(let path, let kind): "\(path) is a \(kind.rawValue), not a regular file"
            case .tooLarge(let path, let size, let limit):
                "\(path) is \(ByteCount.format(size)), over the \(ByteCount.format(Int64(limit))) limit"
            case .system(let error): error.description
            }
        }
    }

    /// The bytes of the regular file at `path`, at most `limit` of them.
    ///
    /// - Throws: ``Failure``; a directory, device or FIFO is `notAFile`, never opened for reading.
    public static func read(_ path: String, limit: Int) throws(Failure) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .notFound(path: path) }
            throw .system(SystemError("open", path: path, errno: code))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(SystemError("stat", path: path, errno: errno)) }
        let status = FileStatus(info)
        guard status.kind == .regular else { throw .notAFile(path: path, kind: status.kind) }
        guard status.size <= Int64(limit) else { throw .tooLarge(path: path, size: status.size, limit: limit) }

        var data = Data(count: Int(status.size) + 1)
        var total = 0
        while true {
            if total == data.count {
                guard data.count <= limit else { throw .tooLarge(path: path, size: Int64(total), limit: limit) }
                data.count = min(limit + 1, data.count * 2)
            }
            let capacity = data.count - total
            let n = data.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress! + total, capacity)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(SystemError("read", path: path, errno: errno))
            }
            if n == 0 { break }
            total += n
            if total > limit { throw .tooLarge(path: path, size: Int64(total), limit: limit) }
            // A short read of a regular file that has all the bytes its size said is its end: no
            // second read(2) to be told so (a collector pass reads ten thousand small files).
            if n < capacity && Int64(total) >= status.size { break }
        }
        data.count = total
        return data
    }
}

/// Human formatting of byte counts in binary units.
public enum ByteCount {
    /// `812 GiB`, `1.5 MiB`, `512 B`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let rounded = value >= 100 ? (value.rounded()) : (value * 10).rounded() / 10
        let text = rounded == rounded.rounded() ? String(Int64(saturating: rounded)) : String(rounded)
        return "\(text) \(units[unit])"
    }
}
