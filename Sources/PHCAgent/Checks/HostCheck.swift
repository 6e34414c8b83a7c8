public import PHCCore
public import Logging

/// One family of checks the agent runs, such as a mount or the systemd units.
///
/// A check never throws: whatever goes wrong becomes a result with status
/// `unknown` or `crit` and a one-line summary. It must return within
/// ``timeout``; the runner reports it `unknown` if it does not.
public protocol HostCheck: Sendable {
    /// The ids of the results this check produces (`mount:/mnt/space`, or one per unit).
    var resultIDs: [String] { get }
    /// The check family (`mount`, `secrets`, `unit`…), used for results the runner has to make up.
    var kind: String { get }
    /// The longest this check may take.
    var timeout: Duration { get }
    /// Runs the check.
    func run(in context: CheckContext) async -> CheckReport
}

/// What a check returns: its results and what it wants remembered until the next run.
public struct CheckReport: Sendable {
    public var results: [CheckResult]
    /// Per result id, small values kept in the agent state (a restart count, a boot id).
    public var memory: [String: [String: String]]

    public init(results: [CheckResult], memory: [String: [String: String]] = [:]) {
        self.results = results
        self.memory = memory
    }

    public init(_ result: CheckResult, memory: [String: String]? = nil) {
        self.results = [result]
        self.memory = memory.map { [result.id: $0] } ?? [:]
    }
}

/// What a check may use while it runs.
public struct CheckContext: Sendable {
    public var device: String
    public var now: Timestamp
    public var stateDir: String
    /// What checks remembered at the previous `run`, per result id.
    public var memory: [String: [String: String]]
    /// Verdicts of the configured mounts, so checks of paths under a hung mount skip instead of hanging.
    public var mounts: MountGate
    public var probe: FilesystemProbe
    public var processes: ProcessRunner
    public var http: CurlHTTPClient
    public var logger: Logger
    /// Run the slower, detailed queries now (`phc-agent check` asks for them).
    public var detailed: Bool

    public init(
        device: String, now: Timestamp, stateDir: String, memory: [String: [String: String]] = [:],
        mounts: MountGate = MountGate(), probe: FilesystemProbe, processes: ProcessRunner = ProcessRunner(),
        http: CurlHTTPClient = CurlHTTPClient(), logger: Logger, detailed: Bool = false
    ) {
        self.device = device
        self.now = now
        self.stateDir = stateDir
        self.memory = memory
        self.mounts = mounts
        self.probe = probe
        self.processes = processes
        self.http = http
        self.logger = logger
        self.detailed = detailed
    }
}

/// The responsiveness verdicts of the configured mounts, available while checks run.
///
/// Checks of paths on a share (markers, secrets, the devices folder) first ask
/// here whether the mount holding the path answered; a path under a mount that
/// is hung or missing is skipped with that reason, instead of blocking on it.
public struct MountGate: Sendable {
    private let verdicts: [(mountPoint: String, verdict: Task<String?, Never>)]

    public init() {
        verdicts = []
    }

    /// - Parameter verdicts: per mount point, a task yielding nil when the mount
    ///   answered, or the reason it is not usable.
    public init(verdicts: [String: Task<String?, Never>]) {
        // Deepest mount point first, so /space/devices wins over /space.
        self.verdicts = verdicts.sorted { $0.key.count > $1.key.count }.map { ($0.key, $0.value) }
    }

    /// Why `path` should not be touched (`/mnt/space is not responding`), or nil when it may.
    public func blocker(for path: String) async -> String? {
        guard let entry = verdicts.first(where: { Self.path(path, isUnder: $0.mountPoint) }) else { return nil }
        guard let reason = await entry.verdict.value else { return nil }
        return "\(entry.mountPoint) \(reason)"
    }

    /// Whether a configured mount holds `path`.
    public func covers(_ path: String) -> Bool {
        verdicts.contains { Self.path(path, isUnder: $0.mountPoint) }
    }

    static func path(_ path: String, isUnder mountPoint: String) -> Bool {
        mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
    }
}
