#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCConfig
internal import PHCCore

/// `secrets:<path>`: an env file exists with the expected owner, group and exact
/// mode, is not readable by others, has every required key with a value, and
/// was changed recently enough (its mtime changes only when a value changed).
///
/// - Important: no value, nor anything derived from one (length, hash, size),
///   ever appears in a result, a log line or an error.
public struct SecretFileCheck: HostCheck {
    public let file: SecretFileConfiguration
    public let timeout: Duration

    public init(_ file: SecretFileConfiguration, timeout: Duration = .seconds(3)) {
        self.file = file
        self.timeout = timeout
    }

    public var id: String { "secrets:\(file.path)" }
    public var resultIDs: [String] { [id] }
    public var kind: String { "secrets" }

    /// Env files are small; anything bigger is not one (and is not read).
    static let sizeLimit = 1024 * 1024

    public func run(in context: CheckContext) async -> CheckReport {
        CheckReport(await Self.inspect(file, context: context, timeout: timeout))
    }

    static func inspect(_ file: SecretFileConfiguration, context: CheckContext, timeout: Duration) async -> CheckResult
    {
        let id = "secrets:\(file.path)"
        if let blocker = await context.mounts.blocker(for: file.path) {
            return CheckResult(id: id, kind: "secrets", status: .unknown, summary: "not checked: \(blocker)")
        }
        guard let inspected = await BlockingWork.run(timeout: timeout, { evaluate(file, now: context.now) }) else {
            return CheckResult(
                id: id, kind: "secrets", status: .unknown,
                summary: "no answer within \(DurationText.format(timeout)) (filesystem not responding?)")
        }
        return inspected
    }

    static func evaluate(_ file: SecretFileConfiguration, now: Timestamp) -> CheckResult {
        let id = "secrets:\(file.path)"
        func finish(_ status: CheckStatus, _ summary: String, _ observations: [String: ObservationValue] = [:])
            -> CheckResult
        {
            CheckResult(id: id, kind: "secrets", status: status, summary: summary, observations: observations)
        }
        let status: FileStatus
        do {
            status = try FileStatus(path: file.path)
        } catch {
            if error.errno == ENOENT { return finish(.crit, "missing", ["exists": false]) }
            return finish(.unknown, "cannot inspect: \(error.reason)")
        }
        guard status.kind == .regular else {
            return finish(.crit, "is a \(status.kind.rawValue), not an env file", ["exists": true])
        }

        var findings = Findings()
        var observations: [String: ObservationValue] = [
            "exists": true, "mode": .string(FileMode.octal(status.permissions)),
        ]
        let owner = Accounts.userName(status.ownerID) ?? String(status.ownerID)
        let group = Accounts.groupName(status.groupID) ?? String(status.groupID)
        observations["owner"] = .string(owner)
        observations["group"] = .string(group)
        if let expected = file.owner, expected != owner, expected != String(status.ownerID) {
            findings.add(.crit, "owner \(owner), expected \(expected)")
        }
        if let expected = file.group, expected != group, expected != String(status.groupID) {
            findings.add(.crit, "group \(group), expected \(expected)")
        }
        let mode = status.permissions
        if mode & 0o006 != 0 {
            findings.add(.crit, "readable or writable by others (mode \(FileMode.octal(mode)))")
        } else if let expected = file.mode, expected != mode {
            let broader = mode & ~expected != 0
            findings.add(
                broader ? .crit : .warn,
                "mode \(FileMode.octal(mode)), expected \(FileMode.octal(expected))\(broader ? " (more open)" : "")")
        }

        var keysNote = ""
        if !file.keys.isEmpty {
            observations["keys_expected"] = .int(Int64(file.keys.count))
            do {
                let keys = EnvFileKeys(parsing: try FileReader.read(file.path, limit: sizeLimit))
                let missing = file.keys.filter { !keys.filled.contains($0) && !keys.empty.contains($0) }
                let empty = file.keys.filter { keys.empty.contains($0) }
                let present = file.keys.count - missing.count - empty.count
                observations["keys_present"] = .int(Int64(present))
                if !missing.isEmpty { findings.add(.crit, "missing keys: \(missing.joined(separator: ", "))") }
                if !empty.isEmpty { findings.add(.crit, "empty keys: \(empty.joined(separator: ", "))") }
                if !keys.malformedLines.isEmpty {
                    let lines = keys.malformedLines.prefix(5).map(String.init).joined(separator: ", ")
                    findings.add(.warn, "line\(keys.malformedLines.count == 1 ? "" : "s") \(lines) not KEY=value")
                }
                keysNote =
                    present == file.keys.count
                    ? "\(present) key\(present == 1 ? "" : "s") present"
                    : "\(present) of \(file.keys.count) keys present"
            } catch {
                switch error {
                case .tooLarge:
                    findings.add(.crit, "too large for an env file (over \(ByteCount.format(Int64(sizeLimit))))")
                case .system(let system): findings.add(.unknown, "cannot read keys: \(system.reason)")
                default: findings.add(.unknown, "cannot read keys: \(error.description)")
                }
            }
        }

        let age = max(0, now.seconds(since: status.modified))
        observations["age_s"] = .int(age)
        let ageText = DurationText.format(.seconds(age))
        if let limits = file.maxAge {
            if let crit = limits.crit, age > crit.milliseconds / 1000 {
                findings.add(.crit, "unchanged for \(ageText), rotation overdue (limit \(DurationText.format(crit)))")
            } else if let warn = limits.warn, age > warn.milliseconds / 1000 {
                findings.add(.warn, "unchanged for \(ageText), rotation due (warn after \(DurationText.format(warn)))")
            }
        }
        var details = ["\(FileMode.octal(mode)) \(owner):\(group)"]
        if !keysNote.isEmpty { details.append(keysNote) }
        details.append("changed \(ageText) ago")
        if !file.skipped.isEmpty { details.append("not checked: \(file.skipped.joined(separator: ", "))") }
        return finish(findings.status, findings.summary(details: details.joined(separator: ", ")), observations)
    }
}
