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
        devices.eachRecord { record in
            let conditions = DeviceRecord.conditions(
                of: record, configured: configured[record.pointee.name], now: now,
                defaultSilentAfter: defaultSilentAfter)
            if !conditions.isEmpty { byDevice.append((record.pointee.name, conditions)) }
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
    /// What is wrong with the device whose record `record` points to, right now (`configured`: its
    /// configuration, if any), read field by field where it lies (``DeviceRecords/eachRecord(_:)``).
    fileprivate static func conditions(
        of record: UnsafePointer<DeviceRecord>, configured device: DeviceConfiguration?, now: Int64,
        defaultSilentAfter: Duration?
    ) -> [AlertCondition] {
        var conditions: [AlertCondition] = []
        let name = record.pointee.name
        if let reason = DeviceSilence.reason(
            issuedAt: record.pointee.issuedAt, expiresAt: record.pointee.expiresAt, configured: device, now: now,
            defaultSilentAfter: defaultSilentAfter)
        {
            conditions.append(
                AlertCondition(
                    name: .deviceSilent, device: name, severity: DeviceSilence.severity(device),
                    summary: "\(name) is \(reason)"))
        }
        // A silent device's check alerts stay (inhibited while it is silent: old results are not news),
        // counted in manifests: the same manifest read again is not one more.
        for problem in problems(in: record.pointee.problemsJSON) {
            conditions.append(
                AlertCondition(
                    name: .checkFailing, device: name, checkID: problem.id,
                    severity: problem.status == .crit ? .crit : .warn, summary: problem.summary,
                    evidence: record.pointee.lastSequence))
        }
        if let rejection = record.pointee.rejection, let kind = record.pointee.rejectionKind {
            conditions.append(
                AlertCondition(name: kind.alertName, device: name, severity: kind.severity, summary: rejection))
        }
        if let problem = record.pointee.fileProblem {
            conditions.append(
                AlertCondition(
                    name: problem.kind.alertName, device: name, severity: problem.kind.severity,
                    summary: problem.reason))
        }
        let skewSeconds = record.pointee.skewSeconds
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
