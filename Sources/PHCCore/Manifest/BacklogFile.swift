/// Names of backlog files: `backlog-<first>-<last>.jsonl.gz` holds the envelopes with
/// sequence numbers `first` to `last` that waited in the agent's spool, one per line,
/// gzip-compressed. The agent writes them; the collector reads them.
public enum BacklogFile {
    /// Envelopes in one backlog file: the agent writes no more, the collector reads no more.
    public static let maxEnvelopes = 10_000
    /// Uncompressed bytes the agent puts in one backlog file (the collector reads up to twice that).
    public static let maxBytes = 32 * 1024 * 1024

    static let prefix = "backlog-"
    static let suffix = ".jsonl.gz"

    /// The name for the envelopes `first`…`last`.
    public static func name(first: Int64, last: Int64) -> String {
        "\(prefix)\(first)-\(last)\(suffix)"
    }

    /// Whether `name` looks like a backlog file at all.
    public static func isBacklog(_ name: String) -> Bool {
        name.hasPrefix(prefix) && name.hasSuffix(suffix)
    }

    /// The sequence numbers a backlog's name states; nil when the name does not state them.
    public static func sequences(in name: String) -> ClosedRange<Int64>? {
        guard isBacklog(name) else { return nil }
        let parts = name.dropFirst(prefix.count).dropLast(suffix.count).split(separator: "-")
        guard parts.count == 2, let first = Int64(parts[0]), let last = Int64(parts[1]), first <= last else {
            return nil
        }
        return first...last
    }
}
