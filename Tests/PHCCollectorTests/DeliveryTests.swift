import Crypto
import Foundation
import InMemoryLogging
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// Delivery to real loopback receivers: Discord (with its limits and a 429), Slack, a webhook that
/// checks the HMAC, a receiver that never answers, a refused port.
@Suite("Alert delivery to loopback receivers")
struct DeliveryTests {
    /// A fleet whose armitage turns crit for two manifests, and a collector configuration with `receivers`.
    static func scene(
        _ fleet: FleetFixture, receivers: [(name: String, type: String, url: String, extra: String)],
        routes: String? = nil, extra: String = ""
    ) throws -> CollectorConfiguration {
        var text = "receivers:\n"
        for receiver in receivers {
            let file = try fleet.directory.write("\(receiver.name).url", receiver.url + "\n", mode: 0o600)
            text += "  - {name: \(receiver.name), type: \(receiver.type), url_file: \(file)\(receiver.extra)}\n"
        }
        text +=
            routes
            ?? "routes:\n"
            + receivers.map { "  - {receiver: \($0.name), group_wait: 0s, group_interval: 0s, continue: true}\n" }
            .joined()
        return try fleet.configuration(extra: text + extra)
    }

    /// Two crit manifests in two passes: CheckFailing fires at the second.
    static func turnCrit(_ fleet: FleetFixture, _ configuration: CollectorConfiguration, logger: Logger? = nil) throws
        -> Collector
    {
        var collector = fleet.collector(configuration)
        if let logger {
            collector = Collector(configuration: configuration, logger: logger, clock: .fixed(fleet.clock))
        }
        for _ in 0..<2 {
            try fleet.publish("armitage", statuses: ["system": .ok, "gpu:0": .crit])
            _ = try collector.pass()
        }
        return collector
    }

    @Test("Discord, Slack and an HMAC-checking webhook each get the alert once; Discord's 429 is waited out")
    func threeReceivers() async throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let discord = try FakeReceiver.discord(path: "/api/webhooks/1234/discord-token")
        let slack = try FakeReceiver(path: "/services/T0/B0/slack-token") { _, _ in .respond(status: 200, body: "ok") }
        let secret = "hmac-secret-\(UInt64.random(in: 1...UInt64.max))"
        let hook = try FakeReceiver { request, _ in
            let timestamp = request.headers["x-phc-timestamp"] ?? ""
            let mac = HMAC<SHA256>.authenticationCode(
                for: Array("\(timestamp).".utf8) + Array(request.body), using: SymmetricKey(data: Array(secret.utf8)))
            let expected = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
            return request.headers["x-phc-signature"] == expected
                ? .respond(status: 200, body: "") : .respond(status: 401, body: #"{"error": "bad signature"}"#)
        }
        defer { [discord, slack, hook].forEach { $0.stop() } }
        let secretFile = try fleet.directory.write("hook.secret", secret + "\n", mode: 0o600)
        try fleet.publish("armitage")
        let configuration = try Self.scene(
            fleet,
            receivers: [
                ("discord", "discord", discord.url, ""), ("slack", "slack", slack.url, ""),
                ("hook", "webhook", hook.url, ", hmac_secret_file: \(secretFile)"),
            ])
        let collector = try Self.turnCrit(fleet, configuration)
        let first = try await collector.deliver()
        #expect(first.delivered == 2 && first.retrying == 1, "\(first)")
        #expect(slack.received.count == 1 && hook.received.count == 1)
        #expect(hook.server.requests.first?.headers["content-type"] == "application/json")
        let payload = try JSONSerialization.jsonObject(with: hook.received[0].body) as? [String: Any]
        #expect(payload?["version"] as? String == "4" && payload?["status"] as? String == "firing")
        // Discord said 429, Retry-After 2: not before two seconds have passed.
        let soon = Collector(configuration: configuration, logger: Logger(label: "t"), clock: .fixed(fleet.clock + 1))
        #expect(try await soon.deliver().attempted == 0)
        let later = Collector(configuration: configuration, logger: Logger(label: "t"), clock: .fixed(fleet.clock + 3))
        #expect(try await later.deliver().delivered == 1)
        #expect(discord.received.count == 2 && Set(discord.ids).count == 1, "the retry carries the same id")
        // Nothing more to send; a pass over the same manifest adds nothing (unchanged group).
        _ = try later.pass()
        #expect(try await later.deliver().attempted == 0)
        #expect(slack.received.count == 1 && hook.received.count == 1 && discord.received.count == 2)
        let store = try fleet.store(configuration)
        #expect(try store.outbox().allSatisfy { $0.status == .delivered })
    }

