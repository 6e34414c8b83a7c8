#if canImport(Glibc)
    internal import Glibc
#endif
internal import Synchronization

/// Runs blocking system calls on dedicated threads, off Swift's cooperative pool.
///
/// A read, a `curl_easy_perform` or a `poll` on the cooperative pool holds one of
/// its few threads (two on a 2-core host) and starves every other task. Each call
/// here gets its own short-lived thread instead. With a timeout, the caller is
/// resumed when time runs out even if the thread is still stuck in the kernel;
/// the thread is then abandoned and ends whenever the call returns.
public enum BlockingWork {
    /// Runs `work` on a new thread and returns its result.
    public static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            spawn {
                continuation.resume(returning: work())
            }
        }
    }

    /// Runs `work` on a new thread; `nil` when `timeout` passes first.
    ///
    /// - Important: `work` keeps running after a timeout. Give it nothing that
    ///   must not outlive the call, and make it bounded where the kernel allows.
    public static func run<T: Sendable>(timeout: Duration, _ work: @escaping @Sendable () -> T) async -> T? {
        let race = Race<T>()
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            race.install(continuation)
            let timer = Task {
                try? await Task.sleep(for: timeout)
                race.finish(nil)
            }
            spawn {
                let value = work()
                race.finish(value)
                timer.cancel()
            }
        }
    }

    private final class Race<T: Sendable>: Sendable {
        private let state = Mutex<(CheckedContinuation<T?, Never>?, Bool)>((nil, false))

        func install(_ continuation: CheckedContinuation<T?, Never>) {
            state.withLock { $0.0 = continuation }
        }

        func finish(_ value: T?) {
            let continuation: CheckedContinuation<T?, Never>? = state.withLock { state in
                guard !state.1, let continuation = state.0 else { return nil }
                state.1 = true
                state.0 = nil
                return continuation
            }
            continuation?.resume(returning: value)
        }
    }

    private final class ThreadBody {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Lets `value` go on a detached thread of its own: a pass's ten thousand records and folders
    /// took the calling thread about 20 ms to free. A process that exits first never frees them,
    /// which an exiting process need not do.
    public static func release<Value: Sendable>(_ value: consuming Value) {
        let box = ReleaseBox(value)
        spawn(stackSize: 256 * 1024) { box.drop() }
    }

    /// Holds what ``release(_:)`` lets go until its thread drops it.
    private final class ReleaseBox<Value: Sendable>: @unchecked Sendable {
        private var value: Value?
        init(_ value: consuming Value) { self.value = value }
        /// Runs on the releasing thread only, once.
        func drop() { value = nil }
    }

    /// Starts a detached thread running `body`.
    static func spawn(stackSize: Int = 512 * 1024, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        // Small stacks by default: these threads run one system call and a little parsing.
        pthread_attr_setstacksize(&attributes, stackSize)
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, &attributes,
            { raw in
                let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
                body.body()
                return nil
            }, context)
        if rc != 0 {
            // No thread to be had: run inline rather than lose the work.
            Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().body()
        }
    }
}
