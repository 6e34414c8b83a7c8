public import PHCConfig

/// Everything `phc-agent` needs to know, read from YAML (see ``AgentConfiguration/load(path:)``).
///
/// Every value has a default except what only the operator can know; relative
/// paths are resolved against the folder of the configuration file.
public struct AgentConfiguration: Sendable {
    /// The configuration file this came from.
    public var file: String
    /// Device name: the folder under `devicesDir` and the manifest's `device`. Lower-case.
    public var device: String
    /// Shared folder holding one folder per device (`/space/devices`). Never created by the agent:
    /// when it is missing the share is not mounted, and manifests go to the spool.
    public var devicesDir: String
    /// Local folder for the sequence number, spool and probe records (`/var/lib/phc-agent`).
    public var stateDir: String
    /// PKCS#8 PEM Ed25519 private key.
    public var keyFile: String
    /// How often the agent runs; `expires_at` = `issued_at` + 3 × interval.
    public var interval: Duration
    /// The whole run finishes inside this, hung mounts included.
    public var deadline: Duration
    /// Also write the legacy `<devicesDir>/<device>/<user>/_status.json` for this user.
    public var legacyStatusUser: String?
    /// Most manifests kept in the local spool while the share is down; the oldest are dropped first.
    public var spoolLimit: Int
    public var mounts: [MountCheckConfiguration]
    public var secrets: SecretsConfiguration
    public var systemd: SystemdConfiguration
    public var markers: [MarkerCheckConfiguration]
    public var system: SystemCheckConfiguration
    public var gpu: GPUCheckConfiguration?
    public var inference: [InferenceCheckConfiguration] = []
    public var http: [HTTPCheckConfiguration] = []
    public var containers: ContainersCheckConfiguration?
    public var tailscale: TailscaleCheckConfiguration?
    public var kernel: KernelLogCheckConfiguration?
    public var processes: [ProcessCheckConfiguration] = []

    public static let defaultPath = "/etc/phc/agent.yaml"

    /// The folders `run` writes in: the state folder, the devices folder (the manifest, the
    /// legacy status file) and every mount with a write probe, in that order, without repeats.
    /// A sandbox that makes the rest of the file system read-only must leave these writable.
    public var writablePaths: [String] {
        var paths: [String] = []
        for path in [stateDir, devicesDir] + mounts.filter(\.writeProbe).map(\.path) where !paths.contains(path) {
            paths.append(path)
        }
        return paths
    }
}

/// `checks.mounts[]`.
public struct MountCheckConfiguration: Sendable, Equatable {
    public var path: String
    public var fstype: String?
    public var source: String?
    public var timeout: Duration
    public var readOnly: Bool
    public var writeProbe: Bool
    public var minFree: Thresholds<Amount>?

    public init(
        path: String, fstype: String? = nil, source: String? = nil, timeout: Duration = .seconds(5),
        readOnly: Bool = false, writeProbe: Bool = false, minFree: Thresholds<Amount>? = nil
    ) {
        self.path = path
        self.fstype = fstype
        self.source = source
        self.timeout = timeout
        self.readOnly = readOnly
        self.writeProbe = writeProbe
        self.minFree = minFree
    }
}

/// `checks.secrets`.
public struct SecretsConfiguration: Sendable, Equatable {
    /// An Ansible `secrets-map.yml`; its entries whose `hosts` name this device are checked too.
    public var map: String?
    /// Age limits for files that come from the map (explicit files carry their own).
    public var maxAge: Thresholds<Duration>?
    public var files: [SecretFileConfiguration]

    public init(map: String? = nil, maxAge: Thresholds<Duration>? = nil, files: [SecretFileConfiguration] = []) {
        self.map = map
        self.maxAge = maxAge
        self.files = files
    }
}

/// One env file and what is expected of it.
public struct SecretFileConfiguration: Sendable, Equatable {
    public var path: String
    public var owner: String?
    public var group: String?
    /// Exact permission bits, such as 0o600.
    public var mode: UInt32?
    /// Keys that must be present with a non-empty value.
    public var keys: [String]
    public var maxAge: Thresholds<Duration>?
    /// Where the expectation came from, for summaries: `config` or `secrets-map service litellm`.
    public var origin: String
    /// Expectations that could not be resolved (templated in the map) and were skipped.
    public var skipped: [String]

