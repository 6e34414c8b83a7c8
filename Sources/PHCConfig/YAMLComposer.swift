internal import CYAML

/// Builds the single document of a YAML text into a ``YAMLNode`` tree with libyaml's event
/// parser, every value kept as text (typing is the readers' job, see ``ConfigNode``).
///
/// Errors are one ``ConfigIssue`` each, at libyaml's position, worded as libyaml words them:
/// never a quote of the text itself, which may not be configuration at all. Beyond libyaml's own
/// errors, refused: a second document, a duplicate key in one mapping, an alias to an anchor not
/// yet complete, nesting deeper than ``maximumDepth``, and aliases that expand the document past
/// ``maximumNodes`` values (a "billion laughs" file).
struct YAMLComposer {
    static let maximumDepth = 64
    static let maximumNodes = 100_000

    private let file: String
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private var anchors: [String: YAMLNode] = [:]
    private var nodes = 0

    /// The document's root; `nil` for a text with no document (empty, or comments only).
    static func compose(_ text: String, file: String) throws(ConfigError) -> YAMLNode? {
        var bytes = Array(text.utf8)
        bytes.append(0)  // never read (the length excludes it): a base address even for ""
        let outcome: Result<YAMLNode?, ConfigError> = bytes.withUnsafeBufferPointer { buffer in
            var composer = YAMLComposer(file: file)
            defer { composer.close() }
            yaml_parser_set_encoding(composer.parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(composer.parser, buffer.baseAddress, buffer.count - 1)
            return Result { () throws(ConfigError) in try composer.document() }
        }
        return try outcome.get()
    }

    private init(file: String) {
        self.file = file
        parser = .allocate(capacity: 1)
        yaml_parser_initialize(parser)
    }

    private func close() {
        yaml_parser_delete(parser)
        parser.deallocate()
    }

    private mutating func document() throws(ConfigError) -> YAMLNode? {
        _ = try next()  // stream start
        let start = try next()
        guard start.type != YAML_STREAM_END_EVENT else { return nil }
        let root = try node(from: try next(), depth: 0)
        _ = try next()  // document end
        let after = try next()
        if after.type != YAML_STREAM_END_EVENT {
            throw issue(
                "YAML syntax error: but found another document (expected a single document in the stream at line 1)",
                line: after.line, column: after.column)
        }
        return root
    }

    private mutating func node(from event: Event, depth: Int) throws(ConfigError) -> YAMLNode {
        guard depth < Self.maximumDepth else {
            throw issue("YAML nested deeper than \(Self.maximumDepth) levels", line: event.line, column: event.column)
        }
        var node: YAMLNode
        switch event.type {
        case YAML_ALIAS_EVENT:
            guard let target = event.anchor.flatMap({ anchors[$0] }) else {
                throw issue("YAML syntax error: found undefined alias", line: event.line, column: event.column)
            }
            try count(target.weight, at: event)
            return target
        case YAML_SCALAR_EVENT:
            try count(1, at: event)
            node = YAMLNode(value: .scalar(event.text, event.style), line: event.line, column: event.column, weight: 1)
        case YAML_SEQUENCE_START_EVENT:
            try count(1, at: event)
            var items: [YAMLNode] = []
            var weight = 1
            var item = try next()
            while item.type != YAML_SEQUENCE_END_EVENT {
                let child = try self.node(from: item, depth: depth + 1)
                weight += child.weight
                items.append(child)
                item = try next()
            }
            node = YAMLNode(value: .sequence(items), line: event.line, column: event.column, weight: weight)
        case YAML_MAPPING_START_EVENT:
            try count(1, at: event)
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var weight = 1
            var item = try next()
            while item.type != YAML_MAPPING_END_EVENT {
                let key = try self.node(from: item, depth: depth + 1)
                let value = try self.node(from: try next(), depth: depth + 1)
                weight += key.weight + value.weight
                pairs.append((key, value))
                item = try next()
            }
            try refuseDuplicates(pairs.map(\.key))
            node = YAMLNode(value: .mapping(pairs), line: event.line, column: event.column, weight: weight)
        default:
            throw issue("YAML syntax error: unexpected event", line: event.line, column: event.column)
        }
        if let anchor = event.anchor { anchors[anchor] = node }
        return node
    }

    private mutating func count(_ weight: Int, at event: Event) throws(ConfigError) {
        nodes += weight
        if nodes > Self.maximumNodes {
            throw issue(
                "aliases expand to more than \(Self.maximumNodes) values (each alias counts as all it names)",
                line: event.line, column: event.column)
        }
    }

    /// Scalar keys only: a key that is a list or a mapping is refused later, by name.
    private func refuseDuplicates(_ keys: [YAMLNode]) throws(ConfigError) {
        var first: [String: YAMLNode] = [:]
        var duplicated: Set<String> = []
        for key in keys {
            guard case .scalar(let text, _) = key.value else { continue }
            if first[text] == nil { first[text] = key } else { duplicated.insert(text) }
        }
        guard let earliest = duplicated.min(), let mark = first[earliest] else { return }
        throw issue(
            "duplicate key \(duplicated.sorted().joined(separator: ", ")) (each key may appear once)",
            line: mark.line, column: mark.column)
    }

    private func issue(_ message: String, line: Int, column: Int) -> ConfigError {
        ConfigError(issues: [ConfigIssue(file: file, line: line, column: column, keyPath: "", message: message)])
    }

    /// What the composer needs of one libyaml event, copied out so the event can be freed at once.
    private struct Event {
        var type: yaml_event_type_t
        var line: Int
        var column: Int
        var anchor: String?
        var text = ""
        var style = YAMLNode.Style.plain
    }

    private func next() throws(ConfigError) -> Event {
        var raw = yaml_event_t()
        guard yaml_parser_parse(parser, &raw) == 1 else { throw failure() }
        defer { yaml_event_delete(&raw) }
        var event = Event(
            type: raw.type, line: Int(raw.start_mark.line) + 1, column: Int(raw.start_mark.column) + 1, anchor: nil)
        switch raw.type {
        case YAML_ALIAS_EVENT:
            event.anchor = Self.string(raw.data.alias.anchor)
        case YAML_SCALAR_EVENT:
            let scalar = raw.data.scalar
            event.anchor = Self.string(scalar.anchor)
            event.text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            event.style =
                switch scalar.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: .literal
                case YAML_FOLDED_SCALAR_STYLE: .folded
                default: .plain
                }
        case YAML_SEQUENCE_START_EVENT:
            event.anchor = Self.string(raw.data.sequence_start.anchor)
        case YAML_MAPPING_START_EVENT:
            event.anchor = Self.string(raw.data.mapping_start.anchor)
        default:
            break
        }
        return event
    }

    /// libyaml's error, as one issue: the problem, and the context it was in with its line.
    private func failure() -> ConfigError {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown problem"
        switch state.error {
        case YAML_SCANNER_ERROR, YAML_PARSER_ERROR, YAML_COMPOSER_ERROR:
            let context = state.context.map { " (\(String(cString: $0)) at line \(state.context_mark.line + 1))" } ?? ""
            return issue(
                "YAML syntax error: \(problem)\(context)", line: Int(state.problem_mark.line) + 1,
                column: Int(state.problem_mark.column) + 1)
        case YAML_MEMORY_ERROR:
            return issue("cannot read YAML: out of memory", line: 0, column: 0)
        default:
            return issue("cannot read YAML: \(problem)", line: 0, column: 0)
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
