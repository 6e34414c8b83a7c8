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

        /// The whole command; returns the exit status. Also reached through ``RunFastPath``.
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

/// `phc-agent run [--config FILE] [--dry-run] [--verbose]`, recognised without
/// swift-argument-parser.
///
/// `run` is what the timer starts every minute on every host, and building the
/// argument parser's command tree (reflection over every subcommand) costs about
/// 3 ms, a fifth of a whole run. Only the plain forms are recognised here;
/// anything else, `--help` and every mistake included, goes to the argument
/// parser, so help and error messages are the same either way.
struct RunFastPath: Equatable {
    var config = AgentConfiguration.defaultPath
    var dryRun = false
    var verbose = false

    init?(_ arguments: [String]) {
        guard arguments.first == "run" else { return nil }
        var seenConfig = false
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--dry-run" where !dryRun: dryRun = true
            case "-v", "--verbose": guard !verbose else { return nil }; verbose = true
            case "-c", "--config":
                guard !seenConfig, index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") else { return nil }
                config = arguments[index + 1]
                seenConfig = true
                index += 1
            default:
                guard argument.hasPrefix("--config="), !seenConfig, argument.count > "--config=".count else {
                    return nil
                }
                config = String(argument.dropFirst("--config=".count))
                seenConfig = true
            }
            index += 1
        }
    }
}
