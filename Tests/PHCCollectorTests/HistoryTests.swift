import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// Series, rollups, availability and retention over simulated days.
@Suite("History: series, rollups, availability, retention")
struct HistoryTests {
    /// Three simulated days, one manifest every 10 minutes per device. armitage's GPU temperature in
    /// minute m of an hour is 40 + m/10 (so 40…45 each hour); wintermute is off from 06:00 to 12:00 on day 1.
    @Test("raw points past their window are gone; hourly and daily aggregates and availability are right")
    func simulatedDays() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let start = Timestamp(rfc3339: "2026-11-20T00:00:00Z")!
        fleet.clock = start
        try fleet.publish("armitage")
        try fleet.publish("wintermute")
        let configuration = try fleet.configuration(extra: "retention: {raw: 1d, hourly: 2d, daily: 30d}\n")
        let gap = (start.secondsSinceEpoch + 86_400 + 6 * 3600)..<(start.secondsSinceEpoch + 86_400 + 12 * 3600)
        let end = start.secondsSinceEpoch + 3 * 86_400 + 1800
        var time = start.secondsSinceEpoch + 600
        while time <= end {
            fleet.clock = Timestamp(secondsSinceEpoch: time)
            let minute = (time % 3600) / 60
            let temperature = 40 + Double(minute / 10)
            try fleet.publish(
                "armitage",
                data: try fleet.envelope(
                    "armitage", statuses: ["gpu:0": .ok], observations: ["temperature_c": .double(temperature)],
                    interval: 600))
            if !gap.contains(time) {
                try fleet.publish(
                    "wintermute",
                    data: try fleet.envelope(
                        "wintermute", statuses: ["gpu:0": .ok], observations: ["temperature_c": .int(60)], interval: 600
                    ))
            }
            _ = try fleet.collector(configuration, at: Timestamp(secondsSinceEpoch: time + 5)).pass()
            time += 600
        }
        let store = try fleet.store(configuration)
        let series = try #require(try store.series(device: "armitage").first { $0.key == "temperature_c" })
        #expect(series.check == "gpu:0")
        #expect(try store.devices()["armitage"]?.latestValues.first { $0.key == "temperature_c" }?.value != nil)

        // Raw: only the last day (and the hour not yet rolled up).
        let raw = try store.chart(series: series.id, from: 0, bucket: 600)
        let oldest = try #require(raw.first?.time)
        #expect(oldest >= end - 86_400 - 3600, "raw points past retention.raw are gone")
        // Hourly: min/avg/max of 40, 41, 42, 43, 44, 45 (one point at each ten minutes).
        let hourly = try store.rollups(series: series.id, resolution: 3600, from: 0)
        #expect(hourly.count >= 24 && hourly.count <= 2 * 24 + 2, "hourly kept two days: \(hourly.count)")
        let full = hourly.filter { $0.time > start.secondsSinceEpoch + 3600 }
        #expect(full.allSatisfy { $0.min == 40 && $0.max == 45 && abs($0.average - 42.5) < 1e-9 }, "\(full.prefix(3))")
        #expect(try #require(hourly.first).time >= end - 2 * 86_400 - 3600, "hourly past retention.hourly are gone")
        // Daily: every full day, from the hourly ones.
        let daily = try store.rollups(series: series.id, resolution: 86_400, from: 0)
        #expect(daily.map(\.time) == (0..<3).map { start.secondsSinceEpoch + $0 * 86_400 })
        #expect(daily.dropFirst().allSatisfy { $0.min == 40 && $0.max == 45 && abs($0.average - 42.5) < 1e-9 })

