import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("NVIDIA GPUs")
struct GPUTests {
    static let csvFolder = Repository.fixture("PHCAgentTests", "nvidia-smi-csv")
    static let xmlFolder = Repository.fixture("PHCAgentTests", "nvidia-smi-xml")

    static func files(_ folder: String, suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try Repository.read(path), as: UTF8.self)
    }

    /// The `--query-gpu … --format=csv` sections of a full nvidia_gpu_exporter capture.
    static func querySections(_ capture: String) -> [String] {
        var sections: [String] = []
        let lines = capture.components(separatedBy: "\n")
        var index = 0
        while index < lines.count {
            if lines[index].contains(":: query-gpu (csv") {
                var body: [String] = []
                index += 3
                while index < lines.count, !lines[index].hasPrefix("####") {
                    if !lines[index].trimmingCharacters(in: .whitespaces).isEmpty { body.append(lines[index]) }
                    index += 1
                }
                sections.append(body.joined(separator: "\n"))
            }
            index += 1
        }
        return sections
    }

    @Test("every query-gpu excerpt parses, units in headers and cells, [N/A] and deprecated fields included")
    func everyExcerpt() throws {
        let names = Self.files(Self.csvFolder, suffix: ".csv")
        #expect(names.count == 16)
        for name in names {
            let readings = try NvidiaSMI.parseCSV(try Self.text("\(Self.csvFolder)/\(name)"))
            #expect(readings.count == 1, "\(name)")
            let gpu = try #require(readings.first)
            #expect(gpu.index == 0)
            #expect(gpu.name?.hasPrefix("NVIDIA") == true, "\(name)")
            #expect(gpu.temperatureC != nil && gpu.memoryTotalMiB != nil && gpu.powerLimitW != nil, "\(name)")
            #expect(gpu.failedFields.isEmpty, "\(name): \(gpu.failedFields)")
        }
    }

    @Test("concrete values: the H100 under load, the H100 in MIG mode, the RTX 2080 SUPER")
    func concreteValues() throws {
        let load = try NvidiaSMI.parseCSV(
            try Self.text(
                "\(Self.csvFolder)/excerpt-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__query-gpu-load.csv"))[0]
        #expect(load.name == "NVIDIA H100 80GB HBM3")
        #expect(load.temperatureC == 59 && load.utilizationPercent == 100)
        #expect(load.memoryUsedMiB == 19818 && load.memoryTotalMiB == 81559)
        #expect(load.powerDrawW == 631.95 && load.powerLimitW == 700)
        #expect(load.pstate == "P0" && load.persistenceMode == true)
        #expect(
            load.eccUncorrectedVolatile == 0 && load.remappedRowsFailure == false && load.remappedRowsPending == false)
        #expect(load.retiredPagesPending == nil)  // [N/A]
        #expect(load.throttleReasons.isEmpty && load.migEnabled == false)

        let mig = try NvidiaSMI.parseCSV(
            try Self.text(
                "\(Self.csvFolder)/excerpt-linux-x86_64__nvidia-h100-mig__590.48.01__query-gpu-idle.csv"))[0]
        #expect(mig.migEnabled == true && mig.utilizationPercent == nil)
        #expect(mig.throttleReasons == ["gpu_idle"])
        #expect(mig.memoryUsedMiB == 59 && mig.temperatureC == 42)

        let geforce = try NvidiaSMI.parseCSV(
            try Self.text(
                "\(Self.csvFolder)/excerpt-linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04__query-gpu-load.csv"))[
                0]
        #expect(geforce.eccUncorrectedVolatile == nil && geforce.persistenceMode == false && geforce.pstate == "P2")
        #expect(geforce.memoryUsedMiB == 815 && geforce.powerLimitW == 250)
    }

    @Test("the exporter's own test data: two GPUs, units in cells, WDDM")
    func exporterTestData() throws {
        let readings = try NvidiaSMI.parseCSV(
            try Self.text("\(Self.csvFolder)/nvidia_gpu_exporter-exporter-testdata-query.txt"))
        #expect(readings.map(\.index) == [0, 1])
        #expect(readings[0].name == "NVIDIA GeForce RTX 2080 SUPER" && readings[0].memoryUsedMiB == 575)
        #expect(readings[1].uuid == "GPU-04757e3e-3077-4e2e-b988-7e2d647b52e9" && readings[1].memoryUsedMiB == 1234)
    }

    @Test("every full capture (Linux and Windows, idle and load) yields its GPU from each query-gpu section")
    func everyCapture() throws {
        let captures = Self.files(Self.csvFolder, suffix: ".txt").filter { $0.contains("__") }
        #expect(captures.count == 10)
        for name in captures {
            let sections = Self.querySections(try Self.text("\(Self.csvFolder)/\(name)"))
            #expect(sections.count == 2, "\(name): idle and load")
            for section in sections {
                let readings = try NvidiaSMI.parseCSV(section)
                #expect(readings.count == 1 && readings[0].name?.contains("NVIDIA") == true, "\(name)")
                #expect(readings[0].memoryTotalMiB ?? 0 > 7000, "\(name)")
            }
        }
    }

    @Test("every -q -x XML parses: schema v10 to v13, with and without DOCTYPE, throttle or event reasons")
    func everyXML() throws {
        let names = Self.files(Self.xmlFolder, suffix: ".xml")
        #expect(names.count == 12)
        for name in names {
            let data = try Repository.read("\(Self.xmlFolder)/\(name)")
            let gpus = try GPUDetails.parse(Array(data))
            #expect(gpus.count == 1, "\(name)")
            #expect(gpus[0].uuid?.hasPrefix("GPU-") == true, "\(name)")
            #expect(gpus[0].name != nil && gpus[0].memoryTotalMiB != nil && gpus[0].temperatureC != nil, "\(name)")
        }
    }

    @Test("concrete XML values: MIG on the A100, reasons on the A10G, v13 power and ECC on the RTX cards")
    func concreteXML() throws {
        func parse(_ name: String) throws -> GPUDetails {
            try GPUDetails.parse(Array(try Repository.read("\(Self.xmlFolder)/\(name)")))[0]
        }
        let a100 = try parse("telegraf-a100-sxm4-v12.xml")
        #expect(a100.name == "NVIDIA A100-SXM4-80GB" && a100.uuid == "GPU-513536b6-7d19-9063-b049-1e69664bb298")
        #expect(a100.migEnabled == true && a100.migDevices == 4)
        #expect(a100.eccUncorrectedVolatile == 0 && a100.eccUncorrectedAggregate == 0)
        #expect(a100.memoryUsedMiB == 50 && a100.memoryTotalMiB == 81920)
        let a10g = try parse("telegraf-a10g.xml")
        #expect(a10g.activeThrottleReasons == ["gpu_idle"])
        #expect(a10g.temperatureC == 17 && a10g.powerDrawW == 25.58 && a10g.powerLimitW == 300)
        let v13 = try parse("telegraf-rtx-3080-v13.xml")
        #expect(v13.powerDrawW == 142.33 && v13.powerLimitW == 320)
        let ada = try parse("telegraf-rtx-4000-sff-ada-v13.xml")
        #expect(ada.eccUncorrectedVolatile == nil)  // N/A everywhere: ECC disabled
        #expect(ada.remappedRowsPending == false && ada.remappedRowsFailure == false)
        let noDoctype = try parse("telegraf-gtx-1660-ti.xml")
        #expect(noDoctype.temperatureC == 40 && noDoctype.activeThrottleReasons == ["gpu_idle"])
    }

    @Test("broken XML is an error, not a crash", arguments: ["", "<nvidia_smi_log><gpu>", "<a></b>", "<other/>"])
    func brokenXML(text: String) {
        #expect(throws: XMLElement.ParseError.self) { try GPUDetails.parse(Array(text.utf8)) }
    }

    // MARK: - The check, through a stand-in nvidia-smi that prints real captures

    func standIn(_ directory: TemporaryDirectory, csv: String?, xml: String?, extra: String = "") throws -> String {
        var script = "#!/bin/sh\n\(extra)\ncase \"$*\" in\n"
        if let csv { script += "  *--query-gpu*) cat '\(csv)' ;;\n" }
        if let xml { script += "  *-q*) cat '\(xml)' ;;\n" }
        script += "  *) echo \"unexpected: $*\" >&2; exit 2 ;;\nesac\n"
        return try directory.write("nvidia-smi", script, mode: 0o755)
    }

    func run(
        _ configuration: GPUCheckConfiguration, memory: [String: [String: String]] = [:], directory: TemporaryDirectory
    )
        async -> CheckReport
    {
        let context = CheckContext(
            device: "armitage", now: WallClock.system.now(), stateDir: directory.file("state"), memory: memory,
            probe: FilesystemProbe(stateDirectory: directory.file("state")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        return await GPUCheck(configuration).run(in: context)
    }

    @Test("an H100 under load through the stand-in: observations from the capture, thresholds applied")
    func checkH100() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let csv = "\(Self.csvFolder)/excerpt-linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__query-gpu-load.csv"
        let nvidiaSMI = try standIn(directory, csv: csv, xml: "\(Self.xmlFolder)/telegraf-a100-sxm4-v12.xml")
        let report = await run(GPUCheckConfiguration(nvidiaSMI: nvidiaSMI), directory: directory)
        let gpu = try #require(report.results.first)
        #expect(report.results.count == 1)
        #expect(gpu.id == "gpu:0" && gpu.status == .ok, "\(gpu.summary)")
        #expect(gpu.summary == "NVIDIA H100 80GB HBM3, 59 °C, 100% busy, 19.4 GiB of 79.6 GiB, 632 W, P0")
        #expect(gpu.observations["temperature_c"] == .double(59))
        #expect(gpu.observations["memory_used_bytes"] == .int(19818 * 1_048_576))
        #expect(gpu.observations["power_limit_w"] == .double(700))
        #expect(gpu.observations["mig"] == .bool(false))
        #expect(report.memory[GPUCheck.toolID]?["indexes"] == "0")

        let hot = await run(
            GPUCheckConfiguration(
                nvidiaSMI: nvidiaSMI, temperatureC: Thresholds(warn: 50, crit: 90),
                memoryUsed: Thresholds(warn: .percent(20))),
            directory: directory)
        #expect(hot.results[0].status == .warn)
        #expect(hot.results[0].summary.hasPrefix("59 °C, at or over 50 °C; memory 24% used, at or over 20%"))
    }

    @Test("absurd numbers from nvidia-smi (1e300, inf, nan, huge integers) are results, never a trap")
    func absurdNumbers() throws {
        let header = NvidiaSMI.fields.joined(separator: ", ")
        let row = [
            "0", "GPU-x", "Odd GPU", "1e300", "inf", "1e308 MiB", "nan", "-1e300 W", "1e300 W", "P0", "Enabled",
            "99999999999999999999", "-1", "No", "No", "No", "0xFFFFFFFFFFFFFFFF", "Disabled",
        ].joined(separator: ", ")
        let readings = try NvidiaSMI.parseCSV(header + "\n" + row)
        let result = GPUCheck(GPUCheckConfiguration(nvidiaSMI: "x")).evaluate(readings[0], details: nil)
        #expect(result.id == "gpu:0")
        #expect(result.status == .crit, "\(result.summary)")
        _ = try JSONEncoder().encode(result)
    }

    @Test("nvidia-smi missing on a GPU host is crit, for every GPU seen before")
    func missing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let report = await run(
            GPUCheckConfiguration(nvidiaSMI: directory.file("no-nvidia-smi")),
            memory: [GPUCheck.toolID: ["indexes": "0,1"]], directory: directory)
        #expect(report.results.map(\.id) == ["gpu:0", "gpu:1"])
        #expect(report.results.allSatisfy { $0.status == .crit && $0.summary.contains("not found") })
        let first = await run(GPUCheckConfiguration(nvidiaSMI: "phc-no-nvidia-smi"), directory: directory)
        #expect(first.results.map(\.id) == ["gpu:nvidia-smi"] && first.results[0].status == .crit)
    }

    @Test("a GPU fallen off the bus (nvidia-smi fails), or one missing from the list, is crit")
    func fallenOffTheBus() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let failing = try directory.write(
            "nvidia-smi",
            "#!/bin/sh\necho 'Unable to determine the device handle for GPU0000:01:00.0: Unknown Error'\nexit 15\n",
            mode: 0o755)
        let report = await run(
            GPUCheckConfiguration(nvidiaSMI: failing), memory: [GPUCheck.toolID: ["indexes": "0"]], directory: directory
        )
        #expect(report.results.count == 1 && report.results[0].status == .crit)
        #expect(
            report.results[0].summary
                == "nvidia-smi failed: Unable to determine the device handle for GPU0000:01:00.0: Unknown Error")

        let csv = "\(Self.csvFolder)/excerpt-linux-x86_64__nvidia-l40s__595.80__query-gpu-idle.csv"
        let one = try standIn(directory, csv: csv, xml: nil)
        let lost = await run(
            GPUCheckConfiguration(nvidiaSMI: one, detailsEvery: 1000),
            memory: [GPUCheck.toolID: ["indexes": "0,1", "runs": "5"]],
            directory: directory)
        #expect(lost.results.map(\.id) == ["gpu:0", "gpu:1"])
        #expect(lost.results[1].status == .crit && lost.results[1].summary.contains("gone from nvidia-smi's list"))
    }

    @Test("an nvidia-smi that hangs is killed at the timeout and reported crit")
    func hangs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sleeper = try directory.write("nvidia-smi", "#!/bin/sh\nsleep 120\n", mode: 0o755)
        let start = Date()
        let report = await run(
            GPUCheckConfiguration(nvidiaSMI: sleeper, timeout: .milliseconds(500)), directory: directory)
        #expect(Date().timeIntervalSince(start) < 60, "the 120 s sleep was waited for")
        #expect(report.results[0].status == .crit)
        #expect(
            report.results[0].summary.contains("did not finish within 500ms and was killed"),
            "\(report.results[0].summary)")
    }

    @Test("an old driver that refuses the new field names is asked with the old ones")
    func legacyDriver() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let csv = try directory.write(
            "legacy.csv",
            "index, uuid, name, temperature.gpu, utilization.gpu, memory.used [MiB], memory.total [MiB], power.draw [W], "
                + "power.limit [W], pstate, persistence_mode, ecc.errors.uncorrected.volatile.total, "
                + "ecc.errors.uncorrected.aggregate.total, retired_pages.pending, clocks_throttle_reasons.active\n"
                + "0, GPU-1, Tesla T4, 91, 3, 100, 15109, 27.5, 70.00, P0, Enabled, 2, 2, No, 0x0000000000000040\n")
        let script = try directory.write(
            "nvidia-smi",
            """
            #!/bin/sh
            case "$*" in
              *clocks_event_reasons*) echo 'Field "clocks_event_reasons.active" is not a valid field to query.'; exit 2 ;;
              *--query-gpu*) cat '\(csv)' ;;
              *) exit 2 ;;
            esac
            """, mode: 0o755)
        let report = await run(
            GPUCheckConfiguration(nvidiaSMI: script, detailsEvery: 1000), memory: [GPUCheck.toolID: ["runs": "3"]],
            directory: directory)
        let gpu = try #require(report.results.first)
        #expect(gpu.status == .crit)
        #expect(gpu.summary.contains("91 °C, at or over 90 °C"))
        #expect(gpu.summary.contains("2 uncorrected ECC errors since boot"))
        #expect(gpu.summary.contains("held back: hw_thermal_slowdown"))
        #expect(report.memory[GPUCheck.toolID]?["fields"] == "legacy")
    }
}
