#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// The part of a `phc.manifest/v1` payload the collector keeps: everything but
/// the checks' observations, whose decoding would cost as much as the rest
/// together (a dictionary per check) and which the collector does not store.
struct ManifestHead: Decodable {
    struct Agent: Decodable {
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

    enum CodingKeys: String, CodingKey {
        case schema, device, agent, sequence, status, checks
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case intervalS = "interval_s"
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
