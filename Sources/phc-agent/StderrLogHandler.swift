#if canImport(Glibc)
    import Glibc
#endif
import Logging

/// Log lines on stderr, one per event, in a form journald understands.
///
/// Under systemd (`JOURNAL_STREAM` set) each line starts with the `<N>` syslog
/// priority prefix and carries no timestamp (the journal adds one); on a
/// terminal it reads `phc-agent: warning: message key=value`.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    private let journal: Bool

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
        self.journal = getenv("JOURNAL_STREAM") != nil
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let suffix = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let text = "\(event.message)\(suffix)".replacingNewlines()
        let line = journal ? "<\(Self.priority(event.level))>\(text)\n" : "\(label): \(event.level): \(text)\n"
        FileHandleStderr.write(line)
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

extension String {
    /// One log event is one line.
    fileprivate func replacingNewlines() -> String {
        String(map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
