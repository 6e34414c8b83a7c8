/// One sample of the Prometheus text exposition format.
public struct MetricSample: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double
    /// Milliseconds since the epoch, when the line carries one.
    public var timestamp: Int64?

    public init(name: String, labels: [String: String] = [:], value: Double, timestamp: Int64? = nil) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
    }
}

/// A parsed `/metrics` page (Prometheus text format 0.0.4).
public struct PrometheusExposition: Sendable {
    public var samples: [MetricSample]
    /// `# TYPE` per metric family name.
    public var types: [String: String]
    /// `# HELP` per metric family name, unescaped.
    public var help: [String: String]

    /// Samples named `name`.
    public func samples(named name: String) -> [MetricSample] {
        samples.filter { $0.name == name }
    }

    /// The sum of all samples named `name` (over every label set), nil when there are none.
    /// NaN samples are left out.
    public func sum(_ name: String) -> Double? {
        let values = samples(named: name).map(\.value).filter { !$0.isNaN }
        return values.isEmpty ? nil : values.reduce(0, +)
    }

    /// The first of `names` that has samples, summed.
    public func sum(anyOf names: [String]) -> (name: String, value: Double)? {
        for name in names {
            if let value = sum(name) { return (name, value) }
        }
        return nil
    }
}

/// A line that is not valid exposition text.
public struct PrometheusParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
}

/// A parser for the Prometheus text exposition format: comments, `# HELP` and
/// `# TYPE`, labels with `\\`, `\"` and `\n` escapes, values including `+Inf`,
/// `-Inf` and `NaN`, optional timestamps; counters, gauges, histograms and
/// summaries are all plain samples here (`_bucket`, `_sum`, `_count`, `_total`).
public enum PrometheusText {
    /// Parses `text`.
    ///
    /// - Throws: ``PrometheusParseError`` for the first malformed line, with its number.
    public static func parse(_ text: String) throws(PrometheusParseError) -> PrometheusExposition {
        var exposition = PrometheusExposition(samples: [], types: [:], help: [:])
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = Array(rawLine.utf8)
            if line.last == 13 { line.removeLast() }
            var scanner = Scanner(bytes: line, line: number)
            scanner.skipBlanks()
            if scanner.atEnd { continue }
            if scanner.peek == UInt8(ascii: "#") {
                try comment(&scanner, into: &exposition)
                continue
            }
            exposition.samples.append(try sample(&scanner))
        }
        return exposition
    }

    private static func comment(_ scanner: inout Scanner, into exposition: inout PrometheusExposition)
        throws(PrometheusParseError)
    {
        scanner.advance()
        scanner.skipBlanks()
        let keyword = scanner.word()
        guard keyword == "HELP" || keyword == "TYPE" else { return }  // any other comment
        scanner.skipBlanks()
        let name = scanner.word()
        guard isMetricName(name) else { throw scanner.error("# \(keyword) without a valid metric name") }
        scanner.skipBlanks()
        let rest = scanner.rest()
        if keyword == "TYPE" {
            guard
                ["counter", "gauge", "histogram", "summary", "untyped", "gaugehistogram", "info", "stateset"]
                    .contains(rest)
            else { throw scanner.error("unknown metric type '\(rest)'") }
            exposition.types[name] = rest
        } else {
            exposition.help[name] = unescape(rest, quotes: false)
        }
    }

    private static func sample(_ scanner: inout Scanner) throws(PrometheusParseError) -> MetricSample {
        let name = scanner.word(stoppingAt: UInt8(ascii: "{"))
        guard isMetricName(name) else {
            throw scanner.error(name.isEmpty ? "expected a metric name" : "'\(name)' is not a metric name")
        }
        var labels: [String: String] = [:]
        scanner.skipBlanks()
        if scanner.peek == UInt8(ascii: "{") {
            scanner.advance()
            while true {
                scanner.skipBlanks()
                if scanner.peek == UInt8(ascii: "}") {
                    scanner.advance()
                    break
                }
                let label = scanner.word(stoppingAt: UInt8(ascii: "="))
                guard isLabelName(label) else { throw scanner.error("bad label name '\(label)' in \(name)") }
                scanner.skipBlanks()
                guard scanner.take(UInt8(ascii: "=")) else { throw scanner.error("expected '=' after label \(label)") }
                scanner.skipBlanks()
                guard let value = scanner.quoted() else {
                    throw scanner.error("label \(label) of \(name) needs a double-quoted value")
                }
                guard labels[label] == nil else { throw scanner.error("label \(label) repeated in \(name)") }
                labels[label] = value
                scanner.skipBlanks()
                if scanner.take(UInt8(ascii: ",")) { continue }
                guard scanner.take(UInt8(ascii: "}")) else { throw scanner.error("expected ',' or '}' in \(name)") }
                break
            }
        }
        scanner.skipBlanks()
        let valueText = scanner.word()
        guard let value = number(valueText) else {
            throw scanner.error(valueText.isEmpty ? "\(name) has no value" : "'\(valueText)' is not a number")
        }
        scanner.skipBlanks()
        var timestamp: Int64?
        if !scanner.atEnd {
            let text = scanner.word()
            guard let parsed = Int64(text) else { throw scanner.error("'\(text)' is not a timestamp") }
            timestamp = parsed
            scanner.skipBlanks()
            guard scanner.atEnd else { throw scanner.error("unexpected text after the timestamp") }
        }
        return MetricSample(name: name, labels: labels, value: value, timestamp: timestamp)
    }

    static func number(_ text: String) -> Double? {
        switch text.lowercased() {
        case "+inf", "inf": return .infinity
        case "-inf": return -.infinity
        case "nan": return .nan
        default:
            guard let value = Double(text), !text.isEmpty else { return nil }
            return value
        }
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(48...57).contains(first) else { return false }
        return name.utf8.allSatisfy { isNameByte($0) || $0 == UInt8(ascii: ":") }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(48...57).contains(first) else { return false }
        return name.utf8.allSatisfy(isNameByte)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 95
    }

    private static func unescape(_ text: String, quotes: Bool) -> String {
        var out = ""
        var escaping = false
        for character in text {
            if escaping {
                switch character {
                case "n": out.append("\n")
                case "\\": out.append("\\")
                case "\"" where quotes: out.append("\"")
                default: out.append("\\"); out.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                out.append(character)
            }
        }
        if escaping { out.append("\\") }
        return out
    }

    private struct Scanner {
        let bytes: [UInt8]
        let line: Int
        var index = 0

        init(bytes: [UInt8], line: Int) {
            self.bytes = bytes
            self.line = line
        }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        mutating func advance() { index += 1 }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        mutating func skipBlanks() {
            while let byte = peek, byte == 32 || byte == 9 { index += 1 }
        }

        /// Up to the next blank (or `stop`).
        mutating func word(stoppingAt stop: UInt8? = nil) -> String {
            let start = index
            while let byte = peek, byte != 32, byte != 9, byte != stop { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func rest() -> String {
            let text = String(decoding: bytes[index...], as: UTF8.self)
            index = bytes.count
            return text.trimmed()
        }

        /// A double-quoted label value with escapes; nil when malformed.
        mutating func quoted() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            var out: [UInt8] = []
            while let byte = peek {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let next = peek else { return nil }
                    index += 1
                    switch next {
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""): out.append(next)
                    default: out += [92, next]
                    }
                default:
                    out.append(byte)
                }
            }
            return nil
        }

        func error(_ reason: String) -> PrometheusParseError {
            PrometheusParseError(line: line, reason: reason)
        }
    }
}
