import Foundation
import PHCCore
import PHCTestSupport
import Testing

@Suite("phc-agent run with every probe kind")
struct ProbesEndToEndTests {
    @Test("GPU, inference, HTTP, containers, Tailscale and kernel results land in one signed manifest")
    func everyProbe() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let metrics = try Repository.read(
            "\(Repository.root)/Tests/PHCAgentTests/Fixtures/vllm/datadog-vllm_metrics.txt")
        let metricsText = String(decoding: metrics, as: UTF8.self)
        let server = try LoopbackHTTPServer { request in
            switch request.path {
            case "/health", "/health/liveliness": .respond(status: 200, body: #""I'm alive!""#)
            case "/v1/models":
                .respond(
                    status: 200, body: #"{"object":"list","data":[{"id":"qwen2.5-7b-armitage","max_model_len":32768}]}"#
                )
            case "/metrics": .respond(status: 200, body: metricsText, contentType: "text/plain")
            case "/status.php": .respond(status: 200, body: #"{"installed":true,"maintenance":false}"#)
            default: .respond(status: 404, body: "")
            }
        }
        defer { server.stop() }
        let csv =
            "\(Repository.root)/Tests/PHCAgentTests/Fixtures/nvidia-smi-csv/excerpt-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__query-gpu-idle.csv"
        let xml = "\(Repository.root)/Tests/PHCAgentTests/Fixtures/nvidia-smi-xml/telegraf-a100-sxm4-v12.xml"
        try directory.write(
            "bin/nvidia-smi", "#!/bin/sh\ncase \"$*\" in *--query-gpu*) cat '\(csv)';; *) cat '\(xml)';; esac\n",
            mode: 0o755)
        try directory.write("bin/podman", "#!/bin/sh\n[ \"$1\" = ps ] && echo '[]'\nexit 0\n", mode: 0o755)
        try directory.write(
            "bin/tailscale",
            "#!/bin/sh\necho '{\"BackendState\":\"Running\",\"Self\":{\"HostName\":\"armitage\",\"Online\":true},\"Peer\":{}}'\n",
            mode: 0o755)
        try directory.write("kmsg", "3,1,0,-;NVRM: Xid (PCI:0000:01:00): 13, Graphics Exception\n")
        try directory.folder("devices")
        _ = try await Command.run(Command.built("phc-agent"), ["keygen", "--key", directory.file("agent.key")])
        let config = try directory.write(
            "agent.yaml",
            """
            device: armitage
            devices_dir: devices
            state_dir: state
            key_file: agent.key
            deadline: 10s
            checks:
              system: {load_per_cpu: {warn: 1000}, memory_available: {warn: 0%}, root_free: {warn: 0%}}
              gpu: {nvidia_smi: bin/nvidia-smi, timeout: 5s}
              inference:
                - {name: armitage-vllm, url: "\(server.baseURL)", model: qwen2.5-7b-armitage}
              http:
                - {name: litellm-live, url: "\(server.baseURL)/health/liveliness", expect_body: alive}
                - {name: nextcloud, url: "\(server.baseURL)/status.php", expect_json: {installed: true, maintenance: false}}
              containers: {podman: bin/podman}
              tailscale: {tailscale: bin/tailscale}
              kernel: {source: kmsg}
            """)
        let run = try await Command.run(Command.built("phc-agent"), ["run", "--config", config])
        try #require(run.status == 0, "\(run.stderr)")
        let manifest = try SignedManifest(
            envelope: try Repository.read(directory.file("devices/armitage/_health/manifest.json")),
            trustedKeys: [try SigningKey.load(path: directory.file("agent.key")).publicKey]
        ).manifest
        let statuses = Dictionary(uniqueKeysWithValues: manifest.checks.map { ($0.id, $0.status) })
        #expect(
            statuses == [
                "gpu:0": .ok, "inference:armitage-vllm": .ok, "http:litellm-live": .ok, "http:nextcloud": .ok,
                "containers": .ok, "tailscale": .ok, "kernel": .warn, "system": .ok,
            ], "\(manifest.checks.map { "\($0.id): \($0.summary)" })")
        #expect(manifest.status == .warn)
        #expect(manifest.check("gpu:0")?.observations["temperature_c"] == .double(41))
        // The series allow-list is the agent's own vocabulary: what these checks emit, it keeps.
        let emitted = Set(
            manifest.checks.flatMap { check in
                check.observations.compactMap { key, value -> String? in
                    switch value {
                    case .int, .double: key
                    default: nil
                    }
                }
            })
        let expected: Set<String> = [
            "temperature_c", "utilization_pct", "memory_used_bytes", "memory_total_bytes", "power_draw_w",
            "power_limit_w",
            "kv_cache_usage_pct", "requests_running", "requests_waiting", "latency_ms", "load1",
            "memory_available_bytes",
            "root_free_bytes",
        ]
        #expect(expected.isSubset(of: emitted), "not emitted: \(expected.subtracting(emitted).sorted())")
        #expect(
            expected.allSatisfy(SeriesKeys.contains), "allow-listed: \(expected.filter { !SeriesKeys.contains($0) })")
    }
}

extension Manifest {
    fileprivate func check(_ id: String) -> CheckResult? { checks.first { $0.id == id } }
}
