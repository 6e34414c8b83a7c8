#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import Logging
internal import PHCConfig
internal import PHCCore
internal import Synchronization

/// What a delivery round did.
public struct DeliverySummary: Sendable, Equatable {
    public var attempted = 0
    public var delivered = 0
    public var retrying = 0
    public var failed = 0
    public var dropped = 0
}

/// Sends what the outbox holds, after the commit that wrote it.
///
/// Receivers are served in parallel, each in order (oldest first; a notification that must wait
/// holds back the ones after it, so a receiver never sees them out of order). One round spends at
/// most a receiver's `timeout` on it: a hung receiver costs that, and the others still get theirs.
/// Each outcome is written as soon as it is known, so a crash can re-send at most the one
/// notification whose answer arrived but was not yet recorded (and it carries the same
/// `X-PHC-Notification-Id`).
struct Deliverer: Sendable {
    var receivers: [String: ReceiverConfiguration]
    var interval: Duration
    var giveUpAfter: Duration
    var clock: WallClock
    var logger: Logger
    var client = CurlHTTPClient()

    /// Fault injection for the crash tests (`PHC_FAULT=kill-after-send`): the process dies by
    /// SIGKILL right after a receiver answered 2xx, before the delivered mark is written.
    static let killAfterSend = ProcessInfo.processInfo.environment["PHC_FAULT"] == "kill-after-send"

    /// Delivers every due notification, within each receiver's time budget.
    func deliver(database path: String) async throws -> DeliverySummary {
        let store = try CollectorStore(path: path)
        let now = clock.now().secondsSinceEpoch
        let due = try store.pending().filter { receivers[$0.notification.receiver] != nil }
        guard !due.isEmpty else { return DeliverySummary() }
        let health = try store.receiverHealth()
        let shared = SharedStore(store)
        let queues = Dictionary(grouping: due, by: \.notification.receiver)
        let summaries = await withTaskGroup(of: DeliverySummary.self) { group in
            for (name, rows) in queues {
                guard let receiver = receivers[name] else { continue }
                let state = health[name] ?? ReceiverHealth(name: name)
                group.addTask {
                    await deliver(rows, to: receiver, health: state, store: shared, now: now)
                }
            }
            return await group.reduce(into: [DeliverySummary]()) { $0.append($1) }
        }
        return summaries.reduce(into: DeliverySummary()) { total, one in
            total.attempted += one.attempted
            total.delivered += one.delivered
            total.retrying += one.retrying
            total.failed += one.failed
            total.dropped += one.dropped
        }
    }

    private func deliver(
        _ rows: [OutboxRow], to receiver: ReceiverConfiguration, health: ReceiverHealth, store: SharedStore, now: Int64
    ) async -> DeliverySummary {
        var summary = DeliverySummary()
        var health = health
        let budget = Deadline(after: receiver.timeout)
        for row in rows.sorted(by: { $0.id < $1.id }) {
            if now.saturatingSubtract(row.createdAt) > giveUpAfter.wholeSeconds {
                let failure = store.write { store in
                    try store.recordAttempt(
                        id: row.id, status: .dropped, attempts: row.attempts, nextAttemptAt: row.nextAttemptAt,
                        answer: "dropped after \(row.attempts) attempts over \(DurationText.format(giveUpAfter)): "
                            + (row.answer ?? "no answer"), at: now)
                }
                logUnrecorded(failure, receiver: receiver, row: row)
                logger.error(
                    "receiver \(receiver.name): notification \(row.notification.id) dropped after \(row.attempts) attempts"
                )
                summary.dropped += 1
                continue
            }
            // In order: what waits holds back what follows; and one round costs at most the timeout.
            guard row.nextAttemptAt <= now, !budget.hasPassed else { break }
            summary.attempted += 1
            let attempts = row.attempts + 1
            let verdict = await attempt(row.notification, to: receiver, attempts: attempts, now: now)
            let current = clock.now().secondsSinceEpoch
            if verdict == .delivered {
                if Self.killAfterSend { kill(getpid(), SIGKILL) }
                health.failures = 0
                health.failingSince = nil
                health.lastSuccessAt = current
                summary.delivered += 1
            }
            var status = DeliveryStatus.delivered
            var next = row.nextAttemptAt
            var answer: String?
            switch verdict {
            case .delivered:
                answer = nil
            case .retry(let after, let reason):
                status = .pending
                next = current.saturatingAdd(after)
                answer = reason
                summary.retrying += 1
            case .failed(let reason):
                status = .failed
                answer = reason
                summary.failed += 1
            }
            if verdict != .delivered {
                health.failures += 1
                health.failingSince = health.failingSince ?? current
                health.lastError = answer
                logger.warning("receiver \(receiver.name): \(answer ?? "")")
            }
            health.lastAttemptAt = current
            let saved = health
            let failure = store.write { store in
                try store.transaction {
                    try store.recordAttempt(
                        id: row.id, status: status, attempts: attempts, nextAttemptAt: next, answer: answer, at: current
                    )
                    try store.save(saved)
                }
            }
            logUnrecorded(failure, receiver: receiver, row: row)
            guard verdict == .delivered || status == .failed else { break }
        }
        return summary
    }

