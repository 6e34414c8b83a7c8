#if canImport(Glibc)
    internal import Glibc
#endif

/// One subcommand's plain forms, recognised without swift-argument-parser.
///
/// `run` is what a timer starts every minute, and building the argument parser's command tree
/// (reflection over every subcommand) costs a few milliseconds each time: a fifth of an agent
/// run. Only the plain forms are recognised here: the subcommand, then each flag (`-v`,
/// `--verbose`) and each option (`-c FILE`, `--config FILE`, `--config=FILE`) at most once. Not
/// recognised, so left to the argument parser with its own help and error messages: anything
/// else, `--help`, a repeated or unknown argument, combined short flags (`-vc`), an empty value
/// and a value that starts with `-`.
public struct PlainCommandLine: Equatable, Sendable {
    /// An argument by its long name (`verbose` for `--verbose`) and its one-letter name, if any.
    public struct Name: Sendable {
        public var long: String
        public var short: Character?

        public init(_ long: String, short: Character? = nil) {
            self.long = long
            self.short = short
        }
    }

    /// Whether the C arguments (`argv` without the program name) ask for the version alone,
    /// `--version`: then a binary prints ``PHCVersion/summary`` as the argument parser would, without
    /// building its command tree (two thirds of the instructions such a process ran), nor even the
    /// arguments as strings. Packaging scripts and health probes ask this often.
    public static func asksVersion(_ arguments: UnsafeBufferPointer<UnsafeMutablePointer<CChar>?>) -> Bool {
        arguments.count == 1 && arguments[0].map { strcmp($0, "--version") == 0 } == true
    }

    /// The long names of the flags given.
    public private(set) var flags: Set<String> = []
    /// The options given, by long name.
    public private(set) var options: [String: String] = [:]

    /// `arguments` (without the program name) read as `subcommand` with `flags` and `options`;
    /// nil when they are anything else.
    public init?(_ arguments: [String], subcommand: String, flags: [Name] = [], options: [Name] = []) {
        guard arguments.first == subcommand else { return nil }
        func named(_ argument: String, in names: [Name]) -> Name? {
            names.first { argument == "--" + $0.long || $0.short.map { argument == "-" + String($0) } == true }
        }
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if let flag = named(argument, in: flags) {
                guard self.flags.insert(flag.long).inserted else { return nil }
            } else if let option = named(argument, in: options) {
                guard index + 1 < arguments.count, self.options[option.long] == nil else { return nil }
                let value = arguments[index + 1]
                guard !value.isEmpty, !value.hasPrefix("-") else { return nil }
                self.options[option.long] = value
                index += 1
            } else if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "="),
                let option = options.first(where: { argument[..<equals] == "--" + $0.long })
            {
                let value = String(argument[argument.index(after: equals)...])
                guard !value.isEmpty, self.options[option.long] == nil else { return nil }
                self.options[option.long] = value
            } else {
                return nil
            }
            index += 1
        }
    }
}
