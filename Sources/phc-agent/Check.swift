#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import ArgumentParser
import PHCAgent
import PHCCore

extension PHCAgentCommand {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Run checks and print the results; sign and publish nothing.",
            discussion: """
                Without IDs runs every check; an ID selects results by id or prefix \
                (mount, mount:/mnt/space, unit:litellm.service). \
                Exit status as Nagios plugins: 0 ok, 1 warn, 2 crit, 3 unknown (worst result; crit outranks unknown).
                """)

        @OptionGroup var options: ConfigOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @Argument(help: "Check ids or prefixes to run.")
        var ids: [String] = []

        func run() async throws {
            let configuration = try options.load()
            let logger = options.makeLogger()
            let runner = AgentRunner(configuration: configuration, logger: logger)
            let results: [CheckResult]
            do {
                results = try await runner.check(selecting: ids)
            } catch {
                printError("phc-agent: error: \(error.description)")
                throw ExitCode(3)
            }
            if !ids.isEmpty && results.isEmpty {
                printError("phc-agent: no check matches \(ids.joined(separator: ", "))")
                throw ExitCode(3)
            }
            let worst = CheckStatus.worst(results.map(\.status))
            if json {
                let report = CheckReportJSON(device: configuration.device, status: worst, checks: results)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(CheckTable.render(results, colour: isatty(1) == 1 && getenv("NO_COLOR") == nil))
            }
            throw ExitCode(worst.nagiosExitCode)
        }
    }
}

struct CheckReportJSON: Encodable {
    var device: String
    var status: CheckStatus
    var checks: [CheckResult]
}

/// The `check` table: one line per result, status in colour on a terminal.
enum CheckTable {
    static func render(_ results: [CheckResult], colour: Bool) -> String {
        let idWidth = min(40, results.map(\.id.count).max() ?? 2)
        return results.map { result in
            let status = result.status.rawValue.uppercased()
            let padded = status + String(repeating: " ", count: max(0, 7 - status.count))
            let shown = colour ? result.status.painted(padded) : padded
            let id = result.id.count > idWidth ? String(result.id.prefix(idWidth - 1)) + "…" : result.id
            return "\(shown) \(id)\(String(repeating: " ", count: idWidth - id.count))  \(result.summary)"
        }.joined(separator: "\n")
    }
}
