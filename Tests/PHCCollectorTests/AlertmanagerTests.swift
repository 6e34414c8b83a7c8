#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// A real Alertmanager (Debian's prometheus-alertmanager), started on 127.0.0.1 with a throw-away
/// configuration whose own webhook points at a loopback receiver, and no gossip.
final class RealAlertmanager: @unchecked Sendable {
    static let binary = Command.which("prometheus-alertmanager") ?? Command.which("alertmanager")

    let process = Process()
    let directory: TemporaryDirectory
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(webhook: String) throws {
        directory = try TemporaryDirectory("phc-am")
        port = try Self.freePort()
        let config = try directory.write(
            "alertmanager.yml",
            """
            route:
              receiver: phc-test
              group_by: [alertname, device]
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: phc-test
                webhook_configs:
                  - url: \(webhook)
                    send_resolved: true
            """)
        // Under timeout(1): should this test process die before it stops Alertmanager, it still ends.
        process.executableURL = URL(fileURLWithPath: Command.which("timeout") ?? "/usr/bin/timeout")
        process.arguments = [
            "-s", "KILL", "120", Self.binary ?? "/usr/bin/prometheus-alertmanager", "--config.file=\(config)",
            "--storage.path=\(directory.file("data"))",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--log.level=warn",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: try directory.write("log", "")))
        try process.run()
    }

    /// Waits until `/-/ready` answers 200.
    func ready() async throws {
        for _ in 0..<100 {
            if let response = try? await CurlHTTPClient().send(
                HTTPRequest(url: url + "/-/ready", timeout: .seconds(1))),
                response.status == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw POSIXFailure(
            "alertmanager not ready: \(String(decoding: (try? Repository.read(directory.file("log"))) ?? Data(), as: UTF8.self))",
            0)
    }

    /// `GET /api/v2/alerts`: the alerts it holds.
    func alerts() async throws -> [[String: Any]] {
        let response = try await CurlHTTPClient().send(HTTPRequest(url: url + "/api/v2/alerts", timeout: .seconds(5)))
        return try JSONSerialization.jsonObject(with: response.body) as? [[String: Any]] ?? []
    }

    /// SIGKILL to Alertmanager and to timeout(1). (SIGTERM would not do: a child Foundation starts from
    /// a Swift concurrency thread inherits a blocked signal mask.)
    func stop() {
        let pid = process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGKILL) }
        kill(pid, SIGKILL)
        directory.remove()
    }

    static func freePort() throws -> Int {
        let server = try LoopbackHTTPServer { _ in .hangUp }
        defer { server.stop() }
        return server.port
    }
}

@Suite("A real Alertmanager", .serialized)
struct AlertmanagerTests {
    /// Polls `condition` for up to `seconds`.
    func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    @Test(
        "the collector posts to /api/v2/alerts: active, then resolved; Alertmanager's own webhook proves the labels route",
        .enabled(
            if: RealAlertmanager.binary != nil,
            "prometheus-alertmanager is not installed (scripts/install-deps installs it)"))
    func realAlertmanager() async throws {
        let hook = try FakeReceiver(path: "/am-hook") { _, _ in .respond(status: 200, body: "") }
        defer { hook.stop() }
        let manager = try RealAlertmanager(webhook: hook.url)
        defer { manager.stop() }
        try await manager.ready()

        let fleet = try FleetFixture()
        defer { fleet.remove() }
        fleet.clock = WallClock.system.now()  // Alertmanager lives in real time
        try fleet.publish("armitage")
        let configuration = try fleet.configuration(
            extra: """
                receivers:
                  - {name: am, type: alertmanager, url: "\(manager.url)"}
                routes:
                  - {receiver: am, match: {}}
                interval: 60s
                """)
        func pass(_ statuses: [String: CheckStatus]) async throws -> DeliverySummary {
            try fleet.publish("armitage", statuses: statuses)
            return try await Collector(
                configuration: configuration, logger: Logger(label: "t"), clock: .fixed(fleet.clock)
            ).run()
                .delivery
        }
        _ = try await pass(["system": .ok, "gpu:0": .crit])
        let fired = try await pass(["system": .ok, "gpu:0": .crit])
        #expect(fired.delivered == 1, "\(fired)")
        let active = try await manager.alerts()
        let alert = try #require(active.first { ($0["labels"] as? [String: String])?["alertname"] == "CheckFailing" })
        let labels = alert["labels"] as? [String: String] ?? [:]
        #expect(
            labels["device"] == "armitage" && labels["check"] == "gpu:0" && labels["severity"] == "crit"
                && labels["kind"] == "gpu")
        #expect((alert["status"] as? [String: Any])?["state"] as? String == "active")
        #expect((alert["annotations"] as? [String: String])?["summary"] == "gpu:0 is crit")
        // Its own route and webhook: the labels reach the receiver it routes to.
        #expect(
            try await eventually {
                hook.received.contains { request in
                    let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any]
                    let alerts = body?["alerts"] as? [[String: Any]] ?? []
                    return body?["status"] as? String == "firing"
                        && alerts.contains { ($0["labels"] as? [String: String])?["device"] == "armitage" }
                }
            }, "Alertmanager notified its webhook")

        // Fixed: resolved with endsAt now; Alertmanager lets it go and says so.
        fleet.clock = WallClock.system.now()
        _ = try await pass(["system": .ok, "gpu:0": .ok])
        #expect(
            try await eventually {
                try await manager.alerts().allSatisfy {
                    ($0["labels"] as? [String: String])?["alertname"] != "CheckFailing"
                }
            }, "no longer active")
        #expect(
            try await eventually {
                hook.received.contains { request in
                    let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any]
                    return body?["status"] as? String == "resolved"
                }
            }, "Alertmanager sent the resolved notice")
    }
}
