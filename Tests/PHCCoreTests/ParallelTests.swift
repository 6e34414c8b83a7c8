#if canImport(Glibc)
    import Glibc
#endif
import Dispatch
@testable import PHCCore
import Synchronization
import Testing

@Suite("Parallel work")
struct ParallelTests {
    struct Stop: Error {}

    @Test(
        "stream hands every result to the caller once, in the items' order, a chunk at a time",
        arguments: [0, 1, 63, 64, 65, 1000])
    func streamInOrder(count: Int) throws {
        let items = Array(0..<count)
        var seen: [Int] = []
        var slices: [Int] = []
        let chunks = Mutex<[Range<Int>]>([])
        try Parallel.stream(
            items, chunk: 64,
            { chunk in
                chunks.withLock { $0.append(chunk.indices) }
                return chunk.map { $0 * 3 }
            }
        ) { slice in
            slices.append(slice.count)
            seen += slice
        }
        #expect(seen == items.map { $0 * 3 })
        #expect(slices.allSatisfy { $0 <= 64 } && slices.dropLast().allSatisfy { $0 == 64 })
        #expect(slices.count == (count + 63) / 64)
        // The work saw each chunk whole, once: the items 64 at a time.
        #expect(
            chunks.withLock { $0.sorted { $0.lowerBound < $1.lowerBound } }
                == stride(from: 0, to: count, by: 64).map { $0..<min(count, $0 + 64) })
        #expect(Parallel.map(items) { $0 * 3 } == seen)
    }

    @Test(
        "stream's workers run below the caller's priority (the caller, consuming, is the critical path); the caller's stays"
    )
    func workersYield() throws {
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        let caller = getpriority(which, 0)
        let seen = Mutex<[Int32]>([])
        try Parallel.stream(
            Array(0..<256), chunk: 16,
            { chunk in
                seen.withLock { $0.append(getpriority(which, 0)) }
                return Array(chunk)
            }
        ) { _ in }
        #expect(seen.withLock { $0.count } == 16)
        #expect(seen.withLock { $0 }.allSatisfy { $0 == min(19, caller + Parallel.workerNiceness) })
        #expect(getpriority(which, 0) == caller)
    }

    @Test("an error from the consumer stops the stream: later chunks are not handed over, the error comes back")
    func streamStops() {
        let computed = Atomic<Int>(0)
        // Past the first three, every chunk takes 0.3 s: all 1,000 would take minutes, so finding most
        // of them skipped does not depend on how soon the consumer's error is seen on a loaded machine.
        var consumed = 0
        #expect(throws: Stop.self) {
            try Parallel.stream(
                Array(0..<10_000), chunk: 10,
                { chunk in
                    chunk.map { item in
                        if item >= 30 && item % 10 == 0 { usleep(300_000) }
                        computed.wrappingAdd(1, ordering: .relaxed)
                        return item
                    }
                }
            ) { _ in
                consumed += 1
                if consumed == 3 { throw Stop() }
            }
        }
        #expect(consumed == 3)
        // The workers have stopped when the call returns: no more items are computed afterwards.
        let after = computed.load(ordering: .relaxed)
        #expect(after < 5_000, "chunks not started were skipped")
        #expect(computed.load(ordering: .relaxed) == after)
    }

    @Test("pair runs its first closure beside the caller's second and returns both; the second's error comes back")
    func pair() throws {
        // The first waits for the second to have started: they can only both finish side by side.
        let started = DispatchSemaphore(value: 0)
        let (first, second) = Parallel.pair({ () -> Int in
            started.wait()
            return 1
        }) { () -> String in
            started.signal()
            return "two"
        }
        #expect(first == 1 && second == "two")
        let finished = Atomic<Bool>(false)
        #expect(throws: Stop.self) {
            _ = try Parallel.pair({
                usleep(20_000)
                finished.store(true, ordering: .relaxed)
            }) { () throws -> Int in throw Stop() }
        }
        let waited = finished.load(ordering: .relaxed)
        #expect(waited, "the first was waited for")
    }

    /// Says on which thread it is freed, then signals.
    final class Watched: @unchecked Sendable {
        let freed = DispatchSemaphore(value: 0)
        /// Written before `freed` is signalled, read after it is waited for.
        var thread: pthread_t?
    }

    /// Frees into `watched`.
    final class Tracked: Sendable {
        let watched: Watched
        init(_ watched: Watched) { self.watched = watched }
        deinit {
            watched.thread = pthread_self()
            watched.freed.signal()
        }
    }

    @Test("release frees what it is given on another thread, not the caller's, and not before the call")
    func releaseFreesElsewhere() {
        let watched = Watched()
        var values = [Tracked(watched)]
        values += (0..<1_000).map { _ in Tracked(Watched()) }
        #expect(watched.freed.wait(timeout: .now()) == .timedOut, "held while the caller has it")
        BlockingWork.release(consume values)
        #expect(watched.freed.wait(timeout: .now() + 30) == .success, "freed")
        let thread = try? #require(watched.thread)
        #expect(thread.map { pthread_equal($0, pthread_self()) == 0 } == true, "not on the caller's thread")
    }
}
