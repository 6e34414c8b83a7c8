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

    /// Check kind → observation key → the gauge it is published as.
    static let byKind: [String: [String: Gauge]] = Dictionary(
        grouping: gauges.map {
            (String($0.key.prefix { $0 != "/" }), String($0.key.drop { $0 != "/" }.dropFirst()), $0.value)
        },
        by: \.0
    ).mapValues { Dictionary(uniqueKeysWithValues: $0.map { ($0.1, $0.2) }) }

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
        /// Each device's latest series values (from its last accepted manifest), by lower-cased name.
        var values: [String: [SeriesValue]]
    }

    /// The collector's own metrics: how long the pass took, when it finished.
    static func renderPass(seconds: Double, finishedAt: Int64) -> String {
        "# HELP phc_collector_pass_duration_seconds How long the last collector pass took.\n"
            + "# TYPE phc_collector_pass_duration_seconds gauge\n"
            + "phc_collector_pass_duration_seconds \(number(seconds))\n"
            + "# HELP phc_collector_last_pass_timestamp_seconds When the last collector pass finished.\n"
            + "# TYPE phc_collector_last_pass_timestamp_seconds gauge\n"
            + "phc_collector_last_pass_timestamp_seconds \(finishedAt)\n"
    }

    /// The devices, checks, alerts and observations.
    static func renderFleet(_ input: Input) -> String {
        var out = ""
        out.reserveCapacity(input.report.devices.count * 900 + 4096)
        func head(_ name: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n" }
        let devices = input.report.devices
        let names = devices.map { escape($0.device) }
        head("phc_device_up", "Whether the device is talking (1) or silent (0).")
        for (device, name) in zip(devices, names) {
            out += "phc_device_up{device=\"\(name)\"} \(device.silent ? 0 : 1)\n"
        }
        head("phc_device_status", "Worst status of the device: 0 ok, 1 warn, 2 crit, 3 unknown.")
        for (device, name) in zip(devices, names) {
            out += "phc_device_status{device=\"\(name)\"} \(code(device.status))\n"
        }
        head("phc_device_trusted", "Whether the device's last accepted manifest was signed by a key trusted for it.")
        for (device, name) in zip(devices, names) {
            out += "phc_device_trusted{device=\"\(name)\"} \(device.trust == "signed" ? 1 : 0)\n"
        }
        head("phc_device_last_manifest_timestamp_seconds", "Issue time of the last accepted manifest.")
        for (device, name) in zip(devices, names) {
            guard let seen = device.lastSeen.flatMap(Timestamp.init(rfc3339:)) else { continue }
            out += "phc_device_last_manifest_timestamp_seconds{device=\"\(name)\"} \(seen.secondsSinceEpoch)\n"
        }
        head("phc_check_status", "Status of the check: 0 ok, 1 warn, 2 crit, 3 unknown.")
        for (device, name) in zip(devices, names) {
            for check in device.checks {
                let kind = escape(String(check.id.prefix { $0 != ":" }))
                out +=
                    "phc_check_status{device=\"\(name)\",check=\"\(escape(check.id))\",kind=\"\(kind)\"} \(code(check.status))\n"
            }
        }

        var firing: [String: Int] = [:]
        for alert in input.report.alerts where alert.state == AlertState.firing.rawValue {
            firing["alertname=\"\(escape(alert.name))\",severity=\"\(escape(alert.severity.rawValue))\"", default: 0] +=
                1
        }
        head("phc_alerts_firing", "Alerts firing, by name and severity.")
        for (labels, count) in firing.sorted(by: { $0.key < $1.key }) {
            out += "phc_alerts_firing{\(labels)} \(count)\n"
        }

        // Observations of talking devices, from their last manifest.
        var lines: [String: String] = [:]
        var used: [String: Gauge] = [:]
        for (device, name) in zip(devices, names) where !device.silent {
            for value in input.values[device.device.lowercased()] ?? [] {
                guard let gauge = byKind[String(value.check.prefix { $0 != ":" })]?[value.key] else { continue }
                var line = "\(gauge.metric){device=\"\(name)\""
                if !gauge.subject.isEmpty {
                    let subject =
                        value.check.contains(":") ? String(value.check.drop { $0 != ":" }.dropFirst()) : value.check
                    line += ",\(gauge.subject)=\"\(escape(subject))\""
                }
                line += "} \(number(value.value * gauge.scale))\n"
                lines[gauge.metric, default: ""] += line
                used[gauge.metric] = gauge
            }
        }
        for (metric, text) in lines.sorted(by: { $0.key < $1.key }) {
            head(metric, used[metric]!.help)
            out += text
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
        // Most values need nothing: no copy then.
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return text }
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
