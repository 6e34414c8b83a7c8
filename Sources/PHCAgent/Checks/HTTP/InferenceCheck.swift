#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCConfig
internal import PHCCore

/// `inference:<name>`: an OpenAI-compatible server answers `/health`, serves the
/// configured model name (a server answering 200 on `/health` while serving the
/// model under another name is not ok: clients get 404), optionally with the
/// configured `max_model_len`; for vLLM, `/metrics` gives requests running and
/// waiting, KV-cache use and preemptions, and a server with requests waiting
/// whose generated-token counter has not moved since the last run is stalled.
///
/// A server declared `optional` that refuses connections is stopped on purpose:
/// `ok`, "stopped (optional)". No prompt is ever sent.
public struct InferenceCheck: HostCheck {
    public let configuration: InferenceCheckConfiguration

    public init(_ configuration: InferenceCheckConfiguration) {
        self.configuration = configuration
    }

    public var id: String { "inference:\(configuration.name)" }
    public var resultIDs: [String] { [id] }
    public var kind: String { "inference" }
    public var timeout: Duration { configuration.timeout }

    public func run(in context: CheckContext) async -> CheckReport {
        let (result, memory) = await evaluate(context)
        return CheckReport(result, memory: memory)
    }

    private func evaluate(_ context: CheckContext) async -> (CheckResult, [String: String]?) {
        let deadline = Deadline(after: configuration.timeout)
        func remaining() -> Duration { max(.milliseconds(50), deadline.remaining) }
        let token: String?
        switch await BearerToken.load(configuration.token, timeout: remaining()) {
        case .success(let value): token = value
        case .failure(let error): return (finish(.unknown, error.description), nil)
        }
        func get(_ path: String, cap: Int = 4 * 1024 * 1024) async throws(HTTPClientError) -> HTTPResponse {
            try await context.http.send(
                HTTPRequest(
                    url: URLText.join(configuration.url, path), connectTimeout: min(remaining(), .seconds(2)),
                    timeout: remaining(), maxBodyBytes: cap, bearerToken: token))
        }
        var findings = Findings()
        var observations: [String: ObservationValue] = [:]
        var details: [String] = []

        // 1. Alive?
        let healthPath = configuration.kind == .ollama ? "/" : "/health"
        do {
            let health = try await get(healthPath, cap: 64 * 1024)
            observations["health_status"] = .int(Int64(health.status))
            observations["health_ms"] = .int(health.milliseconds)
            switch health.status {
            case 200..<300:
                details.append("\(healthPath) \(health.status) in \(health.milliseconds) ms")
            case 404 where configuration.kind == .openai:
                details.append("no \(healthPath)")
            case 503:
                return (
                    finish(.crit, "\(healthPath) answered 503: not ready (loading, or its engine died)", observations),
                    nil
                )
            default:
                return (finish(.crit, "\(healthPath) answered \(health.status)", observations), nil)
            }
        } catch {
            if error.isConnectionRefused {
                if configuration.optional {
                    return (
                        finish(
                            .ok, "stopped (optional): nothing listens at \(URLText.redacted(configuration.url))",
                            ["running": false]), nil
                    )
                }
                return (
                    finish(
                        .crit, "not running: connection refused at \(URLText.redacted(configuration.url))",
                        ["running": false]), nil
                )
            }
            return (finish(.crit, error.description, observations), nil)
        }
        observations["running"] = true

        // 2. The right model, under the right name?
        do {
            let modelsPath = configuration.kind == .ollama ? "/api/tags" : "/v1/models"
            let models = try await get(modelsPath)
            guard models.status == 200 else {
                return (finish(.crit, "\(modelsPath) answered \(models.status)", observations), nil)
            }
            guard let served = ServedModels(models.body, kind: configuration.kind) else {
                return (finish(.crit, "\(modelsPath) is not the expected JSON", observations), nil)
            }
            observations["models"] = .int(Int64(served.entries.count))
            if let entry = served.entry(named: configuration.model) {
                details.append("serves \(configuration.model)")
                if let length = entry.maxModelLength { observations["max_model_len"] = .int(length) }
                if let expected = configuration.maxModelLength, entry.maxModelLength != expected {
                    findings.add(
                        .crit,
                        "max_model_len \(entry.maxModelLength.map(String.init) ?? "unknown"), expected \(expected)")
                }
            } else {
                let names = served.entries.prefix(3).map { "'\($0.id)'" }.joined(separator: ", ")
                findings.add(
                    .crit,
                    "does not serve '\(configuration.model)' (clients get 404); serves \(names.isEmpty ? "nothing" : names)"
                )
            }
        } catch {
            return (finish(.crit, error.description, observations), nil)
        }

        // 3. vLLM: load, KV cache, and whether it makes progress.
        var memory: [String: String]?
        if configuration.kind == .vllm {
            do {
                let page = try await get("/metrics", cap: 8 * 1024 * 1024)
                if page.status != 200 {
                    findings.add(.warn, "/metrics answered \(page.status)")
                } else {
                    memory = evaluate(
                        metrics: page.text, previous: context.memory[id], findings: &findings,
                        observations: &observations, details: &details)
                }
            } catch {
                findings.add(.warn, "/metrics: \(error.description)")
            }
        }
        return (
            finish(findings.status, findings.summary(details: details.joined(separator: ", ")), observations), memory
        )
    }

