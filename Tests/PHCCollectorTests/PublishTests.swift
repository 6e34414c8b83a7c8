#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// fleet.json, phc.prom and index.html, with the real tools that read them: promtool, node_exporter,
/// headless Chromium.
@Suite("Publishing", .serialized)
struct PublishTests {
    /// A small fleet with history: armitage hot (a GPU series over the last hours), wintermute fine,
    /// motoko silent, and a device whose summary is markup.
    static func fleet() throws -> (FleetFixture, CollectorConfiguration) {
        let fleet = try FleetFixture()
        let now = WallClock.system.now()
        fleet.clock = now + -(6 * 3600)
        for device in ["armitage", "wintermute", "motoko", "evil"] { try fleet.publish(device) }
        let configuration = try fleet.configuration(
            devices: [
                "armitage": DeviceConfiguration(name: "armitage"),
                "wintermute": DeviceConfiguration(name: "wintermute"),
                "motoko": DeviceConfiguration(name: "motoko", alwaysOn: true),
                "evil": DeviceConfiguration(name: "evil"),
            ], extra: "archive: true\n")
        var time = fleet.clock.secondsSinceEpoch
        var step = 0
        while time <= now.secondsSinceEpoch {
            fleet.clock = Timestamp(secondsSinceEpoch: time)
            let hot = 60 + Double((step * 2) % 30)
            step += 1
            try fleet.publish(
                "armitage",
                data: try fleet.envelope(
                    "armitage", statuses: ["gpu:0": hot > 85 ? .crit : .ok, "system": .ok],
                    observations: ["temperature_c": .double(hot), "memory_used_bytes": .int(9_000_000_000)],
                    interval: 600))
            try fleet.publish(
                "wintermute",
                data: try fleet.envelope(
                    "wintermute", statuses: ["gpu:0": .ok], observations: ["temperature_c": .int(55)], interval: 600))
            try fleet.publish(
                "evil",
                data: try fleet.envelope(
                    "evil", statuses: ["gpu:0": .warn], summary: "<script>alert(1)</script> & \"quotes\"",
                    observations: ["temperature_c": .int(70)], interval: 600))
            _ = try fleet.collector(configuration, at: Timestamp(secondsSinceEpoch: time + 1)).pass()
            time += 1200
        }
        return (fleet, configuration)
    }

    static func publish(_ configuration: CollectorConfiguration) throws {
        try Publisher(configuration: configuration, host: "motoko").publish(passMilliseconds: 123)
    }

