#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// Where a notification is in its delivery.
enum DeliveryStatus: String, Sendable, Codable {
    /// Waiting for its first attempt or a retry.
    case pending
    /// The receiver answered 2xx.
    case delivered
    /// The receiver refused it for good (a 4xx other than 429); the answer is kept.
    case failed
    /// Still undelivered after `give_up_after`.
    case dropped
}

/// A row of the outbox.
struct OutboxRow: Sendable, Equatable {
    var id: Int64
    var notification: AlertNotification
    var createdAt: Int64
    var nextAttemptAt: Int64
    var attempts: Int
    var status: DeliveryStatus
    /// The receiver's answer, or why there was none (never the URL).
    var answer: String?
    var finishedAt: Int64?
}

/// A receiver's run of failures, for `ReceiverFailing` and the report.
struct ReceiverHealth: Sendable, Equatable, Codable {
    var name: String
    var failures: Int = 0
    var failingSince: Int64?
    var lastError: String?
    var lastAttemptAt: Int64?
    var lastSuccessAt: Int64?

    /// `ReceiverFailing` fires after three failed attempts in a row, or five minutes of failing.
    func isFailing(at now: Int64) -> Bool {
        failures >= 3 || (failingSince.map { now.saturatingSubtract($0) >= 300 } ?? false)
    }
}

extension CollectorStore {
    // MARK: Outbox

    func enqueue(_ notification: AlertNotification, at now: Int64) throws {
        try database.statement(
            """
            INSERT OR IGNORE INTO outbox (notification_id, receiver, notification, created_at, next_attempt_at, status)
            VALUES (?,?,?,?,?,'pending')
            """
        ).run([
            .text(notification.id), .text(notification.receiver),
            .text(JSONBody.text(notification)), .int(now), .int(now),
        ])
    }

    private static let outboxColumns =
        "id, notification, created_at, next_attempt_at, attempts, status, answer, finished_at"

    private static func outboxRow(_ row: Statement.Row) -> OutboxRow? {
        guard
            let notification = try? JSONDecoder().decode(AlertNotification.self, from: Data(row.text(1).utf8)),
            let status = DeliveryStatus(rawValue: row.text(5))
        else { return nil }
        return OutboxRow(
            id: row.int(0), notification: notification, createdAt: row.int(2), nextAttemptAt: row.int(3),
            attempts: Int(row.int(4)), status: status, answer: row.optionalText(6), finishedAt: row.optionalInt(7))
    }

    /// Pending notifications, oldest first, per receiver.
    func pending(limit: Int = 10_000) throws -> [OutboxRow] {
        try database.statement(
            "SELECT \(Self.outboxColumns) FROM outbox WHERE status = 'pending' ORDER BY receiver, id LIMIT ?"
        ).rows([.int(Int64(limit))], Self.outboxRow).compactMap { $0 }
    }

    /// The earliest time a pending notification is due, if any is pending.
    func nextDue() throws -> Int64? {
        try database.statement("SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'").rows([]) {
            $0.optionalInt(0)
        }.first ?? nil
    }

    func outbox(receiver: String? = nil) throws -> [OutboxRow] {
        let sql =
            receiver == nil
            ? "SELECT \(Self.outboxColumns) FROM outbox ORDER BY id"
            : "SELECT \(Self.outboxColumns) FROM outbox WHERE receiver = ? ORDER BY id"
        return try database.statement(sql).rows(receiver.map { [.text($0)] } ?? [], Self.outboxRow).compactMap { $0 }
    }

    /// Records an attempt's outcome.
    func recordAttempt(
        id: Int64, status: DeliveryStatus, attempts: Int, nextAttemptAt: Int64, answer: String?, at now: Int64
    ) throws {
        try database.statement(
            """
            UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, answer = ?, finished_at = ?
            WHERE id = ?
            """
        ).run([
            .text(status.rawValue), .int(Int64(attempts)), .int(nextAttemptAt), .optional(answer.map(Self.capped)),
            status == .pending ? .null : .int(now), .int(id),
        ])
    }

    /// Forgets finished notifications older than `before` (pending ones are never pruned here).
    func pruneOutbox(before: Int64) throws {
        try database.statement("DELETE FROM outbox WHERE status != 'pending' AND finished_at < ?").run([.int(before)])
    }

