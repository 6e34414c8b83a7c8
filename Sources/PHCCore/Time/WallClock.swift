#if canImport(Glibc)
    internal import Glibc
#endif

/// Reads the time: wall clock for timestamps, monotonic clock for durations.
///
/// Checks and the runner take a `WallClock` so tests can pin "now".
public struct WallClock: Sendable {
    private let nowProvider: @Sendable () -> Timestamp

    public init(now: @escaping @Sendable () -> Timestamp) {
        self.nowProvider = now
    }

    /// The system clock.
    public static let system = WallClock {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(secondsSinceEpoch: Int64(spec.tv_sec))
    }

    /// A clock stopped at `timestamp`.
    public static func fixed(_ timestamp: Timestamp) -> WallClock {
        WallClock { timestamp }
    }

    public func now() -> Timestamp { nowProvider() }
}

/// Monotonic milliseconds, for measuring how long something took.
public enum Monotonic {
    public static func nanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Whole milliseconds elapsed since `start` (a value from ``nanoseconds()``).
    public static func millisecondsSince(_ start: Int64) -> Int64 {
        (nanoseconds() - start) / 1_000_000
    }
}
