internal import PHCCore

/// `phc.prom`: the fleet in Prometheus text exposition, for node_exporter's textfile collector.
/// Every metric has `# HELP` and `# TYPE`, names carry base units, and label values are escaped.
/// Pure.
enum PromText {
    /// A device's latest observation, as a gauge.
    struct Gauge: Equatable {
        var metric: String
        var help: String
        /// The label naming what inside the device it measures (`gpu`, `mount`, `server`, …).
        var subject: String
        var scale: Double
    }

    /// (check kind, observation key) → the gauge it is published as: one list, in base units.
    static let gauges: [String: Gauge] = [
        "gpu/temperature_c": Gauge(
            metric: "phc_gpu_temperature_celsius", help: "GPU temperature.", subject: "gpu", scale: 1),
        "gpu/utilization_pct": Gauge(
            metric: "phc_gpu_utilization_ratio", help: "GPU utilisation (0 to 1).", subject: "gpu", scale: 0.01),
        "gpu/memory_used_bytes": Gauge(
            metric: "phc_gpu_memory_used_bytes", help: "GPU memory in use.", subject: "gpu", scale: 1),
        "gpu/memory_total_bytes": Gauge(
            metric: "phc_gpu_memory_total_bytes", help: "GPU memory in all.", subject: "gpu", scale: 1),
        "gpu/power_draw_w": Gauge(
            metric: "phc_gpu_power_draw_watts", help: "GPU power draw.", subject: "gpu", scale: 1),
        "gpu/power_limit_w": Gauge(
            metric: "phc_gpu_power_limit_watts", help: "GPU power limit.", subject: "gpu", scale: 1),
        "inference/kv_cache_usage_pct": Gauge(
            metric: "phc_inference_kv_cache_usage_ratio", help: "Inference server KV-cache use (0 to 1).",
            subject: "server", scale: 0.01),
        "inference/requests_running": Gauge(
            metric: "phc_inference_requests_running", help: "Requests the inference server is running.",
            subject: "server", scale: 1),
        "inference/requests_waiting": Gauge(
            metric: "phc_inference_requests_waiting", help: "Requests waiting at the inference server.",
            subject: "server", scale: 1),
        "inference/health_ms": Gauge(
            metric: "phc_inference_health_latency_seconds", help: "Time the inference server took to answer /health.",
            subject: "server", scale: 0.001),
        "http/latency_ms": Gauge(
            metric: "phc_http_latency_seconds", help: "Time the HTTP endpoint took to answer.", subject: "endpoint",
            scale: 0.001),
        "mount/statfs_ms": Gauge(
            metric: "phc_mount_statfs_duration_seconds", help: "Time statfs took on the mount.", subject: "mount",
            scale: 0.001),
        "mount/write_probe_ms": Gauge(
            metric: "phc_mount_write_probe_duration_seconds", help: "Time the write probe took on the mount.",
            subject: "mount", scale: 0.001),
        "mount/free_bytes": Gauge(
            metric: "phc_mount_free_bytes", help: "Space available on the mount.", subject: "mount", scale: 1),
        "mount/total_bytes": Gauge(
            metric: "phc_mount_size_bytes", help: "Size of the mount.", subject: "mount", scale: 1),
        "mount/inodes_free": Gauge(
            metric: "phc_mount_inodes_free", help: "Inodes available on the mount.", subject: "mount", scale: 1),
        "system/load1": Gauge(metric: "phc_system_load1", help: "One-minute load average.", subject: "", scale: 1),
        "system/memory_available_bytes": Gauge(
            metric: "phc_system_memory_available_bytes", help: "Memory available.", subject: "", scale: 1),
        "system/memory_total_bytes": Gauge(
            metric: "phc_system_memory_total_bytes", help: "Memory in all.", subject: "", scale: 1),
        "system/root_free_bytes": Gauge(
            metric: "phc_system_root_free_bytes", help: "Space available on /.", subject: "", scale: 1),
        "process/cpu_percent": Gauge(
            metric: "phc_process_cpu_usage_ratio",
            help: "CPU use of the matching processes since the previous run, in CPUs (1 is one whole CPU).",
            subject: "process", scale: 0.01),
        "process/rss_bytes": Gauge(
            metric: "phc_process_resident_memory_bytes", help: "Resident memory of the matching processes.",
            subject: "process", scale: 1),
    ]

    struct Input {
        var report: FleetReport
        /// Latest values of the series, for devices that are talking.
        var series: [SeriesInfo]
        var passSeconds: Double
        var passFinishedAt: Int64
    }