    private func logUnrecorded(_ failure: (any Error)?, receiver: ReceiverConfiguration, row: OutboxRow) {
        guard let failure else { return }
        logger.error(
            "receiver \(receiver.name): the outcome of notification \(row.notification.id) could not be recorded: \(failure)"
        )
    }

    /// One POST of `notification` to `receiver`, in the receiver's own format.
    func attempt(_ notification: AlertNotification, to receiver: ReceiverConfiguration, attempts: Int, now: Int64) async
        -> RetryPolicy.Verdict
    {
        /// No answer to judge (the URL or secret file cannot be read, no connection): retry with backoff.
        func later(_ reason: String) -> RetryPolicy.Verdict {
            .retry(afterSeconds: RetryPolicy.backoff(attempts: attempts, random: .random(in: 0..<1)), reason: reason)
        }
        let url: String
        switch receiver.url {
        case .inline(let text): url = text
        case .file(let path):
            do {
                url = String(decoding: try FileReader.read(path, limit: 16 * 1024), as: UTF8.self).trimmed()
            } catch {
                return later("url_file \(error.description)")
            }
        }
        var body: Data
        switch receiver.kind {
        case .discord: body = DiscordPayload.body(notification)
        case .slack: body = SlackPayload.body(notification)
        case .webhook: body = WebhookPayload.body(notification)
        case .alertmanager: body = AlertmanagerPayload.body(notification, now: now, interval: interval)
        }
        var request = HTTPRequest(
            url: receiver.kind == .alertmanager ? URLText.join(url, "/api/v2/alerts") : url,
            connectTimeout: min(receiver.timeout, .seconds(5)), timeout: receiver.timeout, maxBodyBytes: 256 * 1024)
        request.method = .post
        request.body = body
        request.urlIsSecret = receiver.kind != .alertmanager
        request.label = "receiver \(receiver.name)"
        request.headers = [("Content-Type", "application/json"), ("X-PHC-Notification-Id", notification.id)]
        if let secretFile = receiver.hmacSecretFile {
            do {
                let secret = String(decoding: try FileReader.read(secretFile, limit: 16 * 1024), as: UTF8.self)
                    .trimmed()
                request.headers += WebhookPayload.signatureHeaders(body: body, secret: Array(secret.utf8), at: now)
                request.extraSecrets.append(secret)
            } catch {
                return later("hmac_secret_file \(error.description)")
            }
        }
        do {
            let response = try await client.send(request)
            var verdict = RetryPolicy.verdict(
                status: response.status, headers: response.headers, body: response.body, attempts: attempts,
                random: .random(in: 0..<1), now: now)
            // The answer is the receiver's text: it could echo the URL or the secret.
            switch verdict {
            case .retry(let after, let reason): verdict = .retry(afterSeconds: after, reason: scrub(reason, request))
            case .failed(let reason): verdict = .failed(reason: scrub(reason, request))
            case .delivered: break
            }
            return verdict
        } catch {
            return later(error.description)
        }
    }

    private func scrub(_ text: String, _ request: HTTPRequest) -> String {
        URLText.scrub(text, removing: request.secrets)
    }
}

/// The store, shared by the receivers' tasks: one writer at a time (one SQLite connection).
final class SharedStore: Sendable {
    private let store: Mutex<CollectorStore>

    init(_ store: sending CollectorStore) {
        self.store = Mutex(store)
    }

    /// Runs `body`. What it cannot record stays as it was (a pending row is tried again next round).
    ///
    /// - Returns: the error that stopped `body`, for the caller to log; nil when it ran through.
    @discardableResult
    func write(_ body: (CollectorStore) throws -> Void) -> (any Error)? {
        store.withLock { store in
            do {
                try body(store)
                return nil
            } catch {
                return error
            }
        }
    }
}
