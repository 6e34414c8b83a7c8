#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCConfig
internal import PHCCore

/// `process:<name>`: processes found by `comm` (or a command-line regex), how many run against
/// `min`/`max`, their CPU use since the previous run, and their resident memory.
///
/// CPU use comes from `/proc/<pid>/stat` (user + system time, which counts every thread), summed
/// over the matching processes and divided by the wall time between the two readings: in % of one
/// CPU, so a process using four cores shows 400 %. "tailscaled at 361 % CPU" is what this catches.
/// A CPU limit can be asked to hold for several runs in a row (`for`) before it counts. The first
/// run (and `phc-agent check`) measures over a short sample instead.
public struct ProcessCheck: HostCheck {
    public let configuration: ProcessCheckConfiguration
    let procRoot: String
    /// How long the first run samples when there is no previous reading.
    let sample: Duration

    public init(
        _ configuration: ProcessCheckConfiguration, procRoot: String = "/proc", sample: Duration = .milliseconds(500)
    ) {
        self.configuration = configuration
        self.procRoot = procRoot
        self.sample = sample
    }

    public var id: String { "process:\(configuration.name)" }
    public var resultIDs: [String] { [id] }
    public var kind: String { "process" }
    public var timeout: Duration { .seconds(3) }

    /// One process as `/proc/<pid>/stat` has it.
    struct Sample: Equatable {
        var pid: Int32
        /// Clock ticks since boot when it started: with the pid, identifies the process.
        var startTicks: Int64
        /// User + system time of all its threads, in clock ticks.
        var cpuTicks: Int64
        var residentBytes: Int64
        var threads: Int64

        var key: String { "\(pid):\(startTicks)" }
    }

    /// The readings remembered between runs: when, and each process's CPU ticks.
    struct Reading: Equatable {
        var bootMilliseconds: Int64
        var ticks: [String: Int64]

        init(bootMilliseconds: Int64, ticks: [String: Int64]) {
            self.bootMilliseconds = bootMilliseconds
            self.ticks = ticks
        }

        init?(memory: [String: String]?) {
            guard let memory, let time = memory["at_ms"].flatMap(Int64.init) else { return nil }
            bootMilliseconds = time
            var ticks: [String: Int64] = [:]
            for entry in (memory["ticks"] ?? "").split(separator: ",") {
                let parts = entry.split(separator: "=")
                guard parts.count == 2, let value = Int64(parts[1]) else { continue }
                ticks[String(parts[0])] = value
            }
            self.ticks = ticks
        }

        /// At most this many processes are remembered (a broad regex must not bloat the state file).
        static let maxRemembered = 256

        var memory: [String: String] {
            let entries = ticks.sorted { $0.key < $1.key }.prefix(Self.maxRemembered).map { "\($0.key)=\($0.value)" }
            return ["at_ms": String(bootMilliseconds), "ticks": entries.joined(separator: ",")]
        }
    }

    public func run(in context: CheckContext) async -> CheckReport {
        let previous = Reading(memory: context.memory[id])
        let overRuns = context.memory[id]?["over"].flatMap(Int.init) ?? 0
        let outcome = await BlockingWork.run(timeout: timeout) { [self] in
            evaluate(previous: previous, overRuns: overRuns)
        }
        guard let (result, memory) = outcome else {
            return CheckReport(
                CheckResult(id: id, kind: kind, status: .unknown, summary: "no answer from \(procRoot) in time"))
        }
        return CheckReport(result, memory: memory)
    }

