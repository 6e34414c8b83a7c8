#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// What a user with write access to the share could put there: nothing may stop a pass, forge a
/// device, flap, leak into a terminal, or grow the database without bound.
@Suite("A hostile share")
struct HostileShareTests {
    /// Sets a file's modification time (seconds since 1970).
    static func setModified(_ path: String, seconds: Int) -> Bool {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        return utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0
    }

    static let year2300 = 10_413_792_000

    @Test("files dated after 2262 never stop a pass: the manifest is used and its clock called off")
    func farFutureFileTimes() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("armitage")
        let lines = try (2...3).map { try fleet.envelope("wintermute", sequence: $0) }
        try fleet.publish("wintermute", data: try fleet.envelope("wintermute", sequence: 4))
        let backlog = fleet.devicesDir + "/wintermute/_health/backlog-2-3.jsonl.gz"
        try AtomicFile.write(try Gzip.compress(Data(lines.map { $0 + [10] }.joined())), to: backlog)
        let legacy = try fleet.directory.write(
            "devices/count-zero/mdt/_status.json", "{\"device\":\"count-zero\",\"status\":\"healthy\"}")
        let configuration = try fleet.configuration(devices: [
            "armitage": DeviceConfiguration(name: "armitage"), "wintermute": DeviceConfiguration(name: "wintermute"),
        ])
        for path in [fleet.devicesDir + "/armitage/_health/manifest.json", backlog, legacy] {
            #expect(Self.setModified(path, seconds: Self.year2300), "\(path)")
        }
        // As far as the file system goes, too, when it lets us.
        _ = Self.setModified(fleet.devicesDir + "/wintermute/_health/manifest.json", seconds: Int(Int64.max / 2))

