#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// A Discord webhook message: one embed per alert, coloured by severity, inside every one of
/// Discord's limits. A long group is cut ("and N more"), never refused. Pure.
enum DiscordPayload {
    /// Discord's limits, in characters (counted as UTF-16 units, as Discord's own JavaScript does).
    enum Limit {
        static let content = 2000
        static let username = 80
        static let embeds = 10
        static let title = 256
        static let description = 4096
        static let fields = 25
        static let fieldName = 256
        static let fieldValue = 1024
        static let footer = 2048
        static let author = 256
        /// Titles, descriptions, field names and values, footers and authors of all embeds together.
        static let total = 6000
    }

    struct Message: Encodable, Equatable {
        var username: String
        var content: String
        var embeds: [Embed]
    }

    struct Embed: Encodable, Equatable {
        var title: String
        var description: String
        var color: Int
        var fields: [Field]
        var footer: Footer
        var timestamp: String

        var characters: Int {
            title.utf16.count + description.utf16.count + footer.text.utf16.count
                + fields.reduce(0) { $0 + $1.name.utf16.count + $1.value.utf16.count }
        }
    }

    struct Field: Encodable, Equatable {
        var name: String
        var value: String
        var inline: Bool
    }

    struct Footer: Encodable, Equatable {
        var text: String
    }

    enum Colour {
        static let crit = 0xE7_4C_3C
        static let warn = 0xF3_9C_12
        static let resolved = 0x2E_CC_71
        static let other = 0x34_98_DB
    }

    static func colour(_ alert: AlertNotice) -> Int {
        guard alert.status == .firing else { return Colour.resolved }
        switch alert.severity {
        case "crit": return Colour.crit
        case "warn": return Colour.warn
        default: return Colour.other
        }
    }

    /// The message for `notification`.
    static func message(_ notification: AlertNotification) -> Message {
        let alerts = notification.alerts.sorted(by: AlertOrder.worstFirst)
        var embeds: [Embed] = []
        var used = 0
        for alert in alerts {
            guard embeds.count < Limit.embeds else { break }
            let left = Limit.total - used
            guard left >= 200 else { break }
            let embed = self.embed(alert, budget: left)
            used += embed.characters
            embeds.append(embed)
        }
        let firing = notification.alerts.filter { $0.status == .firing }.count
        let resolved = notification.alerts.count - firing
        var head = notification.status == .firing ? "**[FIRING:\(firing)]**" : "**[RESOLVED]**"
        if notification.status == .firing && resolved > 0 { head += " (\(resolved) resolved)" }
        let names = Set(notification.alerts.map(\.name)).sorted().joined(separator: ", ")
        let devices = Set(notification.alerts.compactMap { $0.labels["device"] }).sorted()
        var content = "\(head) \(names) on \(devices.prefix(5).joined(separator: ", "))"
        if devices.count > 5 { content += " and \(devices.count - 5) more devices" }
        if notification.kind == .test { content = "**[TEST]** PHC Health can reach this channel." }
        let more = alerts.count - embeds.count
        var message = Message(
            username: "PHC Health", content: clip(content, Limit.content - 40), embeds: embeds)
        if more > 0 { message.content += "\n… and \(more) more" }
        if message.content.isEmpty && message.embeds.isEmpty { message.content = "PHC Health" }
        return message
    }

    static func embed(_ alert: AlertNotice, budget: Int) -> Embed {
        let status = alert.status == .firing ? alert.severity : "resolved"
        var title = "\(status) · \(alert.name)"
        if let check = alert.labels["check"] { title += " \(check)" }
        if let device = alert.labels["device"] { title += " on \(device)" }
        var fields = [
            Field(name: "device", value: alert.labels["device"] ?? "-", inline: true),
            Field(name: "since", value: Timestamp(secondsSinceEpoch: alert.startsAt).description, inline: true),
        ]
        if let ended = alert.endsAt {
            fields.append(Field(name: "resolved", value: Timestamp(secondsSinceEpoch: ended).description, inline: true))
        }
        let footer = Footer(text: "fingerprint \(alert.fingerprint)")
        var embed = Embed(
            title: clip(title, Limit.title), description: "", color: colour(alert),
            fields: Array(
                fields.prefix(Limit.fields).map {
                    Field(
                        name: clip($0.name, Limit.fieldName), value: clip($0.value, Limit.fieldValue), inline: $0.inline
                    )
                }),
            footer: Footer(text: clip(footer.text, Limit.footer)),
            timestamp: Timestamp(secondsSinceEpoch: alert.endsAt ?? alert.startsAt).description)
        let room = min(Limit.description, max(0, budget - embed.characters))
        embed.description = clip(alert.annotations["summary"] ?? "", room)
        return embed
    }

    /// At most `limit` UTF-16 units, ending in "…" when cut.
    static func clip(_ text: String, _ limit: Int) -> String {
        guard text.utf16.count > limit else { return text }
        guard limit > 1 else { return "" }
        var out = ""
        var units = 0
        for character in text {
            let size = character.utf16.count
            guard units + size <= limit - 1 else { break }
            out.append(character)
            units += size
        }
        return out + "…"
    }

    static func body(_ notification: AlertNotification) -> Data {
        JSONBody.encode(message(notification))
    }
}

/// The order alerts are listed in: firing before resolved, crit before warn, then by name and device.
enum AlertOrder {
    static func worstFirst(_ a: AlertNotice, _ b: AlertNotice) -> Bool {
        func rank(_ alert: AlertNotice) -> Int {
            alert.status == .resolved ? 3 : alert.severity == "crit" ? 0 : alert.severity == "warn" ? 1 : 2
        }
        return (rank(a), a.name, a.labels["device"] ?? "", a.labels["check"] ?? "")
            < (rank(b), b.name, b.labels["device"] ?? "", b.labels["check"] ?? "")
    }
}