    /// The last finished attempt per receiver for each alert fingerprint (for `alerts`).
    func lastDeliveries() throws -> [(receiver: String, status: DeliveryStatus, at: Int64, fingerprints: [String])] {
        try database.statement(
            """
            SELECT receiver, status, coalesce(finished_at, next_attempt_at), notification FROM outbox
            WHERE id IN (SELECT max(id) FROM outbox GROUP BY receiver, notification_id) ORDER BY id DESC LIMIT 2000
            """
        ).rows([]) { row -> (String, DeliveryStatus, Int64, [String])? in
            guard let status = DeliveryStatus(rawValue: row.text(1)),
                let notification = try? JSONDecoder().decode(AlertNotification.self, from: Data(row.text(3).utf8))
            else { return nil }
            return (row.text(0), status, row.int(2), notification.alerts.map(\.fingerprint))
        }.compactMap { $0 }.map { (receiver: $0.0, status: $0.1, at: $0.2, fingerprints: $0.3) }
    }

    // MARK: Groups

    func groups() throws -> [String: GroupState] {
        let states = try database.statement("SELECT state FROM notification_groups").rows([]) { row in
            try? JSONDecoder().decode(GroupState.self, from: Data(row.text(0).utf8))
        }.compactMap { $0 }
        return Dictionary(states.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func save(_ group: GroupState) throws {
        try database.statement("INSERT OR REPLACE INTO notification_groups (key, state) VALUES (?,?)").run([
            .text(group.key), .text(JSONBody.text(group)),
        ])
    }

    func deleteGroup(_ key: String) throws {
        try database.statement("DELETE FROM notification_groups WHERE key = ?").run([.text(key)])
    }

    // MARK: Silences

    func silences() throws -> [AlertSilence] {
        try database.statement(
            "SELECT id, matchers, starts_at, ends_at, comment, author FROM silences ORDER BY starts_at, id"
        ).rows([]) { row -> AlertSilence? in
            guard let matchers = try? JSONDecoder().decode([String: String].self, from: Data(row.text(1).utf8)) else {
                return nil
            }
            return AlertSilence(
                id: row.text(0), matchers: matchers, startsAt: row.int(2), endsAt: row.int(3), comment: row.text(4),
                author: row.text(5))
        }.compactMap { $0 }
    }

    func add(_ silence: AlertSilence, at now: Int64) throws {
        try database.statement(
            """
            INSERT INTO silences (id, matchers, starts_at, ends_at, comment, author, created_at)
            VALUES (?,?,?,?,?,?,?)
            """
        ).run([
            .text(silence.id), .text(JSONBody.text(silence.matchers)),
            .int(silence.startsAt), .int(silence.endsAt), .text(Self.capped(silence.comment)), .text(silence.author),
            .int(now),
        ])
    }

    /// Removes a silence; false when there is none with that id.
    func removeSilence(_ id: String) throws -> Bool {
        let before = database.totalChanges
        try database.statement("DELETE FROM silences WHERE id = ?").run([.text(id)])
        return database.totalChanges > before
    }

    /// Forgets silences that ended before `before`.
    func pruneSilences(before: Int64) throws {
        try database.statement("DELETE FROM silences WHERE ends_at < ?").run([.int(before)])
    }

    // MARK: Receiver health

    func receiverHealth() throws -> [String: ReceiverHealth] {
        let rows = try database.statement(
            "SELECT name, failures, failing_since, last_error, last_attempt_at, last_success_at FROM receiver_health"
        ).rows([]) { row in
            ReceiverHealth(
                name: row.text(0), failures: Int(row.int(1)), failingSince: row.optionalInt(2),
                lastError: row.optionalText(3), lastAttemptAt: row.optionalInt(4), lastSuccessAt: row.optionalInt(5))
        }
        return Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func save(_ health: ReceiverHealth) throws {
        try database.statement(
            """
            INSERT OR REPLACE INTO receiver_health (name, failures, failing_since, last_error, last_attempt_at,
            last_success_at) VALUES (?,?,?,?,?,?)
            """
        ).run([
            .text(health.name), .int(Int64(health.failures)), .optional(health.failingSince),
            .optional(health.lastError.map(Self.capped)), .optional(health.lastAttemptAt),
            .optional(health.lastSuccessAt),
        ])
    }
}
