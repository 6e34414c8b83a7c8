/// A node of a YAML document as ``YAMLComposer`` builds it from libyaml's events: its value and
/// where it starts.
///
/// There is no alias case: an alias reads as a copy of the node it names (copies share storage).
struct YAMLNode: Sendable {
    /// How a scalar was written; only plain scalars can mean null, only quoted ones are surely text.
    enum Style: Sendable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    enum Value: Sendable {
        case scalar(String, Style)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    var value: Value
    /// 1-based, as libyaml counts (columns in Unicode scalars); 0 for a node no file holds.
    var line: Int
    var column: Int
    /// This node and everything under it, aliases expanded: what the alias cap counts.
    var weight: Int

    /// The empty mapping an empty file reads as.
    static let emptyMapping = YAMLNode(value: .mapping([]), line: 0, column: 0, weight: 1)
}
