import ArgumentParser
import PHCAgent
import PHCCore

extension PHCAgentCommand {
    struct ConfigCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Work with the agent configuration.",
            subcommands: [Validate.self, Paths.self])

        struct Validate: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "validate",
                abstract: "Load the configuration and report every problem with file, line and a hint.",
                discussion: """
                    Checks what 'run' checks before it signs: the configuration, and that key_file is a \
                    usable private key that others cannot read. Exit status: 0 when 'run' could sign with \
                    this configuration, 1 otherwise.
                    """)

            @OptionGroup var options: ConfigOption

            func run() throws {
                let configuration = try options.load()
                let checks =
                    configuration.mounts.count + configuration.secrets.files.count
                    + (configuration.secrets.map == nil ? 0 : 1) + configuration.systemd.units.count
                    + configuration.systemd.timers.count + configuration.markers.count + 1
                do {
                    _ = try SigningKey.load(path: configuration.keyFile)
                } catch {
                    StandardError.error("\(configuration.file): key_file: \(error.description)")
                    throw ExitCode.failure
                }
                print("\(configuration.file): OK (device \(configuration.device), \(checks) checks)")
            }
        }

        struct Paths: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "paths",
                abstract: "Print the folders 'run' writes in, one per line.",
                discussion: """
                    state_dir, devices_dir and every mount with write_probe: true. scripts/install \
                    makes exactly these writable in phc-agent.service (ReadWritePaths= in a drop-in), \
                    whose file system is otherwise read-only; run it again after adding a write probe.
                    """)

            @OptionGroup var options: ConfigOption

            func run() throws {
                for path in try options.load().writablePaths { print(path) }
            }
        }
    }
}
