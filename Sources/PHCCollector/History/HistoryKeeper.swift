internal import PHCCore

/// History as series: the pass's points stored, hourly and daily rollups made once each hour and
/// day is over, availability computed, and what is past its retention deleted, all in bounded
/// slices so that no pass is slow because history is long.
///
/// Runs inside the pass's transaction (database only).
struct HistoryKeeper: Sendable {
    var retention: RetentionConfiguration
    var now: Int64
    /// Hours rolled up per pass at most (a collector that was down catches up over several passes).
    var hoursPerPass = 2
    /// An hour is rolled up this long after it ended: points may still be on their way.
    static let graceSeconds: Int64 = 120

    /// Stores `points` (one call of a ``PointRecorder``).
    func record(_ points: [(device: String, time: Int64, value: SeriesValue)], store: CollectorStore) throws {
        var recorder = PointRecorder(history: self)
        try recorder.record(points, store: store)
    }

    /// Remembers how long manifests live (for availability) as they are recorded, up to a day.
    func noteLifetimes(_ lifetimes: [Int64], store: CollectorStore) throws {
        guard let longest = lifetimes.max().map({ min($0, CollectorStore.day) }) else { return }
        if longest > (try store.historyState("max_lifetime") ?? 0) {
            try store.setHistoryState("max_lifetime", longest)
        }
    }

    /// The first hour not yet rolled up (set to the current hour the first time).
    func watermark(_ store: CollectorStore) throws -> Int64 {
        if let hour = try store.historyState("rollup_hour") { return hour }
        let hour = Timestamp.floorDiv(now, CollectorStore.hour) * CollectorStore.hour
        try store.setHistoryState("rollup_hour", hour)
        try store.setHistoryState("rollup_day", Self.dayStart(hour))
        return hour
    }

    /// The first day not yet rolled up.
    func dayWatermark(_ store: CollectorStore, hour: Int64) throws -> Int64 {
        try store.historyState("rollup_day") ?? Self.dayStart(hour)
    }

    static func dayStart(_ time: Int64) -> Int64 { Timestamp.floorDiv(time, CollectorStore.day) * CollectorStore.day }

    /// Rolls up the hours (and days) that are over, refreshes availability, prunes a slice.
    ///
    /// - Returns: whether an hour was rolled up (availability changed).
    @discardableResult
    func compact(store: CollectorStore) throws -> Bool {
        var hour = try watermark(store)
        var day = try dayWatermark(store, hour: hour)
        let lifetime = try store.historyState("max_lifetime") ?? 900
        var rolled = 0
        while hour + CollectorStore.hour + Self.graceSeconds <= now, rolled < hoursPerPass {
            try store.rollUpHour(hour)
            try store.computeAvailability(hour: hour, lifetime: lifetime)
            hour += CollectorStore.hour
            rolled += 1
            if hour >= day + CollectorStore.day {
                try store.rollUpDay(day)
                day += CollectorStore.day
            }
        }
        if rolled > 0 {
            try store.setHistoryState("rollup_hour", hour)
            try store.setHistoryState("rollup_day", day)
            try store.refreshAvailability(upTo: hour)
        }
        // Raw points are kept until their hour is rolled up, whatever the retention says.
        let (raw, hourly, daily) = (
            min(now.saturatingSubtract(retention.raw.wholeSeconds), hour),
            min(now.saturatingSubtract(retention.hourly.wholeSeconds), day),
            now.saturatingSubtract(retention.daily.wholeSeconds)
        )
        if try prunesSeries(store: store),
            try store.pruneSeries(rawBefore: raw, hourlyBefore: hourly, dailyBefore: daily)
        {
            try store.setHistoryState("prune_rested_at", now)
        }
        try store.pruneRows(rawBefore: raw, hourlyBefore: hourly, dailyBefore: daily)
        return rolled > 0
    }

    /// A round of retention over every series done, the next one starts this long after: raw points
    /// are kept for days, so an hour late is nothing, and most passes of a large fleet (each round
    /// takes a pass per 2,000 series) need not seek into every series.
    static let pruneRestSeconds: Int64 = 3600

    /// Whether this pass prunes the next slice of series: yes during a round, and once the round
    /// before has rested ``pruneRestSeconds`` (or the clock went back past its end). A new database
    /// starts resting: nothing in it is old.
    func prunesSeries(store: CollectorStore) throws -> Bool {
        let cursor = try store.historyState("prune_cursor")
        switch (cursor, try store.historyState("prune_rested_at")) {
        case (nil, nil):
            try store.setHistoryState("prune_rested_at", now)
            return false
        case (let cursor?, _) where cursor != 0: return true
        // A database from before rounds rested.
        case (_, nil): return true
        case (_, let rested?): return now >= rested.saturatingAdd(Self.pruneRestSeconds) || now < rested
        }
    }
}

/// Stores a pass's series points as they come, a slice at a time, in the pass's transaction: the
/// watermarks and series ids are read once, when the first points come (a pass with none reads
/// neither).
struct PointRecorder {
    let history: HistoryKeeper
    /// The first hour and day not rolled up yet, once the first points came.
    private var watermarks: (hours: Int64, days: Int64)?
    /// Each device's series: looked up once per device, not hashed once per point (a first pass
    /// numbers 80,000 series of 10,000 devices, and hashing their three names was a sixth of storing).
    private var ids: [String: [DeviceSeries]] = [:]
    private var nextID: Int64 = 0

    init(history: HistoryKeeper) { self.history = history }

    /// New series are numbered here (the pass holds the only write lock) and inserted in bulk, as
    /// are the points of hours not rolled up yet; a late point (a backlog's) goes in alone, into its
    /// rollups.
    mutating func record(_ points: [(device: String, time: Int64, value: SeriesValue)], store: CollectorStore)
        throws
    {
        guard !points.isEmpty else { return }
        if watermarks == nil {
            let hour = try history.watermark(store)
            watermarks = (hour, try history.dayWatermark(store, hour: hour))
            ids = try store.seriesIDs()
            nextID = try store.largestSeriesID() + 1
        }
        guard let (hours, days) = watermarks else { return }
        var newSeries: [(id: Int64, device: String, check: String, key: String)] = []
        var current: [(series: Int64, time: Int64, value: Double)] = []
        var late: [(series: Int64, time: Int64, value: Double)] = []
        current.reserveCapacity(points.count)
        // A device's points come together: its series are taken out of the table while they are used.
        var device: String?
        var series: [DeviceSeries] = []
        for point in points {
            if point.device != device {
                if let device { ids[device] = series }
                device = point.device
                series = ids.removeValue(forKey: point.device) ?? []
            }
            let id: Int64
            if let known = series.first(where: { $0.check == point.value.check && $0.key == point.value.key }) {
                id = known.id
            } else {
                id = nextID
                nextID += 1
                series.append(DeviceSeries(check: point.value.check, key: point.value.key, id: id))
                newSeries.append((id, point.device, point.value.check, point.value.key))
            }
            if point.time < hours || point.time < days {
                late.append((id, point.time, point.value.value))
            } else {
                current.append((id, point.time, point.value.value))
            }
        }
        if let device { ids[device] = series }
        try store.insertSeries(newSeries)
        try store.insertPoints(current)
        for point in late {
            try store.recordPoint(
                series: point.series, time: point.time, value: point.value, rolledHours: hours, rolledDays: days)
        }
    }
}
