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
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify a signed manifest (or every envelope of a backlog) and print it.",
            discussion: """
                FILE is a manifest.json envelope or a backlog-*.jsonl.gz file. The signature must \
                verify with one of the given public keys (--key-line, repeatable) or with the public \
                half of --key. Exit status: 0 when every envelope verifies, 1 otherwise.
                """)

        @Argument(help: "manifest.json or backlog-*.jsonl.gz")
        var file: String

        @Option(
            name: .customLong("key-line"),
            help: ArgumentHelp("A trusted public key, ed25519:<base64>.", valueName: "line"))
        var keyLines: [String] = []

        @Option(help: ArgumentHelp("A private key whose public half is trusted.", valueName: "file"))
        var key: String?

        @Flag(help: "Print only the verdict lines, not the manifest.")
        var quiet = false

        func validate() throws {
            if keyLines.isEmpty && key == nil {
                throw ValidationError("give --key-line ed25519:… or --key FILE to verify against")
            }
            for line in keyLines {
                do { _ = try PublicKey.parse(line: line) } catch { throw ValidationError("'\(line)': \(error)") }
            }
        }

        func run() throws {
            var trusted = keyLines.compactMap(PublicKey.init(line:))
            if let key {
                do { trusted.append(try SigningKey.load(path: key).publicKey) } catch {
                    printError("phc-agent: error: \(error.description)")
                    throw ExitCode.failure
                }
            }
            let envelopes: [Data]
            do {
                envelopes = try EnvelopeFile.read(file)
            } catch {
                printError("phc-agent: error: \(error)")
                throw ExitCode.failure
            }
            var failures = 0
            for (index, data) in envelopes.enumerated() {
                let label = envelopes.count > 1 ? "\(file) line \(index + 1)" : file
                do {
                    let verified = try SignedManifest(envelope: data, trustedKeys: trusted)
                    let manifest = verified.manifest
                    print(
                        "OK \(label): \(manifest.device) sequence \(manifest.sequence), \(manifest.status.rawValue), "
                            + "issued \(manifest.issuedAt), keyid \(verified.signer.keyID.prefix(16))")
                    if !quiet && envelopes.count == 1 {
                        print(String(decoding: try manifest.prettyEncoded(), as: UTF8.self))
                    }
                } catch {
                    failures += 1
                    print("FAILED \(label): \(error)")
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }
    }
}

/// Reading envelopes from a manifest or a backlog file.
enum EnvelopeFile {
    /// One envelope for a manifest; one per line for a gzip backlog.
    static func read(_ path: String) throws -> [Data] {
        let raw = try FileReader.read(path, limit: 64 * 1024 * 1024)
        guard raw.starts(with: [0x1f, 0x8b]) else { return [raw] }
        return try Gzip.decompress(raw).split(separator: UInt8(ascii: "\n")).map { Data($0) }
            .filter { !$0.allSatisfy { $0 == 32 || $0 == 13 } }
    }
}
