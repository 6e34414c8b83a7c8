#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("Secrets files")
struct SecretsTests {
    /// A value that must never be seen outside the agent process.
    let canary = "phc-canary-\(UInt64.random(in: 1...UInt64.max))"

    /// Sets a file's mtime `days` ago.
    func age(_ path: String, days: Int) {
        var times = [
            timespec(tv_sec: time(nil) - days * 86400, tv_nsec: 0),
            timespec(tv_sec: time(nil) - days * 86400, tv_nsec: 0),
        ]
        utimensat(AT_FDCWD, path, &times, 0)
    }

    @Test("each fault is found, and the canary value appears in no output, manifest, state or log")
    func canaryNeverLeaks() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let dir = sandbox.directory
        let header = "# Managed by Ansible from Azure Key Vault\n# Do not edit\n"
        let good = try dir.write("env/good.env", header + "KEY_A=\(canary)\nKEY_B=\"\(canary)-b\"\n", mode: 0o600)
        let open = try dir.write("env/open.env", header + "KEY_A=\(canary)\n", mode: 0o644)
        let missing = try dir.write("env/missing.env", header + "KEY_A=\(canary)\n", mode: 0o600)
        let empty = try dir.write("env/empty.env", header + "KEY_A=\(canary)\nKEY_B=\n", mode: 0o600)
        let malformed = try dir.write(
            "env/malformed.env", header + "KEY_A=\(canary)\n\(canary)\nKEY_B=x\n", mode: 0o600)
        let owner = try dir.write("env/owner.env", header + "KEY_A=\(canary)\n", mode: 0o600)
        let old = try dir.write("env/old.env", header + "KEY_A=\(canary)\n", mode: 0o600)
        age(old, days: 100)
        let folder = try dir.folder("env/folder.env")
        let huge = dir.file("env/huge.env")
        #expect(FileManager.default.createFile(atPath: huge, contents: Data("KEY_A=\(canary)\n".utf8)))
        #expect(truncate(huge, 1 << 30) == 0)
        chmod(huge, 0o600)
        let map = try dir.write(
            "secrets-map.yml",
            """
            akv_vault_name: kv-example
            services:
              mapped:
                hosts: [TESTHOST, other]
                env_file: \(dir.file("env/mapped.env"))
                owner: "{{ ansible_user | default('miket') }}"
                mode: "0600"
                secrets:
                  MAPPED_KEY: akv-mapped
              templated:
                hosts: [testhost]
                env_file: "/home/{{ ansible_user }}/.env"
                secrets: {X: y}
              elsewhere:
                hosts: [motoko]
                env_file: /opt/elsewhere/.env
              macs:
                groups: [macos]
                env_file: /Users/x/.env
            """)
        try dir.write("env/mapped.env", header + "MAPPED_KEY=\(canary)\n", mode: 0o600)

        func entry(_ path: String, keys: String = "[KEY_A, KEY_B]", extra: String = "") -> String {
            "      - {path: \(path), owner: root, group: root, mode: \"0600\", keys: \(keys)\(extra)}\n"
        }
        let configPath = dir.file("agent.yaml")
        _ = try sandbox.configuration(
            checks: "  secrets:\n    map: \(map)\n    max_age: {warn: 60d, crit: 90d}\n    files:\n"
                + entry(good, extra: ", max_age: {warn: 60d, crit: 90d}") + entry(open, keys: "[KEY_A]")
                + entry(missing) + entry(empty) + entry(malformed)
                + entry(old, keys: "[KEY_A]", extra: ", max_age: {warn: 60d, crit: 90d}")
                + entry(folder) + entry(huge, keys: "[KEY_A]")
                + "      - {path: \(owner), owner: nobody, group: root}\n")
        let agent = Command.built("phc-agent")
        let run = try await Command.run(agent, ["run", "--config", configPath, "--verbose"])
        #expect(run.status == 0, "\(run.stderr)")
        let check = try await Command.run(agent, ["check", "--config", configPath, "--json", "--verbose"])
        let table = try await Command.run(agent, ["check", "--config", configPath, "secrets"])
        let dry = try await Command.run(agent, ["run", "--config", configPath, "--dry-run"])
        let manifest = try sandbox.published()

