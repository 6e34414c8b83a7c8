#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import CCurl
#if canImport(Glibc)
    internal import Glibc
#endif

/// HTTP GET and POST through the system's libcurl.
///
/// Each request gets its own easy handle on a dedicated thread (curl_easy_perform
/// blocks; on Swift's cooperative pool a few slow servers would stall every other
/// check). `NOSIGNAL` is set, only http and https are allowed (redirects too,
/// when followed), TLS verification stays on, libcurl decodes any
/// `Content-Encoding` it supports, and the body is capped.
public struct CurlHTTPClient: Sendable {
    public init() {}

    /// Performs `request`: GET, or POST with its body and headers.
    ///
    /// - Returns: the response, whatever its status (a 429 or a 500 is an answer, not an error).
    /// - Throws: ``HTTPClientError`` when there is no response: refused, timed out, too large, TLS failure…
    public func send(_ request: HTTPRequest) async throws(HTTPClientError) -> HTTPResponse {
        guard URLText.isHTTP(request.url) else {
            throw HTTPClientError(
                url: request.url, kind: request.url.contains("://") ? .unsupportedScheme : .invalidURL)
        }
        // curl enforces the timeout; the extra second only guards against a stuck library.
        let outcome = await BlockingWork.run(timeout: request.timeout + .seconds(1)) { Self.perform(request) }
        guard let outcome else {
            throw HTTPClientError(request, kind: .timedOut("no answer within \(request.timeout)"))
        }
        return try outcome.get()
    }

    private final class Sink {
        var body = Data()
        let limit: Int
        var overflowed = false
        var headers: [String: String] = [:]
        init(limit: Int) { self.limit = limit }
    }

    private static func perform(_ request: HTTPRequest) -> Result<HTTPResponse, HTTPClientError> {
        guard ccurl_load() != 0 else {
            return .failure(
                HTTPClientError(request, kind: .libcurlUnavailable(String(cString: ccurl_load_error()))))
        }
        guard let handle = ccurl_easy_init() else {
            return .failure(HTTPClientError(request, kind: .libcurlUnavailable("curl_easy_init failed")))
        }
        defer { ccurl_easy_cleanup(handle) }

        let sink = Sink(limit: request.maxBodyBytes)
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { ccurl_slist_free_all(headers) }

        let started = Monotonic.nanoseconds()
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            ccurl_easy_setopt_string(handle, CURLOPT_URL, request.url)
            ccurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            ccurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(max(1, request.connectTimeout.milliseconds)))
            ccurl_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(max(1, request.timeout.milliseconds)))
            ccurl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
            ccurl_easy_setopt_long(handle, CURLOPT_MAXREDIRS, 5)
            ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
            ccurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
            ccurl_easy_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")
            ccurl_easy_setopt_string(handle, CURLOPT_USERAGENT, "phc-agent/\(PHCVersion.current)")
            ccurl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
            restrictProtocols(handle)
            if let token = request.bearerToken {
                headers = ccurl_slist_append(headers, "Authorization: Bearer \(token)")
            }
            for header in request.headers {
                headers = ccurl_slist_append(headers, "\(header.name): \(header.value)")
            }
            if request.method == .post {
                // No `Expect: 100-continue` round trip before the body.
                headers = ccurl_slist_append(headers, "Expect:")
                let body = request.body ?? Data()
                body.withUnsafeBytes { bytes in
                    _ = ccurl_easy_set_post_body(handle, bytes.baseAddress, body.count)
                }
            }
            if headers != nil { ccurl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headers) }
            ccurl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context.toOpaque())
            ccurl_easy_setopt_header_function(handle) { data, size, count, raw in
                let sink = Unmanaged<Sink>.fromOpaque(raw!).takeUnretainedValue()
                let length = size * count
                guard length < 16 * 1024, sink.headers.count < 200 else { return length }
                let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                }
                if line.hasPrefix("HTTP/") {
                    sink.headers = [:]  // a new response (after a redirect or a 100 Continue)
                } else if let colon = line.firstIndex(of: ":") {
                    sink.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmed()
                }
                return length
            }
            ccurl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque())
            ccurl_easy_setopt_write_function(handle) { data, size, count, raw in
                let sink = Unmanaged<Sink>.fromOpaque(raw!).takeUnretainedValue()
                let length = size * count
                guard sink.body.count + length <= sink.limit else {
                    sink.overflowed = true
                    return 0  // anything but `length` makes curl stop with CURLE_WRITE_ERROR
                }
                data.withMemoryRebound(to: UInt8.self, capacity: length) {
                    sink.body.append($0, count: length)
                }
                return length
            }
            return ccurl_easy_perform(handle)
        }
        let elapsed = (Monotonic.nanoseconds() - started) / 1_000_000

        guard code == CURLE_OK else {
            let detail = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let message = detail.isEmpty ? String(cString: ccurl_easy_strerror(code)) : detail
            let kind: HTTPClientError.Kind
            switch code {
            case CURLE_WRITE_ERROR where sink.overflowed: kind = .bodyTooLarge(limit: request.maxBodyBytes)
            case CURLE_FILESIZE_EXCEEDED: kind = .bodyTooLarge(limit: request.maxBodyBytes)
            case CURLE_OPERATION_TIMEDOUT: kind = .timedOut(message)
            case CURLE_COULDNT_CONNECT:
                var osErrno = 0
                ccurl_easy_getinfo_long(handle, CURLINFO_OS_ERRNO, &osErrno)
                kind = osErrno == Int(ECONNREFUSED) ? .connectionRefused(message) : .couldNotConnect(message)
            case CURLE_COULDNT_RESOLVE_HOST: kind = .couldNotConnect(message)
            case CURLE_UNSUPPORTED_PROTOCOL: kind = .unsupportedScheme
            case CURLE_URL_MALFORMAT: kind = .invalidURL
            default: kind = .transport(code: Int32(code.rawValue), message: message)
            }
            return .failure(HTTPClientError(request, kind: kind))
        }
        var status = 0
        ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var contentType: UnsafeMutablePointer<CChar>?
        ccurl_easy_getinfo_string(handle, CURLINFO_CONTENT_TYPE, &contentType)
        return .success(
            HTTPResponse(
                status: status, body: sink.body, contentType: contentType.map { String(cString: $0) },
                milliseconds: elapsed, headers: sink.headers))
    }

    /// http and https only, for the request and any redirect (CURLOPT_PROTOCOLS_STR needs curl 7.85).
    private static func restrictProtocols(_ handle: UnsafeMutableRawPointer) {
        if ccurl_version_num() >= 0x07_55_00 {
            ccurl_easy_setopt_string(handle, CURLoption(rawValue: 10318), "http,https")  // PROTOCOLS_STR
            ccurl_easy_setopt_string(handle, CURLoption(rawValue: 10319), "http,https")  // REDIR_PROTOCOLS_STR
        } else {
            let mask = Int(CURLPROTO_HTTP | CURLPROTO_HTTPS)
            ccurl_easy_setopt_long(handle, CURLoption(rawValue: 181), mask)  // PROTOCOLS
            ccurl_easy_setopt_long(handle, CURLoption(rawValue: 182), mask)  // REDIR_PROTOCOLS
        }
    }
}
