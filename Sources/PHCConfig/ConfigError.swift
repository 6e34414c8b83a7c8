internal import PHCCore

/// One problem in a configuration file, located by file, line and column.
///
/// `description` is one line: `agent.yaml:12:7: checks.mounts[0].timeout: '5x' is not
/// a duration (write 30s, 5m, 4h or 30d)`.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// Dotted key path such as `checks.mounts[0].timeout`; empty for the whole file.
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        let location = line > 0 ? "\(file):\(line):\(column)" : file
        return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}

/// A configuration that cannot be used, with every problem found.
///
/// The program never runs on a half-understood configuration: one issue is enough to refuse it.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) {
        self.issues = issues
    }

    public init(file: String, message: String) {
        self.issues = [ConfigIssue(file: file, line: 0, column: 0, keyPath: "", message: message)]
    }

    /// One line per issue.
    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
