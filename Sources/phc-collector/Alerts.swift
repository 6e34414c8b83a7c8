import ArgumentParser
import PHCCollector
import PHCConfig
import PHCCore

extension PHCCollectorCommand {
    struct Alerts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "alerts",
            abstract: "List firing alerts (with --all, pending and recently resolved ones too).",
            discussion: """
                Each alert with its state, severity, labels, since when, whether a silence holds it, and the \\
                last notification per receiver. --format json prints {"alerts":[…]}.
                """)

        @OptionGroup var options: CollectorOptions

        @Option(help: ArgumentHelp("text or json.", valueName: "format"))
        var format: String = "text"

        @Flag(help: "Also pending alerts and those resolved in the last week.")
        var all = false

        func validate() throws {
            guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
        }

        func run() async throws {
            let configuration = try options.load()
            do {
                let listing = try AlertListing.build(configuration: configuration, all: all)
                print(format == "json" ? listing.json() : listing.text())
            } catch {
                throw fail(String(describing: error))
            }
        }
    }

    struct Silence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "silence",
            abstract: "Silence alerts for a while: they still show (marked silenced) and are not sent.",
            subcommands: [Add.self, List.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add",
                abstract: "Add a silence and print its id.",
                discussion: """
                    Every --match must hold (device=armitage, alertname=CheckFailing, check=gpu:0, severity=warn). \\
                    Give its length with --for 2h or its end with --until 2026-12-01T18:00:00Z. The author is the \\
                    user running the command. When it ends while its alert still fires, the alert is sent.
                    """)

            @OptionGroup var options: CollectorOptions
            @Option(
                name: .customLong("match"),
                help: ArgumentHelp("LABEL=VALUE (repeat for more).", valueName: "label=value"))
            var matchers: [String] = []
            @Option(name: .customLong("for"), help: ArgumentHelp("How long, such as 2h.", valueName: "duration"))
            var length: String?
            @Option(help: ArgumentHelp("Until when (RFC 3339).", valueName: "time"))
            var until: String?
            @Option(help: "Why.") var comment: String

            func validate() throws {
                guard (length == nil) != (until == nil) else {
                    throw ValidationError("give --for or --until (one of them)")
                }
                if let length, DurationText.parse(length) == nil {
                    throw ValidationError("'\(length)' is not a duration")
                }
                if let until, Timestamp(rfc3339: until) == nil {
                    throw ValidationError("'\(until)' is not an RFC 3339 time")
                }
            }

            func run() async throws {
                let configuration = try options.load()
                let now = WallClock.system.now()
                let end =
                    until.flatMap(Timestamp.init(rfc3339:))
                    ?? now + (length.flatMap(DurationText.parse).map { $0.milliseconds / 1000 } ?? 0)
                do {
                    let silence = try SilenceBook.add(
                        matchers: matchers, until: end, comment: comment, author: Accounts.invokingUser,
                        configuration: configuration, now: now)
                    print(silence.id)
                } catch {
                    throw fail(String(describing: error))
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the silences.")
            @OptionGroup var options: CollectorOptions

            func run() async throws {
                let configuration = try options.load()
                let now = WallClock.system.now().secondsSinceEpoch
                do {
                    let silences = try SilenceBook.list(configuration: configuration)
                    if silences.isEmpty { print("no silences") }
                    for silence in silences {
                        let state = silence.isActive(at: now) ? "active" : silence.endsAt <= now ? "ended" : "upcoming"
                        let matchers = silence.matchers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                        print(
                            InertText.terminal(
                                "\(silence.id)  \(state)  until \(Timestamp(secondsSinceEpoch: silence.endsAt))  "
                                    + "\(matchers.joined(separator: ","))  by \(silence.author): \(silence.comment)"))
                    }
                } catch {
                    throw fail(String(describing: error))
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a silence.")
            @OptionGroup var options: CollectorOptions
            @Argument(help: "The silence id (silence add printed it).") var id: String

            func run() async throws {
                let configuration = try options.load()
                do {
                    guard try SilenceBook.remove(id: id, configuration: configuration) else {
                        throw fail("no silence has the id \(InertText.terminal(id))")
                    }
                    print("removed: \(id)")
                } catch let error as ExitCode {
                    throw error
                } catch {
                    throw fail(String(describing: error))
                }
            }
        }
    }

    struct Notify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notify", abstract: "Work with receivers.", subcommands: [Test.self])

        struct Test: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "test",
                abstract: "Send one test notification to RECEIVER now and print its answer.",
                discussion: "Exit status 0 when the receiver took it, 1 otherwise. The URL is never printed.")

            @OptionGroup var options: CollectorOptions
            @Argument(help: "The receiver's name.") var receiver: String

            func run() async throws {
                let configuration = try options.load()
                let logger = options.makeLogger()
                guard
                    let (delivered, answer) = await NotifyTest.send(
                        receiver: receiver, configuration: configuration, logger: logger)
                else {
                    let names = configuration.receivers.map(\.name).joined(separator: ", ")
                    throw fail("no receiver named \(InertText.terminal(receiver)) (receivers: \(names))")
                }
                print("\(receiver): \(answer)")
                if !delivered { throw ExitCode.failure }
            }
        }
    }
}
