internal import PHCCore

/// A point of a chart: a bucket's minimum, average and maximum.
struct ChartPoint: Sendable, Equatable {
    var time: Int64
    var min: Double
    var average: Double
    var max: Double
}

/// One series of one device.
struct SeriesInfo: Sendable, Equatable {
    var id: Int64
    var device: String
    var check: String
    var key: String
}

/// Availability of a device over the last day, week and month (0…1), nil where not yet known.
public struct Availability: Sendable, Equatable, Codable {
    public var day: Double?
    public var week: Double?
    public var month: Double?

    enum CodingKeys: String, CodingKey {
        case day = "24h"
        case week = "7d"
        case month = "30d"
    }
}

extension CollectorStore {
    static let hour: Int64 = 3600
    static let day: Int64 = 86_400

    // MARK: State

    func historyState(_ key: String) throws -> Int64? {
        try database.statement("SELECT value FROM history_state WHERE key = ?").rows([.text(key)]) { $0.int(0) }.first
    }

    func setHistoryState(_ key: String, _ value: Int64) throws {
        try database.statement("INSERT OR REPLACE INTO history_state (key, value) VALUES (?,?)").run([
            .text(key), .int(value),
        ])
    }

    // MARK: Series and points

    /// Every series id, by device (each device's few series in a list of their check and key).
    func seriesIDs() throws -> [String: [DeviceSeries]] {
        var ids: [String: [DeviceSeries]] = [:]
        ids.reserveCapacity(
            Int(try database.statement("SELECT count(*) FROM devices").rows([]) { $0.int(0) }.first ?? 0))
        // A fleet's devices share their few check ids and keys: each row's are the strings of the row
        // before when they are equal. The table is read in id order, so a device's series are together
        // (all of them but those added later): its list is stored once it is complete.
        var (device, list) = ("", [DeviceSeries]())
        var last = DeviceSeries(check: "", key: "", id: 0)
        func store() {
            guard !list.isEmpty else { return }
            ids[device, default: []] += list
            list.removeAll(keepingCapacity: true)
        }
        try database.statement("SELECT id, device, check_id, key FROM series").each([]) { row in
            let name = row.text(1, reusing: device)
            if name != device {
                store()
                device = name
            }
            last = DeviceSeries(
                check: row.text(2, reusing: last.check), key: row.text(3, reusing: last.key), id: row.int(0))
            list.append(last)
        }
        store()
        return ids
    }

    /// The largest series id so far (0 for none): the pass numbers new series itself, in bulk.
    func largestSeriesID() throws -> Int64 {
        try database.statement("SELECT coalesce(max(id), 0) FROM series").rows([]) { $0.int(0) }.first ?? 0
    }

    /// New series with the ids the caller chose (none of them existing).
    func insertSeries(_ series: [(id: Int64, device: String, check: String, key: String)]) throws {
        try database.insert("INSERT INTO series (id, device, check_id, key)", columns: 4, rows: series) {
            series, values in
            values.add(series.id)
            values.add(series.device)
            values.add(series.check)
            values.add(series.key)
        }
    }

    /// Points in hours not yet rolled up (a point already there is kept).
    func insertPoints(_ points: [(series: Int64, time: Int64, value: Double)]) throws {
        try database.insert("INSERT OR IGNORE INTO points (series, t, value)", columns: 3, rows: points) {
            point, values in
            values.add(point.series)
            values.add(point.time)
            values.add(point.value)
        }
    }

    /// Stores a point (a point already there is kept). A point in an hour (or day) already rolled up
    /// goes into its rollup at once, so late history (a backlog) is counted too, and once.
    func recordPoint(series: Int64, time: Int64, value: Double, rolledHours: Int64, rolledDays: Int64) throws {
        let before = database.totalChanges
        try database.statement("INSERT OR IGNORE INTO points (series, t, value) VALUES (?,?,?)").run([
            .int(series), .int(time), .double(value),
        ])
        guard database.totalChanges > before else { return }
        if time < rolledHours { try addToRollup(series: series, resolution: Self.hour, time: time, value: value) }
        if time < rolledDays { try addToRollup(series: series, resolution: Self.day, time: time, value: value) }
    }

