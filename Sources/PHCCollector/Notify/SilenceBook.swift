public import PHCCore
public import Logging

/// `phc-collector silence add|list|remove`: silences kept in the database.
public enum SilenceBook {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Adds a silence from `now` to `until`, matching every `LABEL=VALUE` of `matchers`.
    ///
    /// - Returns: the silence, with its new id.
    /// - Throws: ``Failure`` for matchers that are not `label=value`, an end not in the future, or an empty comment.
    public static func add(
        matchers texts: [String], until: Timestamp, comment: String, author: String,
        configuration: CollectorConfiguration, now: Timestamp
    ) throws -> AlertSilence {
        var matchers: [String: String] = [:]
        for text in texts {
            guard let equals = text.firstIndex(of: "="), case let label = String(text[..<equals]),
                AlertLabels.isLabelName(label), !text[text.index(after: equals)...].isEmpty
            else {
                throw Failure(description: "'\(InertText.terminal(text))' is not LABEL=VALUE (such as device=armitage)")
            }
            matchers[label] = String(text[text.index(after: equals)...])
        }
        guard !matchers.isEmpty else { throw Failure(description: "give at least one --match LABEL=VALUE") }
        guard until > now else { throw Failure(description: "the silence would end before it starts") }
        guard !comment.trimmed().isEmpty else { throw Failure(description: "say why with --comment") }
        let silence = AlertSilence(
            id: String(AlertNotification.newID().prefix(12)), matchers: matchers, startsAt: now.secondsSinceEpoch,
            endsAt: until.secondsSinceEpoch, comment: comment, author: author)
        let store = try CollectorStore(path: configuration.database)
        try store.transaction { try store.add(silence, at: now.secondsSinceEpoch) }
        return silence
    }

    /// Active and upcoming silences (ended ones are pruned a week later).
    public static func list(configuration: CollectorConfiguration) throws -> [AlertSilence] {
        guard FileStatus.exists(configuration.database) else { return [] }
        return try CollectorStore(path: configuration.database, readOnly: true).silences()
    }

    /// - Returns: false when no silence has that id.
    public static func remove(id: String, configuration: CollectorConfiguration) throws -> Bool {
        let store = try CollectorStore(path: configuration.database)
        return try store.transaction { try store.removeSilence(id) }
    }
}

/// `phc-collector notify test RECEIVER`.
public enum NotifyTest {
    /// Sends one test notification to `receiver` now, past the outbox, and says what it answered.
    public static func send(
        receiver name: String, configuration: CollectorConfiguration, logger: Logger, clock: WallClock = .system
    ) async -> (delivered: Bool, answer: String)? {
        guard let receiver = configuration.receivers.first(where: { $0.name == name }) else { return nil }
        let now = clock.now().secondsSinceEpoch
        let host = HostName.short()
        let notice = AlertNotice(
            labels: ["alertname": "PHCTest", "device": host, "severity": "warn"],
            summary: "a test notification from phc-collector on \(host)",
            description: "Sent by phc-collector notify test: this receiver works.", status: .firing, startsAt: now,
            endsAt: nil)
        let notification = AlertNotification(
            id: AlertNotification.newID(), receiver: name, kind: .test, groupKey: "{}:{alertname=\"PHCTest\"}",
            groupLabels: ["alertname": "PHCTest"], alerts: [notice], createdAt: now)
        let deliverer = Deliverer(
            receivers: [name: receiver], interval: configuration.interval, giveUpAfter: configuration.giveUpAfter,
            clock: clock, logger: logger)
        switch await deliverer.attempt(notification, to: receiver, attempts: 1, now: now) {
        case .delivered: return (true, "delivered (notification \(notification.id))")
        case .retry(let after, let reason): return (false, "\(reason) (would be retried in \(after) s)")
        case .failed(let reason): return (false, "\(reason) (refused for good)")
        }
    }
}
