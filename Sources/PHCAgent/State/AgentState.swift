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