        func status(_ path: String) -> CheckResult? { manifest.check("secrets:\(path)") }
        #expect(status(good)?.status == .ok, "\(status(good)?.summary ?? "")")
        #expect(status(good)?.summary.contains("0600 root:root, 2 keys present") == true)
        #expect(status(open)?.status == .crit)
        #expect(status(open)?.summary.contains("readable or writable by others (mode 0644)") == true)
        #expect(status(missing)?.summary.hasPrefix("missing keys: KEY_B") == true)
        #expect(status(missing)?.summary.contains("1 of 2 keys present") == true, "count what is present")
        #expect(status(empty)?.summary.hasPrefix("empty keys: KEY_B") == true)
        #expect(status(malformed)?.status == .warn)
        #expect(status(malformed)?.summary.contains("line 4 not KEY=value") == true)
        #expect(status(old)?.status == .crit)
        #expect(status(old)?.summary.contains("rotation overdue") == true)
        #expect(
            status(owner)?.status == .crit && status(owner)?.summary.contains("owner root, expected nobody") == true)
        #expect(status(folder)?.summary == "is a directory, not an env file")
        #expect(status(huge)?.summary.contains("too large for an env file") == true)
        // The map: one entry applies (host names compare case-insensitively), templates and groups are listed.
        let mapResult = try #require(status(map))
        #expect(mapResult.status == .ok)
        #expect(mapResult.summary.contains("1 of 4 services apply to testhost"), "\(mapResult.summary)")
        #expect(mapResult.summary.contains("templated: env_file is a template"))
        #expect(mapResult.summary.contains("macs: chosen by inventory groups (macos)"))
        let mapped = try #require(status(dir.file("env/mapped.env")))
        #expect(mapped.status == .ok, "\(mapped.summary)")
        #expect(mapped.summary.contains("not checked: owner (template)"))
        #expect(check.status == 2)
        #expect(table.stdout.contains("secrets:"))

        // The canary: nowhere outside the env files themselves.
        var places: [(String, String)] = [
            ("run stdout", run.stdout), ("run stderr", run.stderr), ("check stdout", check.stdout),
            ("check stderr", check.stderr), ("table", table.stdout + table.stderr),
            ("dry run", dry.stdout + dry.stderr),
        ]
        for root in [sandbox.stateDir, sandbox.devicesDir] {
            let files = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
            for file in files {
                if let data = FileManager.default.contents(atPath: root + "/" + file) {
                    let text =
                        file.hasSuffix(".gz")
                        ? String(decoding: (try? Gzip.decompress(data)) ?? data, as: UTF8.self)
                        : String(decoding: data, as: UTF8.self)
                    places.append((root + "/" + file, text))
                }
            }
        }
        places.append(("manifest payload", String(decoding: manifest.encoded(), as: UTF8.self)))
        #expect(places.count > 8)
        for (place, text) in places {
            #expect(!text.contains(canary), "the secret value leaked into \(place)")
            #expect(!text.contains(String(canary.suffix(12))), "part of the secret value leaked into \(place)")
        }
    }

    @Test("the env file parser sees names and emptiness only")
    func envParser() {
        let text =
            "# c1\n# c2\nexport A=1\nB = two words\nC=\nD=\"\"\nE=''\nF=#comment-only\n1BAD=x\nno equals\n\nG=x # trailing\n"
        let keys = EnvFileKeys(parsing: Data(text.utf8))
        #expect(keys.filled == ["A", "B", "G"])
        #expect(keys.empty == ["C", "D", "E", "F"])
        #expect(keys.malformedLines == [9, 10])
    }

    @Test("a token is read by the same line rules: export, spaces, quotes, the last assignment wins")
    func envValue() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            "t.env", "# T=commented\nT=first\r\n  export T = 'second value'  \nU=\"\"\n", mode: 0o600)
        #expect(try EnvFileValue.read(key: "T", from: path) == "second value")
        #expect(throws: EnvFileValue.Failure.self) { try EnvFileValue.read(key: "U", from: path) }
        #expect(throws: EnvFileValue.Failure.self) { try EnvFileValue.read(key: "V", from: path) }
    }

    @Test("owner and group mismatches are crit; a stricter mode is warn, a looser one crit")
    func ownershipAndMode() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("x.env", "K=v\n", mode: 0o400)
        let now = WallClock.system.now()
        let stricter = SecretFileCheck.evaluate(SecretFileConfiguration(path: path, mode: 0o600), now: now)
        #expect(stricter.status == .warn && stricter.summary.hasPrefix("mode 0400, expected 0600"))
        chmod(path, 0o640)
        let looser = SecretFileCheck.evaluate(SecretFileConfiguration(path: path, mode: 0o600), now: now)
        #expect(looser.status == .crit && looser.summary.hasPrefix("mode 0640, expected 0600 (more open)"))
        let owner = SecretFileCheck.evaluate(
            SecretFileConfiguration(path: path, owner: "nobody", group: "nogroup"), now: now)
        #expect(owner.status == .crit)
        #expect(
            owner.summary.contains("owner root, expected nobody")
                && owner.summary.contains("group root, expected nogroup"))
        let missing = SecretFileCheck.evaluate(SecretFileConfiguration(path: directory.file("nope.env")), now: now)
        #expect(missing.status == .crit && missing.summary == "missing")
    }
}
