#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCCore

/// Resolves configuration paths: absolute as given, relative against the configuration file's folder.
public struct PathResolver: Sendable {
    public let directory: String

    public init(configFile: String) {
        let absolute = configFile.hasPrefix("/") ? configFile : PathResolver.currentDirectory() + "/" + configFile
        directory = AtomicFile.split(absolute).directory
    }

    public func resolve(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : directory + "/" + path
        return Self.normalize(joined)
    }

    /// Reads a path value and resolves it.
    public func path(_ node: ConfigNode) -> String? {
        guard let text = node.nonEmptyString() else { return nil }
        if text.hasPrefix("~") {
            node.report("'~' is not expanded; write the full path")
            return nil
        }
        return resolve(text)
    }

    /// Removes `.`, `..`, repeated and trailing slashes without touching the filesystem
    /// (a hung mount must not be stat'ed while reading the configuration).
    public static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                _ = parts.popLast()
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
