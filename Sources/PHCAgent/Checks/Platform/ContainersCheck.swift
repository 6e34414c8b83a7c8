#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCConfig
internal import PHCCore

/// `containers`: podman containers. Expected ones must exist and run; any
/// container that is unhealthy, or whose restart count rose since the last run
/// (a restart loop: the vLLM container whose KV cache did not fit), is crit.
public struct ContainersCheck: HostCheck {
    public let configuration: ContainersCheckConfiguration

    public init(_ configuration: ContainersCheckConfiguration) {
        self.configuration = configuration
    }

    public var resultIDs: [String] { ["containers"] }
    public var kind: String { "containers" }
    public var timeout: Duration { configuration.timeout }

    struct Container: Equatable {
        var id: String
        var name: String
        var state: String
        var status: String
        var exitCode: Int64?
        var health: String?
        var restarts: Int64?
    }

    public func run(in context: CheckContext) async -> CheckReport {
        let deadline = Deadline(after: configuration.timeout)
        func left() -> Duration { max(.milliseconds(50), deadline.remaining) }
        var containers: [Container]
        do {
            let list = try await context.processes.run(
                configuration.podman, ["ps", "-a", "--format", "json"], timeout: left(), outputLimit: 32 * 1024 * 1024)
            guard list.exitStatus == 0 else {
                return report(.crit, "podman ps failed: \(list.firstErrorLine)")
            }
            guard let parsed = Self.parseList(Data(list.standardOutput.utf8)) else {
                return report(.unknown, "podman ps did not print a JSON list")
            }
            containers = parsed
            if !containers.isEmpty {
                let inspect = try await context.processes.run(
                    configuration.podman, ["inspect", "--type", "container"] + containers.map(\.id), timeout: left(),
                    outputLimit: 64 * 1024 * 1024)
                if inspect.exitStatus == 0 { Self.merge(inspect: Data(inspect.standardOutput.utf8), into: &containers) }
            }
        } catch {
            let status: CheckStatus =
                configuration.expect.isEmpty && error == .notFound(command: configuration.podman)
                ? .unknown : .crit
            return report(status, error.description)
        }

        let previous = context.memory["containers"] ?? [:]
        var memory: [String: String] = [:]
        var findings = Findings()
        for name in configuration.expect {
            guard let container = containers.first(where: { $0.name == name }) else {
                findings.add(.crit, "\(name) does not exist")
                continue
            }
            if container.state != "running" {
                let code = container.exitCode.map { ", exit code \($0)" } ?? ""
                findings.add(.crit, "\(name) is \(container.state)\(code)")
            }
        }
        for container in containers {
            if container.health == "unhealthy" { findings.add(.crit, "\(container.name) is unhealthy") }
            if let restarts = container.restarts {
                memory["restarts." + container.name] = String(restarts)
                if let before = previous["restarts." + container.name].flatMap(Int64.init), restarts > before {
                    findings.add(
                        .crit,
                        "\(container.name) restarted \(restarts - before) times since the last run (restart loop?)")
                }
            }
        }
        let running = containers.filter { $0.state == "running" }.count
        let observations: [String: ObservationValue] = [
            "containers": .int(Int64(containers.count)), "running": .int(Int64(running)),
            "unhealthy": .int(Int64(containers.filter { $0.health == "unhealthy" }.count)),
        ]
        let details = "\(running) of \(containers.count) running"
        let result = CheckResult(
            id: "containers", kind: kind, status: findings.status, summary: findings.summary(details: details),
            observations: observations)
        return CheckReport(result, memory: memory)
    }

    static func parseList(_ data: Data) -> [Container]? {
        guard case .array(let items)? = JSONValue.parse(data) else { return nil }
        return items.compactMap { item in
            guard item["IsInfra"]?.boolValue != true, let id = (item["Id"] ?? item["ID"])?.stringValue else {
                return nil
            }
            var name = id
            if case .array(let names)? = item["Names"], let first = names.first?.stringValue { name = first }
            let status = item["Status"]?.stringValue ?? ""
            var health: String?
            for word in ["unhealthy", "healthy", "starting"] where status.contains("(\(word))") {
                health = word
                break
            }
            return Container(
                id: id, name: name, state: item["State"]?.stringValue ?? "unknown", status: status,
                exitCode: item["ExitCode"]?.numberValue.map { Int64(saturating: $0) }, health: health, restarts: nil)
        }
    }

    /// Restart counts and health from `podman inspect`.
    static func merge(inspect data: Data, into containers: inout [Container]) {
        guard case .array(let items)? = JSONValue.parse(data) else { return }
        for item in items {
            guard let id = item["Id"]?.stringValue, let index = containers.firstIndex(where: { $0.id == id }) else {
                continue
            }
            containers[index].restarts = item["RestartCount"]?.numberValue.map { Int64(saturating: $0) }
            if let health = item["State"]?["Health"]?["Status"]?.stringValue, !health.isEmpty {
                containers[index].health = health
            }
            if let state = item["State"]?["Status"]?.stringValue { containers[index].state = state }
        }
    }

    private func report(_ status: CheckStatus, _ summary: String) -> CheckReport {
        CheckReport(CheckResult(id: "containers", kind: kind, status: status, summary: summary))
    }
}
