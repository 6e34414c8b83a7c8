internal import PHCCore

/// A device's key series over a window, ready to draw.
struct ChartData: Sendable, Equatable {
    var title: String
    var unit: SeriesKeys.Unit
    /// `24 h` or `7 d`.
    var window: String
    var from: Int64
    var to: Int64
    var points: [ChartPoint]
}

/// Which series the page and the terminal show, and their data: GPU temperature and memory,
/// KV-cache use, mount latency and free space, in that order.
enum Charts {
    /// The keys charted, in order, with a title for each.
    static let keys: [(key: String, title: String)] = [
        ("temperature_c", "temperature"), ("memory_used_bytes", "memory used"), ("kv_cache_usage_pct", "KV-cache use"),
        ("statfs_ms", "statfs latency"), ("free_bytes", "free space"),
    ]

    /// The series of `device` worth charting, at most `limit`.
    static func pick(_ series: [SeriesInfo], limit: Int) -> [SeriesInfo] {
        var chosen: [SeriesInfo] = []
        for (key, _) in keys {
            for item in series where item.key == key && chosen.count < limit { chosen.append(item) }
        }
        return chosen
    }

    static func title(_ series: SeriesInfo) -> String {
        let name = keys.first { $0.key == series.key }?.title ?? series.key
        return "\(series.check) \(name)"
    }

    /// 24 hours of raw points in half-hour buckets, and 7 days of hourly rollups in three-hour buckets.
    static func data(for series: SeriesInfo, store: CollectorStore, now: Int64) throws -> [ChartData] {
        let unit = SeriesKeys.all[series.key] ?? .count
        let day = try store.chart(series: series.id, from: now - 86_400, bucket: 1800)
        let hourly = try store.rollups(series: series.id, resolution: 3600, from: now - 7 * 86_400)
        var week: [ChartPoint] = []
        for bucket in Dictionary(grouping: hourly, by: { Timestamp.floorDiv($0.time, 3 * 3600) }).sorted(by: {
            $0.key < $1.key
        }) {
            let values = bucket.value
            week.append(
                ChartPoint(
                    time: bucket.key * 3 * 3600, min: values.map(\.min).min() ?? 0,
                    average: values.map(\.average).reduce(0, +) / Double(values.count),
                    max: values.map(\.max).max() ?? 0))
        }
        return [
            ChartData(title: title(series), unit: unit, window: "24 h", from: now - 86_400, to: now, points: day),
            ChartData(title: title(series), unit: unit, window: "7 d", from: now - 7 * 86_400, to: now, points: week),
        ]
    }

    /// `91 °C`, `12.4 GiB`, `3 ms`, `45 %`.
    static func format(_ value: Double, _ unit: SeriesKeys.Unit) -> String {
        func short(_ number: Double) -> String {
            let rounded = abs(number) >= 100 ? number.rounded() : (number * 10).rounded() / 10
            return rounded == rounded.rounded() ? String(Int64(saturating: rounded)) : String(rounded)
        }
        switch unit {
        case .celsius: return "\(short(value)) °C"
        case .percent: return "\(short(value)) %"
        case .bytes: return ByteCount.format(Int64(saturating: value))
        case .milliseconds: return "\(short(value)) ms"
        case .watts: return "\(short(value)) W"
        case .count, .load: return short(value)
        }
    }

    /// An inline SVG line chart: the average as a line over the min–max band, with a y axis (two
    /// values and their unit) and an x axis (the window's start and "now"). `label` is its accessible name.
    static func svg(_ chart: ChartData) -> String {
        let width = 300.0
        let height = 110.0
        let left = 58.0
        let bottom = 18.0
        let plotWidth = width - left - 6
        let plotHeight = height - bottom - 8
        var low = chart.points.map(\.min).min() ?? 0
        var high = chart.points.map(\.max).max() ?? 1
        if chart.unit == .percent { low = min(low, 0) }
        if high - low < max(1e-9, abs(high) * 0.01) {
            // A flat series is drawn in the middle, with a little room above and below.
            let room = max(1, abs(high) * 0.05)
            low -= room
            high += room
        }
        func x(_ time: Int64) -> Int {
            Int((left + Double(time - chart.from) / Double(max(1, chart.to - chart.from)) * plotWidth).rounded())
        }
        func y(_ value: Double) -> Int { Int((8 + (high - value) / (high - low) * plotHeight).rounded()) }
        let label = HTMLText.escape("\(chart.title) over \(chart.window)")
        var out =
            "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(label)\">"
            + "<line class=\"axis\" x1=\"\(Int(left))\" y1=\"8\" x2=\"\(Int(left))\" y2=\"\(Int(8 + plotHeight))\"/>"
            + "<line class=\"axis\" x1=\"\(Int(left))\" y1=\"\(Int(8 + plotHeight))\" x2=\"\(Int(width - 6))\" y2=\"\(Int(8 + plotHeight))\"/>"
            + "<text class=\"tick\" x=\"\(Int(left - 4))\" y=\"14\" text-anchor=\"end\">\(HTMLText.escape(format(high, chart.unit)))</text>"
            + "<text class=\"tick\" x=\"\(Int(left - 4))\" y=\"\(Int(8 + plotHeight))\" text-anchor=\"end\">\(HTMLText.escape(format(low, chart.unit)))</text>"
            + "<text class=\"tick\" x=\"\(Int(left))\" y=\"\(Int(height - 4))\">−\(chart.window)</text>"
            + "<text class=\"tick\" x=\"\(Int(width - 6))\" y=\"\(Int(height - 4))\" text-anchor=\"end\">now</text>"
        if chart.points.isEmpty {
            out +=
                "<text class=\"tick\" x=\"\(Int(left + plotWidth / 2))\" y=\"\(Int(8 + plotHeight / 2))\" text-anchor=\"middle\">no data yet</text>"
        } else {
            let upper = chart.points.map { "\(x($0.time)),\(y($0.max))" }
            let lower = chart.points.reversed().map { "\(x($0.time)),\(y($0.min))" }
            out += "<polygon class=\"band\" points=\"\((upper + lower).joined(separator: " "))\"/>"
            out +=
                "<polyline class=\"line\" points=\"\(chart.points.map { "\(x($0.time)),\(y($0.average))" }.joined(separator: " "))\"/>"
        }
        return out + "</svg>"
    }

    /// `▁▂▅▇█`: one character per point, for the terminal.
    static func sparkline(_ points: [ChartPoint]) -> String {
        let blocks = Array("▁▂▃▄▅▆▇█")
        guard let low = points.map(\.average).min(), let high = points.map(\.average).max() else { return "" }
        return String(
            points.map { point in
                high - low < 1e-9 ? blocks[0] : blocks[min(7, Int((point.average - low) / (high - low) * 7.999))]
            })
    }
}

/// Text for HTML: every character that means something in markup escaped.
enum HTMLText {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if InertText.isUnsafe(scalar) && scalar != "\n" && scalar != "\t" {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
