#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
internal import PHCCore

/// `fleet.json` (`"schema": "phc.fleet/v1"`): the fleet for machines. Each device with its status,
/// freshness (`last_seen`, `age_s`, `expires_at`, `silent`), trust, checks, firing alerts and
/// availability over 24 h / 7 d / 30 d; the firing alerts; the receivers; a summary.
struct FleetDocument: Encodable {
    static let schemaV1 = "phc.fleet/v1"

    struct Collector: Encodable {
        var host: String
        var lastPass: String
        var passMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case host
            case lastPass = "last_pass"
            case passMilliseconds = "pass_ms"
        }
    }

    struct Entry: Encodable {
        var device: FleetReport.Device
        var alerts: [String]

        enum CodingKeys: String, CodingKey { case alerts }

        func encode(to encoder: any Encoder) throws {
            try device.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(alerts, forKey: .alerts)
        }
    }

    var schema = schemaV1
    var generatedAt: String
    var collector: Collector
    var summary: [String: Int]
    var devices: [Entry]
    var alerts: [FleetReport.Alert]
    var receivers: [ReceiverStatus]

    enum CodingKeys: String, CodingKey {
        case schema, collector, summary, devices, alerts, receivers
        case generatedAt = "generated_at"
    }

    init(report: FleetReport, host: String, passMilliseconds: Int64) {
        let firing = report.alerts.filter { $0.state == AlertState.firing.rawValue }
        let byDevice = Dictionary(grouping: firing, by: { $0.device.lowercased() })
        generatedAt = report.generatedAt
        collector = Collector(host: host, lastPass: report.generatedAt, passMilliseconds: passMilliseconds)
        var summary = ["devices": report.devices.count, "alerts_firing": firing.count]
        for status in ["ok", "warn", "crit", "unknown", "silent"] { summary[status] = 0 }
        for device in report.devices {
            summary[device.status.rawValue, default: 0] += 1
            if device.silent { summary["silent", default: 0] += 1 }
        }
        self.summary = summary
        devices = report.devices.map { device in
            Entry(
                device: device,
                alerts: (byDevice[device.device.lowercased()] ?? []).map { alert in
                    alert.check.map { "\(alert.name) \($0)" } ?? alert.name
                })
        }
        alerts = firing
        receivers = report.receivers
    }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}
