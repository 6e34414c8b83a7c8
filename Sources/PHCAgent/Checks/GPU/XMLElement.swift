internal import PHCCore

/// A small, non-validating XML reader for `nvidia-smi -q -x`: elements,
/// attributes, text, entities; prolog, DOCTYPE, comments and processing
/// instructions are skipped. Enough for machine-written XML, nothing more.
struct XMLElement: Equatable {
    var name: String
    var attributes: [String: String] = [:]
    var children: [XMLElement] = []
    var text: String = ""

    /// The first child named `name`.
    func child(_ name: String) -> XMLElement? {
        children.first { $0.name == name }
    }

    /// Children named `name`.
    func children(_ name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }

    /// The descendant at a path of child names (`temperature/gpu_temp`).
    func at(_ path: String) -> XMLElement? {
        var current: XMLElement? = self
        for part in path.split(separator: "/") {
            current = current?.child(String(part))
        }
        return current
    }

    /// Trimmed text of the element at `path`.
    func value(_ path: String) -> String? {
        at(path).map { $0.text.trimmed() }
    }

    struct ParseError: Error, Equatable, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "XML at byte \(offset): \(reason)" }
    }

    /// Parses a document and returns its root element.
    static func parse(_ bytes: [UInt8]) throws(ParseError) -> XMLElement {
        var parser = Parser(bytes: bytes)
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func document() throws(ParseError) -> XMLElement {
            try skipMisc()
            guard peek(UInt8(ascii: "<")) else { throw error("no root element") }
            let root = try element()
            try skipMisc()
            guard index >= bytes.count else { throw error("text after the root element") }
            return root
        }

        /// Whitespace, `<?…?>`, `<!DOCTYPE …>` and comments.
        mutating func skipMisc() throws(ParseError) {
            while true {
                while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                if starts("<?") {
                    try skip(past: "?>")
                } else if starts("<!--") {
                    try skip(past: "-->")
                } else if starts("<!") {
                    try skip(past: ">")
                } else {
                    return
                }
            }
        }

        mutating func element() throws(ParseError) -> XMLElement {
            index += 1  // <
            var element = XMLElement(name: name())
            guard !element.name.isEmpty else { throw error("element without a name") }
            while true {
                while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                if starts("/>") {
                    index += 2
                    return element
                }
                if peek(UInt8(ascii: ">")) {
                    index += 1
                    break
                }
                let attribute = name()
                guard !attribute.isEmpty else { throw error("bad attribute in <\(element.name)>") }
                while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                guard peek(UInt8(ascii: "=")) else { throw error("attribute \(attribute) has no value") }
                index += 1
                while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                guard index < bytes.count, bytes[index] == 34 || bytes[index] == 39 else {
                    throw error("attribute \(attribute) is not quoted")
                }
                let quote = bytes[index]
                index += 1
                let start = index
                while index < bytes.count, bytes[index] != quote { index += 1 }
                guard index < bytes.count else { throw error("unterminated attribute \(attribute)") }
                element.attributes[attribute] = Self.decode(bytes[start..<index])
                index += 1
            }
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("<\(element.name)> is not closed") }
                if starts("</") {
                    index += 2
                    let closing = name()
                    guard closing == element.name else {
                        throw error("</\(closing)> closes <\(element.name)>")
                    }
                    while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                    guard peek(UInt8(ascii: ">")) else { throw error("bad closing tag") }
                    index += 1
                    element.text = Self.decode(text[...])
                    return element
                } else if starts("<!--") {
                    try skip(past: "-->")
                } else if starts("<![CDATA[") {
                    index += 9
                    let start = index
                    try skip(past: "]]>")
                    text += bytes[start..<(index - 3)]
                } else if peek(UInt8(ascii: "<")) {
                    element.children.append(try self.element())
                } else {
                    text.append(bytes[index])
                    index += 1
                }
            }
        }

        mutating func name() -> String {
            let start = index
            while index < bytes.count, !isSpace(bytes[index]),
                ![UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "=")].contains(bytes[index])
            {
                index += 1
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

        func starts(_ text: String) -> Bool {
            let pattern = Array(text.utf8)
            return index + pattern.count <= bytes.count && bytes[index..<(index + pattern.count)].elementsEqual(pattern)
        }

        mutating func skip(past text: String) throws(ParseError) {
            let pattern = Array(text.utf8)
            while index + pattern.count <= bytes.count {
                if bytes[index..<(index + pattern.count)].elementsEqual(pattern) {
                    index += pattern.count
                    return
                }
                index += 1
            }
            throw error("missing \(text)")
        }

        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }

        func error(_ reason: String) -> ParseError { ParseError(offset: index, reason: reason) }

        static func decode(_ raw: ArraySlice<UInt8>) -> String {
            let text = String(decoding: raw, as: UTF8.self)
            guard text.contains("&") else { return text }
            var out = ""
            var rest = Substring(text)
            while let amp = rest.firstIndex(of: "&") {
                out += rest[..<amp]
                guard let semicolon = rest[amp...].firstIndex(of: ";") else { break }
                let entity = rest[rest.index(after: amp)..<semicolon]
                switch entity {
                case "amp": out += "&"
                case "lt": out += "<"
                case "gt": out += ">"
                case "quot": out += "\""
                case "apos": out += "'"
                default:
                    if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16),
                        let scalar = Unicode.Scalar(code)
                    {
                        out.unicodeScalars.append(scalar)
                    } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()),
                        let scalar = Unicode.Scalar(code)
                    {
                        out.unicodeScalars.append(scalar)
                    } else {
                        out += "&\(entity);"
                    }
                }
                rest = rest[rest.index(after: semicolon)...]
            }
            return out + rest
        }
    }
}
