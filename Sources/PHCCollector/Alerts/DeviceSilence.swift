internal import PHCConfig
internal import PHCCore

/// When a device counts as silent, and how bad that is: the one home of these rules, used by
/// the pass (for `DeviceSilent`) and by the report.
enum DeviceSilence {
    /// Legacy writers say nothing about their interval; silence after this long.
    static let legacyAfterSeconds: Int64 = 15 * 60

    /// Whether a device is silent, with a one-line reason.
    ///
    /// Silent: its last accepted evidence expired (its own `expires_at`, or `silent_after` from the
    /// configuration), or it is configured and was never seen. Times come from devices, so the
    /// arithmetic saturates: a manifest from the year 9999 is not silent, and nothing traps.
    static func reason(
        of record: DeviceRecord?, configured: DeviceConfiguration?, now: Int64, defaultSilentAfter: Duration?
    ) -> String? {
        reason(
            issuedAt: record?.issuedAt, expiresAt: record?.expiresAt, configured: configured, now: now,
            defaultSilentAfter: defaultSilentAfter)
    }

    /// The same, from the last accepted evidence's times (nil: none accepted).
    static func reason(
        issuedAt: Int64?, expiresAt: Int64?, configured: DeviceConfiguration?, now: Int64, defaultSilentAfter: Duration?
    ) -> String? {
        guard let issued = issuedAt else {
            return configured == nil ? nil : "never seen"
        }
        let limit = (configured?.silentAfter ?? defaultSilentAfter).map { $0.milliseconds / 1000 }
        let deadline: Int64
        if let limit {
            deadline = issued.saturatingAdd(limit)
        } else if let expires = expiresAt {
            deadline = expires
        } else {
            deadline = issued.saturatingAdd(legacyAfterSeconds)
        }
        guard now > deadline else { return nil }
        return "silent: last manifest issued \(Age.text(now.saturatingSubtract(issued))) ago"
    }

    /// Always-on devices are expected to talk: their silence is crit, a workstation's warn.
    static func severity(_ configured: DeviceConfiguration?) -> CheckStatus {
        configured?.alwaysOn == true ? .crit : .warn
    }
}

/// "3m", "2h5m", "4d": the age texts of reports, to two units at most.
enum Age {
    static func text(_ seconds: Int64) -> String {
        let seconds = max(0, seconds)
        let precision: Int64 = seconds < 60 ? 1 : seconds < 86400 ? 60 : 3600
        return DurationText.format(.seconds(seconds / precision * precision))
    }
}
