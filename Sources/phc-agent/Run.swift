import ArgumentParser
import Logging
import PHCAgent
import PHCCore

extension PHCAgentCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run all checks once, sign the manifest and publish it.",
            discussion: """
                Finishes within the configured deadline even when a mount hangs. Prints one line \
                saying where the manifest went. With --dry-run, prints the manifest that would be \
                signed and writes nothing (no sequence number is used).
                Exit status: 0 when the manifest was published or spooled, 1 when nothing could be signed.
                """)

        @OptionGroup var options: ConfigOption

        @Flag(help: "Print the manifest instead of signing and writing it.")
        var dryRun = false

        func run() async throws {
            let status = await Self.execute(config: options.config, dryRun: dryRun, verbose: options.verbose)
            if status != 0 { throw ExitCode(status) }
        }

        /// The whole command; returns the exit status. Also reached without the argument parser (``PlainCommandLine``).
        static func execute(config: String, dryRun: Bool, verbose: Bool) async -> Int32 {
            guard let configuration = ConfigOption.load(config) else { return 1 }
            let logger = ConfigOption.makeLogger(verbose: verbose)
            let runner = AgentRunner(configuration: configuration, logger: logger)
            let outcome: AgentRunner.Outcome
            do {
                outcome = try await runner.run(dryRun: dryRun)
            } catch {
                printError("phc-agent: error: \(error.description)")
                return 1
            }
            let manifest = outcome.manifest
            if dryRun {
                guard let text = try? manifest.prettyEncoded() else { return 1 }
                print(String(decoding: text, as: UTF8.self))
                return 0
            }
            let what = "sequence \(manifest.sequence) (\(manifest.status.rawValue), \(manifest.checks.count) checks)"
            switch outcome.publish {
            case .published(let path, let backlog)?:
                print("published \(what) to \(path)" + (backlog.map { "; delivered backlog \($0)" } ?? ""))
            case .spooled(let reason, let waiting, _)?:
                print("spooled \(what): \(reason); \(waiting) waiting in \(configuration.stateDir)/spool")
                logger.warning("manifest spooled: \(reason)")
            case nil:
                break
            }
            return 0
        }
    }
}

extension PlainCommandLine {
    /// `phc-agent run [--config FILE] [--dry-run] [--verbose]`, the form the timer starts.
    static func agentRun(_ arguments: [String]) -> PlainCommandLine? {
        PlainCommandLine(
            arguments, subcommand: "run", flags: [Name("dry-run"), Name("verbose", short: "v")],
            options: [Name("config", short: "c")])
    }
}
