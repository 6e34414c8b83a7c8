#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCConfig
internal import PHCCore

/// `http:<name>`: an endpoint answers with the expected status, and optionally a
/// body containing a substring or JSON fields with given values (Nextcloud's
/// `status.php`: `installed` true, `maintenance` false). Latency is observed.
/// Response bodies never appear in results (they may echo what they were sent).
public struct HTTPCheck: HostCheck {
    public let configuration: HTTPCheckConfiguration

    public init(_ configuration: HTTPCheckConfiguration) {
        self.configuration = configuration
    }

    public var id: String { "http:\(configuration.name)" }
    public var resultIDs: [String] { [id] }
    public var kind: String { "http" }
    public var timeout: Duration { configuration.timeout }

    public func run(in context: CheckContext) async -> CheckReport {
        CheckReport(await evaluate(context))
    }

    private func evaluate(_ context: CheckContext) async -> CheckResult {
        let deadline = Deadline(after: configuration.timeout)
        let token: String?
        switch await BearerToken.load(configuration.token, timeout: min(configuration.timeout, .seconds(1))) {
        case .success(let value): token = value
        case .failure(let error): return finish(.unknown, error.description)
        }
        // What reading the token took comes out of the request's share.
        let left = max(.milliseconds(50), deadline.remaining)
        let response: HTTPResponse
        do {
            response = try await context.http.send(
                HTTPRequest(
                    url: configuration.url, connectTimeout: min(left, .seconds(2)), timeout: left,
                    maxBodyBytes: 1024 * 1024, bearerToken: token,
                    followRedirects: configuration.followRedirects))
        } catch {
            return finish(.crit, error.isConnectionRefused ? "not running: \(error.description)" : error.description)
        }
        var findings = Findings()
        let observations: [String: ObservationValue] = [
            "status": .int(Int64(response.status)), "latency_ms": .int(response.milliseconds),
            "body_bytes": .int(Int64(response.body.count)),
        ]
        if response.status != configuration.expectStatus {
            findings.add(.crit, "status \(response.status), expected \(configuration.expectStatus)")
        }
        if let expected = configuration.expectBody, !response.text.contains(expected) {
            findings.add(.crit, "body does not contain \"\(expected)\"")
        }
        if !configuration.expectJSON.isEmpty {
            if let json = JSONValue.parse(response.body), case .object = json {
                for (key, expected) in configuration.expectJSON.sorted(by: { $0.key < $1.key }) {
                    guard let actual = json[key] else {
                        findings.add(.crit, "no field \(key) in the JSON")
                        continue
                    }
                    if !Self.matches(actual, expected) {
                        findings.add(.crit, "\(key) is \(Self.describe(actual)), expected \(expected)")
                    }
                }
            } else {
                findings.add(.crit, "body is not a JSON object")
            }
        }
        let details = "\(response.status) in \(response.milliseconds) ms"
        return finish(findings.status, findings.summary(details: details), observations)
    }

    static func matches(_ actual: JSONValue, _ expected: JSONExpectation) -> Bool {
        switch (actual, expected) {
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.string(let a), .number(let b)): Double(a) == b
        case (.string(let a), .bool(let b)): a.lowercased() == String(b)
        default: false
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): String(flag)
        case .number(let number): number == number.rounded() ? String(Int64(saturating: number)) : String(number)
        case .string: "a string"  // never echo text from the server
        case .array: "a list"
        case .object: "an object"
        }
    }

    private func finish(_ status: CheckStatus, _ summary: String, _ observations: [String: ObservationValue] = [:])
        -> CheckResult
    {
        CheckResult(id: id, kind: kind, status: status, summary: summary, observations: observations)
    }
}
