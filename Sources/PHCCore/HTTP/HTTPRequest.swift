#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A GET request with everything that bounds it.
public struct HTTPRequest: Sendable {
    /// `http://` or `https://` only.
    public var url: String
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

    public init(status: Int, body: Data, contentType: String?, milliseconds: Int64) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.milliseconds = milliseconds
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

    public init(url: String, kind: Kind) {
        self.url = URLText.redacted(url)
        self.kind = kind
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
        return "GET \(url): \(reason)"
    }
}

/// URL text helpers.
public enum URLText {
    /// `http://user:secret@host/x` → `http://host/x`, so credentials never reach a message.
    public static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest: Substring = url[schemeEnd.upperBound...]
        let authorityEnd: String.Index = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        let scheme = String(url[..<schemeEnd.upperBound])
        return scheme + String(rest[rest.index(after: at)...])
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
