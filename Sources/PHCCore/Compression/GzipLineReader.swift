#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import CZlib

/// Reads a gzip file line by line without ever holding more than one line and
/// two fixed buffers, so a small file that inflates to gigabytes costs the
/// reader nothing but the time up to its caps.
///
/// Concatenated gzip members are read in turn, as `gunzip` does. A line longer
/// than `lineLimit` is not kept: it is reported as ``Item/oversized(bytes:)``
/// and reading goes on after it.
public enum GzipLineReader {
    public enum Item {
        /// One line, without its `\n` (a final line without one is a line too; empty lines are skipped).
        case line(Data)
        /// A line over the limit, with how long it was (counted up to the decompression cap).
        case oversized(bytes: Int)
    }

    /// Why reading stopped before the end. Lines delivered before it stay delivered.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case file(FileReader.Failure)
        case compressedTooLarge(path: String, size: Int64, limit: Int)
        case decompressedTooLarge(path: String, limit: Int)
        case gzip(path: String, message: String)

        public var description: String {
            switch self {
            case .file(let failure): failure.description
            case .compressedTooLarge(let path, let size, let limit):
                "\(path) is \(ByteCount.format(size)), over the \(ByteCount.format(Int64(limit))) limit"
            case .decompressedTooLarge(let path, let limit):
                "\(path) inflates to more than \(ByteCount.format(Int64(limit))); the rest is not read"
            case .gzip(let path, let message): "\(path): gzip: \(message)"
            }
        }
    }

    /// Calls `body` for each line of the gzip file at `path` until the end, a failure, or
    /// `body` returning false.
    ///
    /// - Returns: whether the whole file was read (false when `body` asked to stop).
    /// - Throws: ``Failure`` when the file cannot be read, is over a cap, or is not gzip.
    @discardableResult
    public static func forEachLine(
        path: String, compressedLimit: Int, decompressedLimit: Int, lineLimit: Int, _ body: (Item) -> Bool
    ) throws(Failure) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .file(.notFound(path: path)) }
            throw .file(.system(SystemError("open", path: path, errno: code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .file(.system(SystemError("stat", path: path, errno: errno))) }
        let status = FileStatus(info)
        guard status.kind == .regular else { throw .file(.notAFile(path: path, kind: status.kind)) }
        guard status.size <= Int64(compressedLimit) else {
            throw .compressedTooLarge(path: path, size: status.size, limit: compressedLimit)
        }

        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard czlib_inflate_init_auto(stream) == Z_OK else { throw .gzip(path: path, message: "inflateInit2 failed") }
        defer { inflateEnd(stream) }

        let inputSize = 64 * 1024
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: inputSize)
        defer { input.deallocate() }
        let outputSize = 64 * 1024
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: outputSize)
        defer { output.deallocate() }

        var line = Data()
        var lineBytes = 0  // the current line's length, also when it is too long to keep
        var produced = 0
        var readTotal: Int64 = 0
        var endOfFile = false
        var memberEnded = false
        var sawInput = false

        func deliver() -> Bool {
            defer {
                line.removeAll(keepingCapacity: true)
                lineBytes = 0
            }
            if lineBytes > lineLimit { return body(.oversized(bytes: lineBytes)) }
            return lineBytes == 0 ? true : body(.line(line))
        }

        while true {
            if stream.pointee.avail_in == 0 && !endOfFile {
                let n = Glibc.read(fd, input, inputSize)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .file(.system(SystemError("read", path: path, errno: errno)))
                }
                if n == 0 {
                    endOfFile = true
                } else {
                    readTotal += Int64(n)
                    guard readTotal <= Int64(compressedLimit) else {
                        throw .compressedTooLarge(path: path, size: readTotal, limit: compressedLimit)
                    }
                    sawInput = true
                    stream.pointee.next_in = input
                    stream.pointee.avail_in = uInt(n)
                }
            }
            if stream.pointee.avail_in == 0 && endOfFile {
                guard memberEnded || !sawInput else { throw .gzip(path: path, message: "truncated input") }
                break
            }
            if memberEnded {
                // Another gzip member follows.
                guard inflateReset(stream) == Z_OK else { throw .gzip(path: path, message: "inflateReset failed") }
                memberEnded = false
            }
            stream.pointee.next_out = output
            stream.pointee.avail_out = uInt(outputSize)
            let status = inflate(stream, Z_NO_FLUSH)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw .gzip(path: path, message: stream.pointee.msg.map { String(cString: $0) } ?? "zlib \(status)")
            }
            let count = outputSize - Int(stream.pointee.avail_out)
            if status == Z_STREAM_END { memberEnded = true }
            produced += count
            guard produced <= decompressedLimit else {
                throw .decompressedTooLarge(path: path, limit: decompressedLimit)
            }
            var start = 0
            for index in 0..<count where output[index] == UInt8(ascii: "\n") {
                let piece = index - start
                if lineBytes + piece <= lineLimit { line.append(output + start, count: piece) }
                lineBytes += piece
                guard deliver() else { return false }
                start = index + 1
            }
            let rest = count - start
            if rest > 0 {
                if lineBytes + rest <= lineLimit { line.append(output + start, count: rest) }
                lineBytes += rest
            }
            if status == Z_BUF_ERROR && count == 0 && stream.pointee.avail_in == 0 && endOfFile {
                throw .gzip(path: path, message: "truncated input")
            }
        }
        return deliver()
    }
}
