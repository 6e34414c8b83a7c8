#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif
internal import CZlib

/// gzip (RFC 1952) through the system zlib.
public enum Gzip {
    /// Why zlib refused.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var operation: String
        public var code: Int32
        public var message: String
        public var description: String { "gzip \(operation) failed: \(message) (zlib \(code))" }
    }

    /// Compresses `input` into a gzip member.
    public static func compress(_ input: some DataProtocol, level: Int32 = 6) throws(Failure) -> Data {
        let source = Array(input)
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        let initialized = czlib_deflate_init_gzip(stream, level)
        guard initialized == Z_OK else { throw Failure(operation: "init", code: initialized, message: "deflateInit2") }
        defer { deflateEnd(stream) }

        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = Z_OK
        try source.withUnsafeBufferPointer { (sourceBuffer) throws(Failure) in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: sourceBuffer.baseAddress)
            stream.pointee.avail_in = uInt(sourceBuffer.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                    stream.pointee.next_out = chunkBuffer.baseAddress
                    stream.pointee.avail_out = uInt(chunkBuffer.count)
                    status = deflate(stream, Z_FINISH)
                    return chunkBuffer.count - Int(stream.pointee.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw Failure(operation: "deflate", code: status, message: message(stream))
                }
                output.append(contentsOf: chunk[0..<produced])
            } while status != Z_STREAM_END
        }
        return output
    }

    /// Decompresses gzip (or zlib) data, refusing to produce more than `limit` bytes.
    ///
    /// Concatenated gzip members are all decompressed, as `gunzip` does.
    public static func decompress(_ input: some DataProtocol, limit: Int = 256 * 1024 * 1024) throws(Failure) -> Data {
        let source = Array(input)
        var output = Data()
        var offset = 0
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while offset < source.count {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            defer { stream.deallocate() }
            let initialized = czlib_inflate_init_auto(stream)
            guard initialized == Z_OK else {
                throw Failure(operation: "init", code: initialized, message: "inflateInit2")
            }
            defer { inflateEnd(stream) }
            var status: Int32 = Z_OK
            try source.withUnsafeBufferPointer { (sourceBuffer) throws(Failure) in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: sourceBuffer.baseAddress! + offset)
                stream.pointee.avail_in = uInt(sourceBuffer.count - offset)
                repeat {
                    let produced = chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                        stream.pointee.next_out = chunkBuffer.baseAddress
                        stream.pointee.avail_out = uInt(chunkBuffer.count)
                        status = inflate(stream, Z_NO_FLUSH)
                        return chunkBuffer.count - Int(stream.pointee.avail_out)
                    }
                    guard status == Z_OK || status == Z_STREAM_END else {
                        let reason = status == Z_BUF_ERROR ? "truncated input" : message(stream)
                        throw Failure(operation: "inflate", code: status, message: reason)
                    }
                    output.append(contentsOf: chunk[0..<produced])
                    guard output.count <= limit else {
                        throw Failure(operation: "inflate", code: Z_DATA_ERROR, message: "output over \(limit) bytes")
                    }
                    if status == Z_OK && produced == 0 && stream.pointee.avail_in == 0 {
                        throw Failure(operation: "inflate", code: Z_BUF_ERROR, message: "truncated input")
                    }
                } while status != Z_STREAM_END
                offset = sourceBuffer.count - Int(stream.pointee.avail_in)
            }
        }
        return output
    }

    /// The zlib library version, such as "1.2.13".
    public static var zlibVersion: String { String(cString: czlib_version_string()) }

    private static func message(_ stream: UnsafeMutablePointer<z_stream>) -> String {
        stream.pointee.msg.map { String(cString: $0) } ?? "unknown error"
    }
}
