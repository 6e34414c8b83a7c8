#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// The key names of a `KEY=value` env file, and which of them have a value.
///
/// Values are looked at only to tell empty from non-empty and are never
/// stored, returned, hashed or measured: nothing derived from a secret leaves here.
struct EnvFileKeys: Equatable {
    /// Keys with a non-empty value.
    var filled: Set<String> = []
    /// Keys present with an empty value (`KEY=`, `KEY=""`).
    var empty: Set<String> = []
    /// 1-based numbers of lines that are neither comments nor `KEY=value` (content never quoted).
    var malformedLines: [Int] = []

    init(parsing data: Data) {
        var lineNumber = 0
        var lineStart = data.startIndex
        for index in data.indices where data[index] == UInt8(ascii: "\n") {
            lineNumber += 1
            consume(data[lineStart..<index], line: lineNumber)
            lineStart = data.index(after: index)
        }
        if lineStart < data.endIndex {
            consume(data[lineStart..<data.endIndex], line: lineNumber + 1)
        }
    }

    private mutating func consume(_ line: Data.SubSequence, line number: Int) {
        let isSpace: (UInt8) -> Bool = { $0 == 32 || $0 == 9 || $0 == 13 }
        var bytes = line.drop(while: isSpace)
        while let last = bytes.last, isSpace(last) { bytes = bytes.dropLast() }
        guard let first = bytes.first, first != UInt8(ascii: "#") else { return }
        if bytes.starts(with: Array("export ".utf8)) { bytes = bytes.dropFirst(7).drop(while: isSpace) }
        guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else {
            malformedLines.append(number)
            return
        }
        var keyBytes = bytes[bytes.startIndex..<equals]
        while let last = keyBytes.last, isSpace(last) { keyBytes = keyBytes.dropLast() }
        guard !keyBytes.isEmpty, keyBytes.allSatisfy(Self.isKeyByte), !(48...57).contains(keyBytes.first!) else {
            malformedLines.append(number)
            return
        }
        let key = String(decoding: keyBytes, as: UTF8.self)
        let value = bytes[bytes.index(after: equals)...].drop(while: isSpace)
        if Self.isEmptyValue(value) {
            empty.insert(key)
            filled.remove(key)
        } else {
            filled.insert(key)
            empty.remove(key)
        }
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 95 || byte == 46
            || byte == 45
    }

    /// Empty, `""`, `''`, or only an inline comment.
    private static func isEmptyValue(_ value: Data.SubSequence) -> Bool {
        guard let first = value.first else { return true }
        if first == UInt8(ascii: "#") { return true }
        if value.count == 2, (first == 34 || first == 39), value.last == first { return true }
        return false
    }
}

/// Reads one value from an env file, for a bearer token. The value goes straight
/// into a request header; errors name the file and the key, never the value.
enum EnvFileValue {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func read(key: String, from path: String) throws(Failure) -> String {
        let data: Data
        do {
            data = try FileReader.read(path, limit: 1024 * 1024)
        } catch {
            throw Failure(description: "token_file \(error.description)")
        }
        var found: String?
        for line in data.split(separator: UInt8(ascii: "\n")) {
            var text = String(decoding: line, as: UTF8.self).trimmed()
            if text.hasPrefix("export ") { text = String(text.dropFirst(7)).trimmed() }
            guard let equals = text.firstIndex(of: "="), text[..<equals].trimmed() == key else { continue }
            var value = text[text.index(after: equals)...].trimmed()
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            found = value
        }
        guard let found, !found.isEmpty else {
            throw Failure(description: "token_file \(path) has no value for \(key)")
        }
        return found
    }
}
