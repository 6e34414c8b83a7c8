#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// The fleet's old, unsigned `<device>/<user>/_status.json`, in every shape its
/// shell scripts write: UTF-8 BOM, CRLF, upper-case device names (Windows),
/// `status` healthy or degraded, `components.mounts` flags.
struct LegacyStatusFile: Equatable, Sendable {
    var device: String?
    var user: String?
    var platform: String?
    var timestamp: Timestamp?
    var status: CheckStatus
    var mounts: [(name: String, up: Bool)]

    static func == (lhs: LegacyStatusFile, rhs: LegacyStatusFile) -> Bool {
        lhs.device == rhs.device && lhs.user == rhs.user && lhs.timestamp == rhs.timestamp && lhs.status == rhs.status
            && lhs.mounts.map(\.name) == rhs.mounts.map(\.name) && lhs.mounts.map(\.up) == rhs.mounts.map(\.up)
    }

    /// The largest legacy file read.
    static let maxBytes = 64 * 1024

    struct Failure: Error, Sendable, CustomStringConvertible {
        let description: String
    }

    static func parse(_ raw: Data) throws(Failure) -> LegacyStatusFile {
        var data = raw
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
        guard let json = JSONValue.parse(data), case .object = json else {
            throw Failure(description: "not a JSON object")
        }
        let statusText = (json["status"]?.stringValue ?? "").lowercased()
        let status: CheckStatus =
            switch statusText {
            case "healthy", "ok": .ok
            case "degraded", "warning", "warn": .warn
            case "critical", "crit", "failed", "unhealthy": .crit
            default: .unknown
            }
        var mounts: [(String, Bool)] = []
        if case .object(let components)? = json["components"]?["mounts"] {
            for (name, value) in components.sorted(by: { $0.key < $1.key }) {
                mounts.append((name, value.boolValue ?? (value.stringValue?.lowercased() == "true")))
            }
        }
        return LegacyStatusFile(
            device: json["device"]?.stringValue, user: json["user"]?.stringValue,
            platform: json["platform"]?.stringValue, timestamp: json["timestamp"]?.stringValue.flatMap(time),
            status: status, mounts: mounts)
    }

    /// RFC 3339, or a local-looking `2026-11-27 10:00:00` taken as UTC.
    static func time(_ text: String) -> Timestamp? {
        let trimmed = text.trimmed()
        return Timestamp(rfc3339: trimmed) ?? Timestamp(rfc3339: trimmed + "Z")
    }

    /// The legacy file as check results.
    var checks: [CheckSummary] {
        var checks = [
            CheckSummary(
                id: "legacy:status", status: status,
                summary:
                    "legacy _status.json says \(status == .ok ? "healthy" : status == .warn ? "degraded" : "unknown")"
                    + (user.map { " (user \($0))" } ?? ""))
        ]
        for mount in mounts {
            checks.append(
                CheckSummary(
                    id: "legacy:mount:\(mount.name)", status: mount.up ? .ok : .crit,
                    summary: mount.up ? "mounted" : "not mounted"))
        }
        return checks
    }
}
