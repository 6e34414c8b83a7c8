import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

/// vLLM as the loopback server plays it, from real data: the `/metrics` page is
/// DataDog's capture of a real vLLM; `/v1/models` has vLLM's OpenAI server shape.
struct FakeVLLM: Sendable {
    static let metrics = String(
        decoding: (try? Repository.read(Repository.fixture("PHCAgentTests", "vllm/datadog-vllm_metrics.txt")))
            ?? Data(),
        as: UTF8.self)

    static func models(_ id: String, maxModelLength: Int = 32768) -> String {
        #"{"object":"list","data":[{"id":"\#(id)","object":"model","created":1732700000,"owned_by":"vllm","root":"Qwen/Qwen2.5-7B-Instruct","parent":null,"max_model_len":\#(maxModelLength),"permission":[{"id":"modelperm-1","object":"model_permission","allow_sampling":true}]}]}"#
    }

    /// The capture with `waiting` requests and `generated` tokens.
    static func metrics(waiting: Int, generated: Int) -> String {
        metrics
            .replacingOccurrences(
                of: #"vllm:num_requests_waiting{model_name="facebook/opt-125m"} 0.0"#,
                with: #"vllm:num_requests_waiting{model_name="facebook/opt-125m"} \#(waiting).0"#
            )
            .replacingOccurrences(
                of: #"vllm:generation_tokens_total{model_name="facebook/opt-125m"} 7.0"#,
                with: #"vllm:generation_tokens_total{model_name="facebook/opt-125m"} \#(generated).0"#)
    }

    static func handler(
        health: LoopbackHTTPServer.Behaviour = .respond(status: 200, body: ""),
        model: String = "qwen2.5-7b-armitage", metrics: String = FakeVLLM.metrics, token: String? = nil
    ) -> @Sendable (LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Behaviour {
        { request in
            if let token, request.headers["authorization"] != "Bearer \(token)" {
                return .respond(status: 401, body: #"{"error":"Unauthorized"}"#)
            }
            switch request.path {
            case "/health": return health
            case "/v1/models": return .respond(status: 200, body: models(model))
            case "/metrics": return .respond(status: 200, body: metrics, contentType: "text/plain; version=0.0.4")
            default: return .respond(status: 404, body: #"{"detail":"Not Found"}"#)
            }
        }
    }
}

@Suite("Inference servers and HTTP endpoints")
struct InferenceAndHTTPTests {
    func context(memory: [String: [String: String]] = [:]) -> CheckContext {
        CheckContext(
            device: "armitage", now: WallClock.system.now(), stateDir: "/nonexistent", memory: memory,
            probe: FilesystemProbe(stateDirectory: "/nonexistent"),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    /// A generous timeout unless a test is about timing out, and a request that times out changes the
    /// result (a first run without `/metrics` remembers no token count, so a stall goes unseen). The
    /// check's clock runs while its task waits for a thread: in a full test run on 2 cores, the
    /// cooperative pool is held by other tests for 10-20 s at the start (a 20 s timeout left the
    /// second request of a check 50 ms).
    func vllm(
        _ server: LoopbackHTTPServer, model: String = "qwen2.5-7b-armitage", optional: Bool = false,
        timeout: Duration = .seconds(120)
    ) -> InferenceCheckConfiguration {
        InferenceCheckConfiguration(
            name: "armitage-vllm", url: server.baseURL, kind: .vllm, model: model, optional: optional,
            timeout: timeout)
    }

    @Test("a healthy vLLM: ok, with load and KV cache from /metrics")
    func healthy() async throws {
        let server = try LoopbackHTTPServer(FakeVLLM.handler())
        defer { server.stop() }
        let report = await InferenceCheck(vllm(server)).run(in: context())
        let result = report.results[0]
        #expect(result.status == .ok, "\(result.summary)")
        #expect(result.id == "inference:armitage-vllm")
        #expect(result.summary.contains("serves qwen2.5-7b-armitage, 0 running, 0 waiting, KV cache 0%"))
        #expect(result.observations["requests_waiting"] == .int(0))
        #expect(result.observations["generation_tokens_total"] == .int(7))
        #expect(result.observations["max_model_len"] == .int(32768))
        #expect(report.memory[result.id]?["generation_tokens"] == "7.0")
    }

    @Test("/health 200 but the model served under its HuggingFace path: crit, as clients get 404")
    func wrongServedName() async throws {
        let server = try LoopbackHTTPServer(FakeVLLM.handler(model: "Qwen/Qwen2.5-7B-Instruct"))
        defer { server.stop() }
        let result = await InferenceCheck(vllm(server)).run(in: context()).results[0]
        #expect(result.status == .crit)
        #expect(
            result.summary.hasPrefix(
                "does not serve 'qwen2.5-7b-armitage' (clients get 404); serves 'Qwen/Qwen2.5-7B-Instruct'"))
    }

    @Test("/health 503 is crit; a wrong max_model_len is crit")
    func unhealthy() async throws {
        let server = try LoopbackHTTPServer(FakeVLLM.handler(health: .respond(status: 503, body: "")))
        defer { server.stop() }
        let result = await InferenceCheck(vllm(server)).run(in: context()).results[0]
        #expect(result.status == .crit && result.summary.hasPrefix("/health answered 503"))

        let healthy = try LoopbackHTTPServer(FakeVLLM.handler())
        defer { healthy.stop() }
        var configuration = vllm(healthy)
        configuration.maxModelLength = 8192
        let length = await InferenceCheck(configuration).run(in: context()).results[0]
        #expect(length.status == .crit && length.summary.hasPrefix("max_model_len 32768, expected 8192"))
    }

    @Test("a metrics page or JSON body with absurd numbers (1e300, +Inf, NaN) gives a result, never a trap")
    func absurdNumbers() async throws {
        let metrics =
            FakeVLLM.metrics(waiting: 0, generated: 0)
            .replacingOccurrences(
                of: #"vllm:num_requests_waiting{model_name="facebook/opt-125m"} 0.0"#,
                with: #"vllm:num_requests_waiting{model_name="facebook/opt-125m"} 1e300"#
            )
            .replacingOccurrences(
                of: #"vllm:generation_tokens_total{model_name="facebook/opt-125m"} 0.0"#,
                with: #"vllm:generation_tokens_total{model_name="facebook/opt-125m"} +Inf"#)
            + "\nvllm:num_requests_running{model_name=\"x\"} NaN\nvllm:num_preemptions_total{model_name=\"x\"} -1e300\n"
        let server = try LoopbackHTTPServer(FakeVLLM.handler(metrics: metrics))
        defer { server.stop() }
        let memory = ["inference:armitage-vllm": ["generation_tokens": "1e300", "preemptions": "-inf"]]
        let result = await InferenceCheck(vllm(server)).run(in: context(memory: memory)).results[0]
        #expect(result.id == "inference:armitage-vllm")
        _ = try JSONEncoder().encode(result)
        let json = try LoopbackHTTPServer { _ in .respond(status: 200, body: #"{"installed": 1e300, "n": -1e308}"#) }
        defer { json.stop() }
        let check = HTTPCheck(
            HTTPCheckConfiguration(
                name: "j", url: json.baseURL + "/status.php", expectJSON: ["installed": .bool(true), "n": .number(1)]))
        let answered = await check.run(in: context()).results[0]
        #expect(answered.status == .crit && answered.summary.contains("installed is "), "\(answered.summary)")
    }

    @Test("a server that accepts and never answers, or drips, ends at the timeout and is not ok")
    func silentAndSlow() async throws {
        for behaviour in [LoopbackHTTPServer.Behaviour.never, .drip(chunk: "{", chunks: 400, interval: 0.3)] {
            let server = try LoopbackHTTPServer(FakeVLLM.handler(health: behaviour))
            defer { server.stop() }
            let start = Date()
            let result = await InferenceCheck(vllm(server, timeout: .seconds(2))).run(in: context()).results[0]
            #expect(Date().timeIntervalSince(start) < 60, "a 2 s timeout, not the 120 s drip")
            #expect(result.status == .crit)
            #expect(result.summary.contains("Timeout") || result.summary.contains("timed out"), "\(result.summary)")
        }
    }

    @Test("a models list over the size cap is crit, not a crash")
    func oversized() async throws {
        let huge = "{\"data\":[" + String(repeating: #"{"id":"x"},"#, count: 500_000) + #"{"id":"y"}]}"#
        let server = try LoopbackHTTPServer { request in
            request.path == "/v1/models" ? .respond(status: 200, body: huge) : .respond(status: 200, body: "")
        }
        defer { server.stop() }
        let result = await InferenceCheck(vllm(server)).run(in: context()).results[0]
        #expect(result.status == .crit && result.summary.hasSuffix("response body over 4 MiB"), "\(result.summary)")
    }

    @Test("malformed /metrics is a warning with the line, the server itself is fine")
    func malformedMetrics() async throws {
        let server = try LoopbackHTTPServer(FakeVLLM.handler(metrics: "vllm:num_requests_running{model_name=\"x\" 1\n"))
        defer { server.stop() }
        let result = await InferenceCheck(vllm(server)).run(in: context()).results[0]
        #expect(result.status == .warn)
        #expect(result.summary.hasPrefix("/metrics is not Prometheus text (line 1:"), "\(result.summary)")
    }

    @Test("requests waiting while no token is generated between two runs: stalled; progress again: ok")
    func stall() async throws {
        let server = try LoopbackHTTPServer(FakeVLLM.handler(metrics: FakeVLLM.metrics(waiting: 3, generated: 1200)))
        defer { server.stop() }
        let check = InferenceCheck(vllm(server))
        let first = await check.run(in: context())
        #expect(first.results[0].status == .ok, "\(first.results[0].summary)")
        let second = await check.run(in: context(memory: first.memory))
        #expect(second.results[0].status == .crit)
        #expect(
            second.results[0].summary.hasPrefix(
                "stalled: 3 requests waiting and no tokens generated since the last run"))
        server.setHandler(FakeVLLM.handler(metrics: FakeVLLM.metrics(waiting: 3, generated: 1500)))
        let third = await check.run(in: context(memory: second.memory))
        #expect(third.results[0].status == .ok)
    }

    @Test("stopped on purpose: ok when optional, crit otherwise")
    func stopped() async throws {
        let server = try LoopbackHTTPServer(FakeVLLM.handler())
        server.stop()
        let optional = await InferenceCheck(vllm(server, optional: true)).run(in: context()).results[0]
        #expect(optional.status == .ok && optional.summary.hasPrefix("stopped (optional)"))
        let required = await InferenceCheck(vllm(server)).run(in: context()).results[0]
        #expect(required.status == .crit && required.summary.hasPrefix("not running: connection refused"))
    }

    @Test("the bearer token comes from an env file, is sent, and appears nowhere in the result")
    func bearerToken() async throws {
        let token = "sk-canary-\(UInt64.random(in: 1...UInt64.max))"
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let env = try directory.write(
            "litellm.env", "# managed\n# by ansible\nLITELLM_MASTER_KEY=\"\(token)\"\n", mode: 0o600)
        let server = try LoopbackHTTPServer(FakeVLLM.handler(token: token))
        defer { server.stop() }
        var configuration = vllm(server)
        configuration.token = TokenSource(file: env, key: "LITELLM_MASTER_KEY")
        let good = await InferenceCheck(configuration).run(in: context())
        #expect(good.results[0].status == .ok, "\(good.results[0].summary)")
        configuration.token = TokenSource(file: env, key: "OTHER_KEY")
        let missing = await InferenceCheck(configuration).run(in: context()).results[0]
        #expect(missing.status == .unknown && missing.summary == "token_file \(env) has no value for OTHER_KEY")
        try directory.write("litellm.env", "LITELLM_MASTER_KEY=wrong-\(token.suffix(6))\n", mode: 0o600)
        configuration.token = TokenSource(file: env, key: "LITELLM_MASTER_KEY")
        let refused = await InferenceCheck(configuration).run(in: context()).results[0]
        #expect(refused.status == .crit && refused.summary == "/health answered 401")
        for result in good.results + [missing, refused] {
            let text = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
            #expect(!text.contains(token) && !text.contains(String(token.suffix(12))))
        }
    }

    @Test("Ollama: / and /api/tags, with name:latest")
    func ollama() async throws {
        let server = try LoopbackHTTPServer { request in
            switch request.path {
            case "/": .respond(status: 200, body: "Ollama is running", contentType: "text/plain")
            case "/api/tags":
                .respond(
                    status: 200,
                    body: #"{"models":[{"name":"llama3:latest","model":"llama3:latest","size":4661224676}]}"#)
            default: .respond(status: 404, body: "")
            }
        }
        defer { server.stop() }
        let check = InferenceCheck(
            InferenceCheckConfiguration(
                name: "o", url: server.baseURL, kind: .ollama, model: "llama3", timeout: .seconds(120)))
        let result = await check.run(in: context()).results[0]
        #expect(result.status == .ok, "\(result.summary)")
    }

    @Test("LiteLLM liveliness and readiness, Nextcloud status.php, a stopped endpoint")
    func httpEndpoints() async throws {
        let databaseUp = Locked(true)
        let maintenance = Locked(false)
        let server = try LoopbackHTTPServer { request in
            switch request.path {
            case "/health/liveliness": return .respond(status: 200, body: #""I'm alive!""#)
            case "/health/readiness":
                return databaseUp.get()
                    ? .respond(status: 200, body: #"{"status":"healthy","db":"connected"}"#)
                    : .respond(status: 503, body: #"{"status":"unhealthy","db":"Not connected"}"#)
            case "/status.php":
                return .respond(
                    status: 200,
                    body:
                        #"{"installed":true,"maintenance":\#(maintenance.get()),"needsDbUpgrade":false,"version":"29.0.0.19","versionstring":"29.0.0","edition":"","productname":"Nextcloud","extendedSupport":false}"#
                )
            default: return .respond(status: 404, body: "")
            }
        }
        defer { server.stop() }
        func check(_ configuration: HTTPCheckConfiguration) async -> CheckResult {
            await HTTPCheck(configuration).run(in: context()).results[0]
        }
        let live = HTTPCheckConfiguration(
            name: "litellm-live", url: server.baseURL + "/health/liveliness", expectBody: "alive")
        let ready = HTTPCheckConfiguration(name: "litellm-ready", url: server.baseURL + "/health/readiness")
        let nextcloud = HTTPCheckConfiguration(
            name: "nextcloud", url: server.baseURL + "/status.php",
            expectJSON: ["installed": .bool(true), "maintenance": .bool(false)])
        #expect(await check(live).status == .ok)
        #expect(await check(ready).status == .ok)
        let ok = await check(nextcloud)
        #expect(ok.status == .ok && ok.observations["status"] == .int(200) && ok.observations["latency_ms"] != nil)
        databaseUp.set(false)
        maintenance.set(true)
        let notReady = await check(ready)
        #expect(notReady.status == .crit && notReady.summary.hasPrefix("status 503, expected 200"))
        let inMaintenance = await check(nextcloud)
        #expect(inMaintenance.status == .crit && inMaintenance.summary.hasPrefix("maintenance is true, expected false"))
        var wrongBody = live
        wrongBody.expectBody = "dead"
        #expect(await check(wrongBody).summary.hasPrefix("body does not contain \"dead\""))
        server.stop()
        let down = await check(live)
        #expect(down.status == .crit && down.summary.hasPrefix("not running: GET "))
    }
}
