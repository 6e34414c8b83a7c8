#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

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
        keyid, agent_version, last_seen, manifest_signature, rejection, rejection_kind, skew_s, problems, \
        file_problem_path, file_problem_kind, file_problem_reason, file_problem_signature, latest_values
        """

    func devices() throws -> [String: DeviceRecord] {
        // Straight into the dictionary: an array of records first was a copy of each one.
        var byName: [String: DeviceRecord] = [:]
        byName.reserveCapacity(
            Int(try database.statement("SELECT count(*) FROM devices").rows([]) { $0.int(0) }.first ?? 0))
        try database.statement("SELECT \(Self.deviceColumns) FROM devices").each([]) { row in
            let name = row.text(0)
            guard byName[name] == nil else { return }
            var record = DeviceRecord(
                name: name, displayName: row.text(1), trust: DeviceTrust(rawValue: row.text(2)) ?? .unknown,
                lastSequence: row.optionalInt(3), payloadDigest: row.optionalText(4), issuedAt: row.optionalInt(5),
                expiresAt: row.optionalInt(6), intervalS: row.optionalInt(7),
                status: row.optionalText(8).flatMap(CheckStatus.init(rawValue:)), checksJSON: row.text(9),
                problemsJSON: row.text(17), keyID: row.optionalText(10), agentVersion: row.optionalText(11),
                lastSeen: row.optionalInt(12), manifestSignature: row.optionalText(13), rejection: row.optionalText(14),
                rejectionKind: row.optionalText(15).map { RejectionKind(rawValue: $0) ?? .unreadable },
                skewSeconds: row.int(16))
            if let path = row.optionalText(18), let reason = row.optionalText(20) {
                record.fileProblem = FileProblem(
                    path: path, kind: row.optionalText(19).flatMap(RejectionKind.init(rawValue:)) ?? .unreadable,
                    reason: reason, signature: row.text(21))
            }
            record.latestValuesText = row.text(22)
            byName[name] = record
        }
        return byName
    }

    func save(_ device: DeviceRecord) throws {
        try save([device])
    }

    /// Saves records, new or known, in bulk (a first pass saves every device).
    func save(_ devices: [DeviceRecord]) throws {
        try database.insert(
            "INSERT INTO devices (\(Self.deviceColumns))", columns: 23, rows: devices,
            tail: """
                ON CONFLICT(name) DO UPDATE SET display_name=excluded.display_name, trust=excluded.trust,
                last_sequence=excluded.last_sequence, payload_digest=excluded.payload_digest,
                issued_at=excluded.issued_at, expires_at=excluded.expires_at, interval_s=excluded.interval_s,
                status=excluded.status, checks=excluded.checks, keyid=excluded.keyid,
                agent_version=excluded.agent_version, last_seen=excluded.last_seen,
                manifest_signature=excluded.manifest_signature, rejection=excluded.rejection,
                rejection_kind=excluded.rejection_kind, skew_s=excluded.skew_s, problems=excluded.problems,
                file_problem_path=excluded.file_problem_path, file_problem_kind=excluded.file_problem_kind,
                file_problem_reason=excluded.file_problem_reason,
                file_problem_signature=excluded.file_problem_signature, latest_values=excluded.latest_values
                """
        ) { device in
            [
                .text(device.name), .text(device.displayName), .text(device.trust.rawValue),
                .optional(device.lastSequence), .optional(device.payloadDigest), .optional(device.issuedAt),
                .optional(device.expiresAt), .optional(device.intervalS), .optional(device.status?.rawValue),
                .text(device.checksJSON), .optional(device.keyID), .optional(device.agentVersion),
                .optional(device.lastSeen), .optional(device.manifestSignature),
                .optional(device.rejection.map(Self.capped)), .optional(device.rejectionKind?.rawValue),
                .int(device.skewSeconds), .text(device.problemsJSON), .optional(device.fileProblem?.path),
                .optional(device.fileProblem?.kind.rawValue),
                .optional(device.fileProblem.map { Self.capped($0.reason) }),
                .optional(device.fileProblem?.signature), .text(device.latestValuesText),
            ]
        }
    }

    /// Forgets a device's sequence baseline (`phc-collector trust reset`): the next manifest that
    /// verifies is accepted whatever its sequence, and becomes the new baseline. Who did it, when,
    /// and the sequence forgotten are kept in `sequence_resets`.
    ///
    /// - Returns: the sequence that was forgotten (nil when none was known).
    func resetSequence(device: String, by user: String, at time: Int64) throws -> Int64? {
        try transaction {
            let previous =
                try database.statement("SELECT last_sequence FROM devices WHERE name = ?").rows([
                    .text(device)
                ]) { $0.optionalInt(0) }.first ?? nil
            try database.statement(
                "INSERT INTO sequence_resets (device, at, by_user, previous_sequence) VALUES (?,?,?,?)"
            ).run([.text(device), .int(time), .text(user), .optional(previous)])
            try database.statement(
                """
                UPDATE devices SET last_sequence = NULL, payload_digest = NULL, manifest_signature = NULL,
                rejection = NULL, rejection_kind = NULL WHERE name = ?
                """
            ).run([.text(device)])
            return previous
        }
    }

    struct SequenceReset: Equatable {
        var device: String
        var at: Int64
        var user: String
        var previousSequence: Int64?
    }

    func sequenceResets(device: String) throws -> [SequenceReset] {
        try database.statement(
            "SELECT device, at, by_user, previous_sequence FROM sequence_resets WHERE device = ? ORDER BY id"
        ).rows([.text(device)]) { row in
            SequenceReset(device: row.text(0), at: row.int(1), user: row.text(2), previousSequence: row.optionalInt(3))
        }
    }

    // MARK: History

    /// A pass's manifest rows, in bulk (a row already there is kept).
    func recordManifests(_ rows: [(device: String, row: ManifestRow)]) throws {
        try database.insert(
            "INSERT OR IGNORE INTO manifests (device, sequence, issued_at, received_at, status, source, expires_at)",
            columns: 7, rows: rows
        ) { device, row in
            [
                .text(device), .int(row.sequence), .int(row.issuedAt), .int(row.receivedAt),
                .text(row.status.rawValue), .text(row.source.rawValue), .optional(row.expiresAt),
            ]
        }
    }

    /// Records an accepted manifest; returns whether it was new (a row already there is left as it is).
    @discardableResult
    func recordManifest(_ row: ManifestRow, device: String) throws -> Bool {
        let before = database.totalChanges
        try database.statement(
            """
            INSERT OR IGNORE INTO manifests (device, sequence, issued_at, received_at, status, source, expires_at)
            VALUES (?,?,?,?,?,?,?)
            """
        ).run([
            .text(device), .int(row.sequence), .int(row.issuedAt), .int(row.receivedAt), .text(row.status.rawValue),
            .text(row.source.rawValue), .optional(row.expiresAt),
        ])
        return database.totalChanges > before
    }

    /// A pass's status changes, in bulk (a change already recorded is kept).
    func recordTransitions(_ rows: [(device: String, row: TransitionRow)]) throws {
        try database.insert(
            "INSERT OR IGNORE INTO check_history (device, check_id, sequence, issued_at, status, summary)",
            columns: 6, rows: rows
        ) { device, row in
            [
                .text(device), .text(row.checkID), .int(row.sequence), .int(row.issuedAt),
                .text(row.status.rawValue), .text(row.summary),
            ]
        }
    }

    /// The longest reason or path stored: what a device writes never makes a row large.
    static let maxTextBytes = 512

    static func capped(_ text: String) -> String { InertText.clipped(text, to: maxTextBytes) }

    func recordRejection(_ rejection: Rejection) throws {
        try database.statement(
            "INSERT INTO rejections (device, path, kind, reason, sequence, at) VALUES (?,?,?,?,?,?)"
        ).run([
            .text(rejection.device), .text(Self.capped(rejection.path)), .text(rejection.kind.rawValue),
            .text(Self.capped(rejection.reason)), .optional(rejection.sequence), .int(rejection.at),
        ])
    }

    /// Rejections kept: those of the last `keepSeconds`, and at most `perDevice` per device
    /// (a device rewriting a bad file every pass cannot grow the table without bound).
    /// Works in slices of `slice` rows, so no pass is slow because the table is long.
    func pruneRejections(before cutoff: Int64, perDevice: Int, slice: Int = 5_000) throws {
        try database.statement(
            "DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE at < ? ORDER BY id LIMIT ?)"
        ).run([.int(cutoff), .int(Int64(slice))])
        try database.statement(
            """
            DELETE FROM rejections WHERE id IN (
                SELECT id FROM (
                    SELECT id, row_number() OVER (PARTITION BY device ORDER BY id DESC) AS rank FROM rejections
                    WHERE device IN (SELECT device FROM rejections GROUP BY device HAVING count(*) > ?)
                ) WHERE rank > ? LIMIT ?)
            """
        ).run([.int(Int64(perDevice)), .int(Int64(perDevice)), .int(Int64(slice))])
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

    struct ManifestRow: Equatable, Sendable {
        var sequence: Int64
        var issuedAt: Int64
        var receivedAt: Int64
        var status: CheckStatus
        var source: ManifestSource
        /// When the manifest stops vouching for the device (for availability); nil in rows read back.
        var expiresAt: Int64? = nil
    }

    func recentManifests(device: String, limit: Int) throws -> [ManifestRow] {
        try database.statement(
            "SELECT sequence, issued_at, received_at, status, source FROM manifests WHERE device = ? ORDER BY sequence DESC LIMIT ?"
        ).rows([.text(device), .int(Int64(limit))]) { row in
            ManifestRow(
                sequence: row.int(0), issuedAt: row.int(1), receivedAt: row.int(2),
                status: CheckStatus(rawValue: row.text(3)) ?? .unknown,
                source: ManifestSource(rawValue: row.text(4)) ?? .manifest)
        }
    }

    struct TransitionRow: Equatable, Sendable {
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

    /// A refusal to store.
    struct Rejection: Equatable, Sendable {
        var device: String
        var path: String
        var kind: RejectionKind
        var reason: String
        var sequence: Int64?
        var at: Int64
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
            SELECT key, name, device, check_id, severity, state, count, started_at, fired_at, resolved_at, summary, updated_at,
            evidence, recoveries
            FROM alerts WHERE state != 'resolved' OR resolved_at >= ? ORDER BY device, name, check_id
            """
        return try database.statement(sql).rows([.int(since ?? Int64.max)]) { row -> AlertRecord? in
            guard let name = AlertName(rawValue: row.text(1)) else { return nil }
            return AlertRecord(
                key: AlertKey(name: name, device: row.text(2), checkID: row.optionalText(3)),
                severity: CheckStatus(rawValue: row.text(4)) ?? .warn,
                state: AlertState(rawValue: row.text(5)) ?? .pending, count: Int(row.int(6)),
                startedAt: row.int(7), firedAt: row.optionalInt(8), resolvedAt: row.optionalInt(9),
                summary: row.text(10), updatedAt: row.int(11), evidence: row.optionalInt(12),
                recoveries: Int(row.int(13)))
        }.compactMap { $0 }
    }

    func save(_ alert: AlertRecord) throws {
        try database.statement(
            """
            INSERT OR REPLACE INTO alerts (key, name, device, check_id, severity, state, count, started_at, fired_at,
            resolved_at, summary, updated_at, evidence, recoveries) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """
        ).run([
            .text(alert.key.text), .text(alert.name.rawValue), .text(alert.device), .optional(alert.checkID),
            .text(alert.severity.rawValue), .text(alert.state.rawValue), .int(Int64(alert.count)),
            .int(alert.startedAt), .optional(alert.firedAt), .optional(alert.resolvedAt),
            .text(Self.capped(alert.summary)), .int(alert.updatedAt), .optional(alert.evidence),
            .int(Int64(alert.recoveries)),
        ])
    }

    func deleteAlert(_ key: AlertKey) throws {
        try database.statement("DELETE FROM alerts WHERE key = ?").run([.text(key.text)])
    }

    /// Forgets resolved alerts older than `before`.
    func pruneResolved(before: Int64) throws {
        try database.statement("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?").run([.int(before)])
    }
}
