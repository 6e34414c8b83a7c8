/// A pull reader over one JSON text (RFC 8259, strict), for the collector's hot path: envelopes,
/// manifests and the trust file are read field by field into their own types, with no tree and no
/// `Codable` machinery in between (reading 10,000 manifests went from a fifth of a pass's CPU to a
/// twentieth).
///
/// The caller walks the document: ``beginObject()`` then ``nextKey()`` until nil, reading each
/// value with ``string()``, ``int64()``, ``double()``, ``bool()`` or skipping it with
/// ``skipValue()``; ``beginArray()`` then ``nextElement()`` likewise; ``end()`` at the end.
/// A key given twice is read twice, so the caller's last assignment wins (`JSONDecoder` keeps the
/// first; ``JSONValue/parse(_:)`` keeps the first too).
///
/// Not an error: any whitespace, unknown keys (skipped), numbers of any length (skipped). An error,
/// thrown as ``Failure`` with the byte offset: invalid UTF-8, a control character in a string,
/// a lone surrogate escape, leading zeros, a value of the wrong type, nesting past
/// ``maximumDepth``, and anything after the top-level value.
public struct JSONReader {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Objects and arrays nested deeper than this are refused (skipping recurses).
    public static let maximumDepth = 128

    private let bytes: [UInt8]
    private var index = 0
    /// Whether the container being read has had a member yet (one flag per open container).
    private var started: [Bool] = []

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads a whole document with `body`, which reads its one top-level value: nil when `body`
    /// throws or returns nil, or when anything but whitespace follows the value.
    public static func read<T>(_ data: some Sequence<UInt8>, _ body: (inout JSONReader) throws(Failure) -> T?) -> T? {
        var reader = JSONReader(Array(data))
        guard let value = try? body(&reader), (try? reader.end()) != nil else { return nil }
        return value
    }

    /// The object here, its fields named in `names` as strings (others skipped, a field given twice
    /// read twice); throws when one of them is not a string.
    public mutating func strings(_ names: Set<String>) throws(Failure) -> [String: String] {
        var fields: [String: String] = [:]
        try beginObject()
        while let field = try nextKey() {
            if names.contains(field) {
                fields[field] = try string()
            } else {
                try skipValue()
            }
        }
        return fields
    }

    // MARK: Containers

    /// Enters an object.
    public mutating func beginObject() throws(Failure) {
        try open(UInt8(ascii: "{"), "an object")
    }

