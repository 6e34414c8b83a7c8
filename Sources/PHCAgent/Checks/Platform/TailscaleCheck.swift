#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCConfig
internal import PHCCore

/// `tailscale`: from `tailscale status --json`, the backend is `Running`, this
/// node is online, and its node key does not expire soon (warn at 30 days,
/// crit at 7, configurable). Health warnings reported by tailscaled are warnings.
public struct TailscaleCheck: HostCheck {
    public let configuration: TailscaleCheckConfiguration

    public init(_ configuration: TailscaleCheckConfiguration) {
        self.configuration = configuration
    }

    public var resultIDs: [String] { ["tailscale"] }
    public var kind: String { "tailscale" }
    public var timeout: Duration { configuration.timeout }

    public func run(in context: CheckContext) async -> CheckReport {
        let result: CheckResult
        do {
            let output = try await context.processes.run(
                configuration.tailscale, ["status", "--json"], timeout: configuration.timeout,
                outputLimit: 16 * 1024 * 1024)
            if output.exitStatus != 0 && output.standardOutput.trimmed().isEmpty {
                let reason = output.firstErrorLine.isEmpty ? "exit status \(output.exitStatus)" : output.firstErrorLine
                result = finish(.crit, "tailscale status failed: \(reason)")
            } else {
                result = evaluate(Data(output.standardOutput.utf8), now: context.now)
            }
        } catch {
            result = finish(error == .notFound(command: configuration.tailscale) ? .unknown : .crit, error.description)
        }
        return CheckReport(result)
    }

    func evaluate(_ data: Data, now: Timestamp) -> CheckResult {
        guard let status = JSONValue.parse(data), case .object = status else {
            return finish(.unknown, "tailscale status --json did not print a JSON object")
        }
        var findings = Findings()
        var observations: [String: ObservationValue] = [:]
        var details: [String] = []
        let backend = status["BackendState"]?.stringValue ?? "unknown"
        observations["backend_state"] = .string(backend)
        if backend != "Running" { findings.add(.crit, "backend is \(backend), not Running") }
        let me = status["Self"]
        if let online = me?["Online"]?.boolValue {
            observations["online"] = .bool(online)
            if !online && backend == "Running" { findings.add(.warn, "this node is offline") }
        }
        if let name = me?["HostName"]?.stringValue { details.append(name) }
        if case .array(let addresses)? = me?["TailscaleIPs"], let first = addresses.first?.stringValue {
            details.append(first)
        }
        if case .object(let peers)? = status["Peer"] {
            let online = peers.values.filter { $0["Online"]?.boolValue == true }.count
            observations["peers"] = .int(Int64(peers.count))
            observations["peers_online"] = .int(Int64(online))
            details.append("\(online)/\(peers.count) peers online")
        }
        if let expiryText = me?["KeyExpiry"]?.stringValue, let expiry = Timestamp(rfc3339: expiryText) {
            let left = expiry.seconds(since: now)
            observations["key_expires_in_s"] = .int(left)
            let text = left <= 0 ? "node key expired" : "node key expires in \(DurationText.format(.seconds(left)))"
            if let crit = configuration.keyExpiry.crit, left <= crit.milliseconds / 1000 {
                findings.add(.crit, text)
            } else if let warn = configuration.keyExpiry.warn, left <= warn.milliseconds / 1000 {
                findings.add(.warn, text)
            } else {
                details.append(text)
            }
        } else {
            details.append("key expiry disabled")
        }
        if case .array(let health)? = status["Health"], let first = health.first?.stringValue {
            findings.add(
                .warn, "tailscaled says: \(first.prefix(160))\(health.count > 1 ? " (+\(health.count - 1) more)" : "")")
        }
        return finish(findings.status, findings.summary(details: details.joined(separator: ", ")), observations)
    }

    private func finish(_ status: CheckStatus, _ summary: String, _ observations: [String: ObservationValue] = [:])
        -> CheckResult
    {
        CheckResult(id: "tailscale", kind: kind, status: status, summary: summary, observations: observations)
    }
}
