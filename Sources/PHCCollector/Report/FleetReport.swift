#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
public import PHCCore

/// The fleet as `phc-collector report` shows it (and `--format json` prints it).
public struct FleetReport: Codable, Sendable {
    public struct Device: Codable, Sendable, Equatable {
        public var device: String
        /// The worst of the last accepted manifest's status and, for a silent device, the silence.
        public var status: CheckStatus
        /// `signed`, `unsigned` (legacy), `rejected` (only refused manifests so far), `none` (never seen).
        public var trust: String
        public var silent: Bool
        /// RFC 3339 time of the last accepted manifest's `issued_at`.
        public var lastSeen: String?
        public var lastSeenAgo: String?
        public var sequence: Int64?
        public var agentVersion: String?
        public var checks: [CheckSummary]
        /// Why the current manifest is refused, if it is.
        public var rejection: String?
        public var silence: String?
        /// Seconds since the last accepted manifest was issued.
        public var ageSeconds: Int64? = nil
        /// RFC 3339 time the last accepted manifest stops vouching for the device.
        public var expiresAt: String? = nil
        /// Share of the last day, week and month covered by a valid manifest.
        public var availability: Availability? = nil

        enum CodingKeys: String, CodingKey {
            case device, status, trust, silent, sequence, checks, rejection, silence, availability
            case lastSeen = "last_seen"
            case lastSeenAgo = "last_seen_ago"
            case agentVersion = "agent_version"
            case ageSeconds = "age_s"
            case expiresAt = "expires_at"
        }
    }

    public struct Alert: Codable, Sendable, Equatable {
        public var name: String
        public var device: String
        public var check: String?
        public var severity: CheckStatus
        /// `pending`, `firing` or `resolved` (recently).
        public var state: String
        public var since: String
        public var summary: String
        /// A silence matches it: shown, not sent.
        public var silenced = false
    }

    public struct HistoryEntry: Codable, Sendable, Equatable {
        public var sequence: Int64
        public var issuedAt: String
        public var status: CheckStatus
        public var source: String

        enum CodingKeys: String, CodingKey {
            case sequence, status, source
            case issuedAt = "issued_at"
        }
    }

    public struct Transition: Codable, Sendable, Equatable {
        public var check: String
        public var issuedAt: String
        public var status: CheckStatus
        public var summary: String

        enum CodingKeys: String, CodingKey {
            case check, status, summary
            case issuedAt = "issued_at"
        }
    }

    /// A key series of the device over the last 24 hours.
    public struct Series: Codable, Sendable, Equatable {
        public var check: String
        public var key: String
        public var unit: String
        public var min: Double
        public var average: Double
        public var max: Double
        /// Half-hour averages, oldest first (for sparklines).
        public var points: [Double]

        enum CodingKeys: String, CodingKey {
            case check, key, unit, min, max, points
            case average = "avg"
        }
    }

    public struct Rejection: Codable, Sendable, Equatable {
        public var path: String
        public var kind: String
        public var reason: String
        public var at: String
    }

    public var generatedAt: String
    public var devices: [Device]
    public var alerts: [Alert]
    /// With a single device: its recent manifests, check changes and rejections.
    public var history: [HistoryEntry]?
    public var transitions: [Transition]?
    public var rejections: [Rejection]?
    /// With a single device: its key series over 24 h.
    public var series: [Series]?
    /// The configured receivers and how delivery to them goes.
    public var receivers: [ReceiverStatus] = []

    enum CodingKeys: String, CodingKey {
        case devices, alerts, history, transitions, rejections, receivers, series
        case generatedAt = "generated_at"
    }

