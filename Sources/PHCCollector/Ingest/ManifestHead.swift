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
///
/// Read with ``JSONReader``, field by field, as `Codable` would read it: unknown keys are ignored,
/// a missing or mistyped field refuses the whole payload (and ``Manifest/decode(_:)`` then says why),
/// an observation that is not a finite number is left out.
struct ManifestHead: Sendable {
    struct Agent: Sendable {
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

    /// Decodes a payload and checks its schema.
    static func decode(_ data: Data) throws(ManifestError) -> ManifestHead {
        guard let head = JSONReader.read(data, read) else {
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

    /// The head, or nil when a required field is missing or of the wrong type.
    private static func read(_ reader: inout JSONReader) throws(JSONReader.Failure) -> ManifestHead? {
        var schema: String?
        var device: String?
        var version: String?
        var sequence: Int64?
        var issuedAt: Timestamp?
        var expiresAt: Timestamp?
        var intervalS: Int64?
        var status: CheckStatus?
        var checks: [CheckSummary]?
        var values: [SeriesValue] = []
        try reader.beginObject()
        while let key = try reader.nextKey() {
            switch key {
            case "schema": schema = try reader.string()
            case "device": device = try reader.string()
            case "agent":
                version = nil
                try reader.beginObject()
                while let field = try reader.nextKey() {
                    if field == "version" { version = try reader.string() } else { try reader.skipValue() }
                }
                guard version != nil else { return nil }
            case "sequence": sequence = try reader.int64()
            case "issued_at": issuedAt = Timestamp(rfc3339: try reader.string())
            case "expires_at": expiresAt = Timestamp(rfc3339: try reader.string())
            case "interval_s": intervalS = try reader.int64()
            case "status": status = CheckStatus(rawValue: try reader.string())
            case "checks":
                values = []
                guard let list = try readChecks(&reader, values: &values) else { return nil }
                checks = list
            default: try reader.skipValue()
            }
            // A value that is there but unusable (a bad time, an unknown status) refuses the payload.
            if (key == "issued_at" && issuedAt == nil) || (key == "expires_at" && expiresAt == nil)
                || (key == "status" && status == nil)
            {
                return nil
            }
        }
        guard let schema, let device, let version, let sequence, let issuedAt, let expiresAt, let intervalS,
            let status, let checks
        else { return nil }
        return ManifestHead(
            schema: schema, device: device, agent: Agent(version: version), sequence: sequence, issuedAt: issuedAt,
            expiresAt: expiresAt, intervalS: intervalS, status: status, checks: checks, values: values)
    }

    /// A list of checks: their summaries, and their allow-listed observations appended to `values`;
    /// nil when one of them is not usable. Also what the store's checks column holds.
    static func readChecks(_ reader: inout JSONReader, values: inout [SeriesValue])
        throws(JSONReader.Failure) -> [CheckSummary]?
    {
        var checks: [CheckSummary] = []
        try reader.beginArray()
        while try reader.nextElement() {
            guard let check = try readCheck(&reader, values: &values) else { return nil }
            checks.append(check)
        }
        return checks
    }

    /// One check: its summary, and its allow-listed observations appended to `values`; nil when it
    /// lacks an id, status or summary, or has a status no check has (what was appended is taken out).
    private static func readCheck(_ reader: inout JSONReader, values: inout [SeriesValue])
        throws(JSONReader.Failure) -> CheckSummary?
    {
        var id: String?
        var status: CheckStatus?
        var summary: String?
        // The observations go straight into `values`, their check's id filled in at the end (the id
        // may come after them), and are taken out again if the check is not usable.
        let first = values.count
        try reader.beginObject()
        while let key = try reader.nextKey() {
            switch key {
            case "id": id = try reader.string()
            case "status":
                status = CheckStatus(rawValue: try reader.string())
                if status == nil {
                    values.removeSubrange(first...)
                    return nil
                }
            case "summary": summary = try reader.string()
            case "observations":
                values.removeSubrange(first...)
                // Anything but an object is no observations, not a broken manifest.
                guard reader.nextIsObject() else {
                    try reader.skipValue()
                    continue
                }
                try reader.beginObject()
                while let name = try reader.nextKey() {
                    guard SeriesKeys.contains(name) else {
                        try reader.skipValue()
                        continue
                    }
                    if let value = try? reader.double(), value.isFinite {
                        values.append(SeriesValue(check: "", key: name, value: value))
                    } else {
                        try reader.skipValue()
                    }
                }
            default: try reader.skipValue()
            }
        }
        guard let id, let status, let summary else {
            values.removeSubrange(first...)
            return nil
        }
        let check = CheckSummary(
            id: InertText.clipped(id, to: CheckSummary.maxIDBytes), status: status,
            summary: InertText.clipped(summary, to: CheckSummary.maxSummaryBytes))
        for index in first..<values.count { values[index].check = check.id }
        return check
    }
}
