import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// The measurements of `scripts/bench-history` (run only with PHC_BENCH=1). Simulated days of history
/// go through the store exactly as passes write them (points, rollups, availability, retention); the
/// database's size and the time of one pass's history work are printed, and each run checks that
/// every finished day was rolled up for every series.
@Suite("History benchmark", .enabled(if: ProcessInfo.processInfo.environment["PHC_BENCH"] == "1", "set PHC_BENCH=1"))
struct HistoryBenchmark {
    static let keys = [
        ("gpu:0", "temperature_c"), ("gpu:0", "memory_used_bytes"), ("gpu:0", "utilization_pct"),
        ("gpu:0", "power_draw_w"),
        ("mount:/mnt/space", "free_bytes"), ("mount:/mnt/space", "statfs_ms"), ("system", "load1"),
        ("system", "memory_available_bytes"),
    ]

    /// Runs `days` of `devices` sending a manifest every `interval` seconds, one pass per `interval`.
    /// Returns the database size and the median milliseconds of a pass's history work on the last day
    /// and on the first.
    static func simulate(devices: Int, interval: Int64, days: Int) throws -> (
        bytes: Int64, first: Double, last: Double, points: Int, dailyRollups: Int
    ) {
        let directory = try TemporaryDirectory("phc-bench-history")
        defer { directory.remove() }
        let path = directory.file("history.sqlite")
        let store = try CollectorStore(path: path)
        let start = Timestamp.floorDiv(WallClock.system.now().secondsSinceEpoch, 86_400) * 86_400 - Int64(days) * 86_400
        var firstDay: [Double] = []
        var lastDay: [Double] = []
        var points = 0
        var time = start
        let end = start + Int64(days) * 86_400
        while time < end {
            var batch: [(device: String, time: Int64, value: SeriesValue)] = []
            var rows: [(String, CollectorStore.ManifestRow)] = []
            for device in 0..<devices {
                let name = "dev\(device)"
                for (check, key) in keys {
                    batch.append(
                        (
                            name, time,
                            SeriesValue(check: check, key: key, value: Double((time / interval + Int64(device)) % 97))
                        ))
                }
                rows.append(
                    (
                        name,
                        .init(
                            sequence: time / interval, issuedAt: time, receivedAt: time, status: .ok, source: .manifest,
                            expiresAt: time + 3 * interval)
                    ))
            }
            points += batch.count
            let started = Monotonic.nanoseconds()
            let keeper = HistoryKeeper(retention: RetentionConfiguration(), now: time + 5)
            try store.transaction {
                try store.recordManifests(rows.map { (device: $0.0, row: $0.1) })
                try keeper.noteLifetimes([3 * interval], store: store)
                try keeper.record(batch, store: store)
                try keeper.compact(store: store)
            }
            let milliseconds = Double(Monotonic.nanoseconds() - started) / 1e6
            if time < start + 86_400 { firstDay.append(milliseconds) }
            if time >= end - 86_400 { lastDay.append(milliseconds) }
            time += interval
        }
        let dailyRollups =
            try store.database.statement("SELECT count(*) FROM rollups WHERE resolution = 86400")
            .rows([]) { $0.int(0) }.first ?? 0
        try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let size = try FileStatus(path: path).size
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return (size, median(firstDay), median(lastDay), points, Int(dailyRollups))
    }

    @Test("30 days of a 10-device fleet at one manifest a minute")
    func smallFleet() throws {
        let result = try Self.simulate(devices: 10, interval: 60, days: 30)
        #expect(result.dailyRollups >= 10 * Self.keys.count * 29, "every finished day is rolled up")
        print(
            "BENCH 10 devices, 1/min, 30 days: \(result.points) points, database \(ByteCount.format(result.bytes)); "
                + "history work per pass: median \(String(format: "%.2f", result.first)) ms on day 1, "
                + "\(String(format: "%.2f", result.last)) ms on day 30")
    }

    @Test("a day of 1,000 devices at one manifest per 5 minutes, for the per-point cost at scale")
    func largeFleet() throws {
        let result = try Self.simulate(devices: 1000, interval: 300, days: 2)
        #expect(result.dailyRollups >= 1000 * Self.keys.count, "the first day is rolled up")
        let perPoint = Double(result.bytes) / Double(result.points)
        print(
            "BENCH 1000 devices, 1/5min, 2 days: \(result.points) points, database \(ByteCount.format(result.bytes)) "
                + "(\(String(format: "%.1f", perPoint)) bytes per point with rollups); history work per pass: median "
                + "\(String(format: "%.1f", result.first)) ms on day 1, \(String(format: "%.1f", result.last)) ms on day 2"
        )
    }
}
