#if canImport(Glibc)
    internal import Glibc
#endif
public import Logging

/// Log lines on stderr, one per event, in a form journald understands.
///
/// Under systemd (`JOURNAL_STREAM` set) each line starts with the `<N>` syslog
/// priority prefix and carries no timestamp (the journal adds one); on a
/// terminal it reads `phc-agent: warning: message key=value`.
public struct StderrLogHandler: LogHandler {
    let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let journal: Bool

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
        self.journal = StandardError.journal
    }

    /// Makes this the process's log handler (debug and up with `verbose`, else info and up)
    /// and returns a logger named `label`. Call once, at start-up.
    public static func bootstrap(label: String, verbose: Bool) -> Logger {
        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level) }
        return Logger(label: label)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let suffix = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        // One event, one line, and nothing a terminal or the journal would act on.
        let text = InertText.terminal("\(event.message)\(suffix)")
        let line = journal ? "<\(Self.priority(event.level))>\(text)\n" : "\(label): \(event.level): \(text)\n"
        StandardError.write(line)
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

/// Writes to file descriptor 2, one write(2) per call so lines from threads never interleave.
public enum StandardError {
    public static func write(_ text: String) {
        _ = FileDescriptor.writeAll(2, Array(text.utf8))
    }

    /// Writes `message` (an error for a human: one line, or a few for a hint) with a newline. Under
    /// systemd (`JOURNAL_STREAM` set) every line carries the `<3>` priority prefix, so the
    /// journal files it as an error and not as the stream's default level.
    public static func error(_ message: String) {
        guard journal else { return write(message + "\n") }
        write(message.split(separator: "\n", omittingEmptySubsequences: false).map { "<3>\($0)\n" }.joined())
    }

    /// Whether stderr goes to the journal.
    static let journal = getenv("JOURNAL_STREAM") != nil
}
