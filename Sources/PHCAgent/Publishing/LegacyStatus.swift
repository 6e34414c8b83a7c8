#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// The legacy `_status.json` that the fleet's shell scripts wrote, for old readers:
/// `{"timestamp","device","user","platform","status":"healthy|degraded","components":{"mounts":{"space":true}}}`.
enum LegacyStatus {
    static func encode(manifest: Manifest, user: String) -> Data? {
        var mounts: [String: Bool] = [:]
        for check in manifest.checks where check.kind == "mount" {
            let path = String(check.id.dropFirst("mount:".count))
            let name = path.split(separator: "/").last.map(String.init) ?? path
            mounts[name] = check.status != .crit
        }
        let status = JSONValue.object([
            "timestamp": .string(manifest.issuedAt.description),
            "device": .string(manifest.device),
            "user": .string(user),
            "platform": .string("linux"),
            "status": .string(manifest.status == .ok ? "healthy" : "degraded"),
            "components": .object(["mounts": .object(mounts.mapValues { .bool($0) })]),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try? encoder.encode(status)
    }
}
