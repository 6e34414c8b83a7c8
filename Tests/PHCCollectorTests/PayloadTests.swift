import Crypto
import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// The receivers' formats, built by pure functions, against the limits and the real shapes.
@Suite("Receiver payloads")
struct PayloadTests {
    static func notification(_ count: Int, summary: String = "GPU 0 at 91 °C", resolved: Int = 0) -> AlertNotification {
        let alerts = (0..<count).map { index -> AlertNotice in
            var alert = RoutingTests.alert(device: "device-\(index)", check: "gpu:\(index % 4)")
            alert.summary = summary
            if index < resolved {
                alert.state = .resolved
                alert.resolvedAt = 2000
            }
            return AlertNotice(alert)
        }
        return AlertNotification(
            id: AlertNotification.newID(), receiver: "discord", kind: .group,
            groupKey: AlertNotification.groupKey(route: 0, labels: ["alertname": "CheckFailing"]),
            groupLabels: ["alertname": "CheckFailing"], alerts: alerts, createdAt: 2000)
    }

    @Test(
        "Discord: every limit respected by cutting, never by refusing",
        arguments: [(1, 20), (60, 20), (60, 5000), (3, 50_000), (12, 1100)] as [(Int, Int)])
    func discordLimits(alerts: Int, summaryLength: Int) throws {
        let summary = String(repeating: "é🔥x", count: summaryLength / 3 + 1)
        let body = DiscordPayload.body(Self.notification(alerts, summary: summary))
        #expect(DiscordRules.violation(body) == nil, "\(DiscordRules.violation(body) ?? "")")
        let message = DiscordPayload.message(Self.notification(alerts, summary: summary))
        #expect(!message.embeds.isEmpty && message.embeds.count <= 10)
        if alerts > message.embeds.count {
            #expect(message.content.hasSuffix("… and \(alerts - message.embeds.count) more"), "\(message.content)")
        }
        #expect(message.embeds.first?.color == DiscordPayload.Colour.crit)
    }

