internal import PHCCore

/// What is wrong right now, device by device: the input of ``AlertEvaluator``. Pure.
enum AlertConditions {
    static func of(
        devices: DeviceRecords, configured: [String: DeviceConfiguration], now: Int64,
        defaultSilentAfter: Duration?
    ) -> [AlertCondition] {
        // Device by device in the records' own order, each read where it lies, then the configured devices
        // without a record; the few devices with conditions are sorted at the end.
        var byDevice: [(device: String, conditions: [AlertCondition])] = []
        devices.forEach { record in
            let conditions = record.conditions(
                configured: configured[record.name], now: now, defaultSilentAfter: defaultSilentAfter)
            if !conditions.isEmpty { byDevice.append((record.name, conditions)) }
        }
        for (name, device) in configured where devices.position(of: name) == nil {
            if let reason = DeviceSilence.reason(
                of: nil, configured: device, now: now, defaultSilentAfter: defaultSilentAfter)
            {
                byDevice.append(
                    (
                        name,
                        [
                            AlertCondition(
                                name: .deviceSilent, device: name, severity: DeviceSilence.severity(device),
                                summary: "\(name) is \(reason)")
                        ]
                    ))
            }
        }
        return byDevice.sorted { $0.device < $1.device }.flatMap(\.conditions)
    }
}

extension DeviceRecord {
    /// What is wrong with this device right now (`configured`: its configuration, if any).
    fileprivate func conditions(configured device: DeviceConfiguration?, now: Int64, defaultSilentAfter: Duration?)
        -> [AlertCondition]
    {
        var conditions: [AlertCondition] = []
        if let reason = DeviceSilence.reason(
            issuedAt: issuedAt, expiresAt: expiresAt, configured: device, now: now,
            defaultSilentAfter: defaultSilentAfter)
        {
            conditions.append(
                AlertCondition(
                    name: .deviceSilent, device: name, severity: DeviceSilence.severity(device),
                    summary: "\(name) is \(reason)"))
        }
        // A silent device's check alerts stay (inhibited while it is silent: old results are not news),
        // counted in manifests: the same manifest read again is not one more.
        for problem in problems {
            conditions.append(
                AlertCondition(
                    name: .checkFailing, device: name, checkID: problem.id,
                    severity: problem.status == .crit ? .crit : .warn, summary: problem.summary,
                    evidence: lastSequence))
        }
        if let rejection, let kind = rejectionKind {
            conditions.append(
                AlertCondition(name: kind.alertName, device: name, severity: kind.severity, summary: rejection))
        }
        if let problem = fileProblem {
            conditions.append(
                AlertCondition(
                    name: problem.kind.alertName, device: name, severity: problem.kind.severity,
                    summary: problem.reason))
        }
        if skewSeconds != 0 {
            conditions.append(
                AlertCondition(
                    name: .clockSkew, device: name, severity: .warn,
                    summary: "\(name)'s clock is \(Age.text(skewSeconds.saturatingMagnitude)) "
                        + (skewSeconds > 0 ? "ahead" : "behind")))
        }
        return conditions
    }
}
