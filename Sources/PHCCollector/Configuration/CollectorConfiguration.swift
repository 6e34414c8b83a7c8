internal import PHCConfig
public import PHCCore

/// Everything `phc-collector` needs, read from YAML (see ``CollectorConfiguration/load(path:)``).
public struct CollectorConfiguration: Sendable {
    public var file: String
    /// The shared folder with one folder per device (`/space/devices`).
    public var devicesDir: String
    /// Where the fleet report is published (`/space/devices/_fleet`); skipped when scanning devices.
    public var publishDir: String
    public var database: String
    /// Keys added and revoked with `phc-collector trust` (JSON, managed by the tool; comments in
    /// the YAML stay untouched because the YAML is never rewritten).
    public var trustFile: String
    /// How far a manifest's `issued_at` may be from the collector's clock.
    public var clockSkew: Duration
    /// Consecutive bad manifests (new sequence numbers; passes for the ingest and silence
    /// alerts) before an alert fires.
    public var failureThreshold: Int
    /// Consecutive good manifests (or passes) before a firing alert is resolved.
    public var recoveryThreshold: Int = 1
    /// The collector's pace (its timer, or `run --every`): Watchdog and Alertmanager alerts
    /// stay valid for three of these.
    public var interval: Duration = .seconds(60)
    /// Device silence for devices without their own `silent_after`: nil means "when the
    /// manifest's own expires_at has passed".
    public var silentAfter: Duration?
    public var maxManifestBytes: Int
    public var devices: [String: DeviceConfiguration]
    public var receivers: [ReceiverConfiguration]
    public var routes: [RouteConfiguration]
    /// Where the `Watchdog` alert goes (the collector's own dead man's switch), if anywhere.
    public var heartbeatReceiver: String?
    /// A notification still undelivered after this long is dropped (and the drop recorded).
    public var giveUpAfter: Duration = .seconds(24 * 3600)
    /// How long history is kept, raw and rolled up.
    public var retention = RetentionConfiguration()
    /// Write fleet.json, phc.prom and index.html into `publish_dir` after every pass.
    public var publish = true
    /// Append every accepted envelope to `archive/<device>/<YYYY-MM-DD>.jsonl.gz` next to the database.
    public var archive = false

    public static let defaultPath = "/etc/phc/collector.yaml"
}

/// `devices.<name>`.
public struct DeviceConfiguration: Sendable, Equatable {
    public var name: String
    /// Servers: silence is crit. Workstations (the default): warn.
    public var alwaysOn: Bool
    public var keys: [PublicKey]
    public var silentAfter: Duration?
    /// Writes only the unsigned legacy `_status.json`.
    public var legacy: Bool

    public init(
        name: String, alwaysOn: Bool = false, keys: [PublicKey] = [], silentAfter: Duration? = nil, legacy: Bool = false
    ) {
        self.name = name
        self.alwaysOn = alwaysOn
        self.keys = keys
        self.silentAfter = silentAfter
        self.legacy = legacy
    }
}

/// `retention`: raw points, hourly and daily rollups.
public struct RetentionConfiguration: Sendable, Equatable {
    public var raw: Duration = .seconds(7 * 86_400)
    public var hourly: Duration = .seconds(90 * 86_400)
    public var daily: Duration = .seconds(730 * 86_400)

    public init() {}
}

/// `receivers[]`.
public struct ReceiverConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case discord, slack, webhook, alertmanager
    }
    public var name: String
    public var kind: Kind
    /// Where the URL comes from. Webhook URLs carry their credential, so for discord, slack and
    /// webhook receivers it must be a file; an Alertmanager's URL may be written inline.
    public var url: URLSource
    /// `webhook` only: the HMAC-SHA256 secret for `X-PHC-Signature`.
    public var hmacSecretFile: String?
    /// The longest one delivery attempt may take.
    public var timeout: Duration = .seconds(10)

    public enum URLSource: Sendable, Equatable {
        case inline(String)
        case file(String)
    }

    public init(
        name: String, kind: Kind, url: URLSource, hmacSecretFile: String? = nil, timeout: Duration = .seconds(10)
    ) {
        self.name = name
        self.kind = kind
        self.url = url
        self.hmacSecretFile = hmacSecretFile
        self.timeout = timeout
    }
}

/// `routes[]`: which alerts go to a receiver, and how they are grouped, as Alertmanager routes do.
public struct RouteConfiguration: Sendable, Equatable {
    public var receiver: String
    /// Label name → accepted values (`severity: [warn, crit]`); empty matches every alert.
    public var match: [String: [String]] = [:]
    /// The labels that make a group (`["..."]`: all of them, one alert per group).
    public var groupBy: [String] = ["alertname", "device"]
    public var groupWait: Duration = .seconds(30)
    public var groupInterval: Duration = .seconds(300)
    public var repeatInterval: Duration = .seconds(4 * 3600)
    public var sendResolved = true
    /// Go on to the next routes after a match (by default the first matching route wins).
    public var `continue` = false

    public init(receiver: String, match: [String: [String]] = [:], repeatInterval: Duration = .seconds(4 * 3600)) {
        self.receiver = receiver
        self.match = match
        self.repeatInterval = repeatInterval
    }
}