    private func addToRollup(series: Int64, resolution: Int64, time: Int64, value: Double) throws {
        try database.statement(
            """
            INSERT INTO rollups (series, resolution, t, min, max, sum, count) VALUES (?,?,?,?,?,?,1)
            ON CONFLICT (series, resolution, t) DO UPDATE SET min = min(min, excluded.min),
            max = max(max, excluded.max), sum = sum + excluded.sum, count = count + 1
            """
        ).run([
            .int(series), .int(resolution), .int(Timestamp.floorDiv(time, resolution) * resolution), .double(value),
            .double(value), .double(value),
        ])
    }

    // MARK: Rollups

    /// Aggregates the raw points of the hour starting at `start` into hourly rollups.
    func rollUpHour(_ start: Int64) throws {
        try database.statement(
            """
            INSERT INTO rollups (series, resolution, t, min, max, sum, count)
            SELECT p.series, \(Self.hour), ?, min(p.value), max(p.value), sum(p.value), count(*)
            FROM series s JOIN points p ON p.series = s.id AND p.t >= ? AND p.t < ? GROUP BY p.series
            ON CONFLICT (series, resolution, t) DO UPDATE SET min = min(min, excluded.min),
            max = max(max, excluded.max), sum = sum + excluded.sum, count = count + excluded.count
            """
        ).run([.int(start), .int(start), .int(start + Self.hour)])
    }

    /// Aggregates the hourly rollups of the day starting at `start` into daily ones.
    func rollUpDay(_ start: Int64) throws {
        try database.statement(
            """
            INSERT INTO rollups (series, resolution, t, min, max, sum, count)
            SELECT r.series, \(Self.day), ?, min(r.min), max(r.max), sum(r.sum), sum(r.count)
            FROM series s JOIN rollups r ON r.series = s.id AND r.resolution = \(Self.hour) AND r.t >= ? AND r.t < ?
            GROUP BY r.series
            ON CONFLICT (series, resolution, t) DO UPDATE SET min = min(min, excluded.min),
            max = max(max, excluded.max), sum = sum + excluded.sum, count = count + excluded.count
            """
        ).run([.int(start), .int(start), .int(start + Self.day)])
        try database.statement(
            """
            INSERT OR REPLACE INTO availability (resolution, t, device, covered)
            SELECT \(Self.day), ?, device, sum(covered) FROM availability
            WHERE resolution = \(Self.hour) AND t >= ? AND t < ? GROUP BY device
            """
        ).run([.int(start), .int(start), .int(start + Self.day)])
    }

    /// The seconds of the hour starting at `start` each device was covered by a valid, unexpired
    /// manifest (the union of `issued_at…expires_at`), from manifests issued at most `lifetime` before it.
    func computeAvailability(hour start: Int64, lifetime: Int64) throws {
        let end = start + Self.hour
        let rows = try database.statement(
            """
            SELECT device, issued_at, expires_at FROM manifests WHERE issued_at >= ? AND issued_at < ?
            AND expires_at IS NOT NULL ORDER BY device, issued_at
            """
        ).rows([.int(start.saturatingSubtract(lifetime)), .int(end)]) { ($0.text(0), $0.int(1), $0.int(2)) }
        var covered: [String: Int64] = [:]
        var reach: [String: Int64] = [:]  // how far each device is covered so far, in this hour
        for (device, issued, expires) in rows {
            let from = max(start, issued, reach[device] ?? start)
            let to = min(end, expires)
            guard to > from else { continue }
            covered[device, default: 0] += to - from
            reach[device] = to
        }
        for (device, seconds) in covered {
            try database.statement(
                "INSERT OR REPLACE INTO availability (resolution, t, device, covered) VALUES (\(Self.hour),?,?,?)"
            ).run([.int(start), .text(device), .int(seconds)])
        }
    }

