#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Dispatch
internal import Synchronization
#if canImport(Glibc)
    internal import Glibc
#endif

/// CPU-bound work spread over all cores, for the collector's per-device stages at fleet scale.
public enum Parallel {
    /// Runs `work` for every item on all cores, in chunks of at least `grain` items (1 for a
    /// few large pieces of work), 32 chunks per core at most: the last chunks to finish keep one
    /// core waiting for the other no longer than a few hundred items (with 8 per core, a pass's
    /// 10,000 `stat`s ended with one core idle for up to 2.5 ms). The results are in the items'
    /// order. It blocks the calling thread until all are done.
    ///
    /// Inlinable, so that each caller's items and results are moved by specialised code rather than
    /// through generic value witnesses (copying 10,000 folders' results that way was 5 ms of a pass).
    @inlinable
    public static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], grain: Int = 16, _ work: @escaping @Sendable (Item) -> Result
    ) -> [Result] {
        guard items.count > 1 else { return items.map(work) }
        let chunk = max(max(1, grain), items.count / (cores * 32))
        let chunks = (items.count + chunk - 1) / chunk
        // The workers write the results into the array's own storage: no slots to copy them out of.
        return Array(unsafeUninitializedCapacity: items.count) { buffer, initialized in
            let results = Filling(buffer.baseAddress!)
            perform(chunks) { index in
                for position in (index * chunk)..<min(items.count, (index + 1) * chunk) {
                    results.put(position, work(items[position]))
                }
            }
            initialized = items.count
        }
    }

    /// The cores work is spread over, asked once: Foundation reads the cgroup's CPU quota and cpuset
    /// files each time (half a millisecond of a pass that asked for every map).
    @usableFromInline static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// `body` for each index in `0..<iterations`, on all cores (`concurrentPerform`).
    @usableFromInline
    static func perform(_ iterations: Int, _ body: @Sendable (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
    }

    /// Runs `work` for every `chunk` items on all cores and hands the results to `consume` on the
    /// calling thread, in the items' order, a chunk at a time, each as soon as it is done: the caller
    /// works through the first results (a store writing rows) while the cores compute the rest.
    /// `work` returns one result per item of its chunk, in order; it sees a whole chunk so that it can
    /// do together what is cheaper together (signatures checked in one batch).
    ///
    /// When `consume` throws, the chunks not started yet are skipped, and the error is rethrown once
    /// the workers have stopped. It blocks the calling thread until all are done.
    public static func stream<Item: Sendable, Result: Sendable>(
        _ items: [Item], chunk: Int = 64, _ work: @escaping @Sendable (ArraySlice<Item>) -> [Result],
        consume: ([Result]) throws -> Void
    ) throws {
        let size = max(1, chunk)
        let chunks = (items.count + size - 1) / size
        guard chunks > 0 else { return }
        let board = ChunkBoard<Result>(count: chunks)
        // Threads of their own, one per core, beside the calling thread: libdispatch's pool counts the
        // calling thread as one of its cores' worth and would lend only one more. They run at a lower
        // priority than the caller, whose consuming is the critical path (a collector's store): with
        // as many workers as cores at the same priority, the caller waited for a core while the
        // workers ran ahead; this way they have every cycle the caller does not use.
        let workers = min(chunks, cores)
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<workers {
            BlockingWork.spawn(stackSize: 8 << 20) {
                lowerThreadPriority()
                while let index = board.claim() {
                    let range = (index * size)..<min(items.count, (index + 1) * size)
                    board.deliver(index, board.isCancelled ? [] : work(items[range]))
                }
                finished.signal()
            }
        }
        defer { for _ in 0..<workers { finished.wait() } }
        do {
            for index in 0..<chunks { try consume(board.take(index)) }
        } catch {
            board.cancel()
            throw error
        }
    }
}

/// Lowers the calling thread's priority (Linux's nice is per thread) by ``Parallel/workerNiceness``,
/// from whatever it is (a collector started with `Nice=` keeps its workers below itself).
private func lowerThreadPriority() {
    #if os(Linux)
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        let current = getpriority(which, 0)
        _ = setpriority(which, 0, min(19, current + Parallel.workerNiceness))
    #endif
}

extension Parallel {
    /// How much lower than the caller ``stream(_:chunk:_:consume:)``'s workers run (nice 0 to 10: a
    /// weight of about a tenth when they compete with the caller for a core).
    static let workerNiceness: Int32 = 10
}

/// Chunks of results handed from the workers to the one consumer: each slot is written by exactly
/// one worker, then signalled; the consumer waits for its signal before reading it.
private final class ChunkBoard<Value>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<[Value]>
    private let ready: [DispatchSemaphore]
    private let cancelled = Atomic<Bool>(false)
    private let claimed = Atomic<Int>(0)

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: [])
        ready = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    /// The next chunk for a worker, in order; nil when all are taken.
    func claim() -> Int? {
        let index = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < ready.count ? index : nil
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    func cancel() { cancelled.store(true, ordering: .relaxed) }

    func deliver(_ index: Int, _ values: [Value]) {
        slots[index] = values
        ready[index].signal()
    }

    /// Waits for chunk `index` and takes its values out of the board.
    func take(_ index: Int) -> [Value] {
        ready[index].wait()
        var values: [Value] = []
        swap(&values, &slots[index])
        return values
    }
}

extension Parallel {
    /// Runs `first` on a thread of its own while the calling thread runs `second`, and returns both
    /// results once both are done (also when `second` throws, whose error is then rethrown).
    public static func pair<First: Sendable, Second>(
        _ first: @escaping @Sendable () -> First, _ second: () throws -> Second
    ) rethrows -> (First, Second) {
        let handoff = Handoff<First>()
        let done = DispatchSemaphore(value: 0)
        BlockingWork.spawn(stackSize: 8 << 20) {
            handoff.value = first()
            done.signal()
        }
        let result: Second
        do {
            result = try second()
        } catch {
            done.wait()
            throw error
        }
        done.wait()
        return (handoff.value.take()!, result)
    }
}

/// An array's uninitialised storage, filled by `concurrentPerform`'s workers: each index by exactly
/// one of them, all before the array is used.
@usableFromInline
struct Filling<Value>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<Value>

    @inlinable
    init(_ base: UnsafeMutablePointer<Value>) { self.base = base }

    @inlinable
    func put(_ index: Int, _ value: consuming Value) { (base + index).initialize(to: value) }
}

/// One value handed from a thread to the one that waits for it (on a semaphore signalled after the
/// value is put).
private final class Handoff<Value>: @unchecked Sendable {
    var value: Value?
}