    /// Builds the report from the database (read-only: a running pass is not disturbed).
    ///
    /// - Parameter device: one device (case-insensitive) with its history, or every device.
    /// - Throws: ``StoreError``, or ``ReportError/unknownDevice(_:)``.
    public static func build(
        configuration: CollectorConfiguration, device only: String? = nil, clock: WallClock = .system
    )
        throws -> FleetReport
    {
        let now = clock.now().secondsSinceEpoch
        let store = try CollectorStore(path: configuration.database, readOnly: true)
        let records = try store.devices()
        let availability = try store.availability()
        var names = Set(records.names).union(configuration.devices.keys)
        let single = only?.lowercased()
        if let single {
            guard names.contains(single) else { throw ReportError.unknownDevice(only!) }
            names = [single]
        }
        // Decoding each device's stored checks is most of the work: spread over the cores.
        let silentAfter = configuration.silentAfter
        let configuredDevices = configuration.devices
        let devices = Parallel.map(names.sorted()) { name -> Device in
            let record = records[name]
            let configured = configuredDevices[name]
            let silence = DeviceSilence.reason(
                of: record, configured: configured, now: now, defaultSilentAfter: silentAfter)
            var status = record?.status ?? .unknown
            if silence != nil { status = max(record?.status ?? .ok, DeviceSilence.severity(configured)) }
            let trust: String =
                switch record?.trust {
                case .signed?: "signed"
                case .unsigned?: "unsigned"
                case _ where record?.rejection != nil: "rejected"
                default: "none"
                }
            return Device(
                device: record?.displayName ?? name, status: status, trust: trust, silent: silence != nil,
                lastSeen: record?.issuedAt.map { Timestamp(secondsSinceEpoch: $0).description },
                lastSeenAgo: record?.issuedAt.map { Age.text(now.saturatingSubtract($0)) + " ago" },
                sequence: record?.lastSequence,
                agentVersion: record?.agentVersion, checks: record?.checks ?? [],
                rejection: record?.rejection ?? record?.fileProblem?.reason,
                silence: silence, ageSeconds: record?.issuedAt.map { max(0, now.saturatingSubtract($0)) },
                expiresAt: record?.expiresAt.map { Timestamp(secondsSinceEpoch: $0).description },
                availability: availability[name])
        }
        let silences = try store.silences().filter { $0.isActive(at: now) }
        let alerts = try store.alerts(includingResolvedSince: now.saturatingSubtract(86400))
            .filter { single == nil || $0.device == single }
            .map { alert in
                Alert(
                    name: alert.name.rawValue, device: alert.device, check: alert.checkID, severity: alert.severity,
                    state: alert.state.rawValue,
                    since: Timestamp(secondsSinceEpoch: alert.resolvedAt ?? alert.firedAt ?? alert.startedAt)
                        .description,
                    summary: alert.summary,
                    silenced: silences.contains { $0.matches(AlertNotice(alert).labels) })
            }
        var report = FleetReport(
            generatedAt: Timestamp(secondsSinceEpoch: now).description, devices: devices, alerts: alerts)
        report.receivers = try ReceiverStatus.all(configuration: configuration, store: store, now: now)
        if let name = single {
            report.history = try store.recentManifests(device: name, limit: 10).map {
                HistoryEntry(
                    sequence: $0.sequence, issuedAt: Timestamp(secondsSinceEpoch: $0.issuedAt).description,
                    status: $0.status,
                    source: $0.source.rawValue)
            }
            report.transitions = try store.recentTransitions(device: name, limit: 20).map {
                Transition(
                    check: $0.checkID, issuedAt: Timestamp(secondsSinceEpoch: $0.issuedAt).description,
                    status: $0.status,
                    summary: $0.summary)
            }
            report.series = try Charts.pick(try store.series(device: name), limit: 8).compactMap { info in
                let points = try store.chart(series: info.id, from: now - 86_400, bucket: 1800)
                guard !points.isEmpty else { return nil }
                let count = points.count
                return Series(
                    check: info.check, key: info.key, unit: (SeriesKeys.all[info.key] ?? .count).rawValue,
                    min: points.map(\.min).min() ?? 0, average: points.map(\.average).reduce(0, +) / Double(count),
                    max: points.map(\.max).max() ?? 0, points: points.map(\.average))
            }
            report.rejections = try store.recentRejections(device: name, limit: 10).map {
                Rejection(
                    path: $0.path, kind: $0.kind, reason: $0.reason, at: Timestamp(secondsSinceEpoch: $0.at).description
                )
            }
        }
        return report
    }
}

/// One receiver in the report: `{"name","type","status":"ok|failing","last_error","since","pending"}`.
public struct ReceiverStatus: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    public var status: String
    public var lastError: String?
    /// Failing since (RFC 3339), when failing.
    public var since: String?
    /// Notifications waiting for it.
    public var pending: Int

    enum CodingKeys: String, CodingKey {
        case name, type, status, since, pending
        case lastError = "last_error"
    }

    static func all(configuration: CollectorConfiguration, store: CollectorStore, now: Int64) throws -> [ReceiverStatus]
    {
        let health = try store.receiverHealth()
        let waiting = Dictionary(grouping: try store.pending(), by: \.notification.receiver).mapValues(\.count)
        return configuration.receivers.map { receiver in
            let state = health[receiver.name]
            let failing = state?.isFailing(at: now) ?? false
            return ReceiverStatus(
                name: receiver.name, type: receiver.kind.rawValue, status: failing ? "failing" : "ok",
                lastError: state?.failures ?? 0 > 0 ? state?.lastError : nil,
                since: failing ? state?.failingSince.map { Timestamp(secondsSinceEpoch: $0).description } : nil,
                pending: waiting[receiver.name] ?? 0)
        }
    }
}

public enum ReportError: Error, Sendable, CustomStringConvertible {
    case unknownDevice(String)

    public var description: String {
        switch self {
        case .unknownDevice(let name): "no device named \(name) has been configured or seen"
        }
    }
}
