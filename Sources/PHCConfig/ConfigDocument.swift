#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// A parsed YAML file that remembers where each value came from, and collects
/// every problem found while it is read (see ``ConfigNode``).
public final class ConfigDocument {
    /// The path as given, used in messages.
    public let file: String
    /// Problems found so far, in the order found.
    public private(set) var issues: [ConfigIssue] = []
    /// The top-level node (an empty mapping for an empty file).
    public private(set) var root: ConfigNode!

    /// Reads and parses `path`.
    ///
    /// - Throws: ``ConfigError`` for a missing or unreadable file or a YAML syntax
    ///   error, naming the file and the line. Later problems are collected in
    ///   ``issues`` instead of thrown.
    public init(path: String, sizeLimit: Int = 4 * 1024 * 1024) throws(ConfigError) {
        self.file = path
        let data: Data
        do {
            data = try FileReader.read(path, limit: sizeLimit)
        } catch {
            throw ConfigError(file: path, message: "cannot read configuration: \(error.description)")
        }
        try parse(data)
    }

    /// Parses YAML text (for tests and in-memory configs).
    public init(text: String, file: String) throws(ConfigError) {
        self.file = file
        try parse(Data(text.utf8))
    }

    private func parse(_ data: Data) throws(ConfigError) {
        var bytes = data
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw ConfigError(file: file, message: "not UTF-8 text")
        }
        if let line = Self.envFileLine(text) {
            // Said without quoting anything: the values of an env file are secrets.
            throw ConfigError(
                issues: [
                    ConfigIssue(
                        file: file, line: line, column: 1, keyPath: "",
                        message: "this is an env file (KEY=value lines), not YAML; its contents are not shown")
                ])
        }
        let node = try YAMLComposer.compose(text, file: file)
        root = ConfigNode(node: node ?? .emptyMapping, keyPath: "", document: self)
    }

    /// The line of the first `NAME=value` assignment when the text reads as an env file (comments
    /// and blank lines aside, its first line is one); nil for anything YAML could mean.
    static func envFileLine(_ text: String) -> Int? {
        var number = 0
        var remaining = text.utf8[...]
        // Line by line until the first that is not blank or a comment, usually the first: the
        // lines are cut from the bytes as they are needed, not the whole text split up front.
        while !remaining.isEmpty {
            let end = remaining.firstIndex(of: UInt8(ascii: "\n")) ?? remaining.endIndex
            let line = Substring(remaining[..<end])
            remaining = end == remaining.endIndex ? remaining[end...] : remaining[remaining.index(after: end)...]
            number += 1
            let trimmed = line.trimmed()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            var rest = Substring(trimmed)
            if rest.hasPrefix("export ") { rest = rest.dropFirst(7).drop { $0 == " " } }
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            guard let first = name.first, first.isLetter || first == "_", name.allSatisfy(\.isASCII) else { return nil }
            let after = rest.dropFirst(name.count).drop { $0 == " " }
            return after.hasPrefix("=") ? number : nil
        }
        return nil
    }

    func report(_ message: String, at node: YAMLNode?, keyPath: String) {
        issues.append(
            ConfigIssue(
                file: file, line: node?.line ?? 0, column: node?.column ?? 0, keyPath: keyPath, message: message))
    }

    /// Adds an issue found by a caller's own cross-field validation.
    public func report(_ message: String, at node: ConfigNode?) {
        report(message, at: node?.node, keyPath: node?.keyPath ?? "")
    }

    /// Throws the collected issues, if any.
    public func throwIfIssues() throws(ConfigError) {
        if !issues.isEmpty { throw ConfigError(issues: issues) }
    }
}
