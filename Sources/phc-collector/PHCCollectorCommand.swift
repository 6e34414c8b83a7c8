import ArgumentParser
import Logging
import PHCCollector
import PHCConfig
import PHCCore

#if canImport(Glibc)
    import Glibc
#endif

@main
enum Main {
    static func main() {
        CommandMain.start { arguments in
            // `run`, which the timer starts, without the argument parser's command tree.
            if let run = PlainCommandLine.collectorRun(arguments) {
                return await PHCCollectorCommand.Run.execute(
                    config: run.options["config"] ?? CollectorConfiguration.defaultPath,
                    verbose: run.flags.contains("verbose"), every: run.options["every"].flatMap(DurationText.parse))
            }
            await PHCCollectorCommand.main()
            return 0
        }
    }
}

extension PlainCommandLine {
    /// `phc-collector run [--config FILE] [--verbose] [--every DURATION]` with a valid duration.
    static func collectorRun(_ arguments: [String]) -> PlainCommandLine? {
        guard
            let plain = PlainCommandLine(
                arguments, subcommand: "run", flags: [Name("verbose", short: "v")],
                options: [Name("config", short: "c"), Name("every")]),
            plain.options["every"].map({ DurationText.parse($0) != nil }) ?? true
        else { return nil }
        return plain
    }
}

struct PHCCollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phc-collector",
        abstract: "Verifies every device's signed health manifest, keeps history and reports the fleet.",
        discussion: """
            Reads <devices_dir>/*/_health/manifest.json (and backlogs, and legacy _status.json), \
            uses a manifest only if it is signed by a key trusted for its device and newer than the \
            last one, notices devices that went silent, and keeps alert state in SQLite. Opens no port.
            """,
        version: PHCVersion.summary,
        subcommands: [
            Run.self, Report.self, Alerts.self, Silence.self, Notify.self, Trust.self, ConfigCommand.self,
        ]
    )
}

/// `--config FILE`, shared by every command.
struct CollectorOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The collector configuration.", valueName: "file"))
    var config: String = CollectorConfiguration.defaultPath

    @Flag(name: .shortAndLong, help: "Log debug details to stderr.")
    var verbose = false

    /// Loads the configuration, printing every problem and exiting 1 when it is unusable.
    func load() throws -> CollectorConfiguration {
        guard let configuration = Self.load(config) else { throw ExitCode.failure }
        return configuration
    }

    func makeLogger() -> Logger {
        Self.makeLogger(verbose: verbose)
    }

    /// The configuration at `path`, or nil after printing every problem, one per line.
    static func load(_ path: String) -> CollectorConfiguration? {
        do {
            return try CollectorConfiguration.load(path: path)
        } catch {
            for issue in error.issues { StandardError.error(issue.description) }
            return nil
        }
    }

    static func makeLogger(verbose: Bool) -> Logger {
        StderrLogHandler.bootstrap(label: "phc-collector", verbose: verbose)
    }
}

/// Prints `phc-collector: error: …` and exits 1.
func fail(_ message: String) -> ExitCode {
    StandardError.error("phc-collector: error: \(message)")
    return ExitCode.failure
}