    @Test(
        "a hung receiver costs its timeout, the others still get theirs; a refused port is retried until ReceiverFailing"
    )
    func hungAndRefused() async throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let hung = try FakeReceiver { _, _ in .never }
        let good = try FakeReceiver()
        let refused = try FakeReceiver()
        let refusedURL = refused.url
        refused.stop()
        defer { [hung, good].forEach { $0.stop() } }
        try fleet.publish("armitage")
        let configuration = try Self.scene(
            fleet,
            receivers: [
                ("hung", "webhook", hung.url, ", timeout: 1s"), ("good", "webhook", good.url, ""),
                ("refused", "webhook", refusedURL, ""),
            ])
        let collector = try Self.turnCrit(fleet, configuration)
        let start = Date()
        let summary = try await collector.deliver()
        // A timeout of 1 s; the bound only tells it from waiting for ever, with room for a loaded machine.
        #expect(Date().timeIntervalSince(start) < 60)
        #expect(good.received.count == 1 && summary.delivered == 1 && summary.retrying == 2)
        // Keep failing: three attempts in a row make the receiver failing, and the next pass raises the alert.
        var now = fleet.clock
        for _ in 0..<3 {
            now = now + 400
            _ = try await Collector(configuration: configuration, logger: Logger(label: "t"), clock: .fixed(now))
                .deliver()
        }
        let store = try fleet.store(configuration)
        #expect(try store.receiverHealth()["refused"]?.failures ?? 0 >= 3)
        for _ in 0..<2 {
            now = now + 60
            try fleet.publish("armitage", statuses: ["system": .ok, "gpu:0": .crit])
            _ = try Collector(configuration: configuration, logger: Logger(label: "t"), clock: .fixed(now)).pass()
        }
        let failing = try store.alerts().filter { $0.name == .receiverFailing }
        #expect(
            failing.compactMap(\.checkID).sorted() == ["hung", "refused"] && failing.allSatisfy { $0.state == .firing })
        #expect(AlertNotice(failing[0]).labels["receiver"] != nil)
        let report = try FleetReport.build(configuration: configuration, clock: .fixed(now))
        let refusedStatus = try #require(report.receivers.first { $0.name == "refused" })
        #expect(refusedStatus.status == "failing" && refusedStatus.pending > 0)
        #expect(refusedStatus.lastError?.contains("connection refused") == true, "\(refusedStatus)")
        #expect(refusedStatus.lastError?.contains(refusedURL) == false, "the URL is a secret")
        #expect(ReportRenderer.render(report, format: .text).contains("RECEIVERS FAILING"))
    }

    @Test("a 4xx is refused for good with the answer kept; past give_up_after a notification is dropped")
    func permanentAndGiveUp() async throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let gone = try FakeReceiver { _, _ in
            .respond(status: 404, body: #"{"message": "Unknown Webhook", "code": 10015}"#)
        }
        let down = try FakeReceiver { _, _ in .respond(status: 503, body: "busy") }
        defer { [gone, down].forEach { $0.stop() } }
        try fleet.publish("armitage")
        let configuration = try Self.scene(
            fleet, receivers: [("gone", "discord", gone.url, ""), ("down", "webhook", down.url, "")],
            extra: "give_up_after: 1h\n")
        let collector = try Self.turnCrit(fleet, configuration)
        _ = try await collector.deliver()
        let store = try fleet.store(configuration)
        let rows = Dictionary(uniqueKeysWithValues: try store.outbox().map { ($0.notification.receiver, $0) })
        #expect(rows["gone"]?.status == .failed)
        #expect(rows["gone"]?.answer == #"HTTP 404: {"message": "Unknown Webhook", "code": 10015}"#)
        #expect(rows["down"]?.status == .pending && rows["down"]?.answer == "HTTP 503: busy")
        let late = Collector(
            configuration: configuration, logger: Logger(label: "t"), clock: .fixed(fleet.clock + 7200))
        #expect(try await late.deliver().dropped == 1)
        #expect(try store.outbox(receiver: "down").first?.status == .dropped)
        #expect(gone.received.count == 1, "a permanent failure is not retried")
    }

    @Test("a silenced alert is shown and not sent; when the silence ends it is sent")
    func silenced() async throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let hook = try FakeReceiver()
        defer { hook.stop() }
        try fleet.publish("armitage")
        let configuration = try Self.scene(fleet, receivers: [("hook", "webhook", hook.url, "")])
        _ = try SilenceBook.add(
            matchers: ["device=armitage", "check=gpu:0"], until: fleet.clock + 600, comment: "swapping the GPU",
            author: "mdt", configuration: configuration, now: fleet.clock)
        let collector = try Self.turnCrit(fleet, configuration)
        #expect(try await collector.deliver().attempted == 0)
        let listing = try AlertListing.build(configuration: configuration, all: false, clock: .fixed(fleet.clock))
        #expect(listing.alerts.first { $0.name == "CheckFailing" }?.silenced == true)
        // Ten minutes on, the device still reports gpu:0 crit; the silence has ended.
        fleet.clock = fleet.clock + 601
        try fleet.publish("armitage", statuses: ["system": .ok, "gpu:0": .crit])
        let after = Collector(configuration: configuration, logger: Logger(label: "t"), clock: .fixed(fleet.clock))
        _ = try after.pass()
        #expect(try await after.deliver().delivered == 1)
        #expect(hook.received.count == 1)
    }

    @Test("the webhook URL is a secret: the canary is in no output, log, report or database byte")
    func urlCanary() async throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let canary = "canary\(UInt64.random(in: 1...UInt64.max))"
        let fine = try FakeReceiver(path: "/api/webhooks/42/\(canary)") { _, index in
            index == 0
                ? .respond(status: 400, body: #"{"message": "bad: /api/webhooks/42/\#(canary)"}"#)
                : .respond(status: 204, body: "")
        }
        defer { fine.stop() }
        let unreachable = "http://\(canary).invalid/api/webhooks/42/\(canary)"
        try fleet.publish("armitage")
        let configuration = try Self.scene(
            fleet, receivers: [("discord", "discord", fine.url, ""), ("lost", "slack", unreachable, ", timeout: 2s")])
        let logs = InMemoryLogHandler()
        let logger = Logger(label: "test") { _ in logs }
        let collector = try Self.turnCrit(fleet, configuration, logger: logger)
        _ = try await Collector(configuration: configuration, logger: logger, clock: .fixed(fleet.clock)).deliver()
        let test = await NotifyTest.send(receiver: "discord", configuration: configuration, logger: logger)
        #expect(test?.delivered == true)
        _ = try collector.pass()
        var places: [(String, String)] = [
            ("logs", logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")),
            ("report", ReportRenderer.render(try FleetReport.build(configuration: configuration), format: .json)),
            ("alerts", try AlertListing.build(configuration: configuration, all: true).json()),
            ("notify test", test?.answer ?? ""),
        ]
        for file in try FileManager.default.contentsOfDirectory(atPath: fleet.directory.file("state")) {
            let data = try Data(contentsOf: URL(fileURLWithPath: fleet.directory.file("state/\(file)")))
            places.append((file, String(decoding: data, as: UTF8.self)))
        }
        #expect(places.count >= 5)
        let answers = try fleet.store(configuration).outbox().compactMap(\.answer)
        #expect(answers.contains { $0.contains("[redacted]") }, "the receiver echoed its URL: scrubbed \(answers)")
        for (place, text) in places {
            #expect(!text.contains(canary), "the webhook URL leaked into \(place)")
        }
    }
}
