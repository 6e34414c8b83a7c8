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
    /// Consecutive bad passes before an alert fires.
    public var failureThreshold: Int
    /// Device silence for devices without their own `silent_after`: nil means "when the
    /// manifest's own expires_at has passed".
    public var silentAfter: Duration?
    public var maxManifestBytes: Int
    public var devices: [String: DeviceConfiguration]
    /// Validated now; delivery arrives with the receivers.
    public var receivers: [ReceiverConfiguration]
    public var routes: [RouteConfiguration]

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

/// `receivers[]`.
public struct ReceiverConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case discord, slack, webhook, alertmanager
    }
    public var name: String
    public var kind: Kind
    /// The URL is a secret: it lives in a file.
    public var urlFile: String
    public var hmacSecretFile: String?
}

/// `routes[]`.
public struct RouteConfiguration: Sendable, Equatable {
    public var receiver: String
    /// Label name → accepted values (`severity: [warn, crit]`).
    public var match: [String: [String]]
    public var repeatInterval: Duration
}
