internal import PHCCore

/// A value in a ``ConfigDocument`` with its key path, for typed reading.
///
/// Readers return `nil` and record an issue (with file, line and a hint) when
/// the value has the wrong shape; callers fall back to defaults and carry on so
/// that one pass finds every problem.
public struct ConfigNode {
    let node: YAMLNode
    /// Dotted key path such as `checks.mounts[0].path`.
    public let keyPath: String
    let document: ConfigDocument

    init(node: YAMLNode, keyPath: String, document: ConfigDocument) {
        self.node = node
        self.keyPath = keyPath
        self.document = document
    }

    /// 1-based line of the value.
    public var line: Int { node.line }

    /// Whether the value is YAML null (`~`, `null` or nothing).
    public var isNull: Bool {
        guard case .scalar(let text, .plain) = node.value else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// Records a problem with this value.
    public func report(_ message: String) {
        document.report(message, at: node, keyPath: keyPath)
    }

    /// The value as a mapping with any keys (for files owned by other tools, such as an Ansible map).
    public func anyMapping() -> [(key: String, value: ConfigNode)]? {
        guard case .mapping(let mapping) = node.value else {
            report("expected a mapping (key: value lines), found \(shapeName)")
            return nil
        }
        return mapping.compactMap { keyNode, valueNode in
            guard case .scalar(let key, _) = keyNode.value else { return nil }
            let childPath = keyPath.isEmpty ? key : "\(keyPath).\(key)"
            return (key, ConfigNode(node: valueNode, keyPath: childPath, document: document))
        }
    }

    /// The value as a mapping whose keys must all be in `allowedKeys`.
    ///
    /// Unknown keys are reported with a suggestion (`did you mean 'timeout'?`).
    public func mapping(allowedKeys: [String]) -> ConfigMapping? {
        guard case .mapping(let mapping) = node.value else {
            report("expected a mapping (key: value lines), found \(shapeName)")
            return nil
        }
        var entries: [(key: String, keyNode: YAMLNode, value: ConfigNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let key, _) = keyNode.value else {
                document.report("keys must be plain words", at: keyNode, keyPath: keyPath)
                continue
            }
            let childPath = keyPath.isEmpty ? key : "\(keyPath).\(key)"
            guard allowedKeys.contains(key) else {
                document.report(
                    "unknown key '\(key)'\(Suggestion.hint(for: key, among: allowedKeys))", at: keyNode,
                    keyPath: keyPath.isEmpty ? key : childPath)
                continue
            }
            entries.append((key, keyNode, ConfigNode(node: valueNode, keyPath: childPath, document: document)))
        }
        return ConfigMapping(entries: entries, owner: self)
    }

    /// The value as a list.
    public func sequence() -> [ConfigNode]? {
        guard case .sequence(let sequence) = node.value else {
            report("expected a list (lines starting with '- ' or [a, b]), found \(shapeName)")
            return nil
        }
        return sequence.enumerated().map { index, item in
            ConfigNode(node: item, keyPath: "\(keyPath)[\(index)]", document: document)
        }
    }

    /// Whether the value is a quoted scalar (`"true"` is text, `true` is a flag).
    public var isQuoted: Bool {
        guard case .scalar(_, let style) = node.value else { return false }
        return style == .singleQuoted || style == .doubleQuoted
    }

    /// Whether the value is a mapping (for fields that accept a word or a mapping).
    public var isMapping: Bool {
        if case .mapping = node.value { return true }
        return false
    }

    /// The scalar text.
    public func string() -> String? {
        guard case .scalar(let text, _) = node.value else {
            report("expected a single value, found \(shapeName)")
            return nil
        }
        return text
    }

    /// A non-empty string.
    public func nonEmptyString() -> String? {
        guard let text = string() else { return nil }
        guard !text.trimmed().isEmpty else {
            report("must not be empty")
            return nil
        }
        return text
    }

    /// `true`/`false` (also `yes`/`no`, `on`/`off`).
    public func bool() -> Bool? {
        guard let text = string() else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            report("'\(text)' is not true or false")
            return nil
        }
    }

