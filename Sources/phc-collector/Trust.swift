import ArgumentParser
import PHCCollector
import PHCCore

extension PHCCollectorCommand {
    struct Trust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trust",
            abstract: "Enrol, list and revoke device keys.",
            discussion: """
                Changes go to the trust file (trust_file, default next to the database), never to the \
                YAML configuration, whose keys and comments stay as written. A device may have several \
                keys (rotation); a revoked key id is refused even if the YAML still lists it. Keys of \
                small order and non-canonical encodings are refused: no device has one. A device whose \
                sequence numbers can no longer advance (it restarted at 1 with a new key, or signed the \
                largest number there is) is given a new baseline with `trust reset DEVICE`.
                """,
            subcommands: [Add.self, List.self, Revoke.self, Reset.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add", abstract: "Trust PUBKEY (ed25519:<base64>) for DEVICE.")

            @OptionGroup var options: CollectorOptions
            @Argument(help: "The device name (its folder under devices_dir).") var device: String
            @Argument(help: "The line phc-agent keygen printed: ed25519:<base64>.") var pubkey: String

            func validate() throws {
                try validateDeviceName(device)
                do { _ = try PublicKey.parse(line: pubkey) } catch { throw ValidationError("'\(pubkey)': \(error)") }
            }

            func run() async throws {
                let configuration = try options.load()
                let key = try PublicKey.parse(line: pubkey)
                do {
                    var store = try TrustStore.load(path: configuration.trustFile)
                    if store.revokedIDs.contains(key.keyID) {
                        throw fail("key \(key.keyID.prefix(16)) was revoked; generate a new key for \(device)")
                    }
                    let name = device.lowercased()
                    if store.keys.contains(where: { $0.device == name && $0.key == key.line }) {
                        print("already trusted: \(name) \(key.keyID)")
                        return
                    }
                    store.keys.append(TrustStore.Entry(device: name, key: key.line, addedAt: WallClock.system.now()))
                    try store.save(path: configuration.trustFile)
                    print("trusted: \(name) keyid \(key.keyID)")
                } catch let error as TrustStore.Failure {
                    throw fail(error.description)
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "List trusted and revoked keys, with where each comes from.")

            @OptionGroup var options: CollectorOptions

            func run() async throws {
                let configuration = try options.load()
                let store: TrustStore
                do { store = try TrustStore.load(path: configuration.trustFile) } catch {
                    throw fail(error.description)
                }
                let revoked = store.revokedIDs
                var rows: [(String, String, String, String)] = []
                for (name, device) in configuration.devices {
                    for key in device.keys {
                        rows.append((name, key.keyID, "config", revoked.contains(key.keyID) ? "revoked" : "trusted"))
                    }
                }
                for entry in store.keys {
                    do {
                        let key = try PublicKey.parse(line: entry.key)
                        rows.append(
                            (entry.device, key.keyID, "trust file", revoked.contains(key.keyID) ? "revoked" : "trusted")
                        )
                    } catch {
                        rows.append((entry.device, "-", "trust file", "refused: \(error)"))
                    }
                }
                print("DEVICE               KEYID             SOURCE      STATE")
                for (device, keyID, source, state) in rows.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
                    print(
                        device.padding(20) + " " + String(keyID.prefix(16)) + "  " + source.padding(10) + "  " + state)
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "revoke",
                abstract: "Revoke a key by its key id (the full hex id, or a unique prefix of 8 or more).")

            @OptionGroup var options: CollectorOptions
            @Argument(help: "The key id (hex SHA-256 of the raw public key), or a unique prefix.") var keyid: String

            func run() async throws {
                let configuration = try options.load()
                do {
                    var store = try TrustStore.load(path: configuration.trustFile)
                    let prefix = keyid.lowercased()
                    var known = Set(store.keys.compactMap { PublicKey(line: $0.key)?.keyID })
                    for device in configuration.devices.values { known.formUnion(device.keys.map(\.keyID)) }
                    let matches = known.filter { $0.hasPrefix(prefix) }
                    let chosen: String
                    if prefix.count == 64 {
                        chosen = prefix
                    } else if prefix.count >= 8, matches.count == 1 {
                        chosen = matches.first!
                    } else {
                        throw fail(
                            matches.isEmpty
                                ? "no known key id starts with \(keyid)"
                                : "\(keyid) matches \(matches.count) keys; give more of the id")
                    }
                    guard !store.revokedIDs.contains(chosen) else {
                        print("already revoked: \(chosen)")
                        return
                    }
                    store.revoked.append(TrustStore.Revocation(keyid: chosen, revokedAt: WallClock.system.now()))
                    try store.save(path: configuration.trustFile)
                    print("revoked: \(chosen)")
                } catch let error as TrustStore.Failure {
                    throw fail(error.description)
                }
            }
        }
    }
}

extension PHCCollectorCommand.Trust {
    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset",
            abstract: "Forget DEVICE's last sequence number: its next manifest that verifies becomes the new baseline.",
            discussion: """
                For a device that rotated its key and restarted at sequence 1, or whose sequence reached \
                the largest number there is: every manifest it signs is refused as a replay until reset. \
                Who reset, when, and the sequence forgotten are recorded in the database. The signature \
                is still checked: only keys trusted for the device are accepted.
                """)

        @OptionGroup var options: CollectorOptions
        @Argument(help: "The device name.") var device: String

        func validate() throws { try validateDeviceName(device) }

        func run() async throws {
            let configuration = try options.load()
            let name = device.lowercased()
            do {
                let previous = try SequenceBaseline.reset(
                    device: name, configuration: configuration, by: Accounts.invokingUser, at: WallClock.system.now())
                print(
                    "reset: \(name) "
                        + (previous.map { "forgot sequence \($0)" } ?? "had no sequence yet")
                        + "; its next manifest that verifies is the new baseline")
            } catch {
                throw fail(String(describing: error))
            }
        }
    }
}

/// Device names on the command line follow the rule of the configuration and the share.
func validateDeviceName(_ device: String) throws {
    guard DeviceName.isValid(device.lowercased()) else {
        throw ValidationError("'\(InertText.terminal(device))' is not a device name (\(DeviceName.rule))")
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
