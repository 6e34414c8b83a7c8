/// A moment on the monotonic clock by which some work must be done: work in
/// several steps asks it how much time is left for the next one.
public struct Deadline: Sendable {
    /// On the scale of ``Monotonic/nanoseconds()``.
    public let nanoseconds: Int64

    /// `duration` from now.
    public init(after duration: Duration) {
        let (seconds, attoseconds) = duration.components
        nanoseconds = Monotonic.nanoseconds() + seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The time left; negative once the deadline has passed.
    public var remaining: Duration { .nanoseconds(nanoseconds - Monotonic.nanoseconds()) }

    public var hasPassed: Bool { Monotonic.nanoseconds() >= nanoseconds }
}
