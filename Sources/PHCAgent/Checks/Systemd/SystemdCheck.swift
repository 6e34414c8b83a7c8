#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCConfig
internal import PHCCore

/// `unit:<name>` and `timer:<name>` for every configured unit and timer, from
/// one `systemctl show` call (two when timers start units not listed).
///
/// On a machine without systemd every result is `unknown` with systemctl's
/// reason; that is a fact about the host, not a crash.
public struct SystemdCheck: HostCheck {
    public let configuration: SystemdConfiguration

    public init(_ configuration: SystemdConfiguration) {
        self.configuration = configuration
    }

    public var resultIDs: [String] {
        configuration.units.map { "unit:\($0.name)" } + configuration.timers.map { "timer:\($0.name)" }
    }
    public var kind: String { "systemd" }
    public var timeout: Duration { configuration.timeout }

    static let properties = [
        "Id", "LoadState", "ActiveState", "SubState", "Result", "NRestarts", "Type", "UnitFileState",
        "LastTriggerUSec", "NextElapseUSecRealtime", "Unit",
    ]

    public func run(in context: CheckContext) async -> CheckReport {
        let names = configuration.units.map(\.name) + configuration.timers.map(\.name)
        let shown: [[String: String]]
        switch await show(names, context: context) {
        case .success(let blocks): shown = blocks
        case .failure(let reason):
            return CheckReport(
                results: resultIDs.map { id in
                    CheckResult(
                        id: id, kind: id.hasPrefix("unit:") ? "unit" : "timer", status: .unknown,
                        summary: reason.description)
                })
        }
        var byName: [String: [String: String]] = [:]
        for (name, block) in zip(names, shown) { byName[name] = block }

        // The services the timers start, for their last result.
        let triggered = configuration.timers.compactMap { byName[$0.name]?["Unit"] }.filter { byName[$0] == nil }
        if !triggered.isEmpty, case .success(let blocks) = await show(triggered, context: context) {
            for (name, block) in zip(triggered, blocks) { byName[name] = block }
        }

        // Oneshot units whose payload is a container: what state is it in?
        var containerStates: [String: String] = [:]
        for unit in configuration.units {
            guard let container = unit.container, let block = byName[unit.name],
                block["ActiveState"] == "active", block["SubState"] == "exited"
            else { continue }
            containerStates[container] = await containerState(container, context: context)
        }

        var report = CheckReport(results: [])
        for unit in configuration.units {
            let id = "unit:\(unit.name)"
            guard let block = byName[unit.name] else {
                report.results.append(
                    CheckResult(id: id, kind: "unit", status: .unknown, summary: "systemctl said nothing about it"))
                continue
            }
            let (result, memory) = evaluate(
                unit: unit, block, previous: context.memory[id],
                containerState: unit.container.flatMap { containerStates[$0] })
            report.results.append(result)
            report.memory[id] = memory
        }
        for timer in configuration.timers {
            let id = "timer:\(timer.name)"
            guard let block = byName[timer.name] else {
                report.results.append(
                    CheckResult(id: id, kind: "timer", status: .unknown, summary: "systemctl said nothing about it"))
                continue
            }
            report.results.append(
                evaluate(timer: timer, block, service: block["Unit"].flatMap { byName[$0] }, now: context.now))
        }
        return report
    }

    private func show(_ names: [String], context: CheckContext) async -> Result<[[String: String]], ShowFailure> {
        let arguments = ["show", "--no-pager", "--timestamp=utc", "-p", Self.properties.joined(separator: ",")] + names
        let output: CommandOutput
        do {
            output = try await context.processes.run(configuration.systemctl, arguments, timeout: configuration.timeout)
        } catch {
            return .failure(ShowFailure(error.description))
        }
        guard output.exitStatus == 0 else {
            let reason = output.firstErrorLine.isEmpty ? "exit status \(output.exitStatus)" : output.firstErrorLine
            return .failure(ShowFailure("systemctl failed: \(reason)"))
        }
        let blocks = SystemctlShow.parse(output.standardOutput)
        guard blocks.count == names.count else {
            return .failure(ShowFailure("systemctl show gave \(blocks.count) answers for \(names.count) units"))
        }
        return .success(blocks)
    }

    struct ShowFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// `running`, `exited`… of a podman container, `missing`, or why podman could not say.
    private func containerState(_ name: String, context: CheckContext) async -> String {
        do {
            let output = try await context.processes.run(
                configuration.podman, ["inspect", "--type", "container", "--format", "{{.State.Status}}", name],
                timeout: configuration.timeout)
            if output.exitStatus != 0 {
                return output.standardError.contains("no such") ? "missing" : "unknown (\(output.firstErrorLine))"
            }
            return output.standardOutput.trimmed()
        } catch {
            return "unknown (\(error.description))"
        }
    }

