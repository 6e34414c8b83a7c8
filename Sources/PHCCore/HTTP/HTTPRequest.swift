#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// An HTTP request (GET, or POST with a body) with everything that bounds it.
public struct HTTPRequest: Sendable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
    }

    /// `http://` or `https://` only.
    public var url: String
    public var method: Method = .get
    /// The POST body.
    public var body: Data?
    /// Extra request headers (`Content-Type`, `X-PHC-Notification-Id`…).
    public var headers: [(name: String, value: String)] = []
    /// The whole URL is a secret (a webhook's token lives in its path): no part of it appears in
    /// an error, which names the request by `label` instead.
    public var urlIsSecret = false
    /// What errors call the request when its URL is secret (`receiver discord`).
    public var label = "the request"
    /// Secret values sent in headers or the body (an HMAC secret's signature need not be here;
    /// anything that would be a credential if echoed back): scrubbed from every message.
    public var extraSecrets: [String] = []
    public var connectTimeout: Duration
    /// The whole exchange, connection included.
    public var timeout: Duration
    /// Bodies larger than this are refused (the transfer stops there).
    public var maxBodyBytes: Int
    /// Sent as `Authorization: Bearer …`. Never logged, never part of an error.
    public var bearerToken: String?
    public var followRedirects: Bool

    public init(
        url: String, connectTimeout: Duration = .seconds(2), timeout: Duration = .seconds(5),
        maxBodyBytes: Int = 4 * 1024 * 1024, bearerToken: String? = nil, followRedirects: Bool = false
    ) {
        self.url = url
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        self.bearerToken = bearerToken
        self.followRedirects = followRedirects
    }
}

/// What came back. Any status is a response, not an error: 404 and 503 are answers.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: Data
    public var contentType: String?
    /// From the start of the request to the last byte.
    public var milliseconds: Int64
    /// Response headers by lower-cased name (the last one of a name wins).
    public var headers: [String: String]

    public init(
        status: Int, body: Data, contentType: String?, milliseconds: Int64, headers: [String: String] = [:]
    ) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.milliseconds = milliseconds
        self.headers = headers
    }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request produced no response. `description` names the URL (without any
/// user:password part) and curl's reason, on one line.
public struct HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case invalidURL
        case unsupportedScheme
        case libcurlUnavailable(String)
        /// Nothing listens on the port (ECONNREFUSED): a stopped server rather than a broken one.
        case connectionRefused(String)
        case couldNotConnect(String)
        case timedOut(String)
        case bodyTooLarge(limit: Int)
        case transport(code: Int32, message: String)
    }

    public var url: String
    public var kind: Kind
    public var method: HTTPRequest.Method = .get

    public init(url: String, kind: Kind) {
        self.url = URLText.redacted(url)
        self.kind = kind
    }

    /// An error for `request` whose texts (curl's messages) have every secret of the request
    /// removed: the bearer token, the URL's credentials, query and fragment. A server that
    /// echoes them back, in a redirect or a host name, cannot make them reach a message.
    public init(_ request: HTTPRequest, kind: Kind) {
        let secrets = request.secrets
        func scrub(_ text: String) -> String { URLText.scrub(text, removing: secrets) }
        let cleaned: Kind =
            switch kind {
            case .libcurlUnavailable(let text): .libcurlUnavailable(scrub(text))
            case .connectionRefused(let text): .connectionRefused(scrub(text))
            case .couldNotConnect(let text): .couldNotConnect(scrub(text))
            case .timedOut(let text): .timedOut(scrub(text))
            case .transport(let code, let text): .transport(code: code, message: scrub(text))
            case .invalidURL, .unsupportedScheme, .bodyTooLarge: kind
            }
        self.init(url: request.urlIsSecret ? "<\(request.label)'s URL>" : request.url, kind: cleaned)
        method = request.method
    }

    /// Whether nothing listens there (connection refused): a stopped server, not a broken one.
    public var isConnectionRefused: Bool {
        if case .connectionRefused = kind { return true }
        return false
    }

    public var description: String {
        let reason: String
        switch kind {
        case .invalidURL: reason = "not a valid URL"
        case .unsupportedScheme: reason = "only http:// and https:// are allowed"
        case .libcurlUnavailable(let why): reason = "libcurl is not available (\(why))"
        case .connectionRefused(let message): reason = "connection refused (\(message))"
        case .couldNotConnect(let message): reason = message
        case .timedOut(let message): reason = message
        case .bodyTooLarge(let limit): reason = "response body over \(ByteCount.format(Int64(limit)))"
        case .transport(_, let message): reason = message
        }
        return "\(method.rawValue) \(url): \(reason)"
    }
}

