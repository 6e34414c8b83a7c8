#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Dispatch

/// CPU-bound work spread over all cores, for the collector's per-device stages at fleet scale.
public enum Parallel {
    /// Runs `work` for every item on all cores, in chunks of at least `grain` items (1 for a
    /// few large pieces of work); the results are in the items' order. It blocks the calling
    /// thread until all are done.
    public static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], grain: Int = 16, _ work: @escaping @Sendable (Item) -> Result
    ) -> [Result] {
        guard items.count > 1 else { return items.map(work) }
        let chunk = max(max(1, grain), items.count / (ProcessInfo.processInfo.activeProcessorCount * 8))
        let chunks = (items.count + chunk - 1) / chunk
        let slots = Slots<Result>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: chunks) { index in
            for position in (index * chunk)..<min(items.count, (index + 1) * chunk) {
                slots.set(position, work(items[position]))
            }
        }
        return slots.values()
    }
}

/// Result slots written by `concurrentPerform`: each index by exactly one worker.
private final class Slots<Value>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Value?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    func set(_ index: Int, _ value: Value) { storage[index] = value }

    func values() -> [Value] { storage.map { $0! } }
}
