#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The health evidence one device publishes each cycle (`phc.manifest/v1`).
///
/// The agent signs the JSON encoding of this value as the payload of a DSSE
/// envelope (see ``DSSEEnvelope``). `sequence` increases by one per signed
/// manifest and is never reused; `status` is the worst check status.
public struct Manifest: Codable, Sendable, Equatable {
    public static let schemaV1 = "phc.manifest/v1"
    /// The DSSE payload type of a signed manifest.
    public static let payloadType = "application/vnd.phc.manifest.v1+json"

    public var schema: String
    public var device: String
    public var agent: AgentInfo
    public var sequence: Int64
    public var issuedAt: Timestamp
    public var expiresAt: Timestamp
    public var intervalS: Int64
    public var bootID: String
    public var status: CheckStatus
    public var checks: [CheckResult]

    public init(
        device: String, agent: AgentInfo, sequence: Int64, issuedAt: Timestamp, expiresAt: Timestamp,
        intervalS: Int64, bootID: String, checks: [CheckResult]
    ) {
        self.schema = Self.schemaV1
        self.device = device
        self.agent = agent
        self.sequence = sequence
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.intervalS = intervalS
        self.bootID = bootID
        self.checks = checks
        self.status = CheckStatus.worst(checks.map(\.status))
    }

    enum CodingKeys: String, CodingKey {
        case schema, device, agent, sequence, status, checks
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case intervalS = "interval_s"
        case bootID = "boot_id"
    }

    /// Canonical bytes: compact JSON with sorted keys, slashes unescaped, the bytes `JSONEncoder`
    /// writes with `.sortedKeys` and `.withoutEscapingSlashes` (a test holds them equal), written
    /// directly: the agent signs one every run, and `JSONEncoder`'s first use in a process was a
    /// tenth of a millisecond and more.
    public func encoded() -> Data {
        var json = JSONWriter(capacity: 512 + 256 * checks.count)
        json.object { manifest in
            manifest.object("agent") { agent in
                agent.string("kernel", self.agent.kernel)
                agent.string("os", self.agent.os)
                agent.string("version", self.agent.version)
            }
            manifest.string("boot_id", bootID)
            manifest.array("checks") { list in
                for check in checks {
                    list.object { item in
                        item.int("duration_ms", check.durationMs)
                        item.string("id", check.id)
                        item.string("kind", check.kind)
                        item.object("observations") { observations in
                            for (key, value) in check.observations.sorted(by: { $0.key < $1.key }) {
                                switch value {
                                case .int(let number): observations.int(key, number)
                                case .double(let number): observations.double(key, number)
                                case .bool(let flag): observations.bool(key, flag)
                                case .string(let text): observations.string(key, text)
                                }
                            }
                        }
                        item.string("status", check.status.rawValue)
                        item.string("summary", check.summary)
                    }
                }
            }
            manifest.string("device", device)
            manifest.string("expires_at", expiresAt.description)
            manifest.int("interval_s", intervalS)
            manifest.string("issued_at", issuedAt.description)
            manifest.string("schema", schema)
            manifest.int("sequence", sequence)
            manifest.string("status", status.rawValue)
        }
        return Data(json.bytes)
    }

    /// Human-readable JSON with sorted keys.
    public func prettyEncoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return try encoder.encode(self)
    }

    /// Decodes a payload and checks its schema.
    ///
    /// - Throws: ``ManifestError`` naming what is wrong; never traps on bad input.
    public static func decode(_ data: Data) throws(ManifestError) -> Manifest {
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch let error as DecodingError {
            throw .malformed(Self.describe(error))
        } catch {
            throw .malformed(String(describing: error))
        }
        guard manifest.schema == schemaV1 else { throw .unsupportedSchema(manifest.schema) }
        if let problem = ManifestLimits.problem(
            device: manifest.device, sequence: manifest.sequence, issuedAt: manifest.issuedAt,
            expiresAt: manifest.expiresAt, intervalS: manifest.intervalS, checks: manifest.checks.count)
        {
            throw .outOfRange(problem)
        }
        return manifest
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty
                ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at \(path(context.codingPath))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "invalid value at \(path(context.codingPath))"
        @unknown default:
            return "undecodable"
        }
    }
}

/// Who wrote a manifest.
public struct AgentInfo: Codable, Sendable, Equatable {
    public var version: String
    public var os: String
    public var kernel: String

    public init(version: String, os: String, kernel: String) {
        self.version = version
        self.os = os
        self.kernel = kernel
    }
}

/// Why a manifest payload was not accepted.
public enum ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsupportedSchema(String)
    /// Decodes, but a value is outside ``ManifestLimits``.
    case outOfRange(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "manifest payload is malformed: \(reason)"
        case .unsupportedSchema(let schema):
            "manifest schema '\(InertText.clipped(InertText.terminal(schema), to: 64))' is not \(Manifest.schemaV1)"
        case .outOfRange(let reason): "manifest out of range: \(reason)"
        }
    }
}
