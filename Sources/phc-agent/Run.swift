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
            let configuration = try options.load()
            let logger = options.makeLogger()
            let runner = AgentRunner(configuration: configuration, logger: logger)
            let outcome: AgentRunner.Outcome
            do {
                outcome = try await runner.run(dryRun: dryRun)
            } catch {
                printError("phc-agent: error: \(error.description)")
                throw ExitCode.failure
            }
            let manifest = outcome.manifest
            if dryRun {
                print(String(decoding: try manifest.prettyEncoded(), as: UTF8.self))
                return
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
        }
    }
}
