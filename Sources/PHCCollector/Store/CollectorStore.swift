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
        if !readOnly {
            let found = database.userVersion
            try Schema.migrate(database)
            if found < Schema.summaryTable { try transaction { try packSummaries() } }
        }
    }

    func transaction<T>(_ body: () throws -> T) throws -> T {
        try database.transaction(body)
    }

    // MARK: Devices

    /// A column of `devices`: its name, whether it holds part of the record's body, and its value.
    private typealias DeviceColumn = (name: String, inBody: Bool, value: @Sendable (DeviceRecord) -> SQLValue)

    /// A device's columns, the record's body (what only reading a new manifest needs) last.
    private static let deviceColumns: [DeviceColumn] = [
        ("name", false, { .text($0.name) }),
        ("display_name", false, { .text($0.displayName) }),
        ("trust", false, { .text($0.trust.rawValue) }),
        ("last_sequence", false, { .optional($0.lastSequence) }),
        ("issued_at", false, { .optional($0.issuedAt) }),
        ("expires_at", false, { .optional($0.expiresAt) }),
        ("interval_s", false, { .optional($0.intervalS) }),
        ("status", false, { .optional($0.status?.rawValue) }),
        ("problems", false, { .text($0.problemsJSON) }),
        ("agent_version", false, { .optional($0.agentVersion) }),
        ("last_seen", false, { .optional($0.lastSeen) }),
        ("manifest_signature", false, { .optional($0.manifestStamp?.description) }),
        ("rejection", false, { .optional($0.rejection.map(capped)) }),
        ("rejection_kind", false, { .optional($0.rejectionKind?.rawValue) }),
        ("skew_s", false, { .int($0.skewSeconds) }),
        ("file_problem_path", false, { .optional($0.fileProblem?.path) }),
        ("file_problem_kind", false, { .optional($0.fileProblem?.kind.rawValue) }),
        ("file_problem_reason", false, { .optional($0.fileProblem.map { capped($0.reason) }) }),
        ("file_problem_signature", false, { .optional($0.fileProblem?.signature) }),
        ("payload_digest", true, { .optional($0.payloadDigest) }),
        ("checks", true, { .text($0.checksJSON) }),
        ("keyid", true, { .optional($0.keyID) }),
        ("latest_values", true, { .text($0.latestValuesText) }),
    ]
    /// What a record without its body writes.
    private static let summaryOnly = deviceColumns.filter { !$0.inBody }
    /// The columns a summary is read from when its blob cannot be.
    private static let summaryColumns = summaryOnly.map(\.name).joined(separator: ", ")
    private static let bodyColumns = deviceColumns.filter(\.inBody).map(\.name).joined(separator: ", ")

    /// Every device's record, whole.
    func devices() throws -> DeviceRecords {
        var records = try deviceSummaries()
        try loadBodies(of: nil, into: &records)
        return records
    }

    /// Every device's record without its body (``DeviceRecord/hasBody`` false): what a pass needs of
    /// every device, the bodies of the few it reads files of being loaded by ``loadBodies(of:into:)``.
    func deviceSummaries() throws -> DeviceRecords {
        let count = Int(try database.statement("SELECT count(*) FROM devices").rows([]) { $0.int(0) }.first ?? 0)
        var byName = DeviceRecords(minimumCapacity: count)
        // A database from before the summary table, opened read-only (`report` before the first pass of
        // a newer collector migrated it), is read from its columns.
        guard database.userVersion >= Schema.summaryTable else {
            try loadColumns(where: "1", [], into: &byName)
            return byName
        }
        // Each summary from its blob (``PackedSummary``), in the narrow table of them; a device whose
        // blob is NULL or does not decode, or that has none, is read from its columns after.
        var version = ""
        var unpacked: [String] = []
        // In name order (the table's key: no sorting), the order folders are listed in.
        try database.statement("SELECT name, summary FROM device_summaries ORDER BY name").each([]) { row in
            let name = row.text(0)
            guard let blob = row.blob(1), let record = PackedSummary.record(blob, name: name, reusing: version) else {
                unpacked.append(name)
                return
            }
            version = record.agentVersion ?? version
            byName.put(record)
        }
        if !unpacked.isEmpty || byName.count < count {
            try loadColumns(
                where: "name IN (SELECT value FROM json_each(?)) OR name NOT IN (SELECT name FROM device_summaries)",
                [.text(Self.jsonList(unpacked))], into: &byName)
        }
        return byName
    }

    /// The records of the devices `condition` selects, read from their columns (not their summary blob),
    /// without their bodies.
    private func loadColumns(
        where condition: String, _ parameters: [SQLValue], into byName: inout DeviceRecords
    ) throws {
        // Strings most records share are not made again for each one: the display name (the name),
        // no problems, the agent version of the record before; the trust and status are matched as bytes.
        var version = ""
        let query = "SELECT \(Self.summaryColumns) FROM devices WHERE \(condition)"
        try database.statement(query).each(parameters) { row in
            let name = row.text(0)
            let agentVersion = row.isNull(9) ? nil : row.text(9, reusing: version)
            version = agentVersion ?? version
            var fileProblem: FileProblem?
            if let path = row.optionalText(15), let reason = row.optionalText(17) {
                fileProblem = FileProblem(
                    path: path, kind: row.optionalText(16).flatMap(RejectionKind.init(rawValue:)) ?? .unreadable,
                    reason: reason, signature: row.text(18))
            }
            byName.put(
                DeviceRecord(
                    name: name, displayName: row.text(1, reusing: name),
                    trust: row.text(2, as: DeviceTrust.self) ?? .unknown, lastSequence: row.optionalInt(3),
                    issuedAt: row.optionalInt(4), expiresAt: row.optionalInt(5), intervalS: row.optionalInt(6),
                    status: row.text(7, as: CheckStatus.self), problemsJSON: row.text(8, reusing: "[]"),
                    agentVersion: agentVersion, lastSeen: row.optionalInt(10),
                    manifestStamp: row.textBytes(11).flatMap(FileStamp.parse), rejection: row.optionalText(12),
                    rejectionKind: row.optionalText(13).map { RejectionKind(rawValue: $0) ?? .unreadable },
                    skewSeconds: row.int(14), fileProblem: fileProblem, hasBody: false))
        }
    }

    /// `names` as a JSON array, for `json_each`.
    private static func jsonList(_ names: [String]) -> String {
        var list = JSONWriter(capacity: 16 * names.count)
        list.array { list in for name in names { list.string(name) } }
        return String(decoding: list.bytes, as: UTF8.self)
    }

    /// Writes the summary blob of every device that has none (a database from before the summary
    /// table, or a NULL blob), from its columns.
    private func packSummaries() throws {
        var records = DeviceRecords()
        try loadColumns(
            where: "name NOT IN (SELECT name FROM device_summaries WHERE summary IS NOT NULL)", [], into: &records)
        try saveSummaries(records.all)
    }

    /// The bodies of the named devices' records (nil: every device's), those in `records` without one.
    func loadBodies(of names: [String]?, into records: inout DeviceRecords) throws {
        let wanted = names?.filter { name in records.position(of: name).map { !records.all[$0].hasBody } ?? false }
        guard wanted?.isEmpty != true else { return }
        let query =
            wanted == nil
            ? "SELECT name, \(Self.bodyColumns) FROM devices"
            : "SELECT name, \(Self.bodyColumns) FROM devices WHERE name IN (SELECT value FROM json_each(?))"
        try database.statement(query).each(wanted.map { [.text(Self.jsonList($0))] } ?? []) { row in
            guard let position = records.position(of: row.text(0)), !records.all[position].hasBody else { return }
            records.update(at: position) { Self.fillBody(&$0, from: row, at: 1) }
        }
    }

    /// The body columns, in ``deviceColumns``' order, from column `first` on.
    private static func fillBody(_ record: inout DeviceRecord, from row: Statement.Row, at first: Int32) {
        record.payloadDigest = row.optionalText(first)
        record.checksJSON = row.text(first + 1)
        record.keyID = row.optionalText(first + 2)
        record.latestValuesText = row.text(first + 3)
        record.hasBody = true
    }

    func save(_ device: DeviceRecord) throws {
        try save([device])
    }

    /// Saves records, new or known, in bulk (a first pass saves every device). A record without its
    /// body leaves the stored body as it is.
    func save(_ devices: [DeviceRecord]) throws {
        guard devices.contains(where: { !$0.hasBody }) else { return try save(devices, columns: Self.deviceColumns) }
        try save(devices.filter(\.hasBody), columns: Self.deviceColumns)
        try save(devices.filter { !$0.hasBody }, columns: Self.summaryOnly)
    }

    private func save(_ devices: [DeviceRecord], columns: [DeviceColumn]) throws {
        guard !devices.isEmpty else { return }
        try database.insert(
            "INSERT INTO devices (\(columns.map(\.name).joined(separator: ", ")))", columns: columns.count,
            rows: devices,
            tail: "ON CONFLICT(name) DO UPDATE SET "
                + columns.dropFirst().map { "\($0.name)=excluded.\($0.name)" }.joined(separator: ", ")
        ) { device, values in
            for column in columns { values.add(column.value(device)) }
        }
        try saveSummaries(devices)
    }

    /// Each device's summary blob, written with its columns (NULL, read from the columns, when the record
    /// holds what a blob cannot).
    private func saveSummaries(_ devices: [DeviceRecord]) throws {
        try database.insert(
            "INSERT INTO device_summaries (name, summary)", columns: 2, rows: devices,
            tail: "ON CONFLICT(name) DO UPDATE SET summary=excluded.summary"
        ) { device, values in
            values.add(device.name)
            values.add(PackedSummary.pack(device).map { .blob($0) } ?? .null)
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
            try database.statement("UPDATE device_summaries SET summary = NULL WHERE name = ?").run([.text(device)])
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
        ) { entry, values in
            values.add(entry.device)
            values.add(entry.row.sequence)
            values.add(entry.row.issuedAt)
            values.add(entry.row.receivedAt)
            values.add(entry.row.status.rawValue)
            values.add(entry.row.source.rawValue)
            values.add(.optional(entry.row.expiresAt))
        }
    }

    /// A pass's status changes, in bulk (a change already recorded is kept).
    func recordTransitions(_ rows: [(device: String, row: TransitionRow)]) throws {
        try database.insert(
            "INSERT OR IGNORE INTO check_history (device, check_id, sequence, issued_at, status, summary)",
            columns: 6, rows: rows
        ) { entry, values in
            values.add(entry.device)
            values.add(entry.row.checkID)
            values.add(entry.row.sequence)
            values.add(entry.row.issuedAt)
            values.add(entry.row.status.rawValue)
            values.add(entry.row.summary)
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

    /// Saves alerts in bulk (a silent fleet's pass saves one for every device).
    func save(_ alerts: [AlertRecord]) throws {
        try database.insert(
            """
            INSERT OR REPLACE INTO alerts (key, name, device, check_id, severity, state, count, started_at, fired_at,
            resolved_at, summary, updated_at, evidence, recoveries)
            """, columns: 14, rows: alerts
        ) { alert, values in
            for value: SQLValue in [
                .text(alert.key.text), .text(alert.name.rawValue), .text(alert.device), .optional(alert.checkID),
                .text(alert.severity.rawValue), .text(alert.state.rawValue), .int(Int64(alert.count)),
                .int(alert.startedAt), .optional(alert.firedAt), .optional(alert.resolvedAt),
                .text(Self.capped(alert.summary)), .int(alert.updatedAt), .optional(alert.evidence),
                .int(Int64(alert.recoveries)),
            ] {
                values.add(value)
            }
        }
    }

    func deleteAlert(_ key: AlertKey) throws {
        try database.statement("DELETE FROM alerts WHERE key = ?").run([.text(key.text)])
    }

    /// Forgets resolved alerts older than `before`.
    func pruneResolved(before: Int64) throws {
        try database.statement("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?").run([.int(before)])
    }
}
