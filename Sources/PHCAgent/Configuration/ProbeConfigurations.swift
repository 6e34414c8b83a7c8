public import PHCConfig
internal import PHCCore

/// `checks.gpu`: NVIDIA GPUs through `nvidia-smi`.
public struct GPUCheckConfiguration: Sendable, Equatable {
    /// A name on PATH or a path.
    public var nvidiaSMI: String
    public var timeout: Duration
    public var temperatureC: Thresholds<Double>
    /// Memory in use, as a share of the GPU's memory (`95%`) or absolute (`11GiB`).
    public var memoryUsed: Thresholds<Amount>
    /// The detailed `nvidia-smi -q -x` query runs every this many runs (and on `phc-agent check`).
    public var detailsEvery: Int

    public init(
        nvidiaSMI: String = "nvidia-smi", timeout: Duration = .seconds(10),
        temperatureC: Thresholds<Double> = Thresholds(warn: 80, crit: 90),
        memoryUsed: Thresholds<Amount> = Thresholds(warn: .percent(95)), detailsEvery: Int = 10
    ) {
        self.nvidiaSMI = nvidiaSMI
        self.timeout = timeout
        self.temperatureC = temperatureC
        self.memoryUsed = memoryUsed
        self.detailsEvery = detailsEvery
    }
}

/// Where a bearer token comes from: one key of an env file. The token itself is
/// read at check time and never written anywhere.
public struct TokenSource: Sendable, Equatable {
    public var file: String
    public var key: String

    public init(file: String, key: String) {
        self.file = file
        self.key = key
    }
}

/// `checks.inference[]`: an OpenAI-compatible inference server.
public struct InferenceCheckConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case vllm, openai, ollama
    }

    public var name: String
    /// The server's base URL, such as `http://127.0.0.1:8000`.
    public var url: String
    public var kind: Kind
    /// The served model name clients use (`qwen2.5-7b-armitage`).
    public var model: String
    /// Stopped on purpose is fine (a workstation in gaming mode).
    public var optional: Bool
    public var timeout: Duration
    public var maxModelLength: Int64?
    public var token: TokenSource?

    public init(
        name: String, url: String, kind: Kind = .vllm, model: String, optional: Bool = false,
        timeout: Duration = .seconds(5), maxModelLength: Int64? = nil, token: TokenSource? = nil
    ) {
        self.name = name
        self.url = url
        self.kind = kind
        self.model = model
        self.optional = optional
        self.timeout = timeout
        self.maxModelLength = maxModelLength
        self.token = token
    }
}

/// `checks.http[]`: any HTTP endpoint.
public struct HTTPCheckConfiguration: Sendable, Equatable {
    public var name: String
    public var url: String
    public var expectStatus: Int
    /// A substring the body must contain.
    public var expectBody: String?
    /// Top-level JSON fields and the values they must have (`installed: true`).
    public var expectJSON: [String: JSONExpectation]
    public var timeout: Duration
    public var token: TokenSource?
    public var followRedirects: Bool

    public init(
        name: String, url: String, expectStatus: Int = 200, expectBody: String? = nil,
        expectJSON: [String: JSONExpectation] = [:], timeout: Duration = .seconds(5), token: TokenSource? = nil,
        followRedirects: Bool = false
    ) {
        self.name = name
        self.url = url
        self.expectStatus = expectStatus
        self.expectBody = expectBody
        self.expectJSON = expectJSON
        self.timeout = timeout
        self.token = token
        self.followRedirects = followRedirects
    }
}

/// An expected JSON value, written in YAML as `true`, `42` or `"text"`.
public enum JSONExpectation: Sendable, Equatable, CustomStringConvertible {
    case bool(Bool)
    case number(Double)
    case string(String)

    public var description: String {
        switch self {
        case .bool(let value): String(value)
        case .number(let value): value == value.rounded() ? String(Int64(saturating: value)) : String(value)
        case .string(let value): "\"\(value)\""
        }
    }
}

/// `checks.containers`: podman containers.
public struct ContainersCheckConfiguration: Sendable, Equatable {
    public var podman: String
    public var timeout: Duration
    /// Containers that must exist and run; others are reported only when unhealthy or restarting.
    public var expect: [String]

    public init(podman: String = "podman", timeout: Duration = .seconds(10), expect: [String] = []) {
        self.podman = podman
        self.timeout = timeout
        self.expect = expect
    }
}

/// `checks.tailscale`.
public struct TailscaleCheckConfiguration: Sendable, Equatable {
    public var tailscale: String
    public var timeout: Duration
    /// How close the node key's expiry may come.
    public var keyExpiry: Thresholds<Duration>

    public init(
        tailscale: String = "tailscale", timeout: Duration = .seconds(5),
        keyExpiry: Thresholds<Duration> = Thresholds(warn: .seconds(30 * 86400), crit: .seconds(7 * 86400))
    ) {
        self.tailscale = tailscale
        self.timeout = timeout
        self.keyExpiry = keyExpiry
    }
}

/// `checks.kernel`: new kernel-log lines matching patterns.
public struct KernelLogCheckConfiguration: Sendable, Equatable {
    /// Case-sensitive substrings; a line matching any is counted.
    public var patterns: [String]
    /// The kernel log device (`/dev/kmsg`).
    public var source: String

    public static let defaultPatterns = ["NVRM: Xid", "CIFS: VFS", "BTRFS error", "critical medium error"]

    public init(patterns: [String] = Self.defaultPatterns, source: String = "/dev/kmsg") {
        self.patterns = patterns
        self.source = source
    }
}
