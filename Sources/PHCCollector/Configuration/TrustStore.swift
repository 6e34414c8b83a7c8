#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
public import PHCCore

/// The keys added and revoked with `phc-collector trust`, in a JSON file the tool
/// owns (the YAML configuration, with its comments, is never rewritten).
///
/// A device may have several keys (rotation): all of them verify until revoked.
/// A revoked key id is refused even when the YAML still lists the key.
public struct TrustStore: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var device: String
        public var key: String
        public var addedAt: Timestamp

        public init(device: String, key: String, addedAt: Timestamp) {
            self.device = device
            self.key = key
            self.addedAt = addedAt
        }

        enum CodingKeys: String, CodingKey {
            case device, key
            case addedAt = "added_at"
        }
    }

    public struct Revocation: Codable, Sendable, Equatable {
        public var keyid: String
        public var revokedAt: Timestamp

        public init(keyid: String, revokedAt: Timestamp) {
            self.keyid = keyid
            self.revokedAt = revokedAt
        }

        enum CodingKeys: String, CodingKey {
            case keyid
            case revokedAt = "revoked_at"
        }
    }

    public var keys: [Entry] = []
    public var revoked: [Revocation] = []

    public init() {}

    /// Why the trust file cannot be used.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The trust file at `path`; an absent file is an empty store.
    public static func load(path: String) throws(Failure) -> TrustStore {
        let data: Data
        do {
            data = try FileReader.read(path, limit: 64 * 1024 * 1024)
        } catch {
            if case .notFound = error { return TrustStore() }
            throw Failure(description: "trust file \(error.description)")
        }
        // Read with the pull reader: a fleet's trust file is megabytes, read whenever a manifest changed.
        guard let store = JSONReader.read(data, read) else {
            throw Failure(description: "trust file \(path) is not a trust store (JSON with keys and revoked)")
        }
        return store
    }

    /// What `Codable` reads: `keys` and `revoked` (both required), each entry's fields required.
    private static func read(_ reader: inout JSONReader) throws(JSONReader.Failure) -> TrustStore? {
        var store = TrustStore()
        var sawKeys = false
        var sawRevoked = false
        try reader.beginObject()
        while let key = try reader.nextKey() {
            switch key {
            case "keys":
                sawKeys = true
                store.keys = []
                try reader.beginArray()
                while try reader.nextElement() {
                    let fields = try reader.strings(["device", "key", "added_at"])
                    guard let device = fields["device"], let line = fields["key"],
                        let added = fields["added_at"].flatMap(Timestamp.init(rfc3339:))
                    else { return nil }
                    store.keys.append(Entry(device: device, key: line, addedAt: added))
                }
            case "revoked":
                sawRevoked = true
                store.revoked = []
                try reader.beginArray()
                while try reader.nextElement() {
                    let fields = try reader.strings(["keyid", "revoked_at"])
                    guard let keyid = fields["keyid"],
                        let revoked = fields["revoked_at"].flatMap(Timestamp.init(rfc3339:))
                    else { return nil }
                    store.revoked.append(Revocation(keyid: keyid, revokedAt: revoked))
                }
            default: try reader.skipValue()
            }
        }
        return sawKeys && sawRevoked ? store : nil
    }

    public func save(path: String) throws(Failure) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let (directory, _) = AtomicFile.split(path)
            try Directory.create(directory, mode: 0o755)
            try AtomicFile.write(try encoder.encode(self), to: path, mode: 0o644)
        } catch let error as SystemError {
            throw Failure(description: error.description)
        } catch {
            throw Failure(description: "cannot encode the trust store")
        }
    }

    public var revokedIDs: Set<String> { Set(revoked.map(\.keyid)) }

    /// Trusted keys per device (lower-cased names): the configuration's and this store's, less revoked ones.
    public func trustedKeys(configured: [String: DeviceConfiguration]) -> [String: [PublicKey]] {
        let keysOf = lookup(configured: configured)
        let names = Set(keys.map { $0.device.lowercased() }).union(configured.keys)
        return Dictionary(uniqueKeysWithValues: names.map { ($0, keysOf($0)) })
    }

    /// A lookup that parses a device's trust-file keys only when asked (a pass over a fleet
    /// where little changed asks for few).
    func lookup(configured: [String: DeviceConfiguration]) -> @Sendable (String) -> [PublicKey] {
        let lines = Dictionary(grouping: keys, by: { $0.device.lowercased() }).mapValues { $0.map(\.key) }
        let revoked = revokedIDs
        return { name in
            var seen: Set<String> = []
            let candidates = (configured[name]?.keys ?? []) + (lines[name] ?? []).compactMap(PublicKey.init(line:))
            return candidates.filter { !revoked.contains($0.keyID) && seen.insert($0.keyID).inserted }
        }
    }
}
