/// The collector database's schema, as ordered migrations (`PRAGMA user_version` counts them).
///
/// History stays small on purpose: one row per accepted manifest (`manifests`)
/// and one per check status change (`check_history`), never a copy of every
/// check of every pass.
enum Schema {
    static let migrations: [String] = [
        """
        CREATE TABLE devices (
            name TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            trust TEXT NOT NULL DEFAULT 'unknown',
            last_sequence INTEGER,
            payload_digest TEXT,
            issued_at INTEGER,
            expires_at INTEGER,
            interval_s INTEGER,
            status TEXT,
            checks TEXT NOT NULL DEFAULT '[]',
            problems TEXT NOT NULL DEFAULT '[]',
            keyid TEXT,
            agent_version TEXT,
            last_seen INTEGER,
            manifest_signature TEXT,
            rejection TEXT,
            rejection_kind TEXT,
            skew_s INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE manifests (
            device TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            issued_at INTEGER NOT NULL,
            received_at INTEGER NOT NULL,
            status TEXT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (device, sequence)
        ) WITHOUT ROWID;
        CREATE TABLE check_history (
            device TEXT NOT NULL,
            check_id TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            issued_at INTEGER NOT NULL,
            status TEXT NOT NULL,
            summary TEXT NOT NULL,
            PRIMARY KEY (device, check_id, sequence)
        ) WITHOUT ROWID;
        CREATE TABLE rejections (
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            path TEXT NOT NULL,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            sequence INTEGER,
            at INTEGER NOT NULL
        );
        CREATE INDEX rejections_by_device ON rejections (device, at);
        CREATE TABLE files_seen (
            path TEXT PRIMARY KEY,
            signature TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE alerts (
            key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            device TEXT NOT NULL,
            check_id TEXT,
            severity TEXT NOT NULL,
            state TEXT NOT NULL,
            count INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            fired_at INTEGER,
            resolved_at INTEGER,
            summary TEXT NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE passes (
            id INTEGER PRIMARY KEY,
            started_at INTEGER NOT NULL,
            finished_at INTEGER NOT NULL,
            devices INTEGER NOT NULL,
            accepted INTEGER NOT NULL,
            rejected INTEGER NOT NULL
        );
        """,
        // 2: backlog and legacy file problems stay with their device; sequence resets are recorded;
        // rejections are pruned by age.
        """
        ALTER TABLE devices ADD COLUMN file_problem_path TEXT;
        ALTER TABLE devices ADD COLUMN file_problem_kind TEXT;
        ALTER TABLE devices ADD COLUMN file_problem_reason TEXT;
        ALTER TABLE devices ADD COLUMN file_problem_signature TEXT;
        CREATE TABLE sequence_resets (
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            at INTEGER NOT NULL,
            by_user TEXT NOT NULL,
            previous_sequence INTEGER
        );
        CREATE INDEX rejections_by_time ON rejections (at);
        """,
        // 3: delivery. Alerts count manifests and recoveries; silences; notification groups; the
        // outbox; receiver health.
        """
        ALTER TABLE alerts ADD COLUMN evidence INTEGER;
        ALTER TABLE alerts ADD COLUMN recoveries INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE silences (
            id TEXT PRIMARY KEY,
            matchers TEXT NOT NULL,
            starts_at INTEGER NOT NULL,
            ends_at INTEGER NOT NULL,
            comment TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE notification_groups (
            key TEXT PRIMARY KEY,
            state TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            notification_id TEXT NOT NULL UNIQUE,
            receiver TEXT NOT NULL,
            notification TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            answer TEXT,
            finished_at INTEGER
        );
        CREATE INDEX outbox_due ON outbox (status, receiver, id);
        CREATE TABLE receiver_health (
            name TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            failing_since INTEGER,
            last_error TEXT,
            last_attempt_at INTEGER,
            last_success_at INTEGER
        ) WITHOUT ROWID;
        """,
        // 4: history as series, hourly and daily rollups, availability; manifests and check changes
        // pruned by age.
        """
        ALTER TABLE manifests ADD COLUMN expires_at INTEGER;
        ALTER TABLE devices ADD COLUMN latest_values TEXT NOT NULL DEFAULT '';
        CREATE INDEX manifests_by_time ON manifests (issued_at);
        CREATE INDEX check_history_by_time ON check_history (issued_at);
        CREATE TABLE series (
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            check_id TEXT NOT NULL,
            key TEXT NOT NULL,
            UNIQUE (device, check_id, key)
        );
        CREATE TABLE points (
            series INTEGER NOT NULL,
            t INTEGER NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (series, t)
        ) WITHOUT ROWID;
        CREATE TABLE rollups (
            series INTEGER NOT NULL,
            resolution INTEGER NOT NULL,
            t INTEGER NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            sum REAL NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (series, resolution, t)
        ) WITHOUT ROWID;
        CREATE TABLE availability (
            resolution INTEGER NOT NULL,
            t INTEGER NOT NULL,
            device TEXT NOT NULL,
            covered INTEGER NOT NULL,
            PRIMARY KEY (resolution, t, device)
        ) WITHOUT ROWID;
        CREATE TABLE device_availability (
            device TEXT PRIMARY KEY,
            first_covered INTEGER NOT NULL,
            day REAL,
            week REAL,
            month REAL
        ) WITHOUT ROWID;
        CREATE TABLE history_state (
            key TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        // 5: each device's summary as one blob (PackedSummary) in this column; since 6 it is in
        // `device_summaries` and this column is NULL.
        """
        ALTER TABLE devices ADD COLUMN summary BLOB;
        """,
        // 6: the blobs in a narrow table of their own. Every pass reads all of them: read from
        // `devices`, each brought its row's other columns along (8 MB of pages for 10,000 devices,
        // against 1 MB here). A NULL blob, or a device without a row here, is read from its columns;
        // CollectorStore.init packs those when it opens the database after this migration.
        // `devices.summary` stays, NULL and unused: dropping a column needs SQLite 3.35.
        """
        CREATE TABLE device_summaries (
            name TEXT PRIMARY KEY,
            summary BLOB
        ) WITHOUT ROWID;
        INSERT INTO device_summaries (name, summary) SELECT name, summary FROM devices WHERE summary IS NOT NULL;
        UPDATE devices SET summary = NULL;
        """,
    ]

    /// The version from which `device_summaries` holds each device's summary blob.
    static let summaryTable = 6

    /// Brings `database` up to the latest schema, in one transaction that holds the write lock
    /// before it reads the version: two collectors starting on a fresh database never both
    /// create the tables.
    static func migrate(_ database: SQLiteDatabase) throws {
        // Most opens find the schema current: a read, no write lock.
        if database.userVersion == migrations.count { return }
        try database.transaction {
            let current = database.userVersion
            guard current <= migrations.count else {
                throw StoreError(
                    path: database.path,
                    message: "schema version \(current) is newer than this phc-collector knows (\(migrations.count))")
            }
            for (index, sql) in migrations.enumerated().dropFirst(current) {
                try database.execute(sql)
                try database.setUserVersion(index + 1)
            }
        }
    }
}
