#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// One value of a series: a check's allow-listed observation (``SeriesKeys``).
struct SeriesValue: Sendable, Equatable {
    var check: String
    var key: String
    var value: Double
}

/// The part of a `phc.manifest/v1` payload the collector keeps: everything but the checks'
/// observations, of which only the allow-listed numbers (``SeriesKeys``) are kept, as series.
struct ManifestHead: Decodable, Sendable {
    struct Agent: Decodable, Sendable {
        var version: String
    }

    var schema: String
    var device: String
    var agent: Agent
    var sequence: Int64
    var issuedAt: Timestamp
    var expiresAt: Timestamp
    var intervalS: Int64
    var status: CheckStatus
    var checks: [CheckSummary]
    /// The allow-listed numeric observations, check by check.
    var values: [SeriesValue]

    enum CodingKeys: String, CodingKey {
        case schema, device, agent, sequence, status, checks
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case intervalS = "interval_s"
    }

    /// A check as the head reads it: its summary and its series values.
    private struct Check: Decodable {
        var summary: CheckSummary
        var values: [SeriesValue]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            summary = try CheckSummary(from: decoder)
            values = []
            let container = try decoder.container(keyedBy: Key.self)
            guard container.contains(Key(stringValue: "observations")),
                let observations = try? container.nestedContainer(
                    keyedBy: Key.self, forKey: Key(stringValue: "observations"))
            else { return }
            for key in observations.allKeys where SeriesKeys.contains(key.stringValue) {
                if let value = try? observations.decode(Double.self, forKey: key), value.isFinite {
                    values.append(SeriesValue(check: summary.id, key: key.stringValue, value: value))
                }
            }
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schema = try container.decode(String.self, forKey: .schema)
        device = try container.decode(String.self, forKey: .device)
        agent = try container.decode(Agent.self, forKey: .agent)
        sequence = try container.decode(Int64.self, forKey: .sequence)
        issuedAt = try container.decode(Timestamp.self, forKey: .issuedAt)
        expiresAt = try container.decode(Timestamp.self, forKey: .expiresAt)
        intervalS = try container.decode(Int64.self, forKey: .intervalS)
        status = try container.decode(CheckStatus.self, forKey: .status)
        let decoded = try container.decode([Check].self, forKey: .checks)
        checks = decoded.map(\.summary)
        values = decoded.flatMap(\.values)
    }

    /// Decodes a payload and checks its schema.
    static func decode(_ data: Data) throws(ManifestError) -> ManifestHead {
        let head: ManifestHead
        do {
            head = try JSONDecoder().decode(ManifestHead.self, from: data)
        } catch {
            // The full decoder says precisely what is wrong.
            _ = try Manifest.decode(data)
            throw .malformed("undecodable")
        }
        guard head.schema == Manifest.schemaV1 else { throw .unsupportedSchema(head.schema) }
        if let problem = ManifestLimits.problem(
            device: head.device, sequence: head.sequence, issuedAt: head.issuedAt, expiresAt: head.expiresAt,
            intervalS: head.intervalS, checks: head.checks.count)
        {
            throw .outOfRange(problem)
        }
        return head
    }
}