    public init(
        path: String, owner: String? = nil, group: String? = nil, mode: UInt32? = nil, keys: [String] = [],
        maxAge: Thresholds<Duration>? = nil, origin: String = "config", skipped: [String] = []
    ) {
        self.path = path
        self.owner = owner
        self.group = group
        self.mode = mode
        self.keys = keys
        self.maxAge = maxAge
        self.origin = origin
        self.skipped = skipped
    }
}

/// `checks.systemd`.
public struct SystemdConfiguration: Sendable, Equatable {
    public var units: [UnitExpectation]
    public var timers: [TimerExpectation]
    /// The `systemctl` to run (a name on PATH or a path).
    public var systemctl: String
    public var timeout: Duration
    /// The `podman` that looks at units' container payloads (`checks.containers.podman`).
    public var podman = "podman"

    public init(
        units: [UnitExpectation] = [], timers: [TimerExpectation] = [], systemctl: String = "systemctl",
        timeout: Duration = .seconds(5)
    ) {
        self.units = units
        self.timers = timers
        self.systemctl = systemctl
        self.timeout = timeout
    }

    public var isEmpty: Bool { units.isEmpty && timers.isEmpty }
}

/// A unit that should be active. For a oneshot unit that stays `active (exited)`
/// while its real work runs elsewhere, `process` (a process name) or `container`
/// (a podman container) names that work, and the check looks at it instead.
public struct UnitExpectation: Sendable, Equatable {
    public var name: String
    public var process: String?
    public var container: String?

    public init(name: String, process: String? = nil, container: String? = nil) {
        self.name = name
        self.process = process
        self.container = container
    }
}

/// A timer that should be enabled and have fired recently.
public struct TimerExpectation: Sendable, Equatable {
    public var name: String
    /// Longest acceptable time since the timer last fired; `crit` beyond it.
    public var maxSinceLast: Duration?

    public init(name: String, maxSinceLast: Duration? = nil) {
        self.name = name
        self.maxSinceLast = maxSinceLast
    }
}

/// `checks.markers[]`: a JSON success marker written by a backup job.
public struct MarkerCheckConfiguration: Sendable, Equatable {
    public var path: String
    public var maxAge: Thresholds<Duration>
    /// Numeric fields of the marker that must be present and above zero (`bytes`, `files`).
    public var nonzero: [String]

    public init(path: String, maxAge: Thresholds<Duration>, nonzero: [String] = []) {
        self.path = path
        self.maxAge = maxAge
        self.nonzero = nonzero
    }
}

/// `checks.system`: limits for the always-on `system` check.
public struct SystemCheckConfiguration: Sendable, Equatable {
    /// 1-minute load average divided by the number of CPUs.
    public var loadPerCPU: Thresholds<Double>
    /// Minimum `MemAvailable`.
    public var memoryAvailable: Thresholds<Amount>
    /// Minimum free space on `/`.
    public var rootFree: Thresholds<Amount>

    public init(
        loadPerCPU: Thresholds<Double> = Thresholds(warn: 2, crit: 4),
        memoryAvailable: Thresholds<Amount> = Thresholds(warn: .percent(10), crit: .percent(5)),
        rootFree: Thresholds<Amount> = Thresholds(warn: .percent(10), crit: .percent(5))
    ) {
        self.loadPerCPU = loadPerCPU
        self.memoryAvailable = memoryAvailable
        self.rootFree = rootFree
    }
}

/// `checks.processes[]`: named processes, their count, CPU use and memory.
public struct ProcessCheckConfiguration: Sendable, Equatable {
    /// The check id is `process:<name>`; without `match`, also the `comm` to look for.
    public var name: String
    /// A regular expression searched in the command line (arguments joined by spaces), instead of `comm`.
    public var match: String?
    public var min: Int = 1
    public var max: Int?
    /// CPU use in % of one CPU since the previous run, all threads and processes together.
    public var cpuPercent: Thresholds<Double>?
    /// Runs in a row over a CPU limit before it counts (`for: 3`).
    public var cpuFor: Int = 1
    /// Resident memory of the matching processes together (bytes, or % of the host's memory).
    public var memory: Thresholds<Amount>?

    public init(name: String, match: String? = nil) {
        self.name = name
        self.match = match
    }
}
