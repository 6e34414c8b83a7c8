#if canImport(Glibc)
    internal import Glibc
#endif

/// This machine's name.
public enum HostName {
    /// The short host name, lower-cased (`motoko` for `motoko.tail1234.ts.net`); `localhost` when unknown.
    public static func short() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(name.split(separator: ".").first ?? Substring(name)).lowercased()
    }
}