    static func render(_ input: Input) -> String {
        var out = ""
        out.reserveCapacity(input.report.devices.count * 600 + 4096)
        func family(_ name: String, _ help: String, _ lines: [String]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for line in lines { out += line + "\n" }
        }
        let devices = input.report.devices
        family(
            "phc_device_up", "Whether the device is talking (1) or silent (0).",
            devices.map { "phc_device_up{device=\"\(escape($0.device))\"} \($0.silent ? 0 : 1)" })
        family(
            "phc_device_status", "Worst status of the device: 0 ok, 1 warn, 2 crit, 3 unknown.",
            devices.map { "phc_device_status{device=\"\(escape($0.device))\"} \(code($0.status))" })
        family(
            "phc_device_trusted", "Whether the device's last accepted manifest was signed by a key trusted for it.",
            devices.map { "phc_device_trusted{device=\"\(escape($0.device))\"} \($0.trust == "signed" ? 1 : 0)" })
        family(
            "phc_device_last_manifest_timestamp_seconds", "Issue time of the last accepted manifest.",
            devices.compactMap { device in
                device.lastSeen.flatMap(Timestamp.init(rfc3339:)).map {
                    "phc_device_last_manifest_timestamp_seconds{device=\"\(escape(device.device))\"} \($0.secondsSinceEpoch)"
                }
            })
        var checks: [String] = []
        for device in devices {
            for check in device.checks {
                let kind = String(check.id.prefix { $0 != ":" })
                checks.append(
                    "phc_check_status{device=\"\(escape(device.device))\",check=\"\(escape(check.id))\",kind=\"\(escape(kind))\"} "
                        + "\(code(check.status))")
            }
        }
        family("phc_check_status", "Status of the check: 0 ok, 1 warn, 2 crit, 3 unknown.", checks)

        var firing: [String: Int] = [:]
        for alert in input.report.alerts where alert.state == AlertState.firing.rawValue {
            firing["\(alert.name)\u{1F}\(alert.severity.rawValue)", default: 0] += 1
        }
        family(
            "phc_alerts_firing", "Alerts firing, by name and severity.",
            firing.sorted { $0.key < $1.key }.map { key, count in
                let parts = key.split(separator: "\u{1F}", omittingEmptySubsequences: false)
                return
                    "phc_alerts_firing{alertname=\"\(escape(String(parts[0])))\",severity=\"\(escape(String(parts[1])))\"} \(count)"
            })
        family(
            "phc_collector_pass_duration_seconds", "How long the last collector pass took.",
            ["phc_collector_pass_duration_seconds \(number(input.passSeconds))"])
        family(
            "phc_collector_last_pass_timestamp_seconds", "When the last collector pass finished.",
            ["phc_collector_last_pass_timestamp_seconds \(input.passFinishedAt)"])

        // Observations of talking devices, from their last manifest.
        let talking = Dictionary(
            devices.filter { !$0.silent }.compactMap { device in
                device.lastSeen.flatMap(Timestamp.init(rfc3339:)).map {
                    (device.device.lowercased(), $0.secondsSinceEpoch)
                }
            }, uniquingKeysWith: { a, _ in a })
        var byMetric: [String: (gauge: Gauge, lines: [String])] = [:]
        for series in input.series {
            guard let issued = talking[series.device], series.lastTime == issued, let value = series.lastValue else {
                continue
            }
            let kind = String(series.check.prefix { $0 != ":" })
            guard let gauge = gauges["\(kind)/\(series.key)"] else { continue }
            var labels = "device=\"\(escape(series.device))\""
            if !gauge.subject.isEmpty {
                let subject =
                    series.check.contains(":") ? String(series.check.drop { $0 != ":" }.dropFirst()) : series.check
                labels += ",\(gauge.subject)=\"\(escape(subject))\""
            }
            byMetric[gauge.metric, default: (gauge, [])].lines.append(
                "\(gauge.metric){\(labels)} \(number(value * gauge.scale))")
        }
        for (metric, entry) in byMetric.sorted(by: { $0.key < $1.key }) {
            family(metric, entry.gauge.help, entry.lines)
        }
        return out
    }

    static func code(_ status: CheckStatus) -> Int {
        switch status {
        case .ok: 0
        case .warn: 1
        case .crit: 2
        case .unknown: 3
        }
    }

    /// Label values: backslash, double quote and newline escaped, as the exposition format says.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n", "\r\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
