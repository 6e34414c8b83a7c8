#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
public import PHCCore

/// One check as the report shows it.
public struct CheckSummary: Codable, Sendable, Equatable {
    public var id: String
    public var status: CheckStatus
    public var summary: String

    public init(id: String, status: CheckStatus, summary: String) {
        self.id = id
        self.status = status
        self.summary = summary
    }

    /// Longest id and summary kept from a manifest; longer ones are cut (and say so).
    static let maxIDBytes = 256
    static let maxSummaryBytes = 1024

    enum CodingKeys: String, CodingKey { case id, status, summary }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = InertText.clipped(try container.decode(String.self, forKey: .id), to: Self.maxIDBytes)
        status = try container.decode(CheckStatus.self, forKey: .status)
        summary = InertText.clipped(try container.decode(String.self, forKey: .summary), to: Self.maxSummaryBytes)
    }
}

/// How far the collector can vouch for what a device says.
public enum DeviceTrust: String, Sendable, Codable, CaseIterable {
    /// The last accepted evidence was a manifest signed by a key trusted for the device.
    case signed
    /// Only the legacy, unsigned `_status.json`.
    case unsigned
    /// Nothing accepted yet.
    case unknown
}

/// Where an accepted manifest came from.
enum ManifestSource: String, Sendable {
    case manifest
    case backlog
}

/// A backlog or legacy file of a device that could not be used (a FIFO, a symlink out,
/// lines that did not verify). It stays the device's problem, and keeps its alert, while
/// that file is there unchanged.
struct FileProblem: Equatable, Sendable {
    var path: String
    var kind: RejectionKind
    var reason: String
    /// The file's signature when it was read, or `scan:` for something that is not a readable file.
    var signature: String
}

/// What the collector knows about one device.
struct DeviceRecord: Equatable, Sendable {
    var name: String
    var displayName: String
    var trust = DeviceTrust.unknown
    var lastSequence: Int64?
    var payloadDigest: String?
    var issuedAt: Int64?
    var expiresAt: Int64?
    var intervalS: Int64?
    var status: CheckStatus?
    /// The last accepted manifest's checks as stored (JSON), decoded only when needed:
    /// a pass over an unchanged fleet never decodes them.
    var checksJSON = "[]"
    /// The non-ok subset, which alert evaluation reads every pass.
    var problemsJSON = "[]"
    var keyID: String?
    var agentVersion: String?
    /// Collector time when the last accepted manifest arrived.
    var lastSeen: Int64?
    /// inode, size and mtime of the manifest.json last examined: unchanged files are skipped.
    var manifestStamp: FileStamp?
    /// Why the current manifest.json is refused, nil when it is not.
    var rejection: String?
    var rejectionKind: RejectionKind?
    var skewSeconds: Int64 = 0
    /// A backlog or legacy file that could not be used.
    var fileProblem: FileProblem?
    /// The last accepted manifest's series values, `check␟key␟value` lines (read by publishing only).
    var latestValuesText = ""
    /// Whether the record's body (``payloadDigest``, ``checksJSON``, ``keyID``, ``latestValuesText``:
    /// what only reading a new manifest needs) was loaded. A pass loads every device's record without
    /// it, and the bodies of the devices it reads files of; saving a record without its body keeps
    /// the stored one.
    var hasBody = true

    /// The record without its body (``hasBody`` false), as ``CollectorStore/deviceSummaries()`` loads it.
    var summary: DeviceRecord {
        var summary = self
        (summary.payloadDigest, summary.checksJSON, summary.keyID, summary.latestValuesText) = (nil, "[]", nil, "")
        summary.hasBody = false
        return summary
    }

    var latestValues: [SeriesValue] {
        get { Self.parseValues(latestValuesText) }
        set {
            // Written as bytes into one buffer (an interpolated line each, joined, was a third of
            // accepting a manifest, and `String.append` half of what was left): the same text.
            var text: [UInt8] = []
            text.reserveCapacity(newValue.count * 48)
            for (index, value) in newValue.enumerated() {
                if index > 0 { text.append(UInt8(ascii: "\n")) }
                text.append(contentsOf: value.check.utf8)
                text.append(0x1F)
                text.append(contentsOf: value.key.utf8)
                text.append(0x1F)
                text.append(contentsOf: value.value.description.utf8)
            }
            latestValuesText = String(decoding: text, as: UTF8.self)
        }
    }

    /// `check␟key␟value` lines, read byte by byte (publishing reads 10,000 of them every pass).
    static func parseValues(_ text: String) -> [SeriesValue] {
        var values: [SeriesValue] = []
        var fields: [Substring.UTF8View] = []
        var utf8 = Substring(text).utf8
        while !utf8.isEmpty {
            let end = utf8.firstIndex(of: 0x0A) ?? utf8.endIndex
            var line = utf8[utf8.startIndex..<end]
            fields.removeAll(keepingCapacity: true)
            while let separator = line.firstIndex(of: 0x1F) {
                fields.append(line[line.startIndex..<separator])
                line = line[line.index(after: separator)...]
            }
            fields.append(line)
            if fields.count == 3, let value = Double(Substring(fields[2])) {
                values.append(
                    SeriesValue(check: String(Substring(fields[0])), key: String(Substring(fields[1])), value: value))
            }
            utf8 = end == utf8.endIndex ? utf8[end...] : utf8[utf8.index(after: end)...]
        }
        return values
    }

    var checks: [CheckSummary] {
        get { Self.decode(checksJSON) }
        set {
            checksJSON = Self.encode(newValue)
            problemsJSON = Self.encode(newValue.filter { $0.status != .ok })
        }
    }

    var problems: [CheckSummary] { Self.problems(in: problemsJSON) }

    /// The checks of a ``problemsJSON`` text: none for `[]`, the usual text, without decoding it.
    static func problems(in json: String) -> [CheckSummary] { json == "[]" ? [] : decode(json) }

    /// The column's JSON, written directly (every accepted manifest writes one): what
    /// `JSONBody.text(checks)` writes, keys sorted, escapes aside.
    static func encode(_ checks: [CheckSummary]) -> String {
        guard !checks.isEmpty else { return "[]" }
        var writer = JSONWriter(capacity: 96 * checks.count)
        writer.array { list in
            for check in checks {
                list.object { object in
                    object.string("id", check.id)
                    object.string("status", check.status.rawValue)
                    object.string("summary", check.summary)
                }
            }
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The column's checks, read with the pull reader (every device's, every pass that has its new
    /// manifest: `JSONDecoder` was a tenth of such a pass); nothing when the text is not such a list.
    static func decode(_ json: String) -> [CheckSummary] {
        guard json != "[]" else { return [] }
        return JSONReader.read(json.utf8) { reader throws(JSONReader.Failure) -> [CheckSummary]? in
            var none: [SeriesValue] = []
            return try ManifestHead.readChecks(&reader, values: &none)
        } ?? []
    }
}
