extension Duration {
    /// Whole milliseconds, saturating at the ends of `Int64` (a duration built from a device's
    /// times can be absurd; it must not trap).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.saturatingMultiply(1000).saturatingAdd(attoseconds / 1_000_000_000_000_000)
    }

    /// Seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
