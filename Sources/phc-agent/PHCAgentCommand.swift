import ArgumentParser
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import PHCAgent
import PHCConfig
import PHCCore

@main
enum Main {
    static func main() {
        CommandMain.start { arguments in
            // `run`, which the timer starts, without the argument parser's command tree.
            if let run = PlainCommandLine.agentRun(arguments) {
                return await PHCAgentCommand.Run.execute(
                    config: run.options["config"] ?? AgentConfiguration.defaultPath,
                    dryRun: run.flags.contains("dry-run"), verbose: run.flags.contains("verbose"))
            }
            await PHCAgentCommand.main()
            return 0
        }
    }
}

struct PHCAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phc-agent",
        abstract: "Checks this host and publishes a signed health manifest for the PHC collector.",
        discussion: """
            Run from a systemd timer: each 'run' checks mounts, secrets files, systemd units, \
            backup markers, NVIDIA GPUs, inference servers, HTTP endpoints, containers, Tailscale, \
            the kernel log and the system, signs the result (DSSE, Ed25519) and writes it to \
            <devices_dir>/<device>/_health/manifest.json. When the share is down, manifests wait \
            in a local spool and are delivered later as a backlog. No network port is opened.
            """,
        version: PHCVersion.summary,
        subcommands: [Run.self, Check.self, Keygen.self, PublicKeyCommand.self, Verify.self, ConfigCommand.self]
    )
}

/// `--config FILE`, shared by the commands that read the configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The agent configuration.", valueName: "file"))
    var config: String = AgentConfiguration.defaultPath

    @Flag(name: .shortAndLong, help: "Log debug details to stderr.")
    var verbose = false

    /// Loads the configuration, printing every problem and exiting 1 when it is unusable.
    func load() throws -> AgentConfiguration {
        guard let configuration = Self.load(config) else { throw ExitCode.failure }
        return configuration
    }

    func makeLogger() -> Logger {
        Self.makeLogger(verbose: verbose)
    }

    /// The configuration at `path`, or nil after printing every problem, one per line.
    static func load(_ path: String) -> AgentConfiguration? {
        do {
            return try AgentConfiguration.load(path: path)
        } catch {
            for issue in error.issues { printError(issue.description) }
            return nil
        }
    }

    static func makeLogger(verbose: Bool) -> Logger {
        StderrLogHandler.bootstrap(label: "phc-agent", verbose: verbose)
    }
}

/// Writes one line to stderr.
func printError(_ message: String) {
    StandardError.error(message)
}
