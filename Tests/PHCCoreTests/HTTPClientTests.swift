#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCTestSupport
import Testing

@testable import PHCCore

@Suite("HTTP over libcurl against a loopback server")
struct HTTPClientTests {
    let client = CurlHTTPClient()

    @Test("any status is a response: 200 with its body, 503 too; redirects are not followed unless asked")
    func responses() async throws {
        let server = try LoopbackHTTPServer { request in
            switch request.path {
            case "/ok": .respond(status: 200, body: #"{"ok":true}"#)
            case "/moved": .redirect(to: "/ok")
            default: .respond(status: 503, body: "loading", contentType: "text/plain")
            }
        }
        defer { server.stop() }
        let ok = try await client.send(HTTPRequest(url: server.baseURL + "/ok"))
        #expect(ok.status == 200 && ok.text == #"{"ok":true}"# && ok.contentType == "application/json")
        let busy = try await client.send(HTTPRequest(url: server.baseURL + "/health"))
        #expect(busy.status == 503 && busy.text == "loading")
        #expect(try await client.send(HTTPRequest(url: server.baseURL + "/moved")).status == 302)
        #expect(try await client.send(HTTPRequest(url: server.baseURL + "/moved", followRedirects: true)).status == 200)
    }

    @Test("a refused connection is its own kind of error, naming the URL")
    func refused() async throws {
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "") }
        let url = server.baseURL + "/health"
        server.stop()
        let error = await #expect(throws: HTTPClientError.self) { try await client.send(HTTPRequest(url: url)) }
        #expect(error?.isConnectionRefused == true)
        #expect(error?.description.hasPrefix("GET \(url): ") == true)
    }

    @Test("a server that never answers, or drips too slowly, ends at the timeout")
    func timeouts() async throws {
        let server = try LoopbackHTTPServer { request in
            request.path == "/drip" ? .drip(chunk: "x", chunks: 400, interval: 0.3) : .never
        }
        defer { server.stop() }
        for path in ["/never", "/drip"] {
            let start = Date()
            let error = await #expect(throws: HTTPClientError.self) {
                try await client.send(HTTPRequest(url: server.baseURL + path, timeout: .milliseconds(600)))
            }
            guard case .timedOut? = error?.kind else {
                Issue.record("\(path): expected a timeout, got \(String(describing: error))")
                continue
            }
            // The outcome is the timeout; the bound only tells a timeout from waiting for the whole
            // 120 s drip (or for ever), with room for a loaded machine.
            #expect(Date().timeIntervalSince(start) < 60, "\(path): a 0.6 s timeout")
        }
    }

    @Test("a body over the cap is refused")
    func bodyCap() async throws {
        let big = String(repeating: "0123456789", count: 20_000)
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: big, contentType: "text/plain") }
        defer { server.stop() }
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: server.baseURL + "/metrics", maxBodyBytes: 64 * 1024))
        }
        #expect(error?.kind == .bodyTooLarge(limit: 64 * 1024))
        #expect(try await client.send(HTTPRequest(url: server.baseURL + "/metrics")).body.count == 200_000)
    }

    @Test("the bearer token is sent, and appears in no error; credentials in URLs are redacted")
    func bearerToken() async throws {
        let token = "canary-token-\(UInt64.random(in: 1...UInt64.max))"
        let server = try LoopbackHTTPServer { request in
            request.path == "/slow" ? .never : .respond(status: 200, body: "[]")
        }
        defer { server.stop() }
        _ = try await client.send(HTTPRequest(url: server.baseURL + "/v1/models", bearerToken: token))
        #expect(server.requests.first?.headers["authorization"] == "Bearer \(token)")
        let url = "http://admin:\(token)@127.0.0.1:\(server.port)/slow"
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.send(HTTPRequest(url: url, timeout: .milliseconds(300), bearerToken: token))
        }
        let text = String(describing: error)
        #expect(!text.contains(token), "\(text)")
        #expect(error?.url == "http://127.0.0.1:\(server.port)/slow")
    }

    @Test(
        "TLS is verified: a self-signed server (a real openssl s_server) is refused",
        .enabled(if: Command.which("openssl") != nil, "needs openssl"))
    func tlsVerification() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let openssl = Command.which("openssl")!
        _ = try await Command.run(
            openssl,
            [
                "req", "-x509", "-newkey", "ed25519", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-keyout", directory.file("key.pem"), "-out", directory.file("cert.pem"),
            ])
        // A free port: bind, read it back, close.
        let probe = try LoopbackHTTPServer { _ in .hangUp }
        let port = probe.port
        probe.stop()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: openssl)
        server.arguments = [
            "s_server", "-accept", "127.0.0.1:\(port)", "-cert", directory.file("cert.pem"), "-key",
            directory.file("key.pem"), "-www", "-quiet",
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: a child of Foundation.Process may have SIGTERM blocked (swift-corelibs-foundation#4772).
        defer { kill(server.processIdentifier, SIGKILL) }
        var lastError: HTTPClientError?
        for _ in 0..<50 {
            do {
                _ = try await client.send(HTTPRequest(url: "https://127.0.0.1:\(port)/", timeout: .seconds(2)))
                Issue.record("a self-signed certificate was accepted")
                return
            } catch {
                lastError = error
                if !error.isConnectionRefused { break }
                try await Task.sleep(for: .milliseconds(100))  // s_server still starting
            }
        }
        guard case .transport(_, let message)? = lastError?.kind else {
            Issue.record("expected a TLS failure, got \(String(describing: lastError))")
            return
        }
        #expect(message.contains("certificate"), "\(message)")
    }

    @Test(
        "only http and https",
        arguments: ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://x", "/relative", "127.0.0.1:80"])
    func schemes(url: String) async {
        let error = await #expect(throws: HTTPClientError.self) { try await client.send(HTTPRequest(url: url)) }
        #expect(error?.kind == .unsupportedScheme || error?.kind == .invalidURL)
    }

    @Test("twenty requests at once are all in flight together: the server answers only once all twenty have arrived")
    func concurrency() async throws {
        // No clock in the assertion: a client that sent them one after the other would see the
        // first request wait for nineteen that never come, and get the 503 instead of a 200.
        let arrived = Locked(0)
        let gaveUp = Locked(false)
        let server = try LoopbackHTTPServer { _ in
            arrived.update { $0 += 1 }
            let deadline = Monotonic.nanoseconds() + 5_000_000_000
            while arrived.get() < 20, !gaveUp.get() {
                if Monotonic.nanoseconds() > deadline {
                    gaveUp.set(true)
                    break
                }
                usleep(5_000)
            }
            return arrived.get() >= 20 ? .respond(status: 200, body: "{}") : .respond(status: 503, body: "{}")
        }
        defer { server.stop() }
        let statuses = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let response = try? await client.send(HTTPRequest(url: server.baseURL + "/", timeout: .seconds(30)))
                    return response?.status ?? 0
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 20), "\(statuses)")
    }
}