extension PHCCollectorCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run one pass (or one every --every) and print what it did.",
            discussion: """
                A pass reads what changed, verifies it, stores it and updates alert state in one \
                transaction: killed halfway, it leaves the database as it was. Exit status 0 when the \
                pass completed (whatever the fleet's health), 1 when it could not run.
                """)

        @OptionGroup var options: CollectorOptions

        @Option(help: ArgumentHelp("Repeat in the foreground at this interval (such as 60s).", valueName: "duration"))
        var every: String?

        func validate() throws {
            if let every, DurationText.parse(every) == nil {
                throw ValidationError("'\(every)' is not a duration (write 30s, 5m, 1h)")
            }
        }

        func run() async throws {
            let status = await Self.execute(
                config: options.config, verbose: options.verbose, every: every.flatMap(DurationText.parse))
            if status != 0 { throw ExitCode(status) }
        }

        /// The whole command; returns the exit status. Also reached without the argument parser
        /// (``PlainCommandLine``).
        static func execute(config: String, verbose: Bool, every interval: Duration?) async -> Int32 {
            guard var configuration = CollectorOptions.load(config) else { return 1 }
            let logger = CollectorOptions.makeLogger(verbose: verbose)
            // The collector's pace is what Watchdog and Alertmanager alerts stay valid for.
            if let interval { configuration.interval = interval }
            let collector = Collector(configuration: configuration, logger: logger)
            repeat {
                let started = Monotonic.nanoseconds()
                do {
                    let (summary, delivery, _) = try await collector.run()
                    print(
                        "pass: \(summary.devices) devices, \(summary.accepted) manifests accepted, "
                            + "\(summary.rejected) refused, \(summary.unchanged) unchanged, "
                            + (summary.deferred > 0 ? "\(summary.deferred) waiting for the next pass, " : "")
                            + "\(summary.firing) alerts firing, \(summary.milliseconds) ms"
                            + (delivery.attempted > 0
                                ? "; notifications: \(delivery.delivered) delivered, \(delivery.retrying) to retry, "
                                    + "\(delivery.failed) refused"
                                    + (delivery.dropped > 0 ? ", \(delivery.dropped) dropped" : "")
                                : ""))
                } catch {
                    guard interval != nil else { return fail(String(describing: error)).rawValue }
                    logger.error("pass failed: \(String(describing: error))")
                }
                guard let interval else { return 0 }
                // Between passes, retries are delivered as they fall due.
                let nextPass = Deadline(after: interval - .nanoseconds(Monotonic.nanoseconds() - started))
                while !nextPass.hasPassed {
                    let due = (try? collector.nextDelivery()).flatMap { $0 }
                    let wait =
                        due.map { Duration.seconds(max(0, $0.seconds(since: WallClock.system.now()))) }
                        ?? nextPass.remaining
                    try? await Task.sleep(for: max(.milliseconds(200), min(wait, nextPass.remaining)))
                    if nextPass.hasPassed { break }
                    if let due, due <= WallClock.system.now() { _ = try? await collector.deliver() }
                }
            } while true
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Print the fleet (or one device with its history): text, json, markdown or html.",
            discussion: """
                Text is coloured, and a device's series drawn as sparklines, only on a terminal (colour never \
                with NO_COLOR set). html is the page published as index.html.
                """)

        @OptionGroup var options: CollectorOptions

        @Option(help: ArgumentHelp("text, json, markdown or html.", valueName: "format"))
        var format: String = "text"

        @Argument(help: "One device, with its checks, recent manifests, check changes and refusals.")
        var device: String?

        func validate() throws {
            guard ReportRenderer.Format(rawValue: format) != nil else {
                throw ValidationError("--format must be text, json, markdown or html")
            }
        }

        func run() async throws {
            let configuration = try options.load()
            do {
                if format == "html" && device == nil {
                    print(try Publisher.page(configuration: configuration), terminator: "")
                    return
                }
                let report = try FleetReport.build(configuration: configuration, device: device)
                let tty = isatty(1) == 1
                let colour = tty && getenv("NO_COLOR") == nil
                print(
                    ReportRenderer.render(
                        report, format: ReportRenderer.Format(rawValue: format)!, colour: colour, sparklines: tty))
            } catch {
                throw fail(String(describing: error))
            }
        }
    }

    struct ConfigCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config", abstract: "Work with the collector configuration.", subcommands: [Validate.self])

        struct Validate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "validate",
                abstract: "Load the configuration and report every problem with file, line and a hint.")

            @OptionGroup var options: CollectorOptions

            func run() async throws {
                let configuration = try options.load()
                let trust: TrustStore
                do { trust = try TrustStore.load(path: configuration.trustFile) } catch {
                    throw fail(error.description)
                }
                let keys = trust.trustedKeys(configured: configuration.devices).values.map(\.count).reduce(0, +)
                print(
                    "\(configuration.file): OK (\(configuration.devices.count) devices configured, \(keys) trusted keys, "
                        + "\(configuration.receivers.count) receivers)")
            }
        }
    }
}
