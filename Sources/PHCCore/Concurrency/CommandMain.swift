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
        let arguments = Array(CommandLine.arguments.dropFirst())
        if PlainCommandLine.asksVersion(arguments) {
            print(PHCVersion.summary)
            exit(0)
        }
        Task.detached { exit(await command(arguments)) }
        while true { pause() }
    }
}
