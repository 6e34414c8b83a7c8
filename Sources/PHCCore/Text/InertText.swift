/// Text that came from outside (a device, a file on the share, a server) made
/// harmless for the place it is shown in.
///
/// Nothing here refuses input: every string has an inert form. A terminal
/// never receives an escape sequence, a log event stays one line, a Markdown
/// table cell never breaks its table, and a stored reason never grows past
/// its cap.
public enum InertText {
    /// For terminals and logs: C0 and C1 control characters, DEL and the
    /// Unicode bidirectional overrides are written as visible escapes
    /// (`\x1b`, `\u{202e}`); newlines and tabs become spaces, so one value is
    /// one line.
    public static func terminal(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isUnsafe(scalar) else {
                out.append(scalar)
                continue
            }
            if scalar == "\n" || scalar == "\r" || scalar == "\t" {
                out.append(" ")
            } else if scalar.value < 0x100 {
                out.append(contentsOf: "\\x\(hex(scalar.value, width: 2))".unicodeScalars)
            } else {
                out.append(contentsOf: "\\u{\(hex(scalar.value, width: 4))}".unicodeScalars)
            }
        }
        return String(out)
    }

    /// For one cell of a Markdown table: terminal-safe, `|` escaped, and the
    /// characters Markdown would read as markup (`<`, `>`, `` ` ``, `*`, `_`,
    /// `[`, `]`, `\`) escaped so device text shows as written.
    public static func markdownCell(_ text: String) -> String {
        var out = ""
        for character in terminal(text) {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "|", "`", "*", "_", "[", "]", "\\": out += "\\\(character)"
            default: out.append(character)
            }
        }
        return out
    }

    /// At most `limit` characters: longer text is cut and ends in `… (N more bytes)`.
    public static func clipped(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var kept = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            guard bytes + size <= limit else { break }
            kept.append(character)
            bytes += size
        }
        return kept + "… (\(text.utf8.count - bytes) more bytes)"
    }

    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        // Bidirectional embeddings, overrides and isolates ("Trojan Source"), and the line/paragraph separators.
        case 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029: true
        default: false
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
