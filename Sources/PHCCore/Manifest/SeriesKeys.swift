/// The observations kept as history (series): numeric values the agent's checks emit, one list
/// shared by the agent, which writes them, and the collector, which keeps them. Any other
/// observation is evidence of its manifest only.
public enum SeriesKeys {
    /// What a value measures, for axes, and for Prometheus names in base units.
    public enum Unit: String, Sendable {
        case celsius, percent, bytes, milliseconds, watts, count, load
    }

    /// Key → unit.
    public static let all: [String: Unit] = [
        // gpu
        "temperature_c": .celsius, "utilization_pct": .percent, "memory_used_bytes": .bytes,
        "memory_total_bytes": .bytes, "power_draw_w": .watts, "power_limit_w": .watts,
        // inference
        "kv_cache_usage_pct": .percent, "requests_running": .count, "requests_waiting": .count,
        "health_ms": .milliseconds,
        // http
        "latency_ms": .milliseconds,
        // mount
        "statfs_ms": .milliseconds, "write_probe_ms": .milliseconds, "free_bytes": .bytes, "total_bytes": .bytes,
        "inodes_free": .count,
        // system
        "load1": .load, "memory_available_bytes": .bytes, "root_free_bytes": .bytes,
        // process
        "cpu_percent": .percent, "rss_bytes": .bytes,
    ]

    public static func contains(_ key: String) -> Bool { all[key] != nil }
}
