#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCCore
internal import CPHCSystem
internal import PHCConfig

/// What a finished command printed, and how it ended.
public struct CommandOutput: Sendable, Equatable {
    /// The exit status; 128 + n when killed by signal n.
    public var exitStatus: Int32
    public var standardOutput: String
    public var standardError: String

    /// The first non-empty line of standard error, for one-line messages.
    public var firstErrorLine: String {
        standardError.split(whereSeparator: \.isNewline).map { $0.trimmed() }.first { !$0.isEmpty } ?? ""
    }
}

/// Why a command did not produce output.
public enum CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(command: String)
    case couldNotStart(command: String, reason: String)
    /// Killed (with its whole process group) after `timeout`.
    case timedOut(command: String, timeout: Duration)
    case outputTooLarge(command: String, limit: Int)

    public var description: String {
        switch self {
        case .notFound(let command): "\(command): command not found"
        case .couldNotStart(let command, let reason): "\(command): could not start: \(reason)"
        case .timedOut(let command, let timeout):
            "\(command) did not finish within \(DurationText.format(timeout)) and was killed"
        case .outputTooLarge(let command, let limit): "\(command) printed more than \(ByteCount.format(Int64(limit)))"
        }
    }
}

/// Runs external commands (`systemctl`, `nvidia-smi`) under a timeout.
///
/// The child starts in its own process group with an empty signal mask and
/// default signal handlers (a child of a Swift program must not inherit the
/// blocked mask: swift-corelibs-foundation#4772). On timeout the whole group is
/// killed with SIGKILL, so a script's own children die with it. The wait runs
/// on a dedicated thread, never on the cooperative pool.
public struct ProcessRunner: Sendable {
    public init() {}

    /// Runs `command` (a name on PATH or a path) with `arguments`, `LC_ALL=C`.
    ///
    /// A non-zero exit status is a normal result, not an error: inspect ``CommandOutput/exitStatus``.
    ///
    /// - Throws: ``CommandError`` when the command cannot start, times out or floods its output.
    public func run(
        _ command: String, _ arguments: [String], timeout: Duration, outputLimit: Int = 4 * 1024 * 1024
    ) async throws(CommandError) -> CommandOutput {
        let result = await BlockingWork.run {
            Self.runBlocking(command, arguments, timeout: timeout, outputLimit: outputLimit)
        }
        return try result.get()
    }

    static func runBlocking(_ command: String, _ arguments: [String], timeout: Duration, outputLimit: Int)
        -> Result<CommandOutput, CommandError>
    {
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard phc_pipe_cloexec(&stdoutPipe) == 0 else {
            return .failure(.couldNotStart(command: command, reason: SystemError.describe(errno)))
        }
        guard phc_pipe_cloexec(&stderrPipe) == 0 else {
            close(stdoutPipe[0])
            close(stdoutPipe[1])
            return .failure(.couldNotStart(command: command, reason: SystemError.describe(errno)))
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([command] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var environment = ProcessEnvironment.forChildren()
        let envp = environment.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        environment.removeAll()

        var pid: pid_t = 0
        var spawned: Int32 = 0
        // ETXTBSY: the program is being written right now (an upgrade, or a file
        // descriptor briefly inherited by another fork); it clears in moments.
        for attempt in 0..<5 {
            spawned =
                command.contains("/")
                ? posix_spawn(&pid, command, &actions, &attributes, argv, envp)
                : posix_spawnp(&pid, command, &actions, &attributes, argv, envp)
            guard spawned == ETXTBSY, attempt < 4 else { break }
            usleep(20_000)
        }
        close(stdoutPipe[1])
        close(stderrPipe[1])
        defer {
            close(stdoutPipe[0])
            close(stderrPipe[0])
        }
        guard spawned == 0 else {
            if spawned == ENOENT { return .failure(.notFound(command: command)) }
            return .failure(.couldNotStart(command: command, reason: SystemError.describe(spawned)))
        }

        let deadline = Monotonic.nanoseconds() + Int64(timeout.milliseconds) * 1_000_000
        var output = [UInt8]()
        var errors = [UInt8]()
        var open = [stdoutPipe[0], stderrPipe[0]]
        var failure: CommandError?
        var exitStatus: Int32?
        var chunk = [UInt8](repeating: 0, count: 65536)
        // Read until both pipes close. Once the child itself has exited, whatever
        // it left running (a daemonised grandchild holding the pipe) does not
        // keep us waiting: drain what is there and stop.
        while !open.isEmpty {
            let left = (deadline - Monotonic.nanoseconds()) / 1_000_000
            if left <= 0 {
                failure = .timedOut(command: command, timeout: timeout)
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(left, exitStatus == nil ? 50 : 0)))
            if ready < 0 {
                if errno == EINTR { continue }
                failure = .couldNotStart(command: command, reason: SystemError.describe(errno))
                break
            }
            if ready == 0 {
                if exitStatus != nil { break }
                exitStatus = tryReap(pid)
                continue
            }
            for entry in fds where entry.revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress!, $0.count) }
                if n > 0 {
                    if entry.fd == stdoutPipe[0] {
                        output += chunk[0..<n]
                    } else if errors.count < 65536 {
                        errors += chunk[0..<min(n, 65536 - errors.count)]
                    }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    open.removeAll { $0 == entry.fd }
                }
            }
            if output.count > outputLimit {
                failure = .outputTooLarge(command: command, limit: outputLimit)
                break
            }
        }
        if failure != nil || exitStatus != nil {
            // Whatever is left of the process group goes too.
            kill(-pid, SIGKILL)
        }
        let status = exitStatus ?? reap(pid, until: max(deadline, Monotonic.nanoseconds()) + 1_000_000_000)
        if let failure { return .failure(failure) }
        return .success(
            CommandOutput(
                exitStatus: status,
                standardOutput: String(decoding: output, as: UTF8.self),
                standardError: String(decoding: errors, as: UTF8.self)))
    }

    /// The exit status if `pid` has exited, without waiting.
    private static func tryReap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return decode(status)
    }

    private static func decode(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits for `pid`; kills its group if it has not exited by `deadline`. 128+n for a signal.
    private static func reap(_ pid: pid_t, until deadline: Int64) -> Int32 {
        var status: Int32 = 0
        var killed = false
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { break }
            if rc < 0 && errno != EINTR { return 128 + SIGKILL }
            if Monotonic.nanoseconds() > deadline {
                if killed { return 128 + SIGKILL }  // stuck in the kernel: leave it to init
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                killed = true
            }
            usleep(1000)
        }
        return decode(status)
    }
}

enum ProcessEnvironment {
    /// The agent's environment with `LC_ALL=C`, so commands print parseable, untranslated text.
    static func forChildren() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if !text.hasPrefix("LC_ALL=") && !text.hasPrefix("LANG=") { result.append(text) }
            pointer += 1
        }
        result.append("LC_ALL=C")
        return result
    }
}