    /// Recomputes each device's availability over the last day, week and month (as of the last
    /// rolled hour `upTo`), counting from when the device was first covered.
    func refreshAvailability(upTo: Int64) throws {
        func sums(_ resolution: Int64, from: Int64, to: Int64) throws -> [String: Int64] {
            Dictionary(
                try database.statement(
                    """
                    SELECT device, sum(covered) FROM availability WHERE resolution = ? AND t >= ? AND t < ?
                    GROUP BY device
                    """
                ).rows([.int(resolution), .int(from), .int(to)]) { ($0.text(0), $0.int(1)) },
                uniquingKeysWith: { a, _ in a })
        }
        // When each device was first covered: kept, since the rows it was found in are pruned.
        var firsts = Dictionary(
            try database.statement("SELECT device, first_covered FROM device_availability").rows([]) {
                ($0.text(0), $0.int(1))
            }, uniquingKeysWith: { a, _ in a })
        for (device, first) in try database.statement(
            "SELECT device, min(t) FROM availability WHERE resolution = \(Self.hour) GROUP BY device"
        ).rows([], { ($0.text(0), $0.int(1)) }) {
            firsts[device] = min(firsts[device] ?? first, first)
        }
        let today = Timestamp.floorDiv(upTo, Self.day) * Self.day
        let day = try sums(Self.hour, from: upTo - Self.day, to: upTo)
        func window(_ days: Int64) throws -> [String: Int64] {
            var total = try sums(Self.day, from: today - days * Self.day + Self.day, to: today)
            for (device, seconds) in try sums(Self.hour, from: today, to: upTo) { total[device, default: 0] += seconds }
            return total
        }
        let week = try window(7)
        let month = try window(30)
        for (device, first) in firsts {
            func share(_ seconds: Int64?, _ span: Int64) -> SQLValue {
                let counted = min(span, upTo - first)
                guard counted > 0 else { return .null }
                return .double(min(1, Double(seconds ?? 0) / Double(counted)))
            }
            try database.statement(
                "INSERT OR REPLACE INTO device_availability (device, first_covered, day, week, month) VALUES (?,?,?,?,?)"
            ).run([
                .text(device), .int(first), share(day[device], Self.day), share(week[device], 7 * Self.day),
                share(month[device], 30 * Self.day),
            ])
        }
    }

