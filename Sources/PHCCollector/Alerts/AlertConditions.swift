internal import PHCCore

/// What is wrong right now, device by device: the input of ``AlertEvaluator``. Pure.
enum AlertConditions {
    static func of(
        devices: [String: DeviceRecord], configured: [String: DeviceConfiguration], now: Int64,
        defaultSilentAfter: Duration?
    ) -> [AlertCondition] {
        // Device by device in the records' own order (no lookups, no sorting of every name), then the
        // configured devices without a record; sorted by device at the end, in the order each device's
        // conditions were made. Few devices have any.
        var conditions: [(order: Int, condition: AlertCondition)] = []
        func add(_ condition: AlertCondition) { conditions.append((conditions.count, condition)) }
        func look(_ name: String, _ record: DeviceRecord?) {
            let device = configured[name]
            if let reason = DeviceSilence.reason(
                of: record, configured: device, now: now, defaultSilentAfter: defaultSilentAfter)
            {
                add(
                    AlertCondition(
                        name: .deviceSilent, device: name, severity: DeviceSilence.severity(device),
                        summary: "\(name) is \(reason)"))
            }
            // A silent device's check alerts stay (inhibited while it is silent: old results are not news),
            // counted in manifests: the same manifest read again is not one more.
            for problem in record?.problems ?? [] {
                add(
                    AlertCondition(
                        name: .checkFailing, device: name, checkID: problem.id,
                        severity: problem.status == .crit ? .crit : .warn, summary: problem.summary,
                        evidence: record?.lastSequence))
            }
            guard let record else { return }
            if let rejection = record.rejection, let kind = record.rejectionKind {
                add(
                    AlertCondition(name: kind.alertName, device: name, severity: kind.severity, summary: rejection))
            }
            if let problem = record.fileProblem {
                add(
                    AlertCondition(
                        name: problem.kind.alertName, device: name, severity: problem.kind.severity,
                        summary: problem.reason))
            }
            if record.skewSeconds != 0 {
                add(
                    AlertCondition(
                        name: .clockSkew, device: name, severity: .warn,
                        summary: "\(name)'s clock is \(Age.text(record.skewSeconds.saturatingMagnitude)) "
                            + (record.skewSeconds > 0 ? "ahead" : "behind")))
            }
        }
        for (name, record) in devices { look(name, record) }
        for name in configured.keys where devices[name] == nil { look(name, nil) }
        return conditions.sorted { ($0.condition.device, $0.order) < ($1.condition.device, $1.order) }.map(\.condition)
    }
}
