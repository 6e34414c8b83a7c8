#if canImport(Glibc)
    internal import Glibc
#endif

/// A failed system call, with the operation and the path it was about.
///
/// `description` reads as one line: `cannot open /etc/phc/agent.key: Permission denied`.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The C library's text for `errno`, such as "Read-only file system".
    public var reason: String { Self.describe(errno) }

    public var description: String { "cannot \(operation) \(path): \(reason)" }

    public static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    /// The symbolic name of common errno values (`EROFS`), for observations.
    public static func name(_ code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EIO: "EIO"
        case EACCES: "EACCES"
        case EEXIST: "EEXIST"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case EDQUOT: "EDQUOT"
        case ESTALE: "ESTALE"
        case ETIMEDOUT: "ETIMEDOUT"
        case ENOTCONN: "ENOTCONN"
        case EHOSTDOWN: "EHOSTDOWN"
        default: "errno \(code)"
        }
    }
}

/// Formatting of Unix permission bits.
public enum FileMode {
    /// `0640`-style text of the permission bits of `mode`.
    public static func octal(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Parses `"0600"`, `"600"` or `"0o600"`; `nil` for anything else.
    public static func parse(_ text: String) -> UInt32? {
        var digits = Substring(text.trimmed())
        if digits.hasPrefix("0o") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.count <= 5, let value = UInt32(digits, radix: 8), value <= 0o7777 else {
            return nil
        }
        return value
    }
}
