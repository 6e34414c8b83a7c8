#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

@Suite("phc-collector command line")
struct CollectorCLITests {
    let agent = Command.built("phc-agent")
    let collector = Command.built("phc-collector")

    @Test("three real agents publish, the collector verifies them, and report --format json shows the fleet")
    func endToEnd() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.folder("devices")
        var lines: [String: String] = [:]
        for device in ["motoko", "armitage", "wintermute"] {
            lines[device] = try await Command.run(agent, ["keygen", "--key", directory.file("\(device).key")]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let mounts = device == "armitage" ? "  mounts: [{path: \(directory.file("not-mounted"))}]\n" : ""
            let config = try directory.write(
                "\(device).yaml",
                "device: \(device)\ndevices_dir: devices\nstate_dir: state-\(device)\nkey_file: \(device).key\nchecks:\n"
                    + "  system: {load_per_cpu: {warn: 1000}, memory_available: {warn: 0%}, root_free: {warn: 0%}}\n"
                    + mounts)
            #expect(try await Command.run(agent, ["run", "--config", config]).status == 0)
        }
        let config = try directory.write(
            "collector.yaml",
            """
            devices_dir: devices
            database: state/collector.sqlite
            devices:
              motoko: {always_on: true, keys: ["\(lines["motoko"]!)"]}
              armitage: {keys: ["\(lines["armitage"]!)"]}
              wintermute: {}
            """)
        let add = try await Command.run(
            collector, ["trust", "add", "wintermute", lines["wintermute"]!, "--config", config])
        #expect(add.status == 0 && add.stdout.hasPrefix("trusted: wintermute keyid "))
        let run = try await Command.run(collector, ["run", "--config", config])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("pass: 3 devices, 3 manifests accepted, 0 refused"))
        let report = try await Command.run(collector, ["report", "--config", config, "--format", "json"])
        #expect(report.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any]
        let devices = json?["devices"] as? [[String: Any]] ?? []
        #expect(devices.map { $0["device"] as? String } == ["armitage", "motoko", "wintermute"])
        #expect(devices.map { $0["status"] as? String } == ["crit", "ok", "ok"])
        #expect(devices.allSatisfy { $0["trust"] as? String == "signed" && $0["silent"] as? Bool == false })
        let armitageChecks = devices[0]["checks"] as? [[String: Any]] ?? []
        #expect(
            armitageChecks.contains {
                $0["id"] as? String == "mount:\(directory.file("not-mounted"))" && $0["status"] as? String == "crit"
            })
        let text = try await Command.run(collector, ["report", "--config", config])
        #expect(text.stdout.hasPrefix("DEVICE      STATUS   TRUST     LAST SEEN  CHECKS\narmitage    crit     signed"))
        let one = try await Command.run(collector, ["report", "armitage", "--config", config])
        #expect(one.stdout.contains("RECENT MANIFESTS") && one.stdout.contains("CHECK CHANGES"))
        let markdown = try await Command.run(collector, ["report", "--config", config, "--format", "markdown"])
        #expect(markdown.stdout.contains("| armitage | crit | signed |"))
        let unknown = try await Command.run(collector, ["report", "nobody", "--config", config])
        #expect(
            unknown.status == 1
                && unknown.stderr == "phc-collector: error: no device named nobody has been configured or seen\n")
    }

    @Test("trust add, list and revoke edit the trust file, not the YAML")
    func trust() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let yaml = "# my comment stays\ndevices_dir: devices\ndatabase: state/c.sqlite\n"
        let config = try directory.write("collector.yaml", yaml)
        let key = SigningKey().publicKey
        #expect(
            try await Command.run(collector, ["trust", "add", "Armitage", key.line, "--config", config]).status == 0)
        let again = try await Command.run(collector, ["trust", "add", "armitage", key.line, "--config", config])
        #expect(again.stdout.hasPrefix("already trusted"))
        let list = try await Command.run(collector, ["trust", "list", "--config", config])
        #expect(list.stdout.contains("armitage             \(key.keyID.prefix(16))  trust file  trusted"))
        let revoke = try await Command.run(
            collector, ["trust", "revoke", String(key.keyID.prefix(10)), "--config", config])
        #expect(revoke.status == 0 && revoke.stdout == "revoked: \(key.keyID)\n")
        #expect(
            try await Command.run(collector, ["trust", "list", "--config", config]).stdout.contains(
                "trust file  revoked"))
        let readd = try await Command.run(collector, ["trust", "add", "armitage", key.line, "--config", config])
        #expect(readd.status == 1 && readd.stderr.contains("was revoked"))
        #expect(try String(contentsOfFile: config, encoding: .utf8) == yaml)
        let bad = try await Command.run(
            collector, ["trust", "add", "armitage", "ssh-ed25519 AAAA", "--config", config])
        #expect(bad.status != 0 && bad.stderr.contains("not a public key line"))
        // The all-zero point (order 4), and the identity with its sign bit set: no device's key.
        for weak in [
            "ed25519:" + Data(count: 32).base64EncodedString(), "ed25519:AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA=",
        ] {
            let refused = try await Command.run(collector, ["trust", "add", "armitage", weak, "--config", config])
            #expect(refused.status != 0 && refused.stderr.contains("small order"), "\(weak): \(refused.stderr)")
        }
        // Device names follow one rule everywhere: no path can be smuggled in.
        for name in ["../etc", "a/b", "", "x y"] {
            let refused = try await Command.run(collector, ["trust", "add", name, key.line, "--config", config])
            #expect(
                refused.status != 0 && refused.stderr.contains("is not a device name"), "\(name): \(refused.stderr)")
        }
        let trustFile = try String(contentsOfFile: directory.file("state/trust.json"), encoding: .utf8)
        #expect(!trustFile.contains("etc") && !trustFile.contains("AAAAAAAAAAAAAAAAAAAA"))
    }

    @Test("trust reset gives a device that restarted at 1 a new baseline, says so, and is in --help")
    func trustReset() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.folder("devices")
        let line = try await Command.run(agent, ["keygen", "--key", directory.file("a.key")]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let agentConfig = try directory.write(
            "agent.yaml", "device: armitage\ndevices_dir: devices\nstate_dir: state-a\nkey_file: a.key\n")
        let config = try directory.write(
            "collector.yaml",
            "devices_dir: devices\ndatabase: state/c.sqlite\ndevices:\n  armitage: {keys: [\"\(line)\"]}\n")
        for _ in 0..<3 { #expect(try await Command.run(agent, ["run", "--config", agentConfig]).status == 0) }
        #expect(try await Command.run(collector, ["run", "--config", config]).status == 0)
        // The agent loses its state and the published manifest: it starts over at 1.
        try FileManager.default.removeItem(atPath: directory.file("state-a"))
        try FileManager.default.removeItem(atPath: directory.file("devices/armitage"))
        #expect(try await Command.run(agent, ["run", "--config", agentConfig]).status == 0)
        _ = try await Command.run(collector, ["run", "--config", config])
        let refused = try await Command.run(collector, ["report", "armitage", "--config", config])
        #expect(refused.stdout.contains("older than the last accepted 3"), "\(refused.stdout)")
        let reset = try await Command.run(collector, ["trust", "reset", "armitage", "--config", config])
        #expect(reset.status == 0)
        #expect(
            reset.stdout == "reset: armitage forgot sequence 3; its next manifest that verifies is the new baseline\n")
        let run = try await Command.run(collector, ["run", "--config", config])
        #expect(run.stdout.hasPrefix("pass: 1 devices, 1 manifests accepted, 0 refused"), "\(run.stdout)")
        let help = try await Command.run(collector, ["trust", "--help"])
        #expect(help.stdout.contains("reset") && help.stdout.contains("new baseline"))
        let bad = try await Command.run(collector, ["trust", "reset", "../etc", "--config", config])
        #expect(bad.status != 0 && bad.stderr.contains("is not a device name"))
    }

    @Test("escape sequences a device writes reach neither the log nor the terminal report")
    func inertOutput() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let envelope = DSSEEnvelope(
            payloadType: "\u{1B}]0;owned\u{07}\u{1B}[2J", payload: "e30=",
            signatures: [.init(keyid: "\u{1B}[5m", sig: "AA==")])
        try directory.folder("devices/armitage/_health")
        try envelope.encoded().write(to: URL(fileURLWithPath: directory.file("devices/armitage/_health/manifest.json")))
        let config = try directory.write(
            "collector.yaml", "devices_dir: devices\ndatabase: state/c.sqlite\ndevices:\n  armitage: {}\n")
        let run = try await Command.run(collector, ["run", "--config", config])
        #expect(run.status == 0)
        #expect(run.stderr.contains("rejected") && run.stderr.contains("\\x1b]0;owned\\x07"), "\(run.stderr)")
        let report = try await Command.run(collector, ["report", "armitage", "--config", config])
        for text in [run.stdout, run.stderr, report.stdout, report.stderr] {
            #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(text)")
        }
    }

    @Test("kill -9 in the middle of passes: nothing committed is lost, nothing is counted twice")
    func killedMidPass() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let devices = 1500
        var keys: [SigningKey] = []
        var trust = TrustStore()
        func publish(sequence: Int64) throws {
            for index in 0..<devices {
                let name = String(format: "dev%04d", index)
                let manifest = Manifest(
                    device: name, agent: AgentInfo(version: "0.1.0", os: "Linux", kernel: "6"), sequence: sequence,
                    issuedAt: WallClock.system.now(), expiresAt: WallClock.system.now() + 3600, intervalS: 60,
                    bootID: "b", checks: [CheckResult(id: "system", kind: "system", status: .ok, summary: "fine")])
                let envelope = try DSSEEnvelope.sign(
                    payload: manifest.encoded(), payloadType: Manifest.payloadType, with: keys[index])
                let health = try directory.folder("devices/\(name)/_health")
                try AtomicFile.write(envelope.encoded(), to: health + "/manifest.json")
            }
        }
        for index in 0..<devices {
            keys.append(SigningKey())
            trust.keys.append(
                TrustStore.Entry(
                    device: String(format: "dev%04d", index), key: keys[index].publicKey.line,
                    addedAt: WallClock.system.now()))
        }
        try trust.save(path: directory.file("state/trust.json"))
        let config = try directory.write("collector.yaml", "devices_dir: devices\ndatabase: state/c.sqlite\n")

        func killedRuns() async throws {
            for delay in [30, 80, 150, 250, 600] {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: collector)
                process.arguments = ["run", "--config", config]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                try await Task.sleep(for: .milliseconds(delay))
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        for sequence in Int64(1)...2 {
            try publish(sequence: sequence)
            try await killedRuns()
            let finished = try await Command.run(collector, ["run", "--config", config])
            #expect(finished.status == 0, "\(finished.stderr)")
            let store = try CollectorStore(path: directory.file("state/c.sqlite"), readOnly: true)
            #expect(try store.count("manifests") == devices * Int(sequence))
            let records = try store.devices()
            #expect(records.count == devices)
            #expect(records.all.allSatisfy { $0.lastSequence == sequence && $0.rejection == nil })
            #expect(try store.count("rejections") == 0)
            let again = try await Command.run(collector, ["run", "--config", config])
            #expect(again.stdout.contains("0 manifests accepted, 0 refused, \(devices) unchanged"))
        }
    }

    @Test(
        "every collector command explains itself with --help",
        arguments: [
            ["--help"], ["run", "--help"], ["report", "--help"], ["trust", "--help"], ["trust", "add", "--help"],
            ["trust", "revoke", "--help"], ["config", "validate", "--help"],
        ])
    func help(arguments: [String]) async throws {
        let result = try await Command.run(collector, arguments)
        #expect(result.status == 0 && result.stdout.contains("USAGE: phc-collector") && result.stdout.count > 150)
    }
}