        // Availability: day 1 of wintermute lost 06:20 to 12:00 (its 05:50 manifest was valid for 30 minutes).
        let days = try store.database.statement(
            "SELECT t, covered FROM availability WHERE resolution = 86400 AND device = 'wintermute' ORDER BY t"
        ).rows([]) { ($0.int(0), $0.int(1)) }
        let day1 = try #require(days.first { $0.0 == start.secondsSinceEpoch + 86_400 })
        #expect(day1.1 == 24 * 3600 - (5 * 3600 + 40 * 60), "covered \(day1.1) s of day 1")
        let availability = try store.availability()
        #expect(availability["armitage"]?.day == 1)
        let week = try #require(availability["wintermute"]?.week)
        #expect(abs(week - (1 - 5.67 / (3 * 24))) < 0.02, "\(week)")
    }

    @Test("backlog lines are history too: late points land in their hour's rollup, counted once")
    func backlogHistory() throws {
        let fleet = try FleetFixture()
        defer { fleet.remove() }
        let start = Timestamp(rfc3339: "2026-11-20T00:00:00Z")!
        fleet.clock = start + 3 * 3600
        let lines = try (1...6).map { index in
            try fleet.envelope(
                "armitage", sequence: Int64(index), statuses: ["gpu:0": .ok], issuedAt: start + Int64(index) * 600,
                observations: ["temperature_c": .int(Int64(50 + index))])
        }
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 7, statuses: ["gpu:0": .ok]))
        let configuration = try fleet.configuration()
        _ = try fleet.collector(configuration).pass()  // sequence 7 first: the backlog arrives late
        try AtomicFile.write(
            try Gzip.compress(Data(lines.map { $0 + [10] }.joined())),
            to: fleet.devicesDir + "/armitage/_health/backlog-1-6.jsonl.gz")
        try fleet.publish("armitage", data: try fleet.envelope("armitage", sequence: 8, statuses: ["gpu:0": .ok]))
        for _ in 0..<3 { _ = try fleet.collector(configuration).pass() }
        let store = try fleet.store(configuration)
        let series = try #require(try store.series(device: "armitage").first { $0.key == "temperature_c" })
        let hourly = try store.rollups(series: series.id, resolution: 3600, from: 0)
        #expect(hourly.map(\.time) == [start.secondsSinceEpoch, start.secondsSinceEpoch + 3600])
        #expect(hourly.first?.min == 51 && hourly.first?.max == 55 && hourly.first?.average == 53)
        #expect(hourly.last?.average == 56)
        #expect(try store.count("manifests") == 8)
    }

    @Test("retention goes round the series a slice at a time: old points and rollups of the slice go, the rest stays")
    func pruneSlices() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try CollectorStore(path: directory.file("collector.sqlite"))
        for id in 1...5 {
            try store.database.execute(
                "INSERT INTO series (id, device, check_id, key) VALUES (\(id), 'd\(id)', 'c', 'k')")
            for t in [100, 10_000] {
                try store.database.execute("INSERT INTO points (series, t, value) VALUES (\(id), \(t), 1)")
                for resolution in [CollectorStore.hour, CollectorStore.day] {
                    try store.database.execute(
                        "INSERT INTO rollups (series, resolution, t, min, max, sum, count) VALUES (\(id), \(resolution), \(t), 1, 1, 1, 1)"
                    )
                }
            }
        }
        func old(_ table: String) throws -> [Int64] {
            try store.database.statement("SELECT DISTINCT series FROM \(table) WHERE t < 5000 ORDER BY series").rows([])
            {
                $0.int(0)
            }
        }
        // Raw and hourly rows before 5,000 are past retention; daily ones are kept (dailyBefore 0).
        let slices: [(points: [Int64], cursor: Int64?, over: Bool)] = [
            ([3, 4, 5], 2, false), ([5], 4, false), ([], 0, true), ([], 2, false),
        ]
        for (points, cursor, over) in slices {
            #expect(try store.pruneSeries(rawBefore: 5000, hourlyBefore: 5000, dailyBefore: 0, slice: 2) == over)
            #expect(try old("points") == points)
            #expect(try store.historyState("prune_cursor") == cursor)
        }
        let hourly = try store.database.statement(
            "SELECT count(*) FROM rollups WHERE resolution = \(CollectorStore.hour) AND t < 5000"
        ).rows([]) { $0.int(0) }
        #expect(hourly == [0])
        #expect(try store.count("rollups") == 5 * 3, "new hourly and every daily rollup stay")
        #expect(try store.count("points") == 5, "new points stay")
    }

    @Test("after a round over every series, retention rests an hour; a new database starts resting")
    func pruneRests() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try CollectorStore(path: directory.file("collector.sqlite"))
        try store.database.execute("INSERT INTO series (id, device, check_id, key) VALUES (1, 'd', 'c', 'k')")
        func oldPoint(at time: Int) throws {
            try store.database.execute("INSERT INTO points (series, t, value) VALUES (1, \(time), 1)")
        }
        // Thirty days in: a point at 100 s is far past the week raw points are kept.
        let start: Int64 = 30 * 86_400
        func pass(at time: Int64) throws -> Int {
            try HistoryKeeper(retention: RetentionConfiguration(), now: time).compact(store: store)
            return try store.count("points")
        }
        try oldPoint(at: 100)
        #expect(try pass(at: start) == 1, "a new database starts resting")
        #expect(try pass(at: start + 3599) == 1, "still resting")
        #expect(try pass(at: start + 3600) == 0, "an hour on, a round")
        try oldPoint(at: 200)
        #expect(try pass(at: start + 3700) == 1, "resting after the round")
        #expect(try pass(at: start + 7200) == 0, "the next round")
        try oldPoint(at: 300)
        #expect(try pass(at: start + 10) == 0, "the clock went back: a round, not a rest until then")
    }
}
