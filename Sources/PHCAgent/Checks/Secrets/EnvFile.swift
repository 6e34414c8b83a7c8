#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// One line of a `KEY=value` env file, by the rules every reader here shares:
/// blank lines and `#` comments are nothing, an optional `export ` prefix is
/// dropped, spaces around the key and the value are not part of them.
enum EnvFileLine {
    case nothing
    /// Neither a comment nor `KEY=value`.
    case malformed
    case assignment(key: String, value: Data.SubSequence)

    /// Each line of `data` with its 1-based number.
    static func lines(of data: Data) -> [(number: Int, line: EnvFileLine)] {
        var result: [(Int, EnvFileLine)] = []
        var lineStart = data.startIndex
        for index in data.indices where data[index] == UInt8(ascii: "\n") {
            result.append((result.count + 1, parse(data[lineStart..<index])))
            lineStart = data.index(after: index)
        }
        if lineStart < data.endIndex { result.append((result.count + 1, parse(data[lineStart..<data.endIndex]))) }
        return result
    }

    static func parse(_ line: Data.SubSequence) -> EnvFileLine {
        var bytes = line.drop(while: isSpace)
        while let last = bytes.last, isSpace(last) { bytes = bytes.dropLast() }
        guard let first = bytes.first, first != UInt8(ascii: "#") else { return .nothing }
        if bytes.starts(with: Array("export ".utf8)) { bytes = bytes.dropFirst(7).drop(while: isSpace) }
        guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { return .malformed }
        var keyBytes = bytes[bytes.startIndex..<equals]
        while let last = keyBytes.last, isSpace(last) { keyBytes = keyBytes.dropLast() }
        guard !keyBytes.isEmpty, keyBytes.allSatisfy(isKeyByte), !(48...57).contains(keyBytes.first!) else {
            return .malformed
        }
        return .assignment(
            key: String(decoding: keyBytes, as: UTF8.self),
            value: bytes[bytes.index(after: equals)...].drop(while: isSpace))
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 95 || byte == 46
            || byte == 45
    }
}

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
        for (number, line) in EnvFileLine.lines(of: data) {
            switch line {
            case .nothing:
                continue
            case .malformed:
                malformedLines.append(number)
            case .assignment(let key, let value):
                if Self.isEmptyValue(value) {
                    empty.insert(key)
                    filled.remove(key)
                } else {
                    filled.insert(key)
                    empty.remove(key)
                }
            }
        }
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

    /// The last value given to `key`, without surrounding quotes.
    static func read(key: String, from path: String) throws(Failure) -> String {
        let data: Data
        do {
            data = try FileReader.read(path, limit: 1024 * 1024)
        } catch {
            throw Failure(description: "token_file \(error.description)")
        }
        var found: Data.SubSequence?
        for (_, line) in EnvFileLine.lines(of: data) {
            if case .assignment(key, let value) = line { found = value }
        }
        guard var value = found else { throw Failure(description: "token_file \(path) has no value for \(key)") }
        if value.count >= 2, let first = value.first, first == 34 || first == 39, value.last == first {
            value = value.dropFirst().dropLast()
        }
        guard !value.isEmpty else { throw Failure(description: "token_file \(path) has no value for \(key)") }
        return String(decoding: value, as: UTF8.self)
    }
}