    func evaluate(
        unit: UnitExpectation, _ block: [String: String], previous: [String: String]?, containerState: String? = nil
    ) -> (CheckResult, [String: String]) {
        let id = "unit:\(unit.name)"
        let load = block["LoadState"] ?? ""
        let active = block["ActiveState"] ?? "unknown"
        let sub = block["SubState"] ?? "unknown"
        let restarts = Int64(block["NRestarts"] ?? "") ?? 0
        var findings = Findings()
        var observations: [String: ObservationValue] = [
            "active_state": .string(active), "sub_state": .string(sub), "n_restarts": .int(restarts),
        ]
        switch load {
        case "not-found": findings.add(.crit, "unit not found")
        case "masked": findings.add(.crit, "unit is masked")
        case "loaded": break
        default: findings.add(.warn, "load state \(load.isEmpty ? "unknown" : load)")
        }
        if load != "not-found" {
            switch active {
            case "active":
                if sub == "exited", let container = unit.container, let state = containerState {
                    observations["payload_state"] = .string(state)
                    if state != "running" {
                        findings.add(.crit, "active (exited) but its container '\(container)' is \(state)")
                    }
                }
                if sub == "exited", let process = unit.process {
                    let running = ProcessTable.isRunning(named: process)
                    observations["payload_running"] = .bool(running)
                    if !running { findings.add(.crit, "active (exited) but its process '\(process)' is not running") }
                }
            case "failed":
                findings.add(.crit, "failed (\(block["Result"].map { "result \($0)" } ?? "no result"))")
            case "activating", "deactivating", "reloading", "refreshing":
                findings.add(.warn, "\(active) (\(sub))")
            default:
                findings.add(.crit, "\(active) (\(sub))")
            }
        }
        if let before = previous?["n_restarts"].flatMap({ Int64($0) }), restarts > before {
            findings.add(
                .warn, "restarted \(restarts - before) time\(restarts - before == 1 ? "" : "s") since the last run")
        }
        let summary = findings.summary(details: "\(active) (\(sub)), \(restarts) restart\(restarts == 1 ? "" : "s")")
        return (
            CheckResult(id: id, kind: "unit", status: findings.status, summary: summary, observations: observations),
            ["n_restarts": String(restarts)]
        )
    }

    func evaluate(timer: TimerExpectation, _ block: [String: String], service: [String: String]?, now: Timestamp)
        -> CheckResult
    {
        let id = "timer:\(timer.name)"
        var findings = Findings()
        var observations: [String: ObservationValue] = [:]
        let load = block["LoadState"] ?? ""
        guard load != "not-found" else {
            return CheckResult(id: id, kind: "timer", status: .crit, summary: "timer not found")
        }
        let enabled = block["UnitFileState"] ?? "unknown"
        observations["unit_file_state"] = .string(enabled)
        if !["enabled", "static", "enabled-runtime", "generated", "transient", "linked"].contains(enabled) {
            findings.add(.crit, "timer is \(enabled), not enabled")
        }
        let active = block["ActiveState"] ?? "unknown"
        if active != "active" { findings.add(.crit, "timer is \(active)") }
        var details: [String] = []
        if let last = SystemctlShow.timestamp(block["LastTriggerUSec"]) {
            let age = max(0, now.seconds(since: last))
            observations["since_last_s"] = .int(age)
            details.append("fired \(DurationText.format(.seconds(age))) ago")
            if let limit = timer.maxSinceLast, age > limit.milliseconds / 1000 {
                findings.add(
                    .crit, "last fired \(DurationText.format(.seconds(age))) ago (limit \(DurationText.format(limit)))")
            }
        } else {
            details.append("never fired")
            if timer.maxSinceLast != nil { findings.add(.crit, "has never fired") }
        }
        if let next = SystemctlShow.timestamp(block["NextElapseUSecRealtime"]) {
            observations["next_in_s"] = .int(next.seconds(since: now))
            details.append("next in \(DurationText.format(.seconds(max(0, next.seconds(since: now)))))")
        } else if active == "active" {
            findings.add(.warn, "no next run scheduled")
        }
        if let service, let serviceName = block["Unit"] {
            let result = service["Result"] ?? "unknown"
            observations["last_result"] = .string(result)
            if service["ActiveState"] == "failed" || (result != "success" && result != "unknown") {
                findings.add(.crit, "last run of \(serviceName) failed (result \(result))")
            }
        }
        return CheckResult(
            id: id, kind: "timer", status: findings.status,
            summary: findings.summary(details: details.joined(separator: ", ")),
            observations: observations)
    }
}

/// Looks for processes by name in /proc.
enum ProcessTable {
    /// Whether a process whose name (comm, at most 15 characters) or argv[0] basename is `name` runs.
    static func isRunning(named name: String) -> Bool {
        guard let entries = try? Directory.list("/proc") else { return false }
        let comm = String(name.prefix(15))
        for entry in entries where entry.first?.isNumber == true {
            if let data = try? FileReader.read("/proc/\(entry)/comm", limit: 256),
                String(decoding: data, as: UTF8.self).trimmed() == comm
            {
                return true
            }
            if let data = try? FileReader.read("/proc/\(entry)/cmdline", limit: 4096),
                let first = data.split(separator: 0).first,
                String(decoding: first, as: UTF8.self).split(separator: "/").last.map(String.init) == name
            {
                return true
            }
        }
        return false
    }
}