extension HTTPRequest {
    /// What of this request must never appear in a message: the bearer token, the URL's
    /// `user:password`, query and fragment (tokens travel there too: `?token=…`).
    public var secrets: [String] {
        var found: [String] = extraSecrets
        if let bearerToken, !bearerToken.isEmpty { found.append(bearerToken) }
        if urlIsSecret { found.append(url) }
        if let schemeEnd = url.firstRange(of: "://") {
            let rest = url[schemeEnd.upperBound...]
            if urlIsSecret, let slash = rest.firstIndex(of: "/") {
                found.append(String(rest[slash...]))
                // Each long path segment (a webhook id, a token) on its own too.
                for segment in rest[slash...].split(separator: "/") where segment.count >= 8 {
                    found.append(String(segment))
                }
            }
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                let userinfo = rest[..<at]
                found.append(String(userinfo))
                if let colon = userinfo.firstIndex(of: ":") {
                    found.append(String(userinfo[userinfo.index(after: colon)...]))
                }
            }
        }
        if let query = url.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            let tail = url[url.index(after: query)...]
            found.append(String(tail))
            // Each value (what follows `=`), when long enough to be a secret rather than a common word.
            for part in tail.split(whereSeparator: { $0 == "&" || $0 == "#" || $0 == ";" }) {
                let value = part.firstIndex(of: "=").map { part[part.index(after: $0)...] } ?? part
                if value.count >= 4 { found.append(String(value)) }
            }
        }
        // Longest first, so a secret that contains another is removed whole.
        return Array(Set(found.filter { !$0.isEmpty })).sorted { $0.count > $1.count }
    }
}

/// URL text helpers.
public enum URLText {
    /// `http://user:secret@host/x?token=…#f` → `http://host/x`: credentials, query and fragment
    /// never reach a message (tokens travel in all three).
    public static func redacted(_ url: String) -> String {
        var url = url
        if let query = url.firstIndex(where: { $0 == "?" || $0 == "#" }) { url = String(url[..<query]) }
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest: Substring = url[schemeEnd.upperBound...]
        let authorityEnd: String.Index = rest.firstIndex { $0 == "/" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        let scheme = String(url[..<schemeEnd.upperBound])
        return scheme + String(rest[rest.index(after: at)...])
    }

    /// `text` with every occurrence of each of `secrets` replaced by `[redacted]`.
    public static func scrub(_ text: String, removing secrets: [String]) -> String {
        var text = text
        for secret in secrets where !secret.isEmpty && text.contains(secret) {
            text = text.replacing(secret, with: "[redacted]")
        }
        return text
    }

    /// Whether `url` starts with http:// or https:// and has a host.
    public static func isHTTP(_ url: String) -> Bool {
        let lower = url.lowercased()
        for scheme in ["http://", "https://"] where lower.hasPrefix(scheme) {
            return url.count > scheme.count && !url.dropFirst(scheme.count).hasPrefix("/")
        }
        return false
    }

    /// `base` + `path` with exactly one slash between them.
    public static func join(_ base: String, _ path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return path.hasPrefix("/") ? base + path : base + "/" + path
    }
}
