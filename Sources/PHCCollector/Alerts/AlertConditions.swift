internal import PHCCore

/// What is wrong right now, device by device: the input of ``AlertEvaluator``. Pure.
enum AlertConditions {
    static func of(
        devices: [String: DeviceRecord], configured: [String: DeviceConfiguration], now: Int64,
        defaultSilentAfter: Duration?
    ) -> [AlertCondition] {
        // Device by device in the records' own order (no lookups, no sorting of every name), then the
        // configured devices without a record; the few devices with conditions are sorted at the end.
        var byDevice: [(device: String, conditions: [AlertCondition])] = []
        func look(_ name: String, _ record: DeviceRecord?) {
            var conditions: [AlertCondition] = []
            defer { if !conditions.isEmpty { byDevice.append((name, conditions)) } }
            let device = configured[name]
            if let reason = DeviceSilence.reason(
                of: record, configured: device, now: now, defaultSilentAfter: defaultSilentAfter)
            {
                conditions.append(
                    AlertCondition(
                        name: .deviceSilent, device: name, severity: DeviceSilence.severity(device),
                        summary: "\(name) is \(reason)"))
            }
            // A silent device's check alerts stay (inhibited while it is silent: old results are not news),
            // counted in manifests: the same manifest read again is not one more.
            for problem in record?.problems ?? [] {
                conditions.append(
                    AlertCondition(
                        name: .checkFailing, device: name, checkID: problem.id,
                        severity: problem.status == .crit ? .crit : .warn, summary: problem.summary,
                        evidence: record?.lastSequence))
            }
            guard let record else { return }
            if let rejection = record.rejection, let kind = record.rejectionKind {
                conditions.append(
                    AlertCondition(name: kind.alertName, device: name, severity: kind.severity, summary: rejection))
            }
            if let problem = record.fileProblem {
                conditions.append(
                    AlertCondition(
                        name: problem.kind.alertName, device: name, severity: problem.kind.severity,
                        summary: problem.reason))
            }
            if record.skewSeconds != 0 {
                conditions.append(
                    AlertCondition(
                        name: .clockSkew, device: name, severity: .warn,
                        summary: "\(name)'s clock is \(Age.text(record.skewSeconds.saturatingMagnitude)) "
                            + (record.skewSeconds > 0 ? "ahead" : "behind")))
            }
        }
        for (name, record) in devices { look(name, record) }
        for name in configured.keys where devices[name] == nil { look(name, nil) }
        return byDevice.sorted { $0.device < $1.device }.flatMap(\.conditions)
    }
}