    private func evaluate(
        metrics text: String, previous: [String: String]?, findings: inout Findings,
        observations: inout [String: ObservationValue], details: inout [String]
    ) -> [String: String]? {
        let metrics: PrometheusExposition
        do {
            metrics = try PrometheusText.parse(text)
        } catch {
            findings.add(.warn, "/metrics is not Prometheus text (\(error.description))")
            return previous
        }
        let running = metrics.sum("vllm:num_requests_running")
        let waiting = metrics.sum("vllm:num_requests_waiting")
        let cache = metrics.sum(anyOf: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"])
        let preemptions = metrics.sum("vllm:num_preemptions_total")
        let generated = metrics.sum("vllm:generation_tokens_total")
        if let running { observations["requests_running"] = .int(Int64(saturating: running)) }
        if let waiting { observations["requests_waiting"] = .int(Int64(saturating: waiting)) }
        if let cache { observations["kv_cache_usage_pct"] = .double((cache.value * 1000).rounded() / 10) }
        if let preemptions { observations["preemptions_total"] = .int(Int64(saturating: preemptions)) }
        if let generated { observations["generation_tokens_total"] = .int(Int64(saturating: generated)) }
        guard running != nil || waiting != nil || generated != nil else {
            findings.add(.warn, "/metrics has no vllm: metrics")
            return previous
        }
        details.append("\(Int64(saturating: running ?? 0)) running, \(Int64(saturating: waiting ?? 0)) waiting")
        if let cache { details.append("KV cache \(Int((cache.value * 100).rounded()))%") }

        if let generated, let waiting, waiting > 0,
            let before = previous?["generation_tokens"].flatMap(Double.init), generated == before
        {
            findings.add(
                .crit,
                "stalled: \(Int64(saturating: waiting)) requests waiting and no tokens generated since the last run")
        }
        if let preemptions, let before = previous?["preemptions"].flatMap(Double.init), preemptions > before {
            findings.add(
                .warn, "\(Int64(saturating: preemptions - before)) preemptions since the last run (KV cache too small?)"
            )
        }
        var memory: [String: String] = [:]
        if let generated { memory["generation_tokens"] = String(generated) }
        if let preemptions { memory["preemptions"] = String(preemptions) }
        return memory
    }

    private func finish(_ status: CheckStatus, _ summary: String, _ observations: [String: ObservationValue] = [:])
        -> CheckResult
    {
        CheckResult(id: id, kind: kind, status: status, summary: summary, observations: observations)
    }
}

/// The model list of `/v1/models` (OpenAI, vLLM, llama.cpp) or `/api/tags` (Ollama).
struct ServedModels {
    struct Entry {
        var id: String
        var root: String?
        var maxModelLength: Int64?
    }

    var entries: [Entry]

    init?(_ body: Data, kind: InferenceCheckConfiguration.Kind) {
        guard let json = JSONValue.parse(body) else { return nil }
        let list: JSONValue?
        switch kind {
        case .ollama: list = json["models"]
        case .vllm, .openai: list = json["data"]
        }
        guard case .array(let items)? = list else { return nil }
        entries = items.compactMap { item in
            guard let id = (item["id"] ?? item["name"] ?? item["model"])?.stringValue else { return nil }
            return Entry(
                id: id, root: item["root"]?.stringValue,
                maxModelLength: item["max_model_len"]?.numberValue.map { Int64(saturating: $0) })
        }
    }

    /// Exact id; for Ollama also `name` = `name:latest`.
    func entry(named name: String) -> Entry? {
        entries.first { $0.id == name } ?? entries.first { $0.id == name + ":latest" }
    }
}
