internal import PHCConfig
internal import PHCCore

/// `mount:<path>`: mounted as expected, alone on its mount point, writable unless
/// meant to be read-only, answering statfs in time, with free space and inodes to spare.
public struct MountCheck: HostCheck {
    public let configuration: MountCheckConfiguration
    /// The kernel's mount table (a capture in tests), shared by the mount checks of a run.
    let mountTable: MountTableSnapshot

    public init(_ configuration: MountCheckConfiguration, mountTable: MountTableSnapshot = MountTableSnapshot()) {
        self.configuration = configuration
        self.mountTable = mountTable
    }

    public var id: String { "mount:\(configuration.path)" }
    public var resultIDs: [String] { [id] }
    public var kind: String { "mount" }
    public var timeout: Duration { configuration.timeout }

    /// Observation key set to `false` when the mount must not be touched (missing, hung, failing).
    static let responsiveKey = "responsive"

    public func run(in context: CheckContext) async -> CheckReport {
        CheckReport(await evaluate(context))
    }

    private func evaluate(_ context: CheckContext) async -> CheckResult {
        let path = configuration.path
        var findings = Findings()
        var observations: [String: ObservationValue] = [:]

        let table: [MountEntry]
        do {
            table = try mountTable.entries()
        } catch {
            return result(.unknown, "cannot read the mount table: \(error.description)", [Self.responsiveKey: false])
        }
        let stack = table.filter { $0.mountPoint == path }
        // A systemd automount point (autofs) under the real mount is normal, not stacking.
        let real = stack.filter { $0.fstype != "autofs" }
        let mounts = real.isEmpty ? stack : real
        guard let top = mounts.last else {
            let expected = [configuration.fstype, configuration.source].compactMap { $0 }.joined(separator: " ")
            return result(
                .crit, "not mounted" + (expected.isEmpty ? "" : " (expected \(expected))"),
                [Self.responsiveKey: false, "mounted": false])
        }
        observations["mounted"] = true
        observations["fstype"] = .string(top.fstype)
        observations["source"] = .string(top.source)
        observations["mounts_stacked"] = .int(Int64(mounts.count))
        if mounts.count > 1 {
            let described = mounts.map { "\($0.fstype) \($0.source)\($0.readOnlyReason.map { " (\($0))" } ?? "")" }
            findings.add(.crit, "\(mounts.count) mounts stacked on \(path): \(described.joined(separator: ", "))")
        }
        if let fstype = configuration.fstype, fstype != top.fstype {
            findings.add(.crit, "fstype \(top.fstype), expected \(fstype)")
        }
        if let source = configuration.source, source != top.source {
            findings.add(.crit, "source \(top.source), expected \(source)")
        }
        var readOnly = top.readOnlyReason
        if let reason = readOnly, !configuration.readOnly {
            findings.add(.crit, "mounted read-only (\(reason))")
        }

        let probeName: String? =
            configuration.writeProbe && readOnly == nil
            ? ".phc-probe-\(context.device)-\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff).tmp" : nil
        let outcome = await context.probe.probe(path: path, writeProbeName: probeName, timeout: configuration.timeout)
        var responsive = true
        var usage: FilesystemProbe.Usage?
        switch outcome {
        case .completed(let value):
            usage = value
        case .failed(let step, let code, let value):
            usage = value
            if step == "statfs" {
                responsive = false
                findings.add(.crit, "statfs failed: \(SystemError.describe(code))")
            } else {
                findings.add(.crit, "write probe failed at \(step): \(SystemError.describe(code))")
            }
            observations["error"] = .string(SystemError.name(code))
        case .timedOut(let pid):
            responsive = false
            findings.add(.crit, "not responding: statfs gave no answer within \(DurationText.format(timeout))")
            observations["probe_pid"] = .int(Int64(pid))
        case .stillBlocked(let pid, let since):
            responsive = false
            let age = DurationText.format(.seconds(max(0, context.now.seconds(since: since))))
            findings.add(
                .crit, "not responding: statfs blocked for \(age) (probe pid \(pid) still waiting; not probed again)")
            observations["probe_pid"] = .int(Int64(pid))
            observations["blocked_since"] = .string(since.description)
        case .couldNotStart(let reason):
            responsive = false
            findings.add(.unknown, "could not probe: \(reason)")
        }
        observations[Self.responsiveKey] = .bool(responsive)

        var details: [String] = [top.fstype + " " + top.source]
        if let usage {
            if usage.readOnly && readOnly == nil {
                readOnly = "ro"
                if !configuration.readOnly { findings.add(.crit, "filesystem reports read-only") }
            }
            if readOnly == nil && configuration.readOnly {
                findings.add(.warn, "mounted read-write, expected read-only")
            }
            observations["total_bytes"] = .int(usage.totalBytes)
            observations["free_bytes"] = .int(usage.availableBytes)
            observations["statfs_ms"] = .int(usage.statfsMilliseconds)
            if usage.totalInodes > 0 {
                observations["inodes_total"] = .int(usage.totalInodes)
                observations["inodes_free"] = .int(usage.freeInodes)
            }
            if let write = usage.writeMilliseconds { observations["write_probe_ms"] = .int(write) }
            let percent = usage.totalBytes > 0 ? Double(usage.availableBytes) * 100 / Double(usage.totalBytes) : 0
            details.append("\(ByteCount.format(usage.availableBytes)) free (\(Int(saturating: percent.rounded()))%)")
            details.append("statfs \(usage.statfsMilliseconds) ms")
            if let write = usage.writeMilliseconds, case .completed = outcome { details.append("write \(write) ms") }
            if let minFree = configuration.minFree { checkFree(usage, against: minFree, into: &findings) }
        }
        return result(findings.status, findings.summary(details: details.joined(separator: ", ")), observations)
    }

    private func checkFree(
        _ usage: FilesystemProbe.Usage, against limits: Thresholds<Amount>, into findings: inout Findings
    ) {
        for (status, limit) in [(CheckStatus.crit, limits.crit), (.warn, limits.warn)] {
            guard let limit else { continue }
            let needed = limit.bytes(ofTotal: usage.totalBytes)
            if usage.availableBytes < needed {
                findings.add(status, "only \(ByteCount.format(usage.availableBytes)) free, below \(limit)")
                break
            }
        }
        guard usage.totalInodes > 0 else { return }
        for (status, limit) in [(CheckStatus.crit, limits.crit), (.warn, limits.warn)] {
            guard case .percent(let share)? = limit else { continue }
            if Double(usage.freeInodes) * 100 < share * Double(usage.totalInodes) {
                findings.add(status, "only \(usage.freeInodes) inodes free, below \(limit!)")
                break
            }
        }
    }

    private func result(_ status: CheckStatus, _ summary: String, _ observations: [String: ObservationValue])
        -> CheckResult
    {
        CheckResult(id: id, kind: kind, status: status, summary: summary, observations: observations)
    }
}
