import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("Backup markers and the system check")
struct MarkerAndSystemTests {
    let now = Timestamp(rfc3339: "2026-11-27T10:00:00Z")!
    let limits = Thresholds<Duration>(warn: .seconds(26 * 3600), crit: .seconds(48 * 3600))

    func marker(_ json: String, nonzero: [String] = []) -> CheckResult {
        MarkerCheck(MarkerCheckConfiguration(path: "/m.json", maxAge: limits, nonzero: nonzero))
            .evaluate(Data(json.utf8), now: now)
    }

    @Test(
        "both field names of the completion time are accepted",
        arguments: [
            #"{"completed_at":"2026-11-27T04:00:00Z","status":"success"}"#,
            #"{"timestamp":"2026-11-27T05:00:00+01:00","status":"ok"}"#,
            #"{"timestamp":1795752000,"status":"completed"}"#,
        ])
    func fieldNames(json: String) {
        let result = marker(json)
        #expect(result.status == .ok, "\(result.summary)")
        #expect(result.summary == "completed 6h ago")
        #expect(result.observations["age_s"] == .int(6 * 3600))
    }

    @Test(
        "stale, failed, zero-byte and unreadable markers are flagged",
        arguments: [
            (
                #"{"completed_at":"2026-11-26T06:00:00Z","bytes":1}"#, CheckStatus.warn,
                "last success 1d4h ago (warn after 1d2h)"
            ),
            (
                #"{"completed_at":"2026-11-24T06:00:00Z","bytes":1}"#, CheckStatus.crit,
                "last success 3d4h ago (limit 2d)"
            ),
            (
                #"{"completed_at":"2026-11-27T06:00:00Z","status":"failed","bytes":1}"#, CheckStatus.crit,
                "status 'failed'"
            ),
            (
                #"{"completed_at":"2026-11-27T06:00:00Z","status":"weird","bytes":1}"#, CheckStatus.warn,
                "status 'weird' is not a success"
            ),
            (#"{"completed_at":"2026-11-27T06:00:00Z","bytes":0}"#, CheckStatus.crit, "'bytes' is 0"),
            (
                #"{"completed_at":"2026-11-27T06:00:00Z"}"#, CheckStatus.crit,
                "'bytes' missing (expected a number above zero)"
            ),
            (#"{"finished":"2026-11-27T06:00:00Z","bytes":5}"#, CheckStatus.crit, "no completed_at or timestamp field"),
            (#"{"completed_at":"last tuesday","bytes":5}"#, CheckStatus.crit, "'completed_at' is not a time"),
            ("[1,2]", CheckStatus.crit, "not a JSON object"),
            ("{trunc", CheckStatus.crit, "not a JSON object"),
        ])
    func faults(json: String, status: CheckStatus, summary: String) {
        let result = marker(json, nonzero: ["bytes"])
        #expect(result.status == status)
        #expect(result.summary.hasPrefix(summary), "\(result.summary)")
    }

    @Test(
        "absurd numbers in a marker (1e300 seconds, 1e300 bytes, a time before 1970) are results, never a trap",
        arguments: [
            #"{"completed_at": 1e300, "bytes": 1e300, "status": "success"}"#,
            #"{"timestamp": -1e300, "bytes": -1e300}"#,
            #"{"completed_at": "9999-12-31T23:59:59Z", "bytes": 99999999999999999999999}"#,
        ])
    func absurdMarker(json: String) throws {
        let result = marker(json, nonzero: ["bytes"])
        #expect(result.status != .ok, "\(result.summary)")
        _ = try JSONEncoder().encode(result)
    }

    @Test("a missing marker file is crit")
    func missingFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let check = MarkerCheck(MarkerCheckConfiguration(path: directory.file("none.json"), maxAge: limits))
        let context = CheckContext(
            device: "t", now: now, stateDir: directory.file("state"),
            probe: FilesystemProbe(stateDirectory: directory.path),
            logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        let result = await check.run(in: context).results[0]
        #expect(result.status == .crit && result.summary.hasPrefix("missing"))
    }

    @Test("system: real /proc gives load, memory and root space; a changed boot id warns once")
    func system() throws {
        let check = SystemCheck(
            SystemCheckConfiguration(
                loadPerCPU: Thresholds(warn: 1000), memoryAvailable: Thresholds(warn: .percent(0)),
                rootFree: Thresholds(warn: .percent(0))))
        let (result, bootID) = check.evaluate(previousBootID: nil)
        #expect(result.status == .ok, "\(result.summary)")
        #expect(!bootID.isEmpty)
        for key in ["load1", "memory_available_bytes", "root_free_bytes", "cpus", "uptime_s"] {
            #expect(result.observations[key] != nil, "\(key)")
        }
        #expect(check.evaluate(previousBootID: bootID).0.status == .ok)
        let rebooted = check.evaluate(previousBootID: "another-boot").0
        #expect(rebooted.status == .warn && rebooted.summary.hasPrefix("rebooted since the last run"))
    }

    @Test("system: low memory and high load from a captured /proc are flagged")
    func systemThresholds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("proc/loadavg", "\(HostFacts.cpuCount() * 5).00 1.0 1.0 2/300 12345\n")
        try directory.write(
            "proc/meminfo", "MemTotal:       16000000 kB\nMemFree:          100000 kB\nMemAvailable:     400000 kB\n")
        let result = SystemCheck(
            SystemCheckConfiguration(rootFree: Thresholds(warn: .percent(0))), procRoot: directory.file("proc")
        )
        .evaluate(previousBootID: nil).0
        #expect(result.status == .crit)
        #expect(result.summary.contains("is over 4 per CPU"))
        #expect(result.summary.contains("memory available, below 5%"))
    }

    @Test("system: /proc/meminfo values are read by bytes, and one too large for 64 bits saturates instead of trapping")
    func meminfoParsing() {
        let values = SystemCheck.meminfo(
            "MemTotal:       16000000 kB\nHugePages_Total:       0\nBogus: 9223372036854775807 kB\nnot a line\n")
        #expect(values["MemTotal"] == Int64(16_000_000) * 1024)
        #expect(values["HugePages_Total"] == 0)
        #expect(values["Bogus"] == Int64.max)
        #expect(values.count == 3)
    }
}