    @Test("Discord: colour by severity and resolution; the header counts what fires")
    func discordColours() {
        let mixed = Self.notification(3, resolved: 1)
        let message = DiscordPayload.message(mixed)
        #expect(message.content.hasPrefix("**[FIRING:2]** (1 resolved) CheckFailing on device-0"))
        #expect(
            message.embeds.map(\.color) == [
                DiscordPayload.Colour.crit, DiscordPayload.Colour.crit, DiscordPayload.Colour.resolved,
            ])
        #expect(message.embeds[0].title == "crit · CheckFailing gpu:1 on device-1")
        let resolved = DiscordPayload.message(Self.notification(1, resolved: 1))
        #expect(resolved.content.hasPrefix("**[RESOLVED]**"))
    }

    @Test("Slack: text and blocks inside Slack's limits, markup escaped")
    func slack() throws {
        let message = SlackPayload.message(Self.notification(80, summary: "<script> & <@here>"))
        #expect(message.text.hasPrefix("[FIRING:80] CheckFailing on"))
        #expect(message.blocks.count <= 50)
        #expect(message.blocks.last?.text.text == "… and 32 more")
        let section = message.blocks[1].text.text
        #expect(section.contains("&lt;script&gt; &amp; &lt;@here&gt;") && !section.contains("<@here>"))
        let json = try JSONSerialization.jsonObject(with: SlackPayload.body(Self.notification(1))) as? [String: Any]
        #expect(json?.keys.sorted() == ["blocks", "text"])
    }

    /// Key → JSON type name, recursively for the alerts' keys.
    static func shape(_ object: [String: Any]) -> [String: String] {
        object.mapValues { value in
            switch value {
            case is String: "string"
            case is [Any]: "array"
            case is [String: Any]: "object"
            case is NSNumber: "number"
            default: "null"
            }
        }
    }

    @Test("webhook: Alertmanager's v4 JSON, with every field and type the real payloads of the fixtures have")
    func webhookShape() throws {
        let ours = try #require(
            JSONSerialization.jsonObject(with: WebhookPayload.body(Self.notification(2, resolved: 1))) as? [String: Any]
        )
        let oursAlert = try #require((ours["alerts"] as? [[String: Any]])?.first)
        let folder = Repository.fixture("PHCCollectorTests", "alertmanager-webhook")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter {
            $0.hasSuffix(".json") && !$0.contains("without_mandatory")
        }
        #expect(files.count >= 5)
        for file in files {
            let theirs = try #require(
                JSONSerialization.jsonObject(with: Repository.read(folder + "/" + file)) as? [String: Any])
            for (key, type) in Self.shape(theirs) {
                #expect(Self.shape(ours)[key] == type, "\(file): \(key)")
            }
            for alert in theirs["alerts"] as? [[String: Any]] ?? [] {
                for (key, type) in Self.shape(alert) {
                    #expect(Self.shape(oursAlert)[key] == type, "\(file): alerts[].\(key)")
                }
            }
        }
        #expect(ours["version"] as? String == "4" && ours["status"] as? String == "firing")
        #expect(
            oursAlert["endsAt"] as? String == "0001-01-01T00:00:00Z" || oursAlert["status"] as? String == "resolved")
        let labels = try #require(oursAlert["labels"] as? [String: String])
        #expect(["alertname", "device", "severity", "check", "kind"].allSatisfy { labels[$0] != nil })
        #expect((ours["commonLabels"] as? [String: String])?["alertname"] == "CheckFailing")
        // The negative fixture lacks a top-level status; ours always has it.
        let negative = try #require(
            JSONSerialization.jsonObject(
                with: Repository.read(folder + "/prom2teams-without_mandatory_field.json")) as? [String: Any])
        #expect(negative["status"] == nil && ours["status"] != nil)
    }

    @Test("webhook HMAC: sha256 over timestamp.body, which an independent HMAC accepts")
    func hmac() {
        let body = Data(#"{"a":1}"#.utf8)
        let headers = WebhookPayload.signatureHeaders(body: body, secret: Array("s3cret".utf8), at: 1_700_000_000)
        #expect(headers[0] == ("X-PHC-Timestamp", "1700000000"))
        let expected = HMAC<SHA256>.authenticationCode(
            for: Array("1700000000.".utf8) + Array(body), using: SymmetricKey(data: Array("s3cret".utf8)))
        #expect(headers[1].value == "sha256=" + expected.map { String(format: "%02x", $0) }.joined())
    }

    @Test("Alertmanager API: firing alerts end a few intervals ahead, resolved ones when they resolved")
    func alertmanager() {
        let alerts = AlertmanagerPayload.alerts(Self.notification(2, resolved: 1), now: 5000, interval: .seconds(60))
        let ends = Dictionary(uniqueKeysWithValues: alerts.map { ($0.labels["device"] ?? "", $0.endsAt) })
        #expect(ends["device-0"] == Timestamp(secondsSinceEpoch: 2000).description, "resolved: when it resolved")
        #expect(ends["device-1"] == Timestamp(secondsSinceEpoch: 5180).description, "firing: three intervals ahead")
        #expect(alerts[0].labels["alertname"] == "CheckFailing" && alerts[0].annotations["summary"] != nil)
    }

    @Test("retries: backoff with full jitter up to 5 minutes, Retry-After in seconds or as a date, 4xx is final")
    func retries() {
        #expect(RetryPolicy.backoff(attempts: 1, random: 0.999) == 1)
        #expect(RetryPolicy.backoff(attempts: 4, random: 0.5) == 4)
        #expect(RetryPolicy.backoff(attempts: 30, random: 0.999) == 300)
        #expect(RetryPolicy.backoff(attempts: 30, random: 0) == 1)
        let now = Timestamp(rfc3339: "2026-10-21T07:28:00Z")!.secondsSinceEpoch
        #expect(RetryPolicy.retryAfter(headers: ["retry-after": "120"], body: Data(), now: now) == 120)
        #expect(
            RetryPolicy.retryAfter(headers: ["retry-after": "Wed, 21 Oct 2026 07:29:30 GMT"], body: Data(), now: now)
                == 90)
        #expect(RetryPolicy.retryAfter(headers: [:], body: Data(#"{"retry_after": 1.2}"#.utf8), now: now) == 2)
        #expect(
            RetryPolicy.verdict(
                status: 429, headers: ["retry-after": "99999"], body: Data(), attempts: 1, random: 0.5, now: now)
                == .retry(afterSeconds: 3600, reason: "HTTP 429"))
        #expect(
            RetryPolicy.verdict(status: 204, headers: [:], body: Data(), attempts: 1, random: 0, now: now) == .delivered
        )
        #expect(
            RetryPolicy.verdict(
                status: 404, headers: [:], body: Data(#"{"message": "Unknown Webhook"}"#.utf8), attempts: 1, random: 0,
                now: now)
                == .failed(reason: #"HTTP 404: {"message": "Unknown Webhook"}"#))
        if case .retry = RetryPolicy.verdict(
            status: 503, headers: [:], body: Data(), attempts: 2, random: 0.5, now: now)
        {
        } else {
            Issue.record("5xx is retried")
        }
    }
}
