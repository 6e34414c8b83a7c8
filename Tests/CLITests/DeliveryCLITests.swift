#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCCore
import PHCTestSupport
import Testing

/// Delivery through the binaries: crash points, the alerts and silence commands, notify test.
@Suite("phc-collector delivery commands")
struct DeliveryCLITests {
    let agent = Command.built("phc-agent")
    let collector = Command.built("phc-collector")

    /// An agent whose one mount check is crit, and a collector that routes everything to `url`.
    struct Scene {
        let directory: TemporaryDirectory
        let agentConfig: String
        let config: String
    }

    func scene(receiverURL: String, type: String = "webhook") async throws -> Scene {
        let directory = try TemporaryDirectory()
        try directory.folder("devices")
        let line = try await Command.run(agent, ["keygen", "--key", directory.file("a.key")]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let agentConfig = try directory.write(
            "agent.yaml",
            "device: armitage\ndevices_dir: devices\nstate_dir: state-a\nkey_file: a.key\nchecks:\n"
                + "  system: {load_per_cpu: {warn: 1000}, memory_available: {warn: 0%}, root_free: {warn: 0%}}\n"
                + "  mounts: [{path: \(directory.file("not-mounted"))}]\n")
        let urlFile = try directory.write("hook.url", receiverURL + "\n", mode: 0o600)
        let config = try directory.write(
            "collector.yaml",
            """
            devices_dir: devices
            database: state/c.sqlite
            devices:
              armitage: {keys: ["\(line)"]}
            receivers:
              - {name: hook, type: \(type), url_file: \(urlFile)}
            routes:
              - {receiver: hook, group_wait: 0s}
            """)
        return Scene(directory: directory, agentConfig: agentConfig, config: config)
    }

    @Test(
        "kill -9 before the commit, after it, and after the answer: once each; only the last re-sends, with the same id",
        arguments: ["kill-before-commit", "kill-after-commit", "kill-after-send"])
    func crashPoints(fault: String) async throws {
        let hook = try FakeReceiver()
        defer { hook.stop() }
        let scene = try await scene(receiverURL: hook.url)
        defer { scene.directory.remove() }
        #expect(try await Command.run(agent, ["run", "--config", scene.agentConfig]).status == 0)
        #expect(try await Command.run(collector, ["run", "--config", scene.config]).status == 0)  // pending
        #expect(try await Command.run(agent, ["run", "--config", scene.agentConfig]).status == 0)
        let killed = try await Command.run(
            collector, ["run", "--config", scene.config], environment: ["PHC_FAULT": fault])
        #expect(killed.status != 0, "\(fault): the process died")
        let afterCrash = hook.received.count
        #expect(afterCrash == (fault == "kill-after-send" ? 1 : 0))
        for _ in 0..<3 { #expect(try await Command.run(collector, ["run", "--config", scene.config]).status == 0) }
        let ids = hook.ids
        let payloads = hook.received.compactMap {
            (try? JSONSerialization.jsonObject(with: $0.body)) as? [String: Any]
        }
        #expect(payloads.allSatisfy { $0["status"] as? String == "firing" })
        if fault == "kill-after-send" {
            #expect(ids.count == 2 && Set(ids).count == 1, "re-sent once, with the same id: \(ids)")
        } else {
            #expect(ids.count == 1, "exactly once: \(ids)")
        }
    }

    @Test("alerts --format json has the SPEC's shape; silence add prints one id, list shows it, remove drops it")
    func alertsAndSilences() async throws {
        let hook = try FakeReceiver()
        defer { hook.stop() }
        let scene = try await scene(receiverURL: hook.url)
        defer { scene.directory.remove() }
        for _ in 0..<2 {
            #expect(try await Command.run(agent, ["run", "--config", scene.agentConfig]).status == 0)
            #expect(try await Command.run(collector, ["run", "--config", scene.config]).status == 0)
        }
        let json = try await Command.run(collector, ["alerts", "--config", scene.config, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let alerts = object?["alerts"] as? [[String: Any]] ?? []
        let alert = try #require(alerts.first { $0["name"] as? String == "CheckFailing" })
        for key in ["name", "state", "severity", "labels", "summary", "since", "silenced", "notifications"] {
            #expect(alert[key] != nil, "\(key)")
        }
        #expect(alert["state"] as? String == "firing" && alert["silenced"] as? Bool == false)
        let delivery = (alert["notifications"] as? [[String: Any]])?.first
        #expect(delivery?["receiver"] as? String == "hook" && delivery?["status"] as? String == "delivered")
        #expect(delivery?.keys.sorted() == ["at", "receiver", "status"])

        let add = try await Command.run(
            collector,
            [
                "silence", "add", "--config", scene.config, "--match", "device=armitage", "--for", "2h", "--comment",
                "GPU swap",
            ])
        #expect(add.status == 0)
        let lines = add.stdout.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].count == 12, "exactly one line, the id: \(add.stdout)")
        let id = String(lines[0])
        let list = try await Command.run(collector, ["silence", "list", "--config", scene.config])
        #expect(list.stdout.contains(id) && list.stdout.contains("active") && list.stdout.contains("GPU swap"))
        let silenced = try await Command.run(collector, ["alerts", "--config", scene.config])
        #expect(silenced.stdout.contains("[silenced]"), "\(silenced.stdout)")
        let remove = try await Command.run(collector, ["silence", "remove", id, "--config", scene.config])
        #expect(remove.status == 0 && remove.stdout == "removed: \(id)\n")
        let again = try await Command.run(collector, ["silence", "remove", id, "--config", scene.config])
        #expect(again.status == 1 && again.stderr.contains("no silence has the id"))
        let bad = try await Command.run(
            collector,
            ["silence", "add", "--config", scene.config, "--match", "nolabel", "--for", "1h", "--comment", "x"])
        #expect(bad.status == 1 && bad.stderr.contains("is not LABEL=VALUE"))
    }

    @Test("notify test sends one notification and prints the answer, never the URL")
    func notifyTest() async throws {
        let token = "tok\(UInt64.random(in: 1...UInt64.max))"
        let discord = try FakeReceiver.discord(path: "/api/webhooks/77/\(token)", rateLimitFirst: false)
        defer { discord.stop() }
        let scene = try await scene(receiverURL: discord.url, type: "discord")
        defer { scene.directory.remove() }
        let sent = try await Command.run(collector, ["notify", "test", "hook", "--config", scene.config])
        #expect(
            sent.status == 0 && sent.stdout.hasPrefix("hook: delivered (notification "), "\(sent.stdout)\(sent.stderr)")
        #expect(discord.received.count == 1)
        let body = try JSONSerialization.jsonObject(with: discord.received[0].body) as? [String: Any]
        #expect((body?["content"] as? String)?.contains("[TEST]") == true)
        discord.stop()
        let failed = try await Command.run(collector, ["notify", "test", "hook", "--config", scene.config])
        #expect(failed.status == 1 && failed.stdout.contains("connection refused"), "\(failed.stdout)")
        #expect(!(failed.stdout + failed.stderr + sent.stdout + sent.stderr).contains(token))
        let unknown = try await Command.run(collector, ["notify", "test", "nobody", "--config", scene.config])
        #expect(unknown.status == 1 && unknown.stderr.contains("no receiver named nobody"))
    }
}

extension DeliveryCLITests {
    @Test("run --every delivers a retry between passes, as it falls due")
    func retriesBetweenPasses() async throws {
        let hook = try FakeReceiver { _, index in
            index == 0 ? .respond(status: 503, body: "busy") : .respond(status: 204, body: "")
        }
        defer { hook.stop() }
        let scene = try await scene(receiverURL: hook.url)
        defer { scene.directory.remove() }
        for _ in 0..<2 { #expect(try await Command.run(agent, ["run", "--config", scene.agentConfig]).status == 0) }
        #expect(try await Command.run(collector, ["run", "--config", scene.config]).status == 0)  // pending
        #expect(try await Command.run(agent, ["run", "--config", scene.agentConfig]).status == 0)
        // One pass now, the next in 10 minutes: the 503's retry (about a second later) comes in between.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: collector)
        process.arguments = ["run", "--every", "10m", "--config", scene.config]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { kill(process.processIdentifier, SIGKILL) }
        var delivered = false
        for _ in 0..<150 where !delivered {
            try await Task.sleep(for: .milliseconds(100))
            delivered = hook.received.count >= 2
        }
        #expect(delivered, "retried between passes: \(hook.received.count) requests")
        #expect(Set(hook.ids).count == 1)
    }
}
