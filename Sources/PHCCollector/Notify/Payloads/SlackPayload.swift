#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// A Slack incoming-webhook message: `text` (the notification line, for clients that show no
/// blocks) and Block Kit `blocks`, a header and a section per alert, inside Slack's limits. Pure.
enum SlackPayload {
    enum Limit {
        static let blocks = 50
        static let header = 150
        static let section = 3000
        static let text = 4000
    }

    struct Message: Encodable, Equatable {
        var text: String
        var blocks: [Block]
    }

    struct Block: Encodable, Equatable {
        var type: String
        var text: Text
    }

    struct Text: Encodable, Equatable {
        var type: String
        var text: String
    }

    /// `&`, `<` and `>` are markup in Slack's mrkdwn and must be escaped.
    static func escape(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
    }

    static func message(_ notification: AlertNotification) -> Message {
        let alerts = notification.alerts.sorted(by: AlertOrder.worstFirst)
        let firing = alerts.filter { $0.status == .firing }.count
        let names = Set(alerts.map(\.name)).sorted().joined(separator: ", ")
        let devices = Set(alerts.compactMap { $0.labels["device"] }).sorted().prefix(5).joined(separator: ", ")
        let line =
            notification.kind == .test
            ? "[TEST] PHC Health can reach this channel."
            : (notification.status == .firing ? "[FIRING:\(firing)] " : "[RESOLVED] ") + "\(names) on \(devices)"
        var blocks = [
            Block(type: "header", text: Text(type: "plain_text", text: DiscordPayload.clip(line, Limit.header)))
        ]
        let room = Limit.blocks - 2
        for alert in alerts.prefix(room) {
            let state = alert.status == .firing ? alert.severity : "resolved"
            var head = "*\(state)* \(alert.name)"
            if let check = alert.labels["check"] { head += " `\(check)`" }
            if let device = alert.labels["device"] { head += " on \(device)" }
            let text = escape(head) + "\n" + escape(alert.annotations["summary"] ?? "")
            blocks.append(
                Block(type: "section", text: Text(type: "mrkdwn", text: DiscordPayload.clip(text, Limit.section))))
        }
        if alerts.count > room {
            blocks.append(Block(type: "section", text: Text(type: "mrkdwn", text: "… and \(alerts.count - room) more")))
        }
        return Message(text: DiscordPayload.clip(line, Limit.text), blocks: blocks)
    }

    static func body(_ notification: AlertNotification) -> Data { JSONBody.encode(message(notification)) }
}
