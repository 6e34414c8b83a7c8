import Foundation
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

@Suite("Alert life cycle, legacy status files, configuration, report rendering")
struct AlertAndLegacyTests {
    let condition = AlertCondition(
        name: .checkFailing, device: "armitage", checkID: "gpu:0", severity: .crit, summary: "hot")

    @Test("pending, then firing at the threshold, then resolved; a blip never fires")
    func lifeCycle() {
        var existing: [AlertRecord] = []
        func pass(_ conditions: [AlertCondition], at now: Int64) -> AlertEvaluator.Changes {
            let changes = AlertEvaluator.evaluate(
                conditions: conditions, existing: existing, failureThreshold: 2, now: now)
            existing =
                existing.filter { alert in
                    !changes.delete.contains(alert.key) && !changes.save.contains { $0.key == alert.key }
                }
                + changes.save
            return changes
        }
        #expect(pass([condition], at: 100).save.map(\.state) == [.pending])
        let fired = pass([condition], at: 160)
        #expect(fired.save.map(\.state) == [.firing] && fired.save[0].firedAt == 160)
        #expect(pass([condition], at: 220).save[0].count == 3)
        let resolved = pass([], at: 280)
        #expect(resolved.save.map(\.state) == [.resolved] && resolved.save[0].resolvedAt == 280)
        // A blip: one bad pass, then fine.
        #expect(pass([condition], at: 340).save.map(\.state) == [.pending])
        #expect(pass([], at: 400).delete == [condition.key])
    }

    @Test("the alerts to save come in the order of their keys' text, whatever order their conditions came in")
    func savedInKeyOrder() {
        let conditions = [
            AlertCondition(name: .manifestUnreadable, device: "b", severity: .warn, summary: "s"),
            AlertCondition(name: .checkFailing, device: "b", checkID: "mount:/z", severity: .crit, summary: "s"),
            AlertCondition(name: .deviceSilent, device: "a", severity: .crit, summary: "s"),
            AlertCondition(name: .checkFailing, device: "b", checkID: "gpu:0", severity: .warn, summary: "s"),
            AlertCondition(name: .checkFailing, device: "a-1", checkID: "gpu:0", severity: .warn, summary: "s"),
            AlertCondition(name: .manifestReplay, device: "a", severity: .warn, summary: "s"),
        ]
        let existing = [
            AlertRecord(
                key: AlertKey(name: .clockSkew, device: "c"), severity: .warn, state: .firing, count: 3,
                startedAt: 1, firedAt: 2, resolvedAt: nil, summary: "s", updatedAt: 2)
        ]
        let saved = AlertEvaluator.evaluate(
            conditions: conditions.reversed(), existing: existing, failureThreshold: 1, now: 10
        ).save.map(\.key.text)
        #expect(saved.count == 7 && saved == saved.sorted(), "\(saved)")
    }

