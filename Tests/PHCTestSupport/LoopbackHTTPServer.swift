#if canImport(Glibc)
    import Glibc
#endif
public import Foundation

/// A real HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel) for tests.
///
/// Each connection gets a thread. A handler decides, per request, how to behave:
/// answer, never answer, drip a body slowly, or hang up. Requests are recorded
/// (path and headers) so tests can see what the client sent.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// By lower-cased name.
        public var headers: [String: String]
        /// The body, as `Content-Length` gives it.
        public var body: Data = Data()

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public enum Behaviour: Sendable {
        case respond(status: Int, body: String, contentType: String = "application/json")
        /// Accept the request and never answer (until the server stops).
        case never
        /// Send headers, then `chunks` pieces of `chunk`, one every `interval` seconds.
        case drip(chunk: String, chunks: Int, interval: Double)
        /// Close the connection without a word.
        case hangUp
        /// 302 with a Location header.
        case redirect(to: String)
        /// Any status with extra headers (`Retry-After`).
        case answer(status: Int, body: String, headers: [String: String])
    }

    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let handler: Locked<@Sendable (Request) -> Behaviour>
    private let recorded = Locked([Request]())
    /// Whether ``stop()`` was called, and the connections being served; one lock so that
    /// stopping and closing a connection never interleave.
    private let connections = Locked((stopped: false, open: Set<Int32>()))
    private let listenerClosed = DispatchSemaphore(value: 0)

    public init(_ handler: @escaping @Sendable (Request) -> Behaviour) throws {
        self.handler = Locked(handler)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw POSIXFailure("socket", errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw POSIXFailure("bind/listen", errno) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Replaces the handler (to change what the "server" says between agent runs).
    public func setHandler(_ handler: @escaping @Sendable (Request) -> Behaviour) {
        self.handler.set(handler)
    }

    /// Every request received so far.
    public var requests: [Request] { recorded.get() }

    /// Stops accepting and ends every open connection. Calling it again does nothing.
    ///
    /// Each descriptor is closed once, by the thread that owns it (the accept thread
    /// closes the listener, each connection thread its connection): a second close
    /// of a number the kernel has meanwhile handed to someone else would close their file.
    /// On return the port is free again.
    public func stop() {
        var first = false
        connections.update { state in
            guard !state.stopped else { return }
            state.stopped = true
            first = true
            // Linux: shutdown of a listening socket refuses new connections at once and wakes accept().
            shutdown(listener, Int32(SHUT_RDWR))
            for fd in state.open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
        if first { _ = listenerClosed.wait(timeout: .now() + 5) }
    }

    private func acceptLoop() {
        defer {
            close(listener)
            listenerClosed.signal()
        }
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var accepted = false
            connections.update { state in
                if state.stopped {
                    close(fd)
                } else {
                    state.open.insert(fd)
                    accepted = true
                }
            }
            guard accepted else { return }
            let thread = Thread { [self] in
                serve(fd)
                connections.update { state in
                    state.open.remove(fd)
                    close(fd)
                }
            }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !buffer.contains(subsequence: [13, 10, 13, 10]) {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return }
            buffer += chunk[0..<n]
        }
        let head = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\r\n\r\n")[0]
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var request = Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers)
        if let length = headers["content-length"].flatMap(Int.init), length > 0, length <= 64 * 1024 * 1024 {
            let headEnd = buffer.firstRange(of: [13, 10, 13, 10])!.upperBound
            var body = Array(buffer[headEnd...])
            while body.count < length {
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { break }
                body += chunk[0..<n]
            }
            request.body = Data(body.prefix(length))
        }
        recorded.update { $0.append(request) }
        switch handler.get()(request) {
        case .respond(let status, let body, let contentType):
            let bytes = Array(body.utf8)
            send(
                fd,
                "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: \(contentType)\r\n"
                    + "Content-Length: \(bytes.count)\r\nConnection: close\r\n\r\n")
            sendBytes(fd, bytes)
        case .never:
            while !connections.get().stopped && read(fd, &chunk, chunk.count) > 0 {}
        case .drip(let piece, let chunks, let interval):
            send(
                fd,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(piece.utf8.count * chunks)\r\n"
                    + "Connection: close\r\n\r\n")
            for _ in 0..<chunks where !connections.get().stopped {
                if !send(fd, piece) { return }
                usleep(UInt32(interval * 1_000_000))
            }
        case .hangUp:
            return
        case .redirect(let location):
            send(fd, "HTTP/1.1 302 Found\r\nLocation: \(location)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        case .answer(let status, let body, let extra):
            let bytes = Array(body.utf8)
            let lines = extra.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)\r\n" }.joined()
            send(
                fd,
                "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: application/json\r\n\(lines)"
                    + "Content-Length: \(bytes.count)\r\nConnection: close\r\n\r\n")
            sendBytes(fd, bytes)
        }
    }

    @discardableResult
    private func send(_ fd: Int32, _ text: String) -> Bool {
        sendBytes(fd, Array(text.utf8))
    }

    @discardableResult
    private func sendBytes(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 429: "Too Many Requests"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(subsequence: [UInt8]) -> Bool {
        guard count >= subsequence.count else { return false }
        for start in 0...(count - subsequence.count)
        where self[start..<start + subsequence.count].elementsEqual(subsequence) {
            return true
        }
        return false
    }
}
