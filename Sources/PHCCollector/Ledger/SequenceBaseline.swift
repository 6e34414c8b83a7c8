public import PHCCore

/// The operator's way out when a device's sequence numbers cannot advance: it rotated its key
/// and restarted at 1, or its state reached the largest sequence there is.
public enum SequenceBaseline {
    /// Forgets `device`'s last accepted sequence (between passes: it takes the pass lock), so the
    /// next manifest that verifies with a key trusted for the device is accepted whatever its
    /// sequence, and becomes the new baseline. Recorded in `sequence_resets` with `user` and `time`.
    ///
    /// - Returns: the sequence forgotten, nil when the device had none.
    /// - Throws: ``StoreError``.
    public static func reset(
        device: String, configuration: CollectorConfiguration, by user: String, at time: Timestamp
    ) throws -> Int64? {
        let lock = try PassLock(database: configuration.database, wait: .seconds(60))
        defer { lock.release() }
        let store = try CollectorStore(path: configuration.database)
        return try store.resetSequence(device: device.lowercased(), by: user, at: time.secondsSinceEpoch)
    }
}
