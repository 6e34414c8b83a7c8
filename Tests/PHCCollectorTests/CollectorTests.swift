import Foundation
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

@Suite("Collector passes")
struct CollectorTests {
    @Test("verified manifests are accepted, stored once, and unchanged files are not read again")
    func acceptAndSkip() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        for device in ["motoko", "armitage", "wintermute"] { try fleet.publish(device) }
        let configuration = try fleet.configuration()
        let first = try fleet.collector(configuration).pass()
        #expect(first.devices == 3 && first.accepted == 3 && first.rejected == 0 && first.unchanged == 0)
        let second = try fleet.collector(configuration).pass()
        #expect(second.accepted == 0 && second.unchanged == 3)
        let store = try fleet.store(configuration)
        #expect(try store.count("manifests") == 3)
        #expect(try store.devices()["armitage"]?.lastSequence == 1)
        try fleet.publish("armitage", statuses: ["system": .ok, "gpu:0": .crit])
        let third = try fleet.collector(configuration).pass()
        #expect(third.accepted == 1 && third.unchanged == 2)
        #expect(try store.devices()["armitage"]?.lastSequence == 2)
        let transitions = try store.recentTransitions(device: "armitage", limit: 10)
        #expect(transitions.map(\.checkID).sorted() == ["gpu:0", "system"])  // system at first sight, gpu:0 new
    }

    @Test(
        "a pass over an unchanged fleet writes no device, manifest, history or alert row (a standing alert included): only its own pass row"
    )
    func unchangedWritesNothing() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        for device in ["motoko", "wintermute"] { try fleet.publish(device) }
        try fleet.publish("armitage", statuses: ["gpu:0": .crit])
        var configuration = try fleet.configuration()
        configuration.failureThreshold = 1
        _ = try fleet.collector(configuration).pass()
        #expect(try fleet.store(configuration).alerts().map(\.state) == [.firing], "a standing alert")
        // Triggers count every row the next pass writes into the tables a quiet device must not touch.
        let store = try fleet.store(configuration)
        try store.database.execute("CREATE TABLE written (what TEXT)")
        for table in [
            "devices", "device_summaries", "manifests", "points", "series", "check_history", "rejections", "files_seen",
            "alerts",
        ] {
            for event in ["INSERT", "UPDATE", "DELETE"] {
                try store.database.execute(
                    "CREATE TRIGGER \(table)_\(event) AFTER \(event) ON \(table) BEGIN INSERT INTO written VALUES ('\(event) \(table)'); END"
                )
            }
        }
        let passesBefore = try store.count("passes")
        // A minute later: the standing alert is a minute older, and unchanged.
        let second = try fleet.collector(configuration, at: fleet.clock + 60).pass()
        #expect(second.unchanged == 3 && second.accepted == 0 && second.firing == 1)
        #expect(try store.count("written") == 0, "rows written by a pass that had nothing to do")
        #expect(try store.count("passes") == passesBefore + 1)
        // And a device that changed is still written, with its neighbours left alone.
        try fleet.publish("armitage", statuses: ["system": .warn])
        _ = try fleet.collector(configuration).pass()
        let written = try store.database.statement("SELECT what FROM written").rows([]) { $0.text(0) }
        #expect(
            written.contains("UPDATE devices") && written.filter { $0 == "UPDATE devices" }.count == 1, "\(written)")
    }

    @Test("a hostile devices folder: every bad file is refused with its reason, and the pass completes")
    func hostileFolder() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        // Good devices, so the keys exist.
        for device in ["motoko", "armitage", "wintermute", "replayed", "shared", "other"] { try fleet.publish(device) }
        fleet.keys["shared"] = fleet.key("other")  // one key on two devices, to reach the device check
        try fleet.publish("shared", data: try fleet.envelope("shared", signer: "other"))
        let configuration = try fleet.configuration()
        #expect(try fleet.collector(configuration).pass().accepted == 6)

        // 1. Signed by a key not trusted for that device.
        let stranger = try fleet.envelope("motoko", signer: "intruder")
        try fleet.publish("motoko", data: stranger)
        // 2. One device's manifest copied into another's folder.
        try fleet.publish("armitage", folder: "wintermute", data: try fleet.envelope("armitage"))
        // 3. The same, where the folder's device trusts the same key: caught by the device field.
        try fleet.publish("other", folder: "shared", data: try fleet.envelope("other"))
        // 4. An older, validly signed manifest put back over a newer one.
        let old = try fleet.envelope("replayed", sequence: 1)
        _ = try fleet.publish("replayed")  // sequence 2, accepted below first
        // 5. Truncated; 6. three megabytes of noise; 7. a temporary file; 8. a symlink out; 9. legacy shapes.
        try fleet.directory.write(
            "devices/truncated/_health/manifest.json",
            String(decoding: try fleet.envelope("truncated").prefix(80), as: UTF8.self))
        try fleet.directory.folder("devices/noise/_health")
        try Data((0..<3_000_000).map { _ in UInt8.random(in: 0...255) })
            .write(to: URL(fileURLWithPath: fleet.devicesDir + "/noise/_health/manifest.json"))
        try fleet.directory.write("devices/armitage/_health/.manifest.json.123.tmp", "{partial")
        let outside = try fleet.directory.folder("outside/_health")
        try AtomicFile.write(try fleet.envelope("escape"), to: outside + "/manifest.json")
        try FileManager.default.createSymbolicLink(
            atPath: fleet.devicesDir + "/escape", withDestinationPath: fleet.directory.file("outside"))
        let legacy =
            "\u{FEFF}{\r\n  \"timestamp\": \"2026-11-27T09:58:00Z\",\r\n  \"device\": \"COUNT-ZERO\",\r\n"
            + "  \"user\": \"mdt\",\r\n  \"platform\": \"windows\",\r\n  \"status\": \"degraded\",\r\n"
            + "  \"components\": {\"mounts\": {\"flux\": true, \"space\": false}}\r\n}\r\n"
        try fleet.directory.write("devices/count-zero/mdt/_status.json", legacy)

        let middle = try fleet.collector(configuration).pass()  // replayed: sequence 2 accepted
        #expect(middle.accepted >= 1)
        try fleet.publish("replayed", data: old)
        let summary = try fleet.collector(configuration).pass()
        #expect(summary.devices == 10)

        let devices = try fleet.store(configuration).devices()
        #expect(devices["motoko"]?.rejectionKind == .signature)
        #expect(devices["motoko"]?.rejection?.contains("signed by an unknown key") == true)
        #expect(devices["motoko"]?.lastSequence == 1, "the good state stays")
        #expect(devices["wintermute"]?.rejectionKind == .signature)
        #expect(devices["shared"]?.rejectionKind == .mismatch)
        #expect(devices["shared"]?.rejection == "manifest of device other found in the folder of shared")
        #expect(devices["replayed"]?.rejectionKind == .replay)
        #expect(
            devices["replayed"]?.rejection == "sequence 1 is older than the last accepted 2 (replayed or rolled back)")
        #expect(devices["replayed"]?.lastSequence == 2)
        #expect(devices["truncated"]?.rejectionKind == .unreadable)
        #expect(devices["noise"]?.rejection?.contains("over the 1 MiB limit") == true)
        #expect(devices["armitage"]?.rejection == nil && devices["armitage"]?.lastSequence == 1)
        #expect(devices["escape"]?.rejectionKind == .refused)
        #expect(devices["escape"]?.rejection?.contains("leading out of devices_dir") == true)
        #expect(devices["count-zero"]?.trust == .unsigned)
        #expect(devices["count-zero"]?.status == .crit)  // space not mounted
        #expect(
            devices["count-zero"]?.checks.map(\.id) == ["legacy:status", "legacy:mount:flux", "legacy:mount:space"])
        #expect(devices["count-zero"]?.checks.first?.status == .warn)

        // The refusals raise alerts: pending now, firing at the second pass in a row.
        let again = try fleet.collector(configuration).pass()
        #expect(again.firing >= 5)
        let alerts = try fleet.store(configuration).alerts().filter { $0.state == .firing }.map {
            "\($0.name) \($0.device)"
        }
        #expect(again.firing == alerts.count, "the pass counts what the store holds as firing")
        for expected in [
            "SignatureInvalid motoko", "SignatureInvalid wintermute", "SignatureInvalid shared",
            "ManifestReplay replayed",
            "ManifestUnreadable noise",
        ] {
            #expect(alerts.contains(expected), "\(expected) in \(alerts)")
        }
    }

    @Test("a backlog delivers the manifests the share missed; duplicates are skipped")
    func backlog() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("armitage")  // 1
        let configuration = try fleet.configuration()
        _ = try fleet.collector(configuration).pass()
        let lines = try (2...4).map { try fleet.envelope("armitage", sequence: $0) }
        let backlog = Data(lines.map { $0 + [10] }.joined())
        try AtomicFile.write(
            try Gzip.compress(backlog), to: fleet.devicesDir + "/armitage/_health/backlog-2-4.jsonl.gz")
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 5))
        let pass = try fleet.collector(configuration).pass()
        #expect(pass.accepted == 4)
        let history = try fleet.store(configuration).recentManifests(device: "armitage", limit: 10)
        #expect(history.map(\.sequence) == [5, 4, 3, 2, 1])
        #expect(history.map(\.source) == [.manifest, .backlog, .backlog, .backlog, .manifest])
        // Re-delivered (a crash between writing the backlog and emptying the spool): no double counting.
        try AtomicFile.write(
            try Gzip.compress(backlog), to: fleet.devicesDir + "/armitage/_health/backlog-2-6.jsonl.gz")
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 6))
        _ = try fleet.collector(configuration).pass()
        #expect(try fleet.store(configuration).count("manifests") == 6)
        #expect(try fleet.store(configuration).devices()["armitage"]?.rejection == nil)
    }

    @Test("a backlog line over the size cap is refused and counted, never silently skipped")
    func oversizedBacklogLine() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let good = try fleet.envelope("armitage", sequence: 1)
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 2))
        let configuration = try fleet.configuration()
        let huge = Data(repeating: UInt8(ascii: "x"), count: configuration.maxManifestBytes + 1)
        try AtomicFile.write(
            try Gzip.compress(Data(good + [10] + huge + [10])),
            to: fleet.devicesDir + "/armitage/_health/backlog-1-1.jsonl.gz")
        #expect(try fleet.collector(configuration).pass().accepted == 2)
        let rejections = try fleet.store(configuration).recentRejections(device: "armitage", limit: 5)
        #expect(rejections.map(\.reason).contains { $0.hasPrefix("1 of 2 envelopes in ") }, "\(rejections)")
    }

    @Test("silence: past its expiry a device is silent (crit when always on), and its check alerts are held back")
    func silence() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("motoko", statuses: ["system": .crit])
        try fleet.publish("armitage")
        let configuration = try fleet.configuration(devices: [
            "motoko": DeviceConfiguration(name: "motoko", alwaysOn: true),
            "armitage": DeviceConfiguration(name: "armitage"),
            "ghost": DeviceConfiguration(name: "ghost", keys: [SigningKey().publicKey]),
        ])
        let later = fleet.clock + 3600
        for _ in 0..<2 { _ = try fleet.collector(configuration, at: later).pass() }
        let alerts = try fleet.store(configuration).alerts()
        let silent = Dictionary(
            uniqueKeysWithValues: alerts.filter { $0.name == .deviceSilent }.map { ($0.device, $0) })
        #expect(silent["motoko"]?.severity == .crit && silent["motoko"]?.state == .firing)
        #expect(silent["armitage"]?.severity == .warn)
        #expect(silent["ghost"]?.summary == "ghost is never seen")
        // A silent device's old check results are not news: its CheckFailing alerts are held back (inhibited).
        let checkAlerts = alerts.filter { $0.name == .checkFailing }
        #expect(checkAlerts.allSatisfy { $0.device == "motoko" && $0.state == .pending }, "one manifest, one count")
        let inhibited = Inhibition.inhibited(alerts, silentDevices: Set(silent.keys))
        #expect(checkAlerts.allSatisfy { inhibited.contains($0.key) })
        let report = try FleetReport.build(configuration: configuration, clock: .fixed(later))
        let motoko = try #require(report.devices.first { $0.device == "motoko" })
        #expect(motoko.silent && motoko.status == .crit && motoko.lastSeenAgo == "1h ago")
    }

    @Test("clock skew: a manifest issued an hour in the future raises ClockSkew")
    func clockSkew() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("armitage", data: try fleet.envelope("armitage", issuedAt: fleet.clock + 3600))
        let configuration = try fleet.configuration()
        _ = try fleet.collector(configuration).pass()
        let conditions = try fleet.store(configuration).alerts().map(\.name)
        #expect(conditions.contains(.clockSkew))
    }

    @Test("a revoked key no longer verifies; a second key (rotation) does")
    func revocationAndRotation() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let old = fleet.key("armitage")
        let new = SigningKey()
        let configuration = try fleet.configuration(devices: [
            "armitage": DeviceConfiguration(name: "armitage", keys: [old.publicKey, new.publicKey])
        ])
        try fleet.publish("armitage")
        #expect(try fleet.collector(configuration).pass().accepted == 1)
        var trust = TrustStore()
        trust.revoked.append(TrustStore.Revocation(keyid: old.publicKey.keyID, revokedAt: fleet.clock))
        try trust.save(path: configuration.trustFile)
        try fleet.publish("armitage")
        let refused = try fleet.collector(configuration).pass()
        #expect(refused.rejected == 1)
        fleet.keys["armitage"] = new
        try fleet.publish("armitage")
        #expect(try fleet.collector(configuration).pass().accepted == 1)
    }

    @Test("a fleet bigger than a batch of signatures: each bad one among the good is refused, every good one accepted")
    func batchedSignatures() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let names = (0..<150).map { "dev" + String(1000 + $0).dropFirst() }
        // Forged: a byte of the signature altered, under the device's own key id (checked, and failing),
        // in the first, second and third chunk of 64, and the very last device.
        let forged: Set = ["dev005", "dev064", "dev100", "dev149"]
        for name in names {
            var envelope = try DSSEEnvelope.decode(fleet.envelope(name))
            var signature = Data(base64Encoded: envelope.signatures[0].sig)!
            if forged.contains(name) {
                signature[40] ^= 0x01
            } else if name == "dev070" {
                // Two signatures, the first bad: the second, checked after the batch, verifies it.
                signature[3] ^= 0x80
                envelope.signatures.append(envelope.signatures[0])
            }
            envelope.signatures[0].sig = signature.base64EncodedString()
            try fleet.publish(name, data: envelope.encoded())
        }
        let configuration = try fleet.configuration()
        let summary = try fleet.collector(configuration).pass()
        #expect(summary.accepted == 146 && summary.rejected == 4)
        let records = try fleet.store(configuration).devices()
        for name in names {
            if forged.contains(name) {
                #expect(records[name]?.rejectionKind == .signature, "\(name)")
                #expect(records[name]?.rejection?.contains("does not verify") == true, "\(name)")
                #expect(records[name]?.lastSequence == nil, "\(name)")
            } else {
                #expect(records[name]?.rejection == nil && records[name]?.lastSequence == 1, "\(name)")
            }
        }
    }

    @Test("a pass that fails halfway commits nothing")
    func atomicPass() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("armitage")
        let configuration = try fleet.configuration()
        let store = try fleet.store(configuration)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try store.transaction {
                try store.recordManifests([
                    ("armitage", .init(sequence: 9, issuedAt: 0, receivedAt: 0, status: .ok, source: .manifest))
                ])
                throw Boom()
            }
        }
        #expect(try store.count("manifests") == 0)
        #expect(try fleet.collector(configuration).pass().accepted == 1)
    }

    @Test("no devices folder is an error of the pass, with the path")
    func missingDevicesFolder() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let configuration = try fleet.configuration()
        try FileManager.default.removeItem(atPath: fleet.devicesDir)
        let error = #expect(throws: (any Error).self) { try fleet.collector(configuration).pass() }
        #expect(String(describing: error!).contains("devices_dir \(fleet.devicesDir) does not exist"))
    }
}
