internal import PHCCore

/// A quantity of storage or memory: absolute bytes (`512MiB`) or a share of the total (`5%`).
public enum Amount: Sendable, Equatable, CustomStringConvertible {
    case bytes(Int64)
    case percent(Double)

    /// Parses `512MiB`, `50GiB`, `10GB`, `4096B` or `5%`.
    public init?(_ text: String) {
        let trimmed = text.trimmed()
        if trimmed.hasSuffix("%") {
            guard let value = Double(trimmed.dropLast().trimmed()), value >= 0, value <= 100 else { return nil }
            self = .percent(value)
            return
        }
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("K", 1024), ("M", 1_048_576), ("G", 1_073_741_824),
            ("T", 1_099_511_627_776), ("B", 1),
        ]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count).trimmed()), number >= 0 else { return nil }
            let bytes = number * factor
            guard bytes < 9.2e18 else { return nil }
            self = .bytes(Int64(bytes))
            return
        }
        return nil
    }

    /// This amount in bytes, given the total it is a share of.
    public func bytes(ofTotal total: Int64) -> Int64 {
        switch self {
        case .bytes(let value): value
        case .percent(let value): Int64(saturating: Double(total) * value / 100)
        }
    }

    public var description: String {
        switch self {
        case .bytes(let value): ByteCount.format(value)
        case .percent(let value): value == value.rounded() ? "\(Int(saturating: value))%" : "\(value)%"
        }
    }
}

/// A pair of limits: crossing `warn` gives `warn`, crossing `crit` gives `crit`.
public struct Thresholds<Value: Sendable & Equatable>: Sendable, Equatable {
    public var warn: Value?
    public var crit: Value?

    public init(warn: Value? = nil, crit: Value? = nil) {
        self.warn = warn
        self.crit = crit
    }
}

extension ConfigNode {
    /// `{warn: X, crit: Y}` where each value is read by `read`.
    public func thresholds<Value>(_ read: (ConfigNode) -> Value?) -> Thresholds<Value>? {
        guard let mapping = mapping(allowedKeys: ["warn", "crit"]) else { return nil }
        if !mapping.contains("warn") && !mapping.contains("crit") {
            report("give at least one of warn or crit")
        }
        return Thresholds(warn: mapping["warn"].flatMap(read), crit: mapping["crit"].flatMap(read))
    }
}
