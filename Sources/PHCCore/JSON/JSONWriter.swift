/// A small JSON writer: bytes appended directly, no intermediate values. For the large files the
/// collector publishes every pass (`fleet.json` for 10,000 devices is megabytes) and for what the
/// agent signs every run.
///
/// Strings and numbers are written as `JSONEncoder` writes them with `.sortedKeys` and
/// `.withoutEscapingSlashes` (`\b \f \n \r \t` by name, other control characters as `\u00XX`,
/// a whole double without `.0`): a caller that writes its keys in sorted order gets the same bytes.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Per open container: whether nothing has been written in it yet.
    private var empty: [Bool] = [true]
    /// A key was just written: its value takes no comma.
    private var afterKey = false

    public init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        if empty[empty.count - 1] {
            empty[empty.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
    }

    public mutating func object(_ body: (inout JSONWriter) -> Void) { container("{", "}", body) }
    public mutating func array(_ body: (inout JSONWriter) -> Void) { container("[", "]", body) }

    private mutating func container(_ open: Unicode.Scalar, _ close: Unicode.Scalar, _ body: (inout JSONWriter) -> Void)
    {
        separate()
        bytes.append(UInt8(ascii: open))
        empty.append(true)
        body(&self)
        empty.removeLast()
        bytes.append(UInt8(ascii: close))
    }

    /// `"name":`; the next value is its.
    public mutating func key(_ name: String) {
        separate()
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func string(_ value: String?) {
        separate()
        if let value { appendString(value) } else { bytes.append(contentsOf: "null".utf8) }
    }

    public mutating func int(_ value: Int64?) {
        separate()
        bytes.append(contentsOf: (value.map { String($0) } ?? "null").utf8)
    }

    /// A finite number as `JSONEncoder` writes it (`300`, `84.5`, `1e-07`); null for none or NaN and infinities.
    public mutating func double(_ value: Double?) {
        separate()
        guard let value, value.isFinite else { return bytes.append(contentsOf: "null".utf8) }
        let text = value.description
        bytes.append(contentsOf: text.hasSuffix(".0") ? text.utf8.dropLast(2) : text.utf8[...])
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    // Members of an object: `"key":value` in one call.
    public mutating func object(_ key: String, _ body: (inout JSONWriter) -> Void) {
        self.key(key)
        object(body)
    }
    public mutating func array(_ key: String, _ body: (inout JSONWriter) -> Void) {
        self.key(key)
        array(body)
    }
    public mutating func string(_ key: String, _ value: String?) {
        self.key(key)
        string(value)
    }
    public mutating func int(_ key: String, _ value: Int64?) {
        self.key(key)
        int(value)
    }
    public mutating func double(_ key: String, _ value: Double?) {
        self.key(key)
        double(value)
    }
    public mutating func bool(_ key: String, _ value: Bool) {
        self.key(key)
        bool(value)
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func appendString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                bytes.append(contentsOf: [
                    0x5C, UInt8(ascii: "u"), 0x30, 0x30, Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 15)],
                ])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
