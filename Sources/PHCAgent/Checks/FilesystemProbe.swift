#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import CPHCSystem
public import PHCCore
internal import PHCConfig

/// statfs (and an optional write probe) of a path, in a separate process, under a timeout.
///
/// A hung network or FUSE mount blocks `statfs` in the kernel, possibly for
/// ever. The probe therefore runs in its own process (see `phc_probe_start`),
/// and the agent walks away from it when time runs out. Like node_exporter's
/// stuck-mount tracking, a probe that did not answer is recorded under
/// `<state_dir>/probes/`; while it is still blocked, later runs (and later
/// calls in this run) do not start another one on the same path. So a hung
/// mount costs at most one blocked process, however many runs pass, and that
/// process ends by itself when the mount recovers.
public struct FilesystemProbe: Sendable {
    /// What statfs said.
    public struct Usage: Sendable, Equatable {
        public var totalBytes: Int64
        public var freeBytes: Int64
        /// Free to unprivileged users (`f_bavail`): what `df` shows as available.
        public var availableBytes: Int64
        public var totalInodes: Int64
        public var freeInodes: Int64
        /// `ST_RDONLY` set.
        public var readOnly: Bool
        public var statfsMilliseconds: Int64
        /// How long the write probe took; nil when none was asked for.
        public var writeMilliseconds: Int64?
    }

    public enum Outcome: Sendable, Equatable {
        case completed(Usage)
        /// statfs or a write-probe step failed with `errno`.
        case failed(step: String, errno: Int32, usage: Usage?)
        /// No answer within the timeout; the probe process `pid` was left behind, recorded.
        case timedOut(pid: Int32)
        /// A probe from an earlier run (or call) on this path is still blocked; no new one was started.
        case stillBlocked(pid: Int32, since: Timestamp)
        case couldNotStart(reason: String)
    }

    let recordDirectory: String
    let clock: WallClock

    /// - Parameter stateDirectory: the agent's state folder; records go in its `probes/` folder.
    public init(stateDirectory: String, clock: WallClock = .system) {
        self.recordDirectory = stateDirectory + "/probes"
        self.clock = clock
    }

    /// Probes `path`. With `writeProbeName`, also creates, fsyncs, renames and removes
    /// `<path>/<writeProbeName>` (a dot-name ending in `.tmp`, which readers ignore).
    public func probe(path: String, writeProbeName: String? = nil, timeout: Duration) async -> Outcome {
        await BlockingWork.run { probeBlocking(path: path, writeProbeName: writeProbeName, timeout: timeout) }
    }

    func probeBlocking(path: String, writeProbeName: String?, timeout: Duration) -> Outcome {
        let recordPath = recordDirectory + "/" + Self.recordName(for: path)
        if let record = ProbeRecord.load(recordPath) {
            if record.isStillRunning() {
                return .stillBlocked(pid: record.pid, since: record.since)
            }
            try? Directory.removeFile(recordPath)
        }

        var result = phc_probe_result()
        var pid: pid_t = 0
        let timeoutMilliseconds = Int32(clamping: max(1, timeout.milliseconds))
        let rc: Int32
        if let writeProbeName {
            rc = phc_probe_run(
                path, path + "/" + writeProbeName, path + "/" + writeProbeName + ".renamed.tmp", timeoutMilliseconds,
                &result, &pid)
        } else {
            rc = phc_probe_run(path, nil, nil, timeoutMilliseconds, &result, &pid)
        }
        switch rc {
        case 0:
            break
        case ETIMEDOUT:
            let record = ProbeRecord(
                path: path, pid: pid, startTicks: ProbeRecord.startTicks(of: pid) ?? 0, since: clock.now())
            record.save(recordPath, directory: recordDirectory)
            return .timedOut(pid: pid)
        case EPIPE:
            return .couldNotStart(reason: "the probe process ended without an answer")
        default:
            return .couldNotStart(reason: SystemError.describe(rc))
        }

        let usage: Usage? =
            result.failed_step == Int32(PHC_PROBE_STEP_STATFS.rawValue)
            ? nil
            : Usage(
                totalBytes: Int64(clamping: result.blocks &* result.block_size),
                freeBytes: Int64(clamping: result.blocks_free &* result.block_size),
                availableBytes: Int64(clamping: result.blocks_available &* result.block_size),
                totalInodes: Int64(clamping: result.files),
                freeInodes: Int64(clamping: result.files_free),
                readOnly: result.flags & UInt64(ST_RDONLY) != 0,
                statfsMilliseconds: result.statfs_ns / 1_000_000,
                writeMilliseconds: result.write_probe_ns >= 0 ? result.write_probe_ns / 1_000_000 : nil)
        if result.failed_step != Int32(PHC_PROBE_STEP_NONE.rawValue) {
            return .failed(step: Self.stepName(result.failed_step), errno: result.error_number, usage: usage)
        }
        return .completed(usage!)
    }

    static func stepName(_ step: Int32) -> String {
        switch UInt32(step) {
        case PHC_PROBE_STEP_STATFS.rawValue: "statfs"
        case PHC_PROBE_STEP_CREATE.rawValue: "create"
        case PHC_PROBE_STEP_WRITE.rawValue: "write"
        case PHC_PROBE_STEP_FSYNC.rawValue: "fsync"
        case PHC_PROBE_STEP_RENAME.rawValue: "rename"
        case PHC_PROBE_STEP_UNLINK.rawValue: "unlink"
        default: "probe"
        }
    }

    /// A file name for the record of `path` (a digest, since paths may hold any character).
    static func recordName(for path: String) -> String {
        String(Digest.sha256Hex(path.utf8).prefix(24)) + ".json"
    }
}

/// The record of a probe process that did not answer in time.
struct ProbeRecord: Codable, Equatable {
    var path: String
    var pid: Int32
    /// Field 22 of /proc/<pid>/stat: tells our process apart from a later one with a recycled pid.
    var startTicks: UInt64
    var since: Timestamp

    enum CodingKeys: String, CodingKey {
        case path, pid, since
        case startTicks = "start_ticks"
    }

    static func load(_ path: String) -> ProbeRecord? {
        guard let data = try? FileReader.read(path, limit: 64 * 1024) else { return nil }
        return try? JSONDecoder().decode(ProbeRecord.self, from: data)
    }

    func save(_ path: String, directory: String) {
        guard let data = try? JSONEncoder().encode(self) else { return }
        try? Directory.create(directory, mode: 0o700)
        try? AtomicFile.write(data, to: path, mode: 0o600)
    }

    /// Whether the recorded probe process still exists (same pid, same start time).
    func isStillRunning() -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let ticks = Self.startTicks(of: pid) else { return false }
        return startTicks == 0 || ticks == startTicks
    }

    static func startTicks(of pid: Int32) -> UInt64? {
        guard let data = try? FileReader.read("/proc/\(pid)/stat", limit: 8192) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // "pid (comm) state ppid …": comm may hold spaces and ')', so split after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the comm, field 3 (state) is index 0, so field 22 (starttime) is index 19.
        guard fields.count > 19 else { return nil }
        if fields[0] == "Z" || fields[0] == "X" { return nil }  // a zombie is not blocked anywhere
        return UInt64(fields[19])
    }
}