    func evaluate(previous: Reading?, overRuns: Int) -> (CheckResult, [String: String]) {
        let matcher: Regex<AnyRegexOutput>?
        if let pattern = configuration.match {
            guard let compiled = try? Regex(pattern) else {
                return (finish(.unknown, "match is not a regular expression"), [:])
            }
            matcher = compiled
        } else {
            matcher = nil
        }
        var samples = find(matcher)
        var before = previous
        var now = Self.bootMilliseconds()
        // Without an earlier reading (first run, another boot, `phc-agent check`): a short sample.
        if before == nil || before!.bootMilliseconds >= now, !samples.isEmpty {
            before = Reading(
                bootMilliseconds: now, ticks: Dictionary(samples.map { ($0.key, $0.cpuTicks) }) { a, _ in a })
            usleep(UInt32(max(10, sample.milliseconds) * 1000))
            samples = find(matcher)
            now = Self.bootMilliseconds()
        }
        let reading = Reading(
            bootMilliseconds: now, ticks: Dictionary(samples.map { ($0.key, $0.cpuTicks) }) { a, _ in a })

        var findings = Findings()
        var details: [String] = []
        let count = samples.count
        let resident = samples.reduce(Int64(0)) { $0.saturatingAdd($1.residentBytes) }
        var observations: [String: ObservationValue] = [
            "running": .int(Int64(count)), "rss_bytes": .int(resident),
            "threads": .int(samples.reduce(Int64(0)) { $0 + $1.threads }),
        ]
        let what = configuration.match == nil ? "comm \(configuration.name)" : "matching /\(configuration.match!)/"
        if count < configuration.min {
            findings.add(
                .crit,
                count == 0
                    ? "not running (no process with \(what))"
                    : "\(count) running, expected at least \(configuration.min)")
        } else if let max = configuration.max, count > max {
            findings.add(.warn, "\(count) running, expected at most \(max)")
        }
        details.append("\(count) running")

        var over = 0
        if let before, count > 0 {
            let elapsed = now - before.bootMilliseconds
            var used: Int64 = 0
            for sample in samples {
                // A process started since the last reading used all its time within the interval.
                used = used.saturatingAdd(max(0, sample.cpuTicks - (before.ticks[sample.key] ?? 0)))
            }
            if elapsed > 0 {
                let ticksPerSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
                let percent = Double(used) / ticksPerSecond / (Double(elapsed) / 1000) * 100
                let rounded = (percent * 10).rounded() / 10
                observations["cpu_percent"] = .double(rounded)
                details.append("CPU \(Self.format(rounded)) %")
                if let limits = configuration.cpuPercent {
                    let level: CheckStatus? =
                        limits.crit.map { percent > $0 } == true
                        ? .crit : limits.warn.map { percent > $0 } == true ? .warn : nil
                    if let level {
                        over = overRuns + 1
                        let limit = level == .crit ? limits.crit! : limits.warn!
                        if over >= configuration.cpuFor {
                            findings.add(
                                level,
                                "CPU \(Self.format(rounded)) % is over \(Self.format(limit)) %"
                                    + (configuration.cpuFor > 1 ? " for \(over) runs" : ""))
                        } else {
                            details.append("over \(Self.format(limit)) % for \(over) of \(configuration.cpuFor) runs")
                        }
                    }
                }
            }
        }
        if count > 0 {
            details.append("\(ByteCount.format(resident)) resident")
            if let limits = configuration.memory {
                let total =
                    SystemCheck.meminfo(
                        (try? FileReader.read("\(procRoot)/meminfo", limit: 1024 * 1024)).map {
                            String(decoding: $0, as: UTF8.self)
                        } ?? ""
                    )["MemTotal"] ?? 0
                if let crit = limits.crit, resident > crit.bytes(ofTotal: total) {
                    findings.add(.crit, "\(ByteCount.format(resident)) resident, over \(crit)")
                } else if let warn = limits.warn, resident > warn.bytes(ofTotal: total) {
                    findings.add(.warn, "\(ByteCount.format(resident)) resident, over \(warn)")
                }
            }
        }
        var memory = reading.memory
        memory["over"] = String(over)
        return (
            finish(findings.status, findings.summary(details: details.joined(separator: ", ")), observations), memory
        )
    }

    /// The matching processes (never the agent itself).
    func find(_ matcher: Regex<AnyRegexOutput>?) -> [Sample] {
        let own = getpid()
        let comm = String(configuration.name.prefix(15))
        var found: [Sample] = []
        for name in (try? Directory.list(procRoot)) ?? [] {
            guard let pid = Int32(name), pid != own, let stat = Self.stat(procRoot: procRoot, pid: pid) else {
                continue
            }
            if let matcher {
                guard let raw = try? FileReader.read("\(procRoot)/\(name)/cmdline", limit: 64 * 1024) else { continue }
                let line = String(decoding: raw.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self).trimmed()
                guard !line.isEmpty, (try? matcher.firstMatch(in: line)) != nil else { continue }
            } else {
                guard stat.comm == comm else { continue }
            }
            found.append(
                Sample(
                    pid: pid, startTicks: stat.start, cpuTicks: stat.cpu, residentBytes: stat.rss, threads: stat.threads
                ))
        }
        return found.sorted { $0.pid < $1.pid }
    }

    /// Parses `/proc/<pid>/stat`: `pid (comm) state ppid …`, where comm may hold spaces and parentheses.
    static func stat(procRoot: String, pid: Int32) -> (
        comm: String, cpu: Int64, start: Int64, rss: Int64, threads: Int64
    )? {
        guard let raw = try? FileReader.read("\(procRoot)/\(pid)/stat", limit: 4096) else { return nil }
        let text = String(decoding: raw, as: UTF8.self)
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else { return nil }
        let comm = String(text[text.index(after: open)..<close])
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime 14, stime 15, num_threads 20, starttime 22, rss 24.
        guard fields.count > 21, let utime = Int64(fields[11]), let stime = Int64(fields[12]),
            let threads = Int64(fields[17]), let start = Int64(fields[19]), let pages = Int64(fields[21])
        else { return nil }
        let pageSize = Int64(max(1, sysconf(Int32(_SC_PAGESIZE))))
        return (comm, utime.saturatingAdd(stime), start, pages.saturatingMultiply(pageSize), threads)
    }

    /// Milliseconds of CLOCK_BOOTTIME: comparable between runs of the same boot, suspend included.
    static func bootMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_BOOTTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(saturating: value)) : String((value * 10).rounded() / 10)
    }

    private func finish(_ status: CheckStatus, _ summary: String, _ observations: [String: ObservationValue] = [:])
        -> CheckResult
    {
        CheckResult(id: id, kind: kind, status: status, summary: summary, observations: observations)
    }
}
