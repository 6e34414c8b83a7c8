import ArgumentParser
import PHCAgent
import PHCCore

extension PHCAgentCommand {
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen",
            abstract: "Create this device's Ed25519 signing key.",
            discussion: """
                Writes a PKCS#8 PEM private key with mode 0600 (refusing to overwrite an existing \
                file) and prints exactly one line, the public key to enrol on the collector: \
                ed25519:<base64 of the 32-byte public key>.
                """)

        @Option(help: ArgumentHelp("Where to write the private key.", valueName: "file"))
        var key: String

        func run() throws {
            do {
                let created = try SigningKey.create(at: key)
                print(created.publicKey.line)
            } catch {
                printError("phc-agent: error: \(error.description)")
                throw ExitCode.failure
            }
        }
    }

    struct PublicKeyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pubkey",
            abstract: "Print the public key line of an existing private key (for enrolment).")

        @Option(help: ArgumentHelp("The private key file.", valueName: "file"))
        var key: String

        func run() throws {
            do {
                print(try SigningKey.load(path: key).publicKey.line)
            } catch {
                printError("phc-agent: error: \(error.description)")
                throw ExitCode.failure
            }
        }
    }
}
