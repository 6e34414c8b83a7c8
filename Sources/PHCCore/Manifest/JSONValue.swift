#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Any JSON value, for files whose shape is not ours (backup markers, legacy status files).
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// A JSON document as `JSONDecoder` reads it into a `JSONValue` (numbers as doubles, a key
    /// given twice its first value, any value at the top); nil when `JSONDecoder` refuses it.
    ///
    /// Strict RFC 8259 UTF-8 is read with ``JSONReader``: the agent reads backup markers every
    /// run, and `JSONDecoder` was its only use of that machinery left. Anything else (a byte-order
    /// mark, UTF-16, a trailing comma, nesting past ``JSONReader/maximumDepth``) goes to
    /// `JSONDecoder`, which decides as it always did.
    public static func parse(_ data: Data) -> JSONValue? {
        JSONReader.read(data) { reader throws(JSONReader.Failure) -> JSONValue? in try value(&reader) }
            ?? (try? JSONDecoder().decode(JSONValue.self, from: data))
    }

    private static func value(_ reader: inout JSONReader) throws(JSONReader.Failure) -> JSONValue? {
        switch reader.nextKind() {
        case .object?:
            var object: [String: JSONValue] = [:]
            try reader.beginObject()
            while let key = try reader.nextKey() {
                guard let member = try value(&reader) else { return nil }
                if object[key] == nil { object[key] = member }
            }
            return .object(object)
        case .array?:
            var array: [JSONValue] = []
            try reader.beginArray()
            while try reader.nextElement() {
                guard let element = try value(&reader) else { return nil }
                array.append(element)
            }
            return .array(array)
        case .string?: return .string(try reader.string())
        case .bool?: return .bool(try reader.bool())
        case .null?:
            _ = try reader.null()
            return .null
        case .number?: return .number(try reader.finiteDouble())
        case nil: return nil
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var numberValue: Double? {
        switch self {
        case .number(let value): value
        case .string(let text): Double(text)
        default: nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}
