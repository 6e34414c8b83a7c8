internal import PHCCore

/// An alert as receivers see it: labels, annotations and times, Alertmanager's model.
///
/// Labels: `alertname`, `device`, `severity` (`warn`, `crit`; `none` for `Watchdog`) and, where they
/// apply, `check` (the check id), `kind` (the check kind) and `receiver` (`ReceiverFailing`).
/// Annotations: `summary` (one line, from the signed manifest where there is one) and `description`.
struct AlertNotice: Codable, Sendable, Equatable {
    enum Status: String, Codable, Sendable {
        case firing, resolved
    }

    var fingerprint: String
    var status: Status
    var labels: [String: String]
    var annotations: [String: String]
    /// Unix seconds.
    var startsAt: Int64
    /// When it resolved; nil while firing.
    var endsAt: Int64?

    var name: String { labels["alertname"] ?? "" }
    var severity: String { labels["severity"] ?? "" }

    /// The notice of a stored alert.
    init(_ alert: AlertRecord) {
        var labels = ["alertname": alert.name.rawValue, "device": alert.device, "severity": alert.severity.rawValue]
        if let check = alert.checkID {
            if alert.name == .receiverFailing {
                labels["receiver"] = check
            } else {
                labels["check"] = check
                labels["kind"] = String(check.prefix { $0 != ":" })
            }
        }
        self.init(
            labels: labels, summary: alert.summary, description: Self.describe(alert),
            status: alert.state == .resolved ? .resolved : .firing, startsAt: alert.firedAt ?? alert.startedAt,
            endsAt: alert.state == .resolved ? alert.resolvedAt : nil)
    }

    init(
        labels: [String: String], summary: String, description: String, status: Status, startsAt: Int64,
        endsAt: Int64?
    ) {
        self.labels = labels
        self.annotations = ["summary": summary, "description": description]
        self.status = status
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.fingerprint = Self.fingerprint(labels)
    }

    /// The collector's dead man's switch: always firing while passes run.
    static func watchdog(host: String, since: Int64) -> AlertNotice {
        AlertNotice(
            labels: ["alertname": AlertName.watchdog.rawValue, "device": host, "severity": "none"],
            summary: "phc-collector on \(host) is running its passes",
            description: "Always firing while the collector runs: if it stops arriving, the collector has stopped.",
            status: .firing, startsAt: since, endsAt: nil)
    }

    /// 16 hex digits identifying the label set (as Alertmanager's fingerprints do).
    static func fingerprint(_ labels: [String: String]) -> String {
        let text = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        return String(Digest.sha256Hex(Array(text.utf8)).prefix(16))
    }

    static func describe(_ alert: AlertRecord) -> String {
        let what: String =
            switch alert.name {
            case .checkFailing: "check \(alert.checkID ?? "") on \(alert.device) is \(alert.severity.rawValue)"
            case .deviceSilent: "\(alert.device) has stopped sending manifests"
            case .signatureInvalid: "a manifest of \(alert.device) is not signed by a key trusted for it"
            case .manifestReplay: "\(alert.device)'s manifest goes back in sequence (replayed or rolled back)"
            case .manifestUnreadable: "a file of \(alert.device) on the share cannot be read"
            case .clockSkew: "\(alert.device)'s clock is off"
            case .receiverFailing: "notifications to receiver \(alert.checkID ?? "") keep failing"
            case .watchdog: "the collector is running"
            }
        return InertText.clipped("\(what): \(alert.summary)", to: 1024)
    }
}

/// Label names and the collector's own host name.
enum AlertLabels {
    /// `[a-zA-Z_][a-zA-Z0-9_]*`, as Prometheus has it.
    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_"
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || $0 == "_" || ("0"..."9").contains($0))
        }
    }
}