    @Test("fleet.json: versioned, every device with status, freshness, trust, checks, alerts and availability")
    func fleetJSON() throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        try Self.publish(configuration)
        let data = try Repository.read(configuration.publishDir + "/fleet.json")
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["schema"] as? String == "phc.fleet/v1")
        let devices = try #require(json["devices"] as? [[String: Any]])
        #expect(Set(devices.compactMap { $0["device"] as? String }) == ["armitage", "wintermute", "motoko", "evil"])
        let motoko = try #require(devices.first { $0["device"] as? String == "motoko" })
        #expect(motoko["silent"] as? Bool == true && motoko["status"] as? String == "crit")
        let armitage = try #require(devices.first { $0["device"] as? String == "armitage" })
        for key in ["status", "trust", "last_seen", "age_s", "expires_at", "checks", "alerts", "availability"] {
            #expect(armitage[key] != nil, "\(key)")
        }
        let availability = try #require(armitage["availability"] as? [String: Any])
        #expect(availability.keys.contains("24h"), "\(availability)")
        let summary = try #require(json["summary"] as? [String: Int])
        #expect(summary["devices"] == 4 && summary["silent"] == 1)
        #expect((json["collector"] as? [String: Any])?["host"] as? String == "motoko")
    }

    @Test(
        "phc.prom passes promtool check metrics; label values are escaped",
        .enabled(if: Command.which("promtool") != nil, "promtool is not installed (scripts/install-deps installs it)"))
    func promtool() async throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        try Self.publish(configuration)
        let path = configuration.publishDir + "/phc.prom"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for metric in [
            "phc_device_up", "phc_device_status", "phc_check_status", "phc_device_last_manifest_timestamp_seconds",
            "phc_device_trusted", "phc_alerts_firing", "phc_collector_pass_duration_seconds",
            "phc_collector_last_pass_timestamp_seconds", "phc_gpu_temperature_celsius", "phc_gpu_memory_used_bytes",
        ] {
            #expect(text.contains("# HELP \(metric) ") && text.contains("# TYPE \(metric) gauge"), "\(metric)")
        }
        #expect(text.contains("phc_device_up{device=\"motoko\"} 0"))
        #expect(text.contains("phc_gpu_temperature_celsius{device=\"armitage\",gpu=\"0\"}"))
        let check = try await Command.run("/bin/sh", ["-c", "promtool check metrics < \(path)"])
        #expect(check.status == 0, "promtool: \(check.stdout)\(check.stderr)")
        #expect(check.stdout.isEmpty && check.stderr.isEmpty, "no lint warnings: \(check.stdout)\(check.stderr)")
        #expect(PromText.escape("a\"b\\c\nd") == #"a\"b\\c\nd"#)
    }

    @Test(
        "a real node_exporter serves the phc_ metrics from publish_dir, without a scrape error",
        .enabled(if: Command.which("prometheus-node-exporter") != nil, "prometheus-node-exporter is not installed"))
    func nodeExporter() async throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        try Self.publish(configuration)
        let port = try RealAlertmanager.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.which("timeout") ?? "/usr/bin/timeout")
        process.arguments = [
            "-s", "KILL", "60", Command.which("prometheus-node-exporter")!, "--web.listen-address=127.0.0.1:\(port)",
            "--collector.disable-defaults", "--collector.textfile",
            "--collector.textfile.directory=\(configuration.publishDir)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            let pid = process.processIdentifier
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGKILL) }
            kill(pid, SIGKILL)
        }
        var body = ""
        for _ in 0..<100 where !body.contains("phc_device_up") {
            try await Task.sleep(for: .milliseconds(100))
            if let response = try? await CurlHTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(port)/metrics")) {
                body = response.text
            }
        }
        #expect(body.contains("phc_device_up{device=\"armitage\"} 1"))
        #expect(
            body.contains("node_textfile_scrape_error 0"),
            "\(body.split(separator: "\n").filter { $0.contains("textfile") })")
    }

    @Test("a reader looping on fleet.json and phc.prom during passes never sees a partial file")
    func atomicFiles() async throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        try Self.publish(configuration)
        let stop = Locked(false)
        let reads = Locked((json: 0, prom: 0, bad: [String]()))
        let reader = Thread {
            while !stop.get() {
                if let data = FileManager.default.contents(atPath: configuration.publishDir + "/fleet.json") {
                    let ok = (try? JSONSerialization.jsonObject(with: data)) != nil
                    reads.update {
                        $0.json += 1; if !ok { $0.bad.append("fleet.json of \(data.count) bytes") }
                    }
                }
                if let text = try? String(contentsOfFile: configuration.publishDir + "/phc.prom", encoding: .utf8) {
                    let ok =
                        text.hasPrefix("# HELP phc_device_up") && text.hasSuffix("\n")
                        && text.contains("phc_collector_last_pass_timestamp_seconds ")
                    reads.update {
                        $0.prom += 1; if !ok { $0.bad.append("phc.prom of \(text.utf8.count) bytes") }
                    }
                }
            }
        }
        reader.start()
        for _ in 0..<25 {
            try fleet.publish("wintermute")
            _ = try await fleet.collector(configuration, at: WallClock.system.now()).run()
        }
        stop.set(true)
        try await Task.sleep(for: .milliseconds(50))
        let seen = reads.get()
        #expect(seen.json > 25 && seen.prom > 25, "\(seen.json) and \(seen.prom) reads")
        #expect(seen.bad.isEmpty, "\(seen.bad)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: configuration.publishDir).filter {
            $0.hasPrefix(".")
        }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    @Test("a pass that changed nothing rewrites phc.prom's pass figures only; a change, or five minutes, rebuilds all")
    func unchangedPasses() async throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        let now = WallClock.system.now()
        _ = try await fleet.collector(configuration, at: now).run()
        let json = configuration.publishDir + "/fleet.json"
        let first = try Repository.read(json)
        let promPath = configuration.publishDir + "/phc.prom"
        let passLines = "# HELP phc_collector_pass_duration_seconds"
        let firstFleet = try #require(
            try String(contentsOfFile: promPath, encoding: .utf8).components(separatedBy: passLines).first)
        let alertsBefore = try CollectorStore(path: configuration.database).alerts()
        let later = now + 30
        let (pass, _, _) = try await fleet.collector(configuration, at: later).run()
        // Seen once under a loaded full run, not reproduced since: what changed, should it again.
        let alertsAfter = try CollectorStore(path: configuration.database).alerts()
        #expect(
            !pass.changed,
            "alerts before: \(alertsBefore.map { ($0.key, $0.state, $0.summary) }), after: \(alertsAfter.map { ($0.key, $0.state, $0.summary) }); first pass at \(now.secondsSinceEpoch)"
        )
        #expect(try Repository.read(json) == first, "fleet.json kept")
        let prom = try String(contentsOfFile: configuration.publishDir + "/phc.prom", encoding: .utf8)
        #expect(prom.contains("phc_collector_last_pass_timestamp_seconds \(later.secondsSinceEpoch)\n"))
        #expect(prom.components(separatedBy: "# TYPE phc_collector_last_pass_timestamp_seconds").count == 2, "once")
        #expect(
            prom.hasPrefix(firstFleet + passLines) && firstFleet.contains("phc_device_up{"), "the fleet's part as built"
        )
        // A device changes: everything is rebuilt.
        fleet.clock = later + 10
        try fleet.publish("wintermute", statuses: ["gpu:0": .crit])
        let (changed, _, _) = try await fleet.collector(configuration, at: later + 20).run()
        #expect(changed.changed)
        #expect(try Repository.read(json) != first)
        // And after five minutes whatever happened.
        let rebuilt = try Repository.read(json)
        _ = try await fleet.collector(configuration, at: later + 20 + Publisher.refreshSeconds + 1).run()
        #expect(try Repository.read(json) != rebuilt, "ages refreshed")
    }

    @Test("index.html: self-contained, escaped, charts with axes, problems first; sizes for 10 and 10,000 devices")
    func page() throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        try Self.publish(configuration)
        let html = try String(contentsOfFile: configuration.publishDir + "/index.html", encoding: .utf8)
        #expect(!html.contains("<script"), "no script, and device text escaped")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"))
        for external in ["src=", "href=\"http", "@import", "url(", "<link"] {
            #expect(!html.contains(external), "\(external)")
        }
        #expect(html.contains("prefers-color-scheme: dark") && html.contains("name=\"viewport\""))
        #expect(html.contains("<svg class=\"chart\"") && html.contains("°C"))
        #expect(html.contains("aria-label=\"gpu:0 temperature over 24 h\"") && html.contains("over 7 d"))
        let motoko = try #require(html.range(of: "id=\"d-motoko\""))
        let wintermute = try #require(html.range(of: "id=\"d-wintermute\""))
        #expect(motoko.lowerBound < wintermute.lowerBound, "problems first")
        #expect(html.utf8.count < 300 * 1024, "\(html.utf8.count) bytes for 4 devices")
        #expect(try Publisher.page(configuration: configuration, host: "motoko").contains("PHC fleet"))

        // 10,000 devices: summary first, problems first, the rest collapsed; under 5 MB.
        var devices: [FleetReport.Device] = []
        for index in 0..<10_000 {
            let status: CheckStatus = index % 100 == 0 ? .crit : .ok
            devices.append(
                FleetReport.Device(
                    device: "dev\(index)", status: status, trust: "signed", silent: false,
                    lastSeen: "2026-12-01T10:00:00Z",
                    lastSeenAgo: "1m ago", sequence: 42, agentVersion: "0.1.0",
                    checks: [
                        CheckSummary(id: "gpu:0", status: status, summary: "GPU 0 at 61 °C"),
                        CheckSummary(id: "mount:/mnt/space", status: .ok, summary: "cifs //motoko/space, 812 GiB free"),
                        CheckSummary(id: "system", status: .ok, summary: "load 0.4 on 16 CPUs"),
                    ], rejection: nil, silence: nil))
        }
        let big = HTMLPage.render(
            HTMLPage.Input(
                report: FleetReport(generatedAt: "2026-12-01T10:00:00Z", devices: devices, alerts: []), charts: [:],
                host: "motoko"))
        #expect(big.utf8.count < 5 * 1024 * 1024, "\(big.utf8.count) bytes for 10,000 devices")
        let summary = try #require(big.range(of: "class=\"summary\""))
        let grid = try #require(big.range(of: "id=\"grid\""))
        let collapsed = try #require(big.range(of: "<details><summary>9900 more devices, all ok"))
        #expect(big.contains("<h3>60 more devices with problems</h3>"), "the other crit devices, not collapsed")
        #expect(summary.lowerBound < grid.lowerBound && grid.lowerBound < collapsed.lowerBound)
        #expect(big.range(of: "id=\"d-dev100\"")!.lowerBound < collapsed.lowerBound, "a crit device is shown in full")
    }

    @Test(
        "headless Chromium renders the page: a non-blank screenshot, and every device's name and worst status in the DOM",
        .enabled(if: Command.which("chromium") != nil, "chromium is not installed (scripts/install-deps installs it)"))
    func chromium() async throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        try Self.publish(configuration)
        let page = configuration.publishDir + "/index.html"
        let shot = fleet.directory.file("page.png")
        let profile = try fleet.directory.folder("chromium-profile")
        // No network at all: every host resolves to nothing, so an asset fetched from anywhere would fail.
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-pings",
        ]
        let screenshot = try await Command.run(
            Command.which("chromium")!, flags + ["--window-size=1200,2000", "--screenshot=\(shot)", "file://\(page)"],
            timeout: 120)
        #expect(screenshot.status == 0, "\(screenshot.stderr.suffix(2000))")
        let png = try Repository.read(shot)
        #expect(png.count > 20_000, "\(png.count) bytes")
        #expect(try PNGImage.distinctColours(png) > 8, "not a blank page")
        let dom = try await Command.run(
            Command.which("chromium")!, flags + ["--dump-dom", "file://\(page)"], timeout: 120)
        #expect(dom.status == 0)
        let report = try FleetReport.build(configuration: configuration)
        #expect(report.devices.count == 4)
        for device in report.devices {
            let status = device.silent ? "silent" : device.status.rawValue
            #expect(
                dom.stdout.contains("\(device.device) <span class=\"badge\">\(status)</span>"),
                "\(device.device) is \(status)")
        }
        #expect(dom.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "shown as text, not run")
        // Kept for whoever wants to look: PHC_SCREENSHOT_DIR=/some/folder swift test --filter chromium
        if let keep = ProcessInfo.processInfo.environment["PHC_SCREENSHOT_DIR"] {
            let name = "index-\(UInt32.random(in: 0...UInt32.max))"
            try? FileManager.default.copyItem(atPath: shot, toPath: keep + "/\(name).png")
            try? FileManager.default.copyItem(atPath: page, toPath: keep + "/\(name).html")
        }
    }

    @Test("archive: accepted envelopes by device and day, which phc-agent verify accepts")
    func archive() async throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        let folder = fleet.directory.file("state/archive/armitage")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jsonl.gz") }
            .sorted()
        #expect(!files.isEmpty)
        let lines = try files.flatMap { file in
            String(decoding: try Gzip.decompress(try Repository.read(folder + "/" + file)), as: UTF8.self).split(
                separator: "\n")
        }
        #expect(lines.count >= 18, "\(lines.count) envelopes")
        let verify = try await Command.run(
            Command.built("phc-agent"),
            ["verify", folder + "/" + files[0], "--key-line", fleet.key("armitage").publicKey.line, "--quiet"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("report DEVICE: 24 h min/avg/max of its key series, and sparklines on a terminal")
    func sparklines() throws {
        let (fleet, configuration) = try Self.fleet()
        defer { fleet.remove() }
        let report = try FleetReport.build(configuration: configuration, device: "armitage")
        let series = try #require(report.series?.first { $0.key == "temperature_c" })
        #expect(series.min == 60 && series.max <= 89 && series.average > 60)
        let plain = ReportRenderer.render(report, format: .text)
        #expect(plain.contains("SERIES (24 h: min, avg, max)") && plain.contains("gpu:0 temperature_c"))
        #expect(plain.contains("60 °C / "), "\(plain)")
        #expect(!plain.contains("▁") && !plain.contains("█"))
        let terminal = ReportRenderer.render(report, format: .text, sparklines: true)
        #expect(terminal.contains { "▁▂▃▄▅▆▇█".contains($0) })
    }
}

/// Just enough PNG reading to tell a blank image from a drawn one.
enum PNGImage {
    /// The number of distinct pixel byte values in the image data (after inflating IDAT).
    static func distinctColours(_ png: Data) throws -> Int {
        var offset = 8
        var idat = Data()
        let bytes = [UInt8](png)
        while offset + 8 <= bytes.count {
            let length =
                Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                | Int(bytes[offset + 3])
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            if type == "IDAT" { idat.append(contentsOf: bytes[(offset + 8)..<(offset + 8 + length)]) }
            offset += 12 + length
        }
        let raw = try Gzip.decompress(idat, limit: 64 * 1024 * 1024)
        var seen = Set<UInt32>()
        var index = 0
        while index + 3 < raw.count && seen.count < 1000 {
            seen.insert(UInt32(raw[index]) << 16 | UInt32(raw[index + 1]) << 8 | UInt32(raw[index + 2]))
            index += 997
        }
        return seen.count
    }
}
