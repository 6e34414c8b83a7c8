#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif
public import PHCCore

/// What the agent keeps between runs in `<state_dir>/state.json`.
public struct AgentState: Codable, Sendable, Equatable {
    /// The last sequence number reserved (and possibly used) for a signed manifest.
    public var sequence: Int64
    /// Small per-check values (a restart count, a boot id), per result id.
    public var memory: [String: [String: String]]
    public var lastRun: Timestamp?

    public init(sequence: Int64 = 0, memory: [String: [String: String]] = [:], lastRun: Timestamp? = nil) {
        self.sequence = sequence
        self.memory = memory
        self.lastRun = lastRun
    }

    enum CodingKeys: String, CodingKey {
        case sequence, memory
        case lastRun = "last_run"
    }
}

extension AgentState {
    /// `state.json`'s bytes: what `JSONEncoder` writes with `.sortedKeys` and `.withoutEscapingSlashes`
    /// (a test holds them equal), written directly (the agent writes one every run).
    public func encoded() -> Data {
        var json = JSONWriter(capacity: 256)
        json.object { state in
            if let lastRun { state.string("last_run", lastRun.description) }
            state.object("memory") { checks in
                for (id, values) in memory.sorted(by: { $0.key < $1.key }) {
                    checks.object(id) { entries in
                        for (key, value) in values.sorted(by: { $0.key < $1.key }) { entries.string(key, value) }
                    }
                }
            }
            state.int("sequence", sequence)
        }
        return Data(json.bytes)
    }

    /// A `state.json` as `JSONDecoder` reads one (unknown fields ignored, `last_run` null or
    /// missing; a key given twice, which the agent never writes, keeps its last value where
    /// `JSONDecoder` keeps the first); nil when it is not one.
    public static func decode(_ data: Data) -> AgentState? {
        JSONReader.read(data) { reader throws(JSONReader.Failure) -> AgentState? in
            var sequence: Int64?
            var memory: [String: [String: String]]?
            var lastRun: Timestamp?
            try reader.beginObject()
            while let key = try reader.nextKey() {
                switch key {
                case "sequence": sequence = try reader.int64()
                case "memory":
                    var checks: [String: [String: String]] = [:]
                    try reader.beginObject()
                    while let id = try reader.nextKey() {
                        var values: [String: String] = [:]
                        try reader.beginObject()
                        while let name = try reader.nextKey() { values[name] = try reader.string() }
                        checks[id] = values
                    }
                    memory = checks
                case "last_run":
                    if try reader.null() {
                        lastRun = nil
                    } else {
                        guard let time = Timestamp(rfc3339: try reader.string()) else { return nil }
                        lastRun = time
                    }
                default: try reader.skipValue()
                }
            }
            guard let sequence, let memory else { return nil }
            return AgentState(sequence: sequence, memory: memory, lastRun: lastRun)
        }
    }
}