    @Test(
        "legacy _status.json shapes: BOM, CRLF, upper-case device, healthy or degraded",
        arguments: [
            (
                "\u{FEFF}{\"timestamp\":\"2026-11-27T10:00:00Z\",\"device\":\"COUNT-ZERO\",\"status\":\"degraded\"}\r\n",
                CheckStatus.warn
            ),
            (
                "{\"timestamp\":\"2026-11-27 10:00:00\",\"device\":\"motoko\",\"status\":\"healthy\",\"components\":{\"mounts\":{\"space\":true}}}",
                .ok
            ),
            ("{\"device\":\"x\",\"status\":\"on fire\"}", .unknown),
        ])
    func legacyShapes(text: String, status: CheckStatus) throws {
        let parsed = try LegacyStatusFile.parse(Data(text.utf8))
        #expect(parsed.status == status)
        #expect(parsed.checks.first?.status == status)
        if status == .ok { #expect(parsed.timestamp == Timestamp(rfc3339: "2026-11-27T10:00:00Z")) }
    }

    @Test("the SPEC's collector configuration is read; mistakes name their line")
    func configuration() throws {
        let key = SigningKey().publicKey.line
        let text = """
            devices_dir: /space/devices
            publish_dir: /space/devices/_fleet
            database: /var/lib/phc-collector/collector.sqlite
            devices:
              motoko:   {always_on: true, keys: ["\(key)"]}
              Armitage: {keys: ["\(key)"], silent_after: 10m}
              count-zero: {legacy: true}
            receivers:
              - name: discord
                type: discord
                url_file: /etc/phc/discord-webhook.url
            routes:
              - receiver: discord
                match: {severity: [warn, crit]}
                repeat: 4h
            """
        let parsed = try CollectorConfiguration.parse(text, file: "/etc/phc/collector.yaml")
        #expect(parsed.devices.keys.sorted() == ["armitage", "count-zero", "motoko"])
        #expect(parsed.devices["motoko"]?.alwaysOn == true && parsed.devices["count-zero"]?.legacy == true)
        #expect(parsed.devices["armitage"]?.silentAfter == .seconds(600))
        #expect(parsed.trustFile == "/var/lib/phc-collector/trust.json")
        #expect(
            parsed.routes == [
                RouteConfiguration(
                    receiver: "discord", match: ["severity": ["warn", "crit"]], repeatInterval: .seconds(14400))
            ])

        let zero = "ed25519:" + Data(count: 32).base64EncodedString()
        let bad =
            "devices:\n  motoko: {keys: [\"ssh-ed25519 AAAA\", \"\(zero)\"]}\nroutes:\n  - receiver: pager\nreceiverz: []\n"
        let error = #expect(throws: ConfigError.self) { try CollectorConfiguration.parse(bad, file: "c.yaml") }
        let lines = error?.description.split(separator: "\n").map(String.init) ?? []
        #expect(lines.contains { $0.hasPrefix("c.yaml:2:19: devices.motoko.keys[0]: not a public key line") })
        #expect(
            lines.contains { $0.hasPrefix("c.yaml:2:39: devices.motoko.keys[1]: a point of small order") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("c.yaml:4:15: routes[0].receiver: no receiver named 'pager'") })
        #expect(lines.contains("c.yaml:5:1: receiverz: unknown key 'receiverz' (did you mean 'receivers'?)"))
    }

    @Test("the generic and the quickstart's collector configurations are valid")
    func genericAndDemoConfigurations() throws {
        let generic = try CollectorConfiguration.load(path: "\(Repository.root)/collector-config/generic.yaml")
        #expect(
            generic.database == "/var/lib/phc-collector/collector.sqlite"
                && generic.publishDir == "/space/devices/_fleet")
        let demo = try CollectorConfiguration.load(path: "\(Repository.root)/collector-config/default.yaml")
        #expect(demo.devicesDir == Repository.root + "/.phc-demo/devices")
    }

    @Test("the shipped collector configuration is valid")
    func shippedConfiguration() throws {
        let configuration = try CollectorConfiguration.load(path: "\(Repository.root)/collector-config/motoko.yaml")
        #expect(
            configuration.devices["motoko"]?.alwaysOn == true && configuration.devices["count-zero"]?.legacy == true)
        #expect(configuration.receivers.map(\.name) == ["discord", "alertmanager"])
        #expect(configuration.receivers[0].url == .file("/etc/phc/discord-webhook.url"))
        let discord = try #require(configuration.routes.first)
        #expect(discord.groupBy == ["alertname", "device"] && discord.repeatInterval == .seconds(4 * 3600))
        #expect(discord.sendResolved && discord.continue && discord.groupWait == .seconds(30))
        #expect(configuration.heartbeatReceiver == "alertmanager")
    }

    @Test("receivers and routes: every key of SPEC §5, 0s waits, and mistakes with their line")
    func deliveryConfiguration() throws {
        let text = """
            interval: 30s
            recovery_threshold: 3
            receivers:
              - {name: hook, type: webhook, url_file: hook.url, hmac_secret_file: hook.secret, timeout: 3s}
              - {name: am, type: alertmanager, url: "http://127.0.0.1:9093"}
            routes:
              - {receiver: hook, match: {severity: crit, device: [a, b]}, group_by: [alertname], group_wait: 0s, group_interval: 0s, repeat: 1h, send_resolved: false, continue: true}
              - {receiver: am}
            heartbeat: {receiver: am}
            """
        let parsed = try CollectorConfiguration.parse(text, file: "/etc/phc/c.yaml")
        #expect(parsed.interval == .seconds(30) && parsed.recoveryThreshold == 3)
        #expect(
            parsed.receivers[0].url == .file("/etc/phc/hook.url")
                && parsed.receivers[0].hmacSecretFile == "/etc/phc/hook.secret")
        #expect(
            parsed.receivers[0].timeout == .seconds(3) && parsed.receivers[1].url == .inline("http://127.0.0.1:9093"))
        let route = parsed.routes[0]
        #expect(route.match == ["severity": ["crit"], "device": ["a", "b"]] && route.groupBy == ["alertname"])
        #expect(route.groupWait == .zero && route.groupInterval == .zero && !route.sendResolved && route.continue)
        #expect(parsed.routes[1].groupBy == ["alertname", "device"] && parsed.routes[1].groupWait == .seconds(30))

        let secret = "https://discord.com/api/webhooks/1/SECRET-\(UInt64.random(in: 1...UInt64.max))"
        let bad = """
            receivers:
              - {name: d, type: discord, url: "\(secret)"}
              - {name: w, type: webhook}
              - {name: s, type: slack, url_file: s.url, hmac_secret_file: x}
            routes:
              - {receiver: d, match: {"bad label": x}, group_by: [9x]}
            heartbeat: {receiver: nobody}
            """
        let error = #expect(throws: ConfigError.self) { try CollectorConfiguration.parse(bad, file: "c.yaml") }
        let lines = error?.description.split(separator: "\n").map(String.init) ?? []
        #expect(lines.contains { $0.hasPrefix("c.yaml:2:35: receivers[0].url: a discord URL is a secret") }, "\(lines)")
        #expect(lines.contains { $0.contains("receivers[1]: missing required key 'url_file'") }, "\(lines)")
        #expect(lines.contains { $0.contains("hmac_secret_file is for webhook receivers") }, "\(lines)")
        #expect(lines.contains { $0.contains("'bad label' is not a label name") }, "\(lines)")
        #expect(lines.contains { $0.contains("'9x' is not a label name") }, "\(lines)")
        #expect(lines.contains { $0.contains("heartbeat.receiver: no receiver named 'nobody'") }, "\(lines)")
        #expect(!(error?.description.contains("SECRET") ?? true), "the URL is never quoted")
    }

    @Test("the text report fits 80 columns; JSON has the SPEC's fields; Markdown is a table")
    func rendering() throws {
        let longSummary = String(repeating: "a very long summary ", count: 10)
        let report = FleetReport(
            generatedAt: "2026-11-27T10:00:00Z",
            devices: [
                FleetReport.Device(
                    device: "armitage", status: .crit, trust: "signed", silent: false, lastSeen: "2026-11-27T09:57:00Z",
                    lastSeenAgo: "3m ago", sequence: 1043, agentVersion: "0.1.0",
                    checks: [CheckSummary(id: "mount:/mnt/space", status: .crit, summary: longSummary)], rejection: nil,
                    silence: nil),
                FleetReport.Device(
                    device: "a-device-with-a-really-long-name", status: .warn, trust: "none", silent: true,
                    lastSeen: nil,
                    lastSeenAgo: nil, sequence: nil, agentVersion: nil, checks: [], rejection: nil,
                    silence: "never seen"),
            ],
            alerts: [
                FleetReport.Alert(
                    name: "CheckFailing", device: "armitage", check: "mount:/mnt/space", severity: .crit,
                    state: "firing",
                    since: "2026-11-27T09:59:00Z", summary: longSummary)
            ])
        let text = ReportRenderer.render(report, format: .text)
        for line in text.split(separator: "\n") { #expect(line.count <= 80, "\(line.count): \(line)") }
        #expect(text.contains("crit     signed    3m ago     crit mount:/mnt/space"))
        let json =
            try JSONSerialization.jsonObject(with: Data(ReportRenderer.render(report, format: .json).utf8))
            as? [String: Any]
        let device = (json?["devices"] as? [[String: Any]])?.first
        for key in ["device", "status", "trust", "silent", "last_seen", "checks"] {
            #expect(device?[key] != nil, "\(key)")
        }
        #expect((device?["checks"] as? [[String: Any]])?.first?.keys.sorted() == ["id", "status", "summary"])
        #expect((json?["alerts"] as? [Any])?.count == 1)
        let markdown = ReportRenderer.render(report, format: .markdown)
        #expect(markdown.contains("| device | status | trust | last seen | checks |"))
        #expect(markdown.contains("| armitage | crit | signed | 3m ago | crit mount:/mnt/space |"))
    }

    @Test(
        "ages read to two units at most, rounded down",
        arguments: [
            (0, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (3661, "1h1m"), (86399, "23h59m"),
            (86400, "1d"), (90061, "1d1h"), (-5, "0s"),
        ] as [(Int64, String)])
    func ageText(seconds: Int64, text: String) {
        #expect(Age.text(seconds) == text)
    }
}