    func availability() throws -> [String: Availability] {
        Dictionary(
            try database.statement("SELECT device, day, week, month FROM device_availability").rows([]) { row in
                (
                    row.text(0),
                    Availability(day: row.optionalDouble(1), week: row.optionalDouble(2), month: row.optionalDouble(3))
                )
            }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Retention

    /// Deletes the points and rollups past their retention of the next `slice` series: a cursor goes
    /// round the series, a slice per call.
    ///
    /// - Returns: whether the round is over (the cursor is back before the first series).
    func pruneSeries(rawBefore: Int64, hourlyBefore: Int64, dailyBefore: Int64, slice: Int = 2_000) throws -> Bool {
        let cursor = try historyState("prune_cursor") ?? 0
        let (count, last) =
            try database.statement(
                "SELECT count(*), max(id) FROM (SELECT id FROM series WHERE id > ? ORDER BY id LIMIT ?)"
            ).rows([.int(cursor), .int(Int64(slice))]) { ($0.int(0), $0.optionalInt(1)) }.first ?? (0, nil)
        if let last {
            // One statement per table for the whole slice, each series' old rows found by its key
            // (a statement per series was 6,000 statements a pass, most deleting nothing).
            let inSlice = "series IN (SELECT id FROM series WHERE id > ? AND id <= ?)"
            try database.statement("DELETE FROM points WHERE \(inSlice) AND t < ?").run([
                .int(cursor), .int(last), .int(rawBefore),
            ])
            for (resolution, before) in [(Self.hour, hourlyBefore), (Self.day, dailyBefore)] {
                try database.statement("DELETE FROM rollups WHERE \(inSlice) AND resolution = ? AND t < ?").run([
                    .int(cursor), .int(last), .int(resolution), .int(before),
                ])
            }
        }
        let over = count < slice
        try setHistoryState("prune_cursor", over ? 0 : (last ?? 0))
        return over
    }

    /// Deletes at most `limit` each of the old manifests, check changes and availability rows, found
    /// through their time indexes: bounded work, and next to none when nothing is old.
    func pruneRows(rawBefore: Int64, hourlyBefore: Int64, dailyBefore: Int64, limit: Int64 = 20_000) throws {
        try database.statement(
            """
            DELETE FROM manifests WHERE (device, sequence) IN
            (SELECT device, sequence FROM manifests WHERE issued_at < ? LIMIT ?)
            """
        ).run([.int(rawBefore), .int(limit)])
        try database.statement(
            """
            DELETE FROM check_history WHERE (device, check_id, sequence) IN
            (SELECT device, check_id, sequence FROM check_history WHERE issued_at < ? LIMIT ?)
            """
        ).run([.int(hourlyBefore), .int(limit)])
        for (resolution, before) in [(Self.hour, hourlyBefore), (Self.day, dailyBefore)] {
            try database.statement(
                """
                DELETE FROM availability WHERE (resolution, t, device) IN
                (SELECT resolution, t, device FROM availability WHERE resolution = ? AND t < ? LIMIT ?)
                """
            ).run([.int(resolution), .int(before), .int(limit)])
        }
    }

    // MARK: Reading

    /// Each device's latest series values, by name.
    func latestValues() throws -> [String: [SeriesValue]] {
        Dictionary(
            try database.statement("SELECT name, latest_values FROM devices WHERE latest_values != ''").rows([]) {
                ($0.text(0), DeviceRecord.parseValues($0.text(1)))
            }, uniquingKeysWith: { a, _ in a })
    }

    func series(device: String? = nil) throws -> [SeriesInfo] {
        let sql =
            "SELECT id, device, check_id, key FROM series"
            + (device == nil ? "" : " WHERE device = ?") + " ORDER BY device, check_id, key"
        return try database.statement(sql).rows(device.map { [.text($0)] } ?? []) { row in
            SeriesInfo(
                id: row.int(0), device: row.text(1), check: row.text(2), key: row.text(3))
        }
    }

    /// Raw points of `series` from `from`, in buckets of `bucket` seconds.
    func chart(series: Int64, from: Int64, bucket: Int64) throws -> [ChartPoint] {
        try database.statement(
            """
            SELECT (t / ?) * ?, min(value), avg(value), max(value) FROM points WHERE series = ? AND t >= ?
            GROUP BY t / ? ORDER BY 1
            """
        ).rows([.int(bucket), .int(bucket), .int(series), .int(from), .int(bucket)]) { row in
            ChartPoint(time: row.int(0), min: row.double(1), average: row.double(2), max: row.double(3))
        }
    }

    /// Rollups of `series` at `resolution` from `from`.
    func rollups(series: Int64, resolution: Int64, from: Int64) throws -> [ChartPoint] {
        try database.statement(
            "SELECT t, min, sum, count, max FROM rollups WHERE series = ? AND resolution = ? AND t >= ? ORDER BY t"
        ).rows([.int(series), .int(resolution), .int(from)]) { row in
            ChartPoint(
                time: row.int(0), min: row.double(1), average: row.double(2) / Double(max(1, row.int(3))),
                max: row.double(4))
        }
    }
}

/// One of a device's series: its check and observation key (with the device, the `series` table's
/// unique key) and its id.
struct DeviceSeries: Sendable {
    var check: String
    var key: String
    var id: Int64
}