    /// An integer within `range`.
    public func int(in range: ClosedRange<Int64> = Int64.min...Int64.max) -> Int64? {
        guard let text = string() else { return nil }
        guard let value = Int64(text.replacingUnderscores()) else {
            report("'\(text)' is not a whole number")
            return nil
        }
        guard range.contains(value) else {
            report("\(value) is out of range (\(range.lowerBound)…\(range.upperBound))")
            return nil
        }
        return value
    }

    /// A number within `range`.
    public func double(in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude)
        -> Double?
    {
        guard let text = string() else { return nil }
        guard let value = Double(text.replacingUnderscores()), value.isFinite else {
            report("'\(text)' is not a number")
            return nil
        }
        guard range.contains(value) else {
            report("\(text) is out of range (\(range.lowerBound)…\(range.upperBound))")
            return nil
        }
        return value
    }

    /// A duration written `500ms`, `30s`, `5m`, `4h`, `30d` or `1h30m`, from `minimum` to `maximum`.
    public func duration(minimum: Duration = .zero, maximum: Duration = .seconds(100 * 365 * 86_400)) -> Duration? {
        guard let text = string() else { return nil }
        guard let value = DurationText.parse(text) else {
            report("'\(text)' is not a duration (write 500ms, 30s, 5m, 4h or 30d)")
            return nil
        }
        guard value >= minimum else {
            report("\(text) is too short (at least \(DurationText.format(minimum)))")
            return nil
        }
        guard value <= maximum else {
            report("\(text) is too long (at most \(DurationText.format(maximum)))")
            return nil
        }
        return value
    }

    /// A check's timeout, which must fit in the part of the run's deadline given to checks.
    public func timeout(within budget: Duration, minimum: Duration = .milliseconds(10)) -> Duration? {
        guard let value = duration(minimum: minimum) else { return nil }
        guard value <= budget else {
            report(
                "\(DurationText.format(value)) does not fit in the \(DurationText.format(budget)) the deadline leaves for "
                    + "checks (lower it, or raise deadline)")
            return nil
        }
        return value
    }

    /// A size (`512MiB`, `50GiB`) or a percentage (`5%`).
    public func amount() -> Amount? {
        guard let text = string() else { return nil }
        guard let value = Amount(text) else {
            report("'\(text)' is not a size or a percentage (write 512MiB, 50GiB or 5%)")
            return nil
        }
        return value
    }

    /// A list of strings; a single string is accepted as a list of one.
    public func stringList() -> [String]? {
        if case .scalar = node.value, !isNull {
            return string().map { [$0] }
        }
        guard let items = sequence() else { return nil }
        return items.compactMap { $0.nonEmptyString() }
    }

    var shapeName: String {
        switch node.value {
        // Never the value itself: the file may not be configuration at all (an env file named by
        // mistake), and its values may be secrets.
        case .scalar(let text, _): text.isEmpty ? "nothing" : "a single value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}

/// A mapping node whose keys were checked against the allowed set.
public struct ConfigMapping {
    let entries: [(key: String, keyNode: YAMLNode, value: ConfigNode)]
    /// The mapping itself, for issues about missing keys.
    public let owner: ConfigNode

    /// The value at `key`, or `nil` when absent or null.
    public subscript(key: String) -> ConfigNode? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    /// Whether `key` is present (even if null).
    public func contains(_ key: String) -> Bool {
        entries.contains { $0.key == key }
    }

    /// The value at `key`, reporting it as missing when absent.
    public func required(_ key: String, hint: String = "") -> ConfigNode? {
        if let value = self[key] { return value }
        owner.report("missing required key '\(key)'\(hint.isEmpty ? "" : " (\(hint))")")
        return nil
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(filter { $0 != "_" })
    }
}
