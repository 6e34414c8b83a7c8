#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCConfig
internal import PHCCore

/// The agent's local state folder: `state.json`, the spool, probe records, and
/// a lock so that two runs never take the same sequence number.
///
/// A sequence number is *reserved* (written durably) before the manifest that
/// carries it is signed, so a crash can skip a number but never reuse one.
public final class StateStore {
    public let directory: String
    private var lockFD: Int32 = -1

    public var statePath: String { directory + "/state.json" }

    /// Opens the state folder (created 0700 when missing) and takes its lock.
    ///
    /// - Parameter lockWait: how long to wait for another run to release the lock.
    /// - Throws: ``StateError``.
    public init(directory: String, lockWait: Duration) throws(StateError) {
        self.directory = directory
        do {
            try Directory.create(directory, mode: 0o700)
        } catch {
            throw .unusable(error.description)
        }
        let fd = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .unusable(SystemError("open", path: directory + "/lock", errno: errno).description) }
        let giveUp = Deadline(after: lockWait)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, !giveUp.hasPassed else {
                close(fd)
                throw .locked(directory + "/lock")
            }
            usleep(5000)
        }
        lockFD = fd
    }

    deinit {
        if lockFD >= 0 { close(lockFD) }
    }

    /// What loading found.
    public enum Loaded: Sendable {
        case fresh
        case loaded(AgentState)
        /// The file exists but cannot be used; it was moved aside to `movedTo`.
        case corrupt(reason: String, movedTo: String?)
    }

    /// Reads `state.json`. A corrupt file is moved aside (kept as evidence), never silently reset.
    public func load() -> Loaded {
        let data: Data
        do {
            data = try FileReader.read(statePath, limit: 16 * 1024 * 1024)
        } catch {
            if case .notFound = error { return .fresh }
            return .corrupt(reason: error.description, movedTo: moveAside())
        }
        guard let state = AgentState.decode(data) else {
            return .corrupt(reason: "not valid state JSON", movedTo: moveAside())
        }
        guard state.sequence >= 0 else { return .corrupt(reason: "negative sequence", movedTo: moveAside()) }
        return .loaded(state)
    }

    private func moveAside() -> String? {
        let target = statePath + ".corrupt-\(WallClock.system.now().secondsSinceEpoch)"
        return rename(statePath, target) == 0 ? target : nil
    }

    /// Writes `state` to `statePath` (this store's ``statePath``) atomically, with `durable` fsynced
    /// (temp file, fsync, rename, folder fsync); for a thread of its own, while the caller holds the
    /// store and its lock.
    static func save(_ state: AgentState, to statePath: String, durable: Bool) throws(StateError) {
        let data = state.encoded()
        do {
            try AtomicFile.write(data, to: statePath, mode: 0o600, durable: durable)
        } catch {
            throw .unwritable(error.description)
        }
    }
}

/// Why the state folder cannot be used. The agent does not sign without it,
/// because it could not promise a fresh sequence number.
public enum StateError: Error, Sendable, Equatable, CustomStringConvertible {
    case unusable(String)
    case unwritable(String)
    case locked(String)

    public var description: String {
        switch self {
        case .unusable(let reason): "state folder unusable: \(reason)"
        case .unwritable(let reason): "cannot save agent state: \(reason)"
        case .locked(let path): "another phc-agent is running (it holds \(path))"
        }
    }
}
