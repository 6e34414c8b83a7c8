import ArgumentParser
import PHCAgent
import PHCCore

extension PHCAgentCommand {
    struct ConfigCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Work with the agent configuration.",
            subcommands: [Validate.self])

        struct Validate: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "validate",
                abstract: "Load the configuration and report every problem with file, line and a hint.",
                discussion: "Exit status: 0 when the configuration is usable, 1 otherwise.")

            @OptionGroup var options: ConfigOption

            func run() throws {
                let configuration = try options.load()
                let checks =
                    configuration.mounts.count + configuration.secrets.files.count
                    + (configuration.secrets.map == nil ? 0 : 1) + configuration.systemd.units.count
                    + configuration.systemd.timers.count + configuration.markers.count + 1
                print("\(configuration.file): OK (device \(configuration.device), \(checks) checks)")
                if !FileStatus.exists(configuration.keyFile) {
                    print(
                        "note: key_file \(configuration.keyFile) does not exist yet; create it with: "
                            + "phc-agent keygen --key \(configuration.keyFile)")
                }
            }
        }
    }
}
