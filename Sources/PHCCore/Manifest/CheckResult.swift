/// What one check found out: the unit of health evidence inside a manifest.
public struct CheckResult: Codable, Sendable, Equatable {
    /// Stable identifier such as `mount:/mnt/space`, `secrets:/opt/litellm/.env` or `system`.
    public var id: String
    /// The check family: `mount`, `secrets`, `unit`, `timer`, `marker`, `system`…
    public var kind: String
    public var status: CheckStatus
    /// One line for a human. Never contains a secret value.
    public var summary: String
    /// Numbers with units in their keys (`free_bytes`, `statfs_ms`), flags and short strings.
    public var observations: [String: ObservationValue]
    public var durationMs: Int64

    public init(
        id: String, kind: String, status: CheckStatus, summary: String,
        observations: [String: ObservationValue] = [:], durationMs: Int64 = 0
    ) {
        self.id = id
        self.kind = kind
        self.status = status
        self.summary = summary
        self.observations = observations
        self.durationMs = durationMs
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, status, summary, observations
        case durationMs = "duration_ms"
    }
}
