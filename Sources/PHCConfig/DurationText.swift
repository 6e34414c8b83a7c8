internal import PHCCore

/// Durations as written in configuration files: `500ms`, `30s`, `5m`, `4h`, `30d`, `1h30m`.
public enum DurationText {
    /// Parses a duration; `nil` for a bare number or an unknown unit.
    public static func parse(_ text: String) -> Duration? {
        let bytes = Array(text.trimmed().utf8)
        guard !bytes.isEmpty else { return nil }
        var index = 0
        var totalMilliseconds: Double = 0
        while index < bytes.count {
            let start = index
            while index < bytes.count, (bytes[index] >= 48 && bytes[index] <= 57) || bytes[index] == 46 { index += 1 }
            guard index > start, let number = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                return nil
            }
            let unitStart = index
            while index < bytes.count, bytes[index] >= 97 && bytes[index] <= 122 { index += 1 }
            let unit = String(decoding: bytes[unitStart..<index], as: UTF8.self)
            let factor: Double
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            case "w": factor = 604_800_000
            default: return nil
            }
            totalMilliseconds += number * factor
        }
        guard totalMilliseconds < 1e15 else { return nil }
        return .milliseconds(Int64(totalMilliseconds.rounded()))
    }

    /// `1h30m`, `45s`, `250ms`: the shortest exact text.
    public static func format(_ duration: Duration) -> String {
        var milliseconds = duration.milliseconds
        if milliseconds == 0 { return "0s" }
        if milliseconds % 1000 != 0 && milliseconds < 60_000 { return "\(milliseconds)ms" }
        var parts: [String] = []
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds >= size {
            parts.append("\(milliseconds / size)\(unit)")
            milliseconds %= size
        }
        return parts.joined()
    }
}
