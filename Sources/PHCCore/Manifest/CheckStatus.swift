/// The result of one check, in the four values Nagios plugins use.
///
/// Ordered by severity: `ok` < `warn` < `unknown` < `crit`. A check that could not
/// find out is `unknown`, never `ok`; `crit` still outranks it, because a known
/// failure is worse news than a missing answer.
public enum CheckStatus: String, Codable, Sendable, CaseIterable, Comparable {
    case ok
    case warn
    case crit
    case unknown

    /// Severity rank used to find the worst status.
    public var severity: Int {
        switch self {
        case .ok: 0
        case .warn: 1
        case .unknown: 2
        case .crit: 3
        }
    }

    /// The exit status a Nagios plugin would use: 0 ok, 1 warn, 2 crit, 3 unknown.
    public var nagiosExitCode: Int32 {
        switch self {
        case .ok: 0
        case .warn: 1
        case .crit: 2
        case .unknown: 3
        }
    }

    public static func < (lhs: CheckStatus, rhs: CheckStatus) -> Bool {
        lhs.severity < rhs.severity
    }

    /// The worst of `statuses`, `ok` when there are none.
    public static func worst(_ statuses: some Sequence<CheckStatus>) -> CheckStatus {
        statuses.max() ?? .ok
    }

    /// `text` in this status's terminal colour (green, yellow, red, magenta).
    public func painted(_ text: String) -> String {
        let code =
            switch self {
            case .ok: "32"
            case .warn: "33"
            case .crit: "31"
            case .unknown: "35"
            }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
