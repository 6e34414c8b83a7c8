#if canImport(Glibc)
    internal import Glibc
#endif

/// Writes on raw file descriptors.
public enum FileDescriptor {
    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    ///
    /// - Returns: nil once everything is written; the errno of the write that failed otherwise
    ///   (`EIO` for a write that wrote nothing).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// The same, for bytes where they lie.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n < 0 ? errno : EIO }
            offset += n
        }
        return nil
    }
}
