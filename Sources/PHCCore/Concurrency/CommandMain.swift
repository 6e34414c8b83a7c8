#if canImport(Glibc)
    internal import Glibc
#endif

/// How both binaries start: `--version` answered at once, every other command run as a task that
/// ends the process with its exit status.
///
/// A lone `--version` prints ``PHCVersion/summary`` as the argument parser would, without building
/// its command tree (two thirds of the instructions such a process ran): packaging scripts and
/// health probes ask this often. The command runs on the concurrency pool while the main thread
/// only waits: an async `main` would end the main thread in dispatch_main's `pthread_exit`, which
/// loads libgcc_s and unwinds the stack on every timer tick. The task is detached because `main`
/// is on the main actor, whose queue this thread never drains.
public enum CommandMain {
    /// Runs `command` with the arguments (without the program name) and exits with what it returns.
    public static func start(_ command: @escaping @Sendable (_ arguments: [String]) async -> Int32) -> Never {
        // Asked and answered in C terms: building `CommandLine.arguments` and going through `print`
        // instantiate generic types from their mangled names, which was half of what such a process ran.
        let given = UnsafeBufferPointer(start: CommandLine.unsafeArgv + 1, count: max(0, Int(CommandLine.argc) - 1))
        if PlainCommandLine.asksVersion(given) {
            var line = PHCVersion.summary + "\n"
            // A line this short is written whole or not at all; not at all (a full disk, a closed
            // pipe) is a failure: whoever asked did not get the answer.
            let written = line.withUTF8 { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            exit(written == line.utf8.count ? 0 : 1)
        }
        run(command, Array(CommandLine.arguments.dropFirst()))
    }

    /// Apart, so that what only a command needs (the task's metadata, which the compiler otherwise
    /// looks up on entry to `start`) is not looked up for `--version`.
    @inline(never)
    private static func run(_ command: @escaping @Sendable ([String]) async -> Int32, _ arguments: [String]) -> Never {
        Task.detached { exit(await command(arguments)) }
        while true { pause() }
    }
}