        for _ in 0..<2 { _ = try fleet.collector(configuration).pass() }
        let store = try fleet.store(configuration)
        let devices = try store.devices()
        #expect(devices["armitage"]?.lastSequence == 1)
        #expect(devices["wintermute"]?.lastSequence == 4)
        #expect(try store.recentManifests(device: "wintermute", limit: 10).map(\.sequence) == [4, 3, 2])
        // The legacy file says nothing of its time but its mtime: 2300 is a clock that is off, not news.
        #expect(devices["count-zero"]?.issuedAt == nil)
        let alerts = try store.alerts().map { "\($0.name) \($0.device)" }
        #expect(alerts.contains("ClockSkew armitage"), "\(alerts)")
        #expect(alerts.contains("ClockSkew count-zero"), "\(alerts)")
        let report = try FleetReport.build(configuration: configuration, clock: .fixed(fleet.clock))
        #expect(ReportRenderer.render(report, format: .text).contains("armitage"))
    }

    @Test("a backlog of ten million tiny lines, or one that inflates to gigabytes, costs its caps")
    func backlogBombs() async throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("armitage")
        let health = fleet.devicesDir + "/armitage/_health/"
        let shell =
            "yes x | head -n 10000000 | gzip -1 > \(health)backlog-1-10000000.jsonl.gz"
            + " && head -c 300000000 /dev/zero | gzip -1 > \(health)backlog-20000000-20000001.jsonl.gz"
        #expect(try await Command.run("/bin/sh", ["-c", shell], timeout: 120).status == 0)
        let configuration = try fleet.configuration()
        let pass = try fleet.collector(configuration).pass()
        #expect(pass.accepted == 1)
        let reasons = try fleet.store(configuration).recentRejections(device: "armitage", limit: 10).map(\.reason)
        #expect(
            reasons.contains {
                $0.contains("holds more than \(BacklogLimits.maxEnvelopes) envelopes; the rest is refused; ")
                    && $0.contains("\(BacklogLimits.maxEnvelopes) of \(BacklogLimits.maxEnvelopes) envelopes in ")
                    && $0.contains("lines 1, 2, 3, 4, 5: malformed envelope")
            }, "\(reasons)")
        #expect(reasons.contains { $0.contains("inflates to more than 64 MiB; the rest is not read") }, "\(reasons)")
        #expect(reasons.allSatisfy { $0.utf8.count < 600 }, "stored reasons are capped")
    }

    @Test("past the pass's read budget, devices wait for the next pass; nothing is lost or counted twice")
    func readBudget() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let devices = ["armitage", "motoko", "wintermute"]
        for device in devices {
            let lines = try (1...5).map { try fleet.envelope(device, sequence: $0) }
            try AtomicFile.write(
                try Gzip.compress(Data(lines.map { $0 + [10] }.joined())),
                to: try fleet.directory.folder("devices/\(device)/_health") + "/backlog-1-5.jsonl.gz")
            try fleet.publish(device, data: try fleet.envelope(device, sequence: 6))
        }
        let configuration = try fleet.configuration()
        var collector = fleet.collector(configuration)
        collector.readBudget = (perPass: 1, perDevice: 1)
        var passes = 0
        var deferredSeen = 0
        var accepted = 0
        repeat {
            let summary = try collector.pass()
            deferredSeen = max(deferredSeen, summary.deferred)
            accepted += summary.accepted
            passes += 1
        } while try fleet.store(configuration).count("manifests") < 18 && passes < 40
        #expect(deferredSeen > 0, "the budget made devices wait")
        #expect(accepted == 18)
        let store = try fleet.store(configuration)
        for device in devices {
            #expect(try store.recentManifests(device: device, limit: 10).map(\.sequence) == [6, 5, 4, 3, 2, 1])
            #expect(try store.devices()[device]?.lastSequence == 6)
            #expect(try store.devices()[device]?.rejection == nil)
        }
        #expect(try fleet.collector(configuration).pass().accepted == 0)
    }

    @Test("device text is inert: no escape reaches the terminal, Markdown tables hold, reasons are capped")
    func inertText() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let evil = "\u{1B}]0;owned\u{07}\u{1B}[31mred\nsecond line | fake cell \u{202E}txt"
        try fleet.publish("armitage", data: try fleet.envelope("armitage", summary: evil, status: .crit))
        // A refused envelope whose payloadType is a megabyte of escapes.
        let huge = String(repeating: "\u{1B}[2J", count: 60_000)
        let envelope = DSSEEnvelope(
            payloadType: huge, payload: Data("{}".utf8).base64EncodedString(),
            signatures: [.init(keyid: "\u{1B}[5m" + String(repeating: "k", count: 64), sig: "AAAA")])
        try fleet.publish("motoko", data: envelope.encoded())
        let configuration = try fleet.configuration(devices: [
            "armitage": DeviceConfiguration(name: "armitage"), "motoko": DeviceConfiguration(name: "motoko"),
        ])
        for _ in 0..<2 { _ = try fleet.collector(configuration).pass() }
        let store = try fleet.store(configuration)
        let reason = try #require(store.recentRejections(device: "motoko", limit: 1).first?.reason)
        #expect(reason.utf8.count < 600, "a 1 MB payloadType stores a short reason")
        for device in [nil, "armitage", "motoko"] as [String?] {
            let report = try FleetReport.build(configuration: configuration, device: device, clock: .fixed(fleet.clock))
            let text = ReportRenderer.render(report, format: .text, colour: true)
            let withoutOurColour = text.replacing(/\u{1B}\[[0-9;]*m/, with: "")
            let controls = withoutOurColour.unicodeScalars.filter { $0.value < 0x20 && $0 != "\n" || $0.value == 0x7F }
            #expect(controls.isEmpty, "\(controls.map(\.value)) in \(withoutOurColour)")
            #expect(!text.unicodeScalars.contains("\u{202E}"))
            if device != "motoko" { #expect(text.contains("red"), "the text itself still shows") }
            let markdown = ReportRenderer.render(report, format: .markdown)
            #expect(!markdown.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
            for line in markdown.split(separator: "\n") where line.hasPrefix("|") {
                // Every row of a table has the header's number of unescaped pipes.
                let pipes = line.replacing("\\|", with: "").filter { $0 == "|" }.count
                #expect([6, 4].contains(pipes), "\(line)")
            }
        }
    }

    @Test("rejections are pruned by age and capped per device")
    func rejectionsPruned() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("armitage")
        let configuration = try fleet.configuration()
        let store = try fleet.store(configuration)
        let now = fleet.clock.secondsSinceEpoch
        try store.transaction {
            try store.recordRejection(
                .init(
                    device: "armitage", path: "/old", kind: .unreadable, reason: "old", sequence: nil,
                    at: now - 40 * 86400))
            for index in 0..<(Collector.rejectionsPerDevice + 10) {
                try store.recordRejection(
                    .init(device: "motoko", path: "/x\(index)", kind: .unreadable, reason: "r", sequence: nil, at: now))
            }
        }
        _ = try fleet.collector(configuration).pass()
        #expect(try store.recentRejections(device: "armitage", limit: 10).isEmpty)
        #expect(try store.recentRejections(device: "motoko", limit: 5000).count == Collector.rejectionsPerDevice)
    }

    @Test("folders DEV1 and dev1 are one device, read the same way every pass; DEV2 and Dev2 are refused")
    func caseCollisions() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("dev1", folder: "dev1", data: try fleet.envelope("dev1", sequence: 5))
        try fleet.publish("dev1", folder: "DEV1", data: try fleet.envelope("dev1", sequence: 2))
        try fleet.publish("dev2", folder: "DEV2")
        try fleet.publish("dev2", folder: "Dev2")
        let configuration = try fleet.configuration()
        for _ in 0..<4 { _ = try fleet.collector(configuration).pass() }
        let store = try fleet.store(configuration)
        let devices = try store.devices()
        #expect(devices["dev1"]?.lastSequence == 5 && devices["dev1"]?.rejection == nil)
        #expect(try store.recentRejections(device: "dev1", limit: 10).isEmpty, "no flapping replay")
        #expect(devices["dev2"]?.rejection == "folders DEV2, Dev2 differ only in case; rename all but one (to dev2)")
        #expect(try store.recentRejections(device: "dev2", limit: 10).count == 1, "recorded once, not every pass")
        #expect(!(try store.alerts()).contains { $0.name == .manifestReplay })
    }

    @Test(
        "a _health that is a symlink is followed inside devices_dir and refused out of it, also when it replaces a folder"
    )
    func symlinkedHealth() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        // inside: its _health is a link to another folder of the share; outside: to a folder beside it.
        try fleet.publish("inside", folder: "_stash/inside")
        try fleet.directory.folder("devices/inside")
        try FileManager.default.createSymbolicLink(
            atPath: fleet.devicesDir + "/inside/_health",
            withDestinationPath: fleet.devicesDir + "/_stash/inside/_health")
        try fleet.publish("moved")
        let configuration = try fleet.configuration()
        let first = try fleet.collector(configuration).pass()
        #expect(first.accepted == 2 && first.rejected == 0)
        let quiet = try fleet.collector(configuration).pass()
        #expect(quiet.accepted == 0 && quiet.unchanged == 2, "a followed _health is as quiet as a folder")

        // moved's _health becomes a link out of devices_dir, with a new manifest behind it: refused
        // at once, whatever the pass before it knew.
        let outside = fleet.directory.file("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: fleet.devicesDir + "/moved/_health", toPath: outside + "/_health")
        try FileManager.default.createSymbolicLink(
            atPath: fleet.devicesDir + "/moved/_health", withDestinationPath: outside + "/_health")
        try AtomicFile.write(try fleet.envelope("moved") + [0x0A], to: outside + "/_health/manifest.json")
        let swapped = try fleet.collector(configuration).pass()
        #expect(swapped.accepted == 0 && swapped.rejected == 1)
        let devices = try fleet.store(configuration).devices()
        #expect(devices["moved"]?.rejectionKind == .refused)
        #expect(devices["moved"]?.rejection?.contains("_health is a symbolic link leading out of devices_dir") == true)
        #expect(devices["moved"]?.lastSequence == 1, "nothing behind the link was read")
        #expect(devices["inside"]?.lastSequence == 1 && devices["inside"]?.rejection == nil)
    }

    @Test("trust reset: a device that restarted at 1, or signed the largest sequence, can be given a new baseline")
    func sequenceReset() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 50))
        try fleet.publish("motoko", data: try fleet.envelope("motoko", sequence: 1))
        let configuration = try fleet.configuration()
        _ = try fleet.collector(configuration).pass()
        // A rotated key whose agent starts over at 1: refused as a replay, until the operator resets.
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 1))
        _ = try fleet.collector(configuration).pass()
        let store = try fleet.store(configuration)
        #expect(try store.devices()["armitage"]?.rejectionKind == .replay)
        // The largest Int64, validly signed: refused as out of range, never a baseline nobody can pass.
        try fleet.publish("motoko", data: try fleet.envelope("motoko", sequence: Int64.max))
        _ = try fleet.collector(configuration).pass()
        #expect(try store.devices()["motoko"]?.rejection?.contains("sequence 9223372036854775807 is outside") == true)
        #expect(try store.devices()["motoko"]?.lastSequence == 1)

        let forgotten = try SequenceBaseline.reset(
            device: "Armitage", configuration: configuration, by: "mdt", at: fleet.clock + 5)
        #expect(forgotten == 50)
        #expect(try fleet.collector(configuration).pass().accepted == 1)
        #expect(try store.devices()["armitage"]?.lastSequence == 1)
        #expect(try store.devices()["armitage"]?.rejection == nil)
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 2))
        #expect(try fleet.collector(configuration).pass().accepted == 1)
        #expect(
            try store.sequenceResets(device: "armitage")
                == [.init(device: "armitage", at: fleet.clock.secondsSinceEpoch + 5, user: "mdt", previousSequence: 50)]
        )
    }

    @Test("a legacy _status.json from the year 9999 is a clock that is off: newer files still count")
    func futureLegacy() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.directory.write(
            "devices/count-zero/alice/_status.json",
            "{\"timestamp\":\"9999-12-31T23:59:59Z\",\"device\":\"count-zero\",\"status\":\"healthy\"}")
        try fleet.directory.write(
            "devices/count-zero/bob/_status.json",
            "{\"timestamp\":\"2026-11-27T09:58:00Z\",\"device\":\"count-zero\",\"status\":\"degraded\"}")
        let configuration = try fleet.configuration(devices: [
            "count-zero": DeviceConfiguration(name: "count-zero", legacy: true)
        ])
        _ = try fleet.collector(configuration).pass()
        let store = try fleet.store(configuration)
        var device = try #require(try store.devices()["count-zero"])
        #expect(device.issuedAt == Timestamp(rfc3339: "2026-11-27T09:58:00Z")!.secondsSinceEpoch)
        #expect(device.status == .warn)
        #expect(
            try store.recentRejections(device: "count-zero", limit: 5).contains { $0.reason.contains("in the future") })
        // A newer file from bob is taken, the year 9999 does not stick.
        try fleet.directory.write(
            "devices/count-zero/bob/_status.json",
            "{\"timestamp\":\"2026-11-27T09:59:30Z\",\"device\":\"count-zero\",\"status\":\"healthy\"}")
        _ = try fleet.collector(configuration).pass()
        device = try #require(try store.devices()["count-zero"])
        #expect(device.issuedAt == Timestamp(rfc3339: "2026-11-27T09:59:30Z")!.secondsSinceEpoch)
        #expect(device.status == .ok)
        #expect(try store.alerts().contains { $0.name == .clockSkew && $0.device == "count-zero" })
    }

    @Test("two collectors on a fresh database: no failed migration, nothing counted twice", arguments: 0..<20)
    func concurrentPasses(round: Int) async throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        for index in 0..<20 { try fleet.publish("device-\(index)") }
        let configuration = try fleet.configuration()
        let outcomes = await withTaskGroup(of: Result<PassSummary, any Error>.self) { group in
            for _ in 0..<2 {
                let collector = fleet.collector(configuration)
                group.addTask {
                    await BlockingWork.run(timeout: .seconds(60)) { Result { try collector.pass() } }
                        ?? .failure(CancellationError())
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let summaries = try outcomes.map { try $0.get() }
        #expect(summaries.map(\.accepted).reduce(0, +) == 20)
        let store = try fleet.store(configuration)
        #expect(try store.count("manifests") == 20)
        #expect(try store.count("passes") == 2)
        #expect(try store.count("rejections") == 0)
    }

    @Test(
        "a backlog line of another device or with a bad signature is named, with its reason, and raises SignatureInvalid"
    )
    func badBacklogLines() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        _ = fleet.key("other")
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 1))
        let configuration = try fleet.configuration()
        _ = try fleet.collector(configuration).pass()
        var tampered = try DSSEEnvelope.decode(try fleet.envelope("armitage", sequence: 4))
        tampered.payload = Data(try tampered.payloadBytes().map { $0 == UInt8(ascii: "0") ? UInt8(ascii: "1") : $0 })
            .base64EncodedString()
        let lines = [
            try fleet.envelope("armitage", sequence: 2),
            try fleet.envelope("other", sequence: 3),
            tampered.encoded(),
            try fleet.envelope("armitage", sequence: 5),
        ]
        let backlog = fleet.devicesDir + "/armitage/_health/backlog-2-5.jsonl.gz"
        try AtomicFile.write(try Gzip.compress(Data(lines.map { $0 + [10] }.joined())), to: backlog)
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 6))
        let pass = try fleet.collector(configuration).pass()
        #expect(pass.accepted == 3)
        let store = try fleet.store(configuration)
        let reason = try #require(try store.recentRejections(device: "armitage", limit: 1).first?.reason)
        #expect(
            reason.hasPrefix("2 of 4 envelopes in \(backlog) refused: line 2: signed by an unknown key"), "\(reason)")
        #expect(!reason.contains("more"))
        #expect(reason.contains("line 3: signature does not verify"), "\(reason)")
        _ = try fleet.collector(configuration).pass()
        let firing = try store.alerts().filter { $0.state == .firing }.map(\.name.rawValue)
        #expect(firing.contains("SignatureInvalid"), "\(firing)")
        // The bad file removed: the alert resolves.
        try FileManager.default.removeItem(atPath: backlog)
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 7))
        _ = try fleet.collector(configuration).pass()
        #expect(
            try store.alerts(includingResolvedSince: 0).first { $0.name == .signatureInvalid }?.state == .resolved)
    }

    @Test(
        "a manifest.json that is a FIFO or a folder is unreadable, not forged; FIFOs and links out elsewhere are recorded"
    )
    func unreadableFiles() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        try fleet.directory.folder("devices/piped/_health")
        #expect(mkfifo(fleet.devicesDir + "/piped/_health/manifest.json", 0o644) == 0)
        try fleet.directory.folder("devices/foldered/_health/manifest.json")
        try fleet.publish("armitage")
        let outside = try fleet.directory.write("outside.gz", "x")
        try FileManager.default.createSymbolicLink(
            atPath: fleet.devicesDir + "/armitage/_health/backlog-1-1.jsonl.gz", withDestinationPath: outside)
        try fleet.directory.folder("devices/count-zero/mdt")
        #expect(mkfifo(fleet.devicesDir + "/count-zero/mdt/_status.json", 0o644) == 0)
        let configuration = try fleet.configuration(devices: [
            "armitage": DeviceConfiguration(name: "armitage"), "piped": DeviceConfiguration(name: "piped"),
            "foldered": DeviceConfiguration(name: "foldered"),
            "count-zero": DeviceConfiguration(name: "count-zero", legacy: true),
        ])
        for _ in 0..<2 { _ = try fleet.collector(configuration).pass() }
        let store = try fleet.store(configuration)
        let alerts = try store.alerts().filter { $0.state == .firing }.map { "\($0.name) \($0.device)" }
        for device in ["piped", "foldered", "armitage", "count-zero"] {
            #expect(alerts.contains("ManifestUnreadable \(device)"), "\(device): \(alerts)")
            #expect(!alerts.contains("SignatureInvalid \(device)"), "\(device): \(alerts)")
            #expect(try !store.recentRejections(device: device, limit: 5).isEmpty, "\(device): recorded")
        }
        #expect(try store.recentRejections(device: "count-zero", limit: 5).first?.reason.contains("is a FIFO") == true)
        #expect(try store.recentRejections(device: "armitage", limit: 5).count == 1, "recorded once, not every pass")
        #expect(try store.devices()["armitage"]?.lastSequence == 1)
    }
}
