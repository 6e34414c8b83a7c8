#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCConfig
internal import PHCCore

/// `marker:<path>`: a backup job's JSON success marker is recent, says it
/// succeeded, and (when configured) moved more than zero bytes or files.
///
/// The time may be in `completed_at` or `timestamp` (the field was renamed
/// once: both are accepted), as RFC 3339 text or Unix seconds.
public struct MarkerCheck: HostCheck {
    public let configuration: MarkerCheckConfiguration
    public let timeout: Duration

    public init(_ configuration: MarkerCheckConfiguration, timeout: Duration = .seconds(3)) {
        self.configuration = configuration
        self.timeout = timeout
    }

    public var id: String { "marker:\(configuration.path)" }
    public var resultIDs: [String] { [id] }
    public var kind: String { "marker" }

    static let timeFields = ["completed_at", "timestamp"]
    static let goodStatuses: Set<String> = ["success", "succeeded", "ok", "completed", "complete", "done"]
    static let badStatuses: Set<String> = ["failed", "failure", "error", "errored", "aborted", "partial"]

    public func run(in context: CheckContext) async -> CheckReport {
        let result: CheckResult
        if let blocker = await context.mounts.blocker(for: configuration.path) {
            result = finish(.unknown, "not checked: \(blocker)")
        } else if let read = await BlockingWork.run(
            timeout: timeout,
            { [configuration] in
                Result { () throws(FileReader.Failure) in try FileReader.read(configuration.path, limit: 1024 * 1024) }
            })
        {
            switch read {
            case .success(let data): result = evaluate(data, now: context.now)
            case .failure(.notFound): result = finish(.crit, "missing (the job has never written its marker here)")
            case .failure(let error): result = finish(.crit, "unreadable: \(error.description)")
            }
        } else {
            result = finish(.unknown, "no answer within \(DurationText.format(timeout)) (filesystem not responding?)")
        }
        return CheckReport(result)
    }

    func evaluate(_ data: Data, now: Timestamp) -> CheckResult {
        guard let marker = JSONValue.parse(data), case .object = marker else {
            return finish(.crit, "not a JSON object")
        }
        var findings = Findings()
        var observations: [String: ObservationValue] = [:]
        var details: [String] = []

        let timeField = Self.timeFields.first { marker[$0] != nil && marker[$0] != .null }
        let completed = timeField.flatMap { Self.time(marker[$0]!) }
        if let completed {
            let age = now.seconds(since: completed)
            observations["age_s"] = .int(age)
            details.append("completed \(DurationText.format(.seconds(max(0, age)))) ago")
            if let crit = configuration.maxAge.crit, age > crit.milliseconds / 1000 {
                findings.add(
                    .crit, "last success \(DurationText.format(.seconds(age))) ago (limit \(DurationText.format(crit)))"
                )
            } else if let warn = configuration.maxAge.warn, age > warn.milliseconds / 1000 {
                findings.add(
                    .warn,
                    "last success \(DurationText.format(.seconds(age))) ago (warn after \(DurationText.format(warn)))")
            }
            if age < -300 {
                findings.add(.warn, "completion time is \(DurationText.format(.seconds(-age))) in the future")
            }
        } else if let timeField {
            findings.add(.crit, "'\(timeField)' is not a time")
        } else {
            findings.add(.crit, "no completed_at or timestamp field")
        }

        if let status = marker["status"] {
            let text = (status.stringValue ?? status.boolValue.map { $0 ? "success" : "failed" } ?? "").lowercased()
            observations["status"] = .string(text)
            if Self.badStatuses.contains(text) {
                findings.add(.crit, "status '\(text)'")
            } else if !Self.goodStatuses.contains(text) {
                findings.add(.warn, "status '\(text)' is not a success")
            }
        }
        for field in configuration.nonzero {
            guard let value = marker[field]?.numberValue else {
                findings.add(.crit, "'\(field)' missing (expected a number above zero)")
                continue
            }
            observations[field] = value == value.rounded() ? .int(Int64(saturating: value)) : .double(value)
            if value <= 0 {
                findings.add(
                    .crit,
                    "'\(field)' is \(value == value.rounded() ? String(Int64(saturating: value)) : String(value))")
            } else {
                details.append("\(field) \(Int64(saturating: value))")
            }
        }
        return finish(findings.status, findings.summary(details: details.joined(separator: ", ")), observations)
    }

    /// RFC 3339 text, or Unix seconds (milliseconds when implausibly large).
    static func time(_ value: JSONValue) -> Timestamp? {
        switch value {
        case .string(let text):
            if let parsed = Timestamp(rfc3339: text) { return parsed }
            return Double(text).flatMap { time(.number($0)) }
        case .number(let number):
            guard number.isFinite, number > 0 else { return nil }
            let seconds = number > 1e11 ? number / 1000 : number
            return Timestamp(secondsSinceEpoch: Int64(saturating: seconds))
        default:
            return nil
        }
    }

    private func finish(_ status: CheckStatus, _ summary: String, _ observations: [String: ObservationValue] = [:])
        -> CheckResult
    {
        CheckResult(id: id, kind: kind, status: status, summary: summary, observations: observations)
    }
}