    /// The next key of the object being read, positioned at its value; nil after the closing brace.
    public mutating func nextKey() throws(Failure) -> String? {
        guard try nextMember(closing: UInt8(ascii: "}")) else { return nil }
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a key") }
        let key = try string()
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw failure("expected ':' after a key") }
        index += 1
        return key
    }

    /// Enters an array.
    public mutating func beginArray() throws(Failure) {
        try open(UInt8(ascii: "["), "an array")
    }

    /// Whether another element follows (positioned at it); false after the closing bracket.
    public mutating func nextElement() throws(Failure) -> Bool {
        try nextMember(closing: UInt8(ascii: "]"))
    }

    /// After the top-level value: only whitespace may follow.
    public mutating func end() throws(Failure) {
        skipWhitespace()
        guard index == bytes.count else { throw failure("more after the value") }
    }

    // MARK: Values

    /// Whether the value here is an object (nothing consumed but whitespace).
    public mutating func nextIsObject() -> Bool {
        skipWhitespace()
        return peek() == UInt8(ascii: "{")
    }

    /// Whether the value here is `null` (consumed if so).
    public mutating func null() throws(Failure) -> Bool {
        skipWhitespace()
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    public mutating func bool() throws(Failure) -> Bool {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default: throw failure("expected true or false")
        }
    }

    public mutating func string() throws(Failure) -> String {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string") }
        index += 1
        let start = index
        var ascii = true
        index = Self.plainRun(bytes, from: index)
        // The common case: no escapes, so the bytes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                guard let text = text(start..<index, ascii: ascii) else {
                    throw failure("a string is not UTF-8", at: start)
                }
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("a control character in a string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        return try escapedString(from: start)
    }

    /// Where the run of plain bytes from `start` ends, eight at a time: a run of printable ASCII
    /// with no quote and no backslash (a base64 payload is kilobytes of them). It stops at or before
    /// the first other byte, which the byte-by-byte loop then reads.
    @inline(__always)
    static func plainRun(_ bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBytes { raw in
            let (ones, highs): (UInt64, UInt64) = (0x0101_0101_0101_0101, 0x8080_8080_8080_8080)
            var index = start
            while index + 8 <= raw.count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                // Each test is exact as a whole (whether any byte is such), which is all that is asked.
                let control = (word &- ones &* 0x20) & ~word
                let (quotes, backslashes) = (word ^ (ones &* 0x22), word ^ (ones &* 0x5C))
                let quote = (quotes &- ones) & ~quotes
                let backslash = (backslashes &- ones) & ~backslashes
                guard (word | control | quote | backslash) & highs == 0 else { break }
                index += 8
            }
            return index
        }
    }

    /// A whole number that fits in 64 bits (`3`, `-7`; also `3.0` or `3e2`, which are whole).
    public mutating func int64() throws(Failure) -> Int64 {
        let start = index
        let (text, integral) = try numberText()
        if integral, let value = Int64(text) { return value }
        if !integral, let value = Double(text), let whole = Int64(exactly: value) { return whole }
        throw failure("\(text.prefix(32)) is not a whole number within 64 bits", at: start)
    }

    /// A number; ±infinity for one too large for a Double (which `JSONDecoder` refuses: callers
    /// that keep only finite numbers treat both alike).
    public mutating func double() throws(Failure) -> Double {
        let start = index
        let (text, _) = try numberText()
        guard let value = Double(text) else { throw failure("not a number", at: start) }
        return value
    }

    /// What kind of value comes next.
    public enum Kind: Sendable, Equatable {
        case object, array, string, number, bool, null
    }

    /// The kind of the value here, without reading it; nil at the end or before anything that
    /// cannot start a value.
    public mutating func nextKind() -> Kind? {
        skipWhitespace()
        guard let next = peek() else { return nil }
        switch next {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: return nil
        }
    }

    /// A number as `JSONDecoder` reads a `Double`: one too large for a double, or so small that it
    /// rounds to zero without being zero, is refused.
    public mutating func finiteDouble() throws(Failure) -> Double {
        let start = index
        let (text, _) = try numberText()
        guard let value = Double(text), value.isFinite else { throw failure("not a representable number", at: start) }
        if value == 0, text.prefix(while: { $0 != "e" && $0 != "E" }).contains(where: { ("1"..."9").contains($0) }) {
            throw failure("\(text.prefix(32)) rounds to zero", at: start)
        }
        return value
    }

    /// Skips one value of any kind, checking it as it goes.
    public mutating func skipValue() throws(Failure) {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "{"):
            try beginObject()
            while try nextKey() != nil { try skipValue() }
        case UInt8(ascii: "["):
            try beginArray()
            while try nextElement() { try skipValue() }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try bool()
        case UInt8(ascii: "n"): _ = try null()
        default: _ = try numberText()
        }
    }

    // MARK: Details

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func failure(_ reason: String, at offset: Int? = nil) -> Failure {
        Failure(offset: offset ?? index, reason: reason)
    }

    private mutating func open(_ bracket: UInt8, _ what: String) throws(Failure) {
        skipWhitespace()
        guard peek() == bracket else { throw failure("expected \(what)") }
        guard started.count < Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth)") }
        index += 1
        started.append(false)
    }

    private mutating func nextMember(closing: UInt8) throws(Failure) -> Bool {
        guard let first = started.last else { throw failure("not inside a container") }
        skipWhitespace()
        if peek() == closing {
            index += 1
            started.removeLast()
            return false
        }
        if first {
            guard peek() == UInt8(ascii: ",") else { throw failure("expected ',' or the container's end") }
            index += 1
            skipWhitespace()
            if peek() == closing { throw failure("a trailing ','") }
        }
        started[started.count - 1] = true
        return true
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("expected \(word)") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw failure("expected \(word)")
        }
        index += count
    }

    /// The text of a number, checked against the grammar; whether it has no fraction or exponent.
    private mutating func numberText() throws(Failure) -> (String, integral: Bool) {
        skipWhitespace()
        let start = index
        var integral = true
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            throw failure("expected a value")
        }
        if first == UInt8(ascii: "0") {
            index += 1
            if let next = peek(), next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") {
                throw failure("a number with a leading zero")
            }
        } else {
            skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard skipDigits() else { throw failure("no digits after '.'") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() else { throw failure("no digits in an exponent") }
        }
        // ASCII only, so always valid.
        return (text(start..<index, ascii: true)!, integral)
    }

    /// The bytes in `range` as a string, nil when they are not UTF-8. Read through a buffer: from an
    /// array slice, validation went through generic code that looked up its metadata at every
    /// string (a tenth of reading a manifest), and bytes known to be ASCII need none.
    private func text(_ range: Range<Int>, ascii: Bool) -> String? {
        bytes.withUnsafeBufferPointer { all in
            let slice = UnsafeBufferPointer(rebasing: all[range])
            return ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
        }
    }

    @discardableResult
    private mutating func skipDigits() -> Bool {
        let start = index
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index > start
    }

    /// The rest of a string that has escapes, from its first byte at `start`.
    private mutating func escapedString(from start: Int) throws(Failure) -> String {
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: out, as: UTF8.self) else {
                    throw failure("a string is not UTF-8", at: start)
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard let escape = peek() else { break }
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): out.append(contentsOf: try unicodeEscape())
                default: throw failure("an unknown escape in a string")
                }
            default:
                if byte < 0x20 { throw failure("a control character in a string") }
                out.append(byte)
                index += 1
            }
        }
        throw failure("a string without its closing quote", at: start - 1)
    }

    /// `\uXXXX` (after the `u`), with a surrogate pair's second half; the scalar's UTF-8 bytes.
    private mutating func unicodeEscape() throws(Failure) -> [UInt8] {
        var scalar = try hexQuad()
        if (0xD800..<0xDC00).contains(scalar) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw failure("a lone surrogate in a string") }
            index += 2
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else { throw failure("a lone surrogate in a string") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw failure("a lone surrogate in a string")
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw failure("not a Unicode scalar") }
        return Array(String(Character(unicode)).utf8)
    }

    private mutating func hexQuad() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("a short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("a bad \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
