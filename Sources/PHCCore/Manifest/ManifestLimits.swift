/// The ranges a `phc.manifest/v1` must keep to, checked where manifests are
/// decoded (the collector, `phc-agent verify`) and kept by the agent's
/// configuration, so that every manifest the agent signs is one its own
/// verifier accepts.
public enum ManifestLimits {
    /// Sequence numbers: from 1 to 2^53 − 1, the integers every JSON reader
    /// (JavaScript's included) holds exactly. A state file or manifest beyond
    /// it is refused, never incremented into an overflow.
    public static let sequence: ClosedRange<Int64> = 1...(1 << 53 - 1)
    /// `interval_s`: one second to seven days.
    public static let intervalSeconds: ClosedRange<Int64> = 1...604_800
    /// `expires_at − issued_at`: at most 30 days.
    public static let maxLifetimeSeconds: Int64 = 30 * 86_400
    /// Checks in one manifest.
    public static let maxChecks = 2_000

    /// Why these values do not make a usable manifest, or nil when they do.
    public static func problem(
        device: String, sequence: Int64, issuedAt: Timestamp, expiresAt: Timestamp, intervalS: Int64, checks: Int
    ) -> String? {
        guard DeviceName.isValid(device.lowercased()) else {
            return "device '\(InertText.clipped(InertText.terminal(device), to: 64))' is not a device name"
        }
        guard Self.sequence.contains(sequence) else {
            return "sequence \(sequence) is outside \(Self.sequence.lowerBound)…\(Self.sequence.upperBound)"
        }
        guard intervalSeconds.contains(intervalS) else {
            return "interval_s \(intervalS) is outside \(intervalSeconds.lowerBound)…\(intervalSeconds.upperBound)"
        }
        let lifetime = expiresAt.secondsSinceEpoch.saturatingSubtract(issuedAt.secondsSinceEpoch)
        guard lifetime > 0 else { return "expires_at \(expiresAt) is not after issued_at \(issuedAt)" }
        guard lifetime <= maxLifetimeSeconds else {
            return "expires_at \(expiresAt) is more than 30 days after issued_at \(issuedAt)"
        }
        guard checks <= maxChecks else { return "\(checks) checks, more than the \(maxChecks) allowed" }
        return nil
    }
}
