internal import PHCCore

/// Parses `systemctl show` output: one block of `Key=Value` lines per unit,
/// blocks separated by an empty line, in the order the units were named.
enum SystemctlShow {
    static func parse(_ text: String) -> [[String: String]] {
        var blocks: [[String: String]] = []
        var current: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmed().isEmpty {
                if !current.isEmpty { blocks.append(current) }
                current = [:]
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            current[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        if !current.isEmpty { blocks.append(current) }
        return blocks
    }

    /// Parses `--timestamp=utc` times (`Thu 2026-11-27 10:00:03 UTC`); nil for `n/a`, empty or 0.
    static func timestamp(_ text: String?) -> Timestamp? {
        guard let text = text?.trimmed(), !text.isEmpty, text != "n/a", text != "0" else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count >= 3 else { return nil }
        // Drop the weekday when present.
        let date = parts.count >= 4 ? parts[1] : parts[0]
        let time = parts.count >= 4 ? parts[2] : parts[1]
        let zone = parts.last!
        guard zone == "UTC" || zone == "GMT" else { return nil }
        return Timestamp(rfc3339: "\(date)T\(time)Z")
    }
}
