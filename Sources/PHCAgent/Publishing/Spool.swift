#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// Signed envelopes waiting for the share: `<state_dir>/spool/<sequence>.json`, one per file.
///
/// Bounded: past `limit` entries the oldest are dropped first (and counted in the log).
struct Spool {
    let directory: String
    let limit: Int

    struct Entry {
        var sequence: Int64
        var path: String
    }

    init(stateDirectory: String, limit: Int) {
        self.directory = stateDirectory + "/spool"
        self.limit = limit
    }

    /// Adds an envelope line. Returns how many old entries were dropped to stay within
    /// the limit, and how many wait now.
    func add(_ envelope: Data, sequence: Int64) throws(SystemError) -> (dropped: Int, waiting: Int) {
        try Directory.create(directory, mode: 0o700)
        try AtomicFile.write(envelope, to: directory + "/" + Self.name(sequence), mode: 0o600)
        let all = entries()
        guard all.count > limit else { return (0, all.count) }
        let dropped = all.prefix(all.count - limit)
        var removed = 0
        for entry in dropped where (try? Directory.removeFile(entry.path)) != nil { removed += 1 }
        return (dropped.count, all.count - removed)
    }

    /// The spooled envelopes, oldest first.
    func entries() -> [Entry] {
        guard let names = try? Directory.list(directory) else { return [] }
        return names.compactMap { name -> Entry? in
            guard name.hasSuffix(".json"), let sequence = Int64(name.dropLast(5)) else { return nil }
            return Entry(sequence: sequence, path: directory + "/" + name)
        }.sorted { $0.sequence < $1.sequence }
    }

    static func name(_ sequence: Int64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".json"
    }
}
