public import Foundation

/// What Discord enforces on a webhook message, as its documentation states the limits: a message
/// that breaks one is answered 400, as Discord answers it. Counted in UTF-16 units.
public enum DiscordRules {
    /// Why Discord would refuse `body`, or nil when it would take it.
    public static func violation(_ body: Data) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            return "not a JSON object"
        }
        func length(_ value: Any?) -> Int { (value as? String)?.utf16.count ?? 0 }
        let content = length(json["content"])
        let embeds = json["embeds"] as? [[String: Any]] ?? []
        if content == 0 && embeds.isEmpty { return "empty message" }
        if content > 2000 { return "content \(content) > 2000" }
        if length(json["username"]) > 80 { return "username > 80" }
        if embeds.count > 10 { return "\(embeds.count) embeds > 10" }
        var total = 0
        for embed in embeds {
            let title = length(embed["title"])
            let description = length(embed["description"])
            let footer = length((embed["footer"] as? [String: Any])?["text"])
            let author = length((embed["author"] as? [String: Any])?["name"])
            let fields = embed["fields"] as? [[String: Any]] ?? []
            if title > 256 { return "title \(title) > 256" }
            if description > 4096 { return "description \(description) > 4096" }
            if footer > 2048 { return "footer > 2048" }
            if author > 256 { return "author > 256" }
            if fields.count > 25 { return "\(fields.count) fields > 25" }
            total += title + description + footer + author
            for field in fields {
                let name = length(field["name"])
                let value = length(field["value"])
                if name > 256 { return "field name > 256" }
                if value > 1024 { return "field value > 1024" }
                if name == 0 || value == 0 { return "empty field" }
                total += name + value
            }
        }
        if total > 6000 { return "embeds hold \(total) characters > 6000" }
        return nil
    }
}

/// A loopback receiver that records what it gets and answers as told.
public final class FakeReceiver: @unchecked Sendable {
    public let server: LoopbackHTTPServer
    public var url: String { server.baseURL + path }
    public let path: String

    /// - Parameters:
    ///   - path: where it listens (a Discord webhook's path holds its token: `/api/webhooks/1/<token>`).
    ///   - answer: what to say to each request (its index among the requests, from 0).
    public init(
        path: String = "/hook",
        answer: @escaping @Sendable (LoopbackHTTPServer.Request, Int) -> LoopbackHTTPServer.Behaviour = { _, _ in
            .respond(status: 204, body: "")
        }
    ) throws {
        self.path = path
        let counter = Locked(0)
        server = try LoopbackHTTPServer { request in
            let index = counter.update { value -> Int in
                defer { value += 1 }
                return value
            }
            return answer(request, index)
        }
    }

    /// Discord: refuses what breaks its limits (400), answers the first message 429 with `retry_after`.
    public static func discord(path: String, rateLimitFirst: Bool = true) throws -> FakeReceiver {
        try FakeReceiver(path: path) { request, index in
            if let violation = DiscordRules.violation(request.body) {
                return .respond(status: 400, body: #"{"message": "Invalid Form Body: \#(violation)", "code": 50035}"#)
            }
            if rateLimitFirst && index == 0 {
                return .answer(
                    status: 429,
                    body: #"{"message": "You are being rate limited.", "retry_after": 1.2, "global": false}"#,
                    headers: ["Retry-After": "2"])
            }
            return .respond(status: 204, body: "")
        }
    }

    /// The requests that reached the path (POSTs).
    public var received: [LoopbackHTTPServer.Request] { server.requests.filter { $0.method == "POST" } }

    /// The notification ids received, in order.
    public var ids: [String] { received.compactMap { $0.headers["x-phc-notification-id"] } }

    public func stop() { server.stop() }
}
