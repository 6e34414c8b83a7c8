#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// What one delivery attempt came to, and when to try again: pure.
///
/// 2xx is delivered. Network errors, 5xx and 429 are retried: after `Retry-After` (seconds or an
/// HTTP date, or Discord's `retry_after` in the body) when the receiver gives one, up to an hour,
/// else with exponential backoff and full jitter, from about a second up to five minutes. Any
/// other 4xx is a permanent failure, recorded with the receiver's answer.
enum RetryPolicy {
    enum Verdict: Equatable, Sendable {
        case delivered
        case retry(afterSeconds: Int64, reason: String)
        case failed(reason: String)
    }

    static let firstDelaySeconds: Double = 1
    static let maxDelaySeconds: Double = 300
    static let maxRetryAfterSeconds: Int64 = 3600

    /// The delay before attempt `attempts + 1`, given that `attempts` have failed: full jitter over
    /// `1 s × 2^(attempts−1)`, capped at 5 minutes; `random` is in 0..<1.
    static func backoff(attempts: Int, random: Double) -> Int64 {
        let ceiling = min(maxDelaySeconds, firstDelaySeconds * Double(1 << min(max(0, attempts - 1), 30)))
        return max(1, Int64(saturating: (ceiling * random).rounded(.up)))
    }

    /// The verdict on a response.
    static func verdict(status: Int, headers: [String: String], body: Data, attempts: Int, random: Double, now: Int64)
        -> Verdict
    {
        let answer = Self.answer(status: status, body: body)
        switch status {
        case 200..<300:
            return .delivered
        case 429:
            let wait = retryAfter(headers: headers, body: body, now: now) ?? backoff(attempts: attempts, random: random)
            return .retry(afterSeconds: min(maxRetryAfterSeconds, max(1, wait)), reason: answer)
        case 500..<600:
            let wait = retryAfter(headers: headers, body: body, now: now).map { min(maxRetryAfterSeconds, max(1, $0)) }
            return .retry(afterSeconds: wait ?? backoff(attempts: attempts, random: random), reason: answer)
        default:
            return .failed(reason: answer)
        }
    }

    /// `Retry-After: 120`, `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`, or Discord's body
    /// `{"retry_after": 1.5}` (seconds), whichever is given; nil when none is.
    static func retryAfter(headers: [String: String], body: Data, now: Int64) -> Int64? {
        if let value = headers["retry-after"]?.trimmed() {
            if let seconds = Double(value), seconds.isFinite { return Int64(saturating: seconds.rounded(.up)) }
            if let date = HTTPDate.parse(value) { return date.saturatingSubtract(now) }
        }
        if let json = JSONValue.parse(body),
            case .number(let seconds)? = json["retry_after"],
            seconds.isFinite
        {
            return Int64(saturating: seconds.rounded(.up))
        }
        return nil
    }

    /// `HTTP 400: {"message": …}`: the status and the start of the body, inert.
    static func answer(status: Int, body: Data) -> String {
        let text = InertText.terminal(String(decoding: body.prefix(300), as: UTF8.self)).trimmed()
        return text.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(text)"
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form `Retry-After` uses for dates.
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
            let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let text =
            "\(pad(year, 4))-\(pad(month + 1, 2))-\(pad(day, 2))T\(pad(clock[0], 2)):\(pad(clock[1], 2)):\(pad(clock[2], 2))Z"
        return Timestamp(rfc3339: text)?.secondsSinceEpoch
    }
}
