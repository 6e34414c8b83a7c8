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

/// `system`: load per CPU, memory available, free space on `/`, and whether the
/// host rebooted since the previous run (a changed boot id: `warn`, once).
public struct SystemCheck: HostCheck {
    public let configuration: SystemCheckConfiguration
    /// Where /proc is (a fixture folder in tests).
    let procRoot: String

    public init(_ configuration: SystemCheckConfiguration, procRoot: String = "/proc") {
        self.configuration = configuration
        self.procRoot = procRoot
    }

    public var resultIDs: [String] { ["system"] }
    public var kind: String { "system" }
    public var timeout: Duration { .seconds(2) }

    public func run(in context: CheckContext) async -> CheckReport {
        let previousBoot = context.memory["system"]?["boot_id"]
        guard
            case (let result, let bootID)? = await BlockingWork.run(
                timeout: timeout, { evaluate(previousBootID: previousBoot) })
        else {
            return CheckReport(CheckResult(id: "system", kind: kind, status: .unknown, summary: "no answer from /proc"))
        }
        return CheckReport(result, memory: bootID.isEmpty ? nil : ["boot_id": bootID])
    }

    func evaluate(previousBootID: String?) -> (CheckResult, String) {
        var findings = Findings()
        var observations: [String: ObservationValue] = [:]
        var details: [String] = []
        let cpus = HostFacts.cpuCount()
        observations["cpus"] = .int(Int64(cpus))

        if let load = readText("loadavg")?.split(separator: " ").first.flatMap({ Double($0) }) {
            let perCPU = load / Double(cpus)
            observations["load1"] = .double((load * 100).rounded() / 100)
            details.append("load \(format2(load)) on \(cpus) CPU\(cpus == 1 ? "" : "s")")
            if let crit = configuration.loadPerCPU.crit, perCPU > crit {
                findings.add(.crit, "load \(format2(load)) is over \(format2(crit)) per CPU")
            } else if let warn = configuration.loadPerCPU.warn, perCPU > warn {
                findings.add(.warn, "load \(format2(load)) is over \(format2(warn)) per CPU")
            }
        } else {
            findings.add(.unknown, "cannot read \(procRoot)/loadavg")
        }

        if let meminfo = readText("meminfo") {
            let values = Self.meminfo(meminfo)
            if let total = values["MemTotal"], let available = values["MemAvailable"], total > 0 {
                observations["memory_total_bytes"] = .int(total)
                observations["memory_available_bytes"] = .int(available)
                details.append("\(ByteCount.format(available)) memory available")
                check(
                    available, of: total, against: configuration.memoryAvailable, what: "memory available",
                    into: &findings)
            } else {
                findings.add(.unknown, "no MemAvailable in \(procRoot)/meminfo")
            }
        } else {
            findings.add(.unknown, "cannot read \(procRoot)/meminfo")
        }

        var root = statvfs()
        if statvfs("/", &root) == 0 {
            let total = Int64(root.f_blocks) * Int64(root.f_frsize)
            let available = Int64(root.f_bavail) * Int64(root.f_frsize)
            observations["root_total_bytes"] = .int(total)
            observations["root_free_bytes"] = .int(available)
            details.append("\(ByteCount.format(available)) free on /")
            check(available, of: total, against: configuration.rootFree, what: "free on /", into: &findings)
        } else {
            findings.add(.unknown, "statfs / failed: \(SystemError.describe(errno))")
        }

        let bootID = HostFacts.bootID
        if let uptime = HostFacts.uptimeSeconds() {
            observations["uptime_s"] = .int(uptime)
            details.append("up \(DurationText.format(.seconds(uptime)))")
        }
        if let previousBootID, !bootID.isEmpty, previousBootID != bootID {
            observations["rebooted"] = true
            findings.add(.warn, "rebooted since the last run")
        }
        let result = CheckResult(
            id: "system", kind: kind, status: findings.status,
            summary: findings.summary(details: details.joined(separator: ", ")),
            observations: observations)
        return (result, bootID)
    }

    private func check(
        _ available: Int64, of total: Int64, against limits: Thresholds<Amount>, what: String,
        into findings: inout Findings
    ) {
        if let crit = limits.crit, available < crit.bytes(ofTotal: total) {
            findings.add(.crit, "only \(ByteCount.format(available)) \(what), below \(crit)")
        } else if let warn = limits.warn, available < warn.bytes(ofTotal: total) {
            findings.add(.warn, "only \(ByteCount.format(available)) \(what), below \(warn)")
        }
    }

    private func readText(_ name: String) -> String? {
        (try? FileReader.read("\(procRoot)/\(name)", limit: 1024 * 1024)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `MemTotal:  16318452 kB` lines, in bytes (a `kB` value too large for 64 bits reads as
    /// `Int64.max`). Cut from the UTF-8 bytes: every separator is ASCII.
    static func meminfo(_ text: String) -> [String: Int64] {
        var values: [String: Int64] = [:]
        for line in Array(text.utf8).split(separator: UInt8(ascii: "\n")) {
            let parts = line.split(whereSeparator: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: " ") })
            guard parts.count >= 2, let number = Int64(String(decoding: parts[1], as: UTF8.self)) else { continue }
            let kilobytes = parts.count >= 3 && parts[2].elementsEqual("kB".utf8)
            values[String(decoding: parts[0], as: UTF8.self)] = kilobytes ? number.saturatingMultiply(1024) : number
        }
        return values
    }

    private func format2(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int64(saturating: rounded)) : String(rounded)
    }
}
