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
}

/// What the collector knows about one device.
struct DeviceRecord: Equatable {
    var name: String
    var displayName: String
    /// `signed`, `unsigned` (legacy `_status.json`) or `unknown` (nothing accepted yet).
    var trust = "unknown"
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
    var manifestSignature: String?
    /// Why the current manifest.json is refused, nil when it is not.
    var rejection: String?
    var rejectionKind: String?
    var skewSeconds: Int64 = 0

    var checks: [CheckSummary] {
        get { Self.decode(checksJSON) }
        set {
            checksJSON = Self.encode(newValue)
            problemsJSON = Self.encode(newValue.filter { $0.status != .ok })
        }
    }

    var problems: [CheckSummary] { problemsJSON == "[]" ? [] : Self.decode(problemsJSON) }

    static func encode(_ checks: [CheckSummary]) -> String {
        guard !checks.isEmpty else { return "[]" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(checks)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func decode(_ json: String) -> [CheckSummary] {
        json == "[]" ? [] : (try? JSONDecoder().decode([CheckSummary].self, from: Data(json.utf8))) ?? []
    }
}

/// A row of `alerts`.
struct AlertRecord: Equatable {
    var key: String
    var name: String
    var device: String
    var checkID: String?
    var severity: CheckStatus
    var state: String
    var count: Int
    var startedAt: Int64
    var firedAt: Int64?
    var resolvedAt: Int64?
    var summary: String
    var updatedAt: Int64
}

/// The collector's SQLite database: devices, history, rejections, alert state.
final class CollectorStore {
    let database: SQLiteDatabase

    /// Opens (creating the folder and the file) and migrates the database.
    init(path: String, readOnly: Bool = false) throws {
        if !readOnly {
            let (directory, _) = AtomicFile.split(path)
            do { try Directory.create(directory, mode: 0o750) } catch {
                throw StoreError(path: path, message: error.description)
            }
        } else if !FileStatus.exists(path) {
            throw StoreError(path: path, message: "no database yet (run phc-collector run first)")
        }
        database = try SQLiteDatabase(path: path, readOnly: readOnly)
        if !readOnly { try Schema.migrate(database) }
    }

    func transaction<T>(_ body: () throws -> T) throws -> T {
        try database.transaction(body)
    }

    // MARK: Devices

    private static let deviceColumns = """
        name, display_name, trust, last_sequence, payload_digest, issued_at, expires_at, interval_s, status, checks, \
        keyid, agent_version, last_seen, manifest_signature, rejection, rejection_kind, skew_s, problems
        """

    func devices() throws -> [String: DeviceRecord] {
        let rows = try database.statement("SELECT \(Self.deviceColumns) FROM devices").rows([]) { row in
            DeviceRecord(
                name: row.text(0), displayName: row.text(1), trust: row.text(2), lastSequence: row.optionalInt(3),
                payloadDigest: row.optionalText(4), issuedAt: row.optionalInt(5), expiresAt: row.optionalInt(6),
                intervalS: row.optionalInt(7), status: row.optionalText(8).flatMap(CheckStatus.init(rawValue:)),
                checksJSON: row.text(9), problemsJSON: row.text(17), keyID: row.optionalText(10),
                agentVersion: row.optionalText(11), lastSeen: row.optionalInt(12),
                manifestSignature: row.optionalText(13),
                rejection: row.optionalText(14), rejectionKind: row.optionalText(15), skewSeconds: row.int(16))
        }
        return Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func save(_ device: DeviceRecord) throws {
        try database.statement(
            """
            INSERT INTO devices (\(Self.deviceColumns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            ON CONFLICT(name) DO UPDATE SET display_name=excluded.display_name, trust=excluded.trust,
            last_sequence=excluded.last_sequence, payload_digest=excluded.payload_digest,
            issued_at=excluded.issued_at, expires_at=excluded.expires_at, interval_s=excluded.interval_s,
            status=excluded.status, checks=excluded.checks, keyid=excluded.keyid,
            agent_version=excluded.agent_version, last_seen=excluded.last_seen,
            manifest_signature=excluded.manifest_signature, rejection=excluded.rejection,
            rejection_kind=excluded.rejection_kind, skew_s=excluded.skew_s, problems=excluded.problems
            """
        ).run([
            .text(device.name), .text(device.displayName), .text(device.trust), .optional(device.lastSequence),
            .optional(device.payloadDigest), .optional(device.issuedAt), .optional(device.expiresAt),
            .optional(device.intervalS), .optional(device.status?.rawValue), .text(device.checksJSON),
            .optional(device.keyID), .optional(device.agentVersion), .optional(device.lastSeen),
            .optional(device.manifestSignature), .optional(device.rejection), .optional(device.rejectionKind),
            .int(device.skewSeconds), .text(device.problemsJSON),
        ])
    }

    // MARK: History

    /// Records an accepted manifest; one already recorded is left as it is (never counted twice).
    func recordManifest(
        device: String, sequence: Int64, issuedAt: Int64, receivedAt: Int64, status: CheckStatus, source: String
    ) throws {
        try database.statement(
            "INSERT OR IGNORE INTO manifests (device, sequence, issued_at, received_at, status, source) VALUES (?,?,?,?,?,?)"
        ).run([.text(device), .int(sequence), .int(issuedAt), .int(receivedAt), .text(status.rawValue), .text(source)])
    }

    func recordTransition(device: String, check: CheckSummary, sequence: Int64, issuedAt: Int64) throws {
        try database.statement(
            "INSERT OR IGNORE INTO check_history (device, check_id, sequence, issued_at, status, summary) VALUES (?,?,?,?,?,?)"
        ).run([
            .text(device), .text(check.id), .int(sequence), .int(issuedAt), .text(check.status.rawValue),
            .text(check.summary),
        ])
    }

    func recordRejection(device: String, path: String, kind: String, reason: String, sequence: Int64?, at: Int64) throws
    {
        try database.statement(
            "INSERT INTO rejections (device, path, kind, reason, sequence, at) VALUES (?,?,?,?,?,?)"
        ).run([.text(device), .text(path), .text(kind), .text(reason), .optional(sequence), .int(at)])
    }

    func fileSignature(_ path: String) throws -> String? {
        try database.statement("SELECT signature FROM files_seen WHERE path = ?").rows([.text(path)]) { $0.text(0) }
            .first
    }

    func setFileSignature(_ path: String, _ signature: String) throws {
        try database.statement("INSERT OR REPLACE INTO files_seen (path, signature) VALUES (?,?)").run([
            .text(path), .text(signature),
        ])
    }

    func recordPass(startedAt: Int64, finishedAt: Int64, devices: Int, accepted: Int, rejected: Int) throws {
        try database.statement(
            "INSERT INTO passes (started_at, finished_at, devices, accepted, rejected) VALUES (?,?,?,?,?)"
        ).run([.int(startedAt), .int(finishedAt), .int(Int64(devices)), .int(Int64(accepted)), .int(Int64(rejected))])
    }

    struct ManifestRow: Equatable {
        var sequence: Int64
        var issuedAt: Int64
        var receivedAt: Int64
        var status: CheckStatus
        var source: String
    }

    func recentManifests(device: String, limit: Int) throws -> [ManifestRow] {
        try database.statement(
            "SELECT sequence, issued_at, received_at, status, source FROM manifests WHERE device = ? ORDER BY sequence DESC LIMIT ?"
        ).rows([.text(device), .int(Int64(limit))]) { row in
            ManifestRow(
                sequence: row.int(0), issuedAt: row.int(1), receivedAt: row.int(2),
                status: CheckStatus(rawValue: row.text(3)) ?? .unknown, source: row.text(4))
        }
    }

    struct TransitionRow: Equatable {
        var checkID: String
        var sequence: Int64
        var issuedAt: Int64
        var status: CheckStatus
        var summary: String
    }

    func recentTransitions(device: String, limit: Int) throws -> [TransitionRow] {
        try database.statement(
            """
            SELECT check_id, sequence, issued_at, status, summary FROM check_history WHERE device = ?
            ORDER BY issued_at DESC, check_id LIMIT ?
            """
        ).rows([.text(device), .int(Int64(limit))]) { row in
            TransitionRow(
                checkID: row.text(0), sequence: row.int(1), issuedAt: row.int(2),
                status: CheckStatus(rawValue: row.text(3)) ?? .unknown, summary: row.text(4))
        }
    }

    struct RejectionRow: Equatable {
        var path: String
        var kind: String
        var reason: String
        var at: Int64
    }

    func recentRejections(device: String?, limit: Int) throws -> [RejectionRow] {
        let sql =
            device == nil
            ? "SELECT path, kind, reason, at FROM rejections ORDER BY id DESC LIMIT ?"
            : "SELECT path, kind, reason, at FROM rejections WHERE device = ? ORDER BY id DESC LIMIT ?"
        let values: [SQLValue] = device.map { [.text($0), .int(Int64(limit))] } ?? [.int(Int64(limit))]
        return try database.statement(sql).rows(values) { row in
            RejectionRow(path: row.text(0), kind: row.text(1), reason: row.text(2), at: row.int(3))
        }
    }

    func count(_ table: String) throws -> Int {
        try database.statement("SELECT count(*) FROM \(table)").rows([]) { Int($0.int(0)) }.first ?? 0
    }

    // MARK: Alerts

    func alerts(includingResolvedSince since: Int64? = nil) throws -> [AlertRecord] {
        let sql = """
            SELECT key, name, device, check_id, severity, state, count, started_at, fired_at, resolved_at, summary, updated_at
            FROM alerts WHERE state != 'resolved' OR resolved_at >= ? ORDER BY device, name, check_id
            """
        return try database.statement(sql).rows([.int(since ?? Int64.max)]) { row in
            AlertRecord(
                key: row.text(0), name: row.text(1), device: row.text(2), checkID: row.optionalText(3),
                severity: CheckStatus(rawValue: row.text(4)) ?? .warn, state: row.text(5), count: Int(row.int(6)),
                startedAt: row.int(7), firedAt: row.optionalInt(8), resolvedAt: row.optionalInt(9),
                summary: row.text(10), updatedAt: row.int(11))
        }
    }

    func save(_ alert: AlertRecord) throws {
        try database.statement(
            """
            INSERT OR REPLACE INTO alerts (key, name, device, check_id, severity, state, count, started_at, fired_at,
            resolved_at, summary, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
            """
        ).run([
            .text(alert.key), .text(alert.name), .text(alert.device), .optional(alert.checkID),
            .text(alert.severity.rawValue), .text(alert.state), .int(Int64(alert.count)), .int(alert.startedAt),
            .optional(alert.firedAt), .optional(alert.resolvedAt), .text(alert.summary), .int(alert.updatedAt),
        ])
    }

    func deleteAlert(_ key: String) throws {
        try database.statement("DELETE FROM alerts WHERE key = ?").run([.text(key)])
    }

    /// Forgets resolved alerts older than `before`.
    func pruneResolved(before: Int64) throws {
        try database.statement("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?").run([.int(before)])
    }
}
