internal import PHCConfig
internal import PHCCore

/// `gpu:<index>` for every NVIDIA GPU: temperature, utilisation, memory, power,
/// performance state, persistence mode, uncorrected ECC errors, retired pages
/// and remapped rows, active throttle reasons.
///
/// Every run makes the cheap CSV query; every `detailsEvery`-th run (and on
/// `phc-agent check`) also `nvidia-smi -q -x`, whose findings are added. When
/// `nvidia-smi` is missing, hangs or fails ("GPU has fallen off the bus"), every
/// GPU known from earlier runs is reported crit with the reason, so its id
/// stays in the manifest.
public struct GPUCheck: HostCheck {
    public let configuration: GPUCheckConfiguration

    public init(_ configuration: GPUCheckConfiguration) {
        self.configuration = configuration
    }

    public var resultIDs: [String] { [Self.toolID] }
    public var kind: String { "gpu" }
    /// Both queries may run.
    public var timeout: Duration { configuration.timeout * 2 }

    static let toolID = "gpu:nvidia-smi"

    public func run(in context: CheckContext) async -> CheckReport {
        let memory = context.memory[Self.toolID] ?? [:]
        let runs = Int(memory["runs"] ?? "") ?? 0
        let known = (memory["indexes"] ?? "").split(separator: ",").compactMap { Int($0) }
        var newMemory = memory
        newMemory["runs"] = String(runs + 1)

        let readings: [GPUReading]
        switch await query(context, legacyFirst: memory["fields"] == "legacy") {
        case .success(let (value, legacy)):
            readings = value
            newMemory["fields"] = legacy ? "legacy" : "modern"
        case .failure(let reason):
            var report = CheckReport(results: failure(reason, known: known))
            report.memory[Self.toolID] = newMemory
            return report
        }

        var details: [String: GPUDetails] = [:]
        var detailsProblem: String?
        if context.detailed || runs % configuration.detailsEvery == 0 {
            switch await queryDetails(context) {
            case .success(let parsed):
                // Matched by uuid; by position only when the XML gives none.
                for (position, gpu) in parsed.enumerated() { details[gpu.uuid ?? "#\(position)"] = gpu }
            case .failure(let reason):
                detailsProblem = reason.description
            }
        }

        var results = readings.map { reading in
            evaluate(reading, details: reading.uuid.flatMap { details[$0] } ?? details["#\(reading.index)"])
        }
        let lost = known.filter { index in !readings.contains { $0.index == index } }
        for index in lost {
            results.append(
                CheckResult(
                    id: "gpu:\(index)", kind: kind, status: .crit,
                    summary: "GPU \(index) is gone from nvidia-smi's list (fallen off the bus?)"))
        }
        if let detailsProblem, let first = results.indices.first {
            results[first].summary += "; detailed query failed: \(detailsProblem)"
        }
        newMemory["indexes"] = Set(readings.map(\.index) + known).sorted().map(String.init).joined(separator: ",")
        return CheckReport(results: results, memory: [Self.toolID: newMemory])
    }

    /// The CSV query; retried with the older field names when the driver refuses the new ones.
    private func query(_ context: CheckContext, legacyFirst: Bool) async -> Result<([GPUReading], Bool), GPUFailure> {
        var lastReason = ""
        for legacy in legacyFirst ? [true, false] : [false, true] {
            let fields = legacy ? NvidiaSMI.legacyFields : NvidiaSMI.fields
            let output: CommandOutput
            do {
                output = try await context.processes.run(
                    configuration.nvidiaSMI, ["--query-gpu=" + fields.joined(separator: ","), "--format=csv,nounits"],
                    timeout: configuration.timeout, outputLimit: 1024 * 1024)
            } catch {
                switch error {
                case .notFound:
                    return .failure(
                        GPUFailure("\(configuration.nvidiaSMI) not found, but this host is configured with GPUs"))
                default:
                    return .failure(GPUFailure(error.description))
                }
            }
            let text = output.standardOutput + output.standardError
            if output.exitStatus != 0 {
                lastReason = Self.firstLine(text) ?? "exit status \(output.exitStatus)"
                if text.contains("is not a valid field to query") { continue }
                return .failure(GPUFailure("nvidia-smi failed: \(lastReason)"))
            }
            do {
                return .success((try NvidiaSMI.parseCSV(output.standardOutput, requested: fields), legacy))
            } catch {
                return .failure(GPUFailure("cannot read nvidia-smi's answer: \(error.description)"))
            }
        }
        return .failure(GPUFailure("nvidia-smi failed: \(lastReason)"))
    }

    private func queryDetails(_ context: CheckContext) async -> Result<[GPUDetails], GPUFailure> {
        do {
            let output = try await context.processes.run(
                configuration.nvidiaSMI, ["-q", "-x"], timeout: configuration.timeout, outputLimit: 16 * 1024 * 1024)
            guard output.exitStatus == 0 else {
                return .failure(
                    GPUFailure(
                        Self.firstLine(output.standardOutput + output.standardError) ?? "exit \(output.exitStatus)"))
            }
            return .success(try GPUDetails.parse(Array(output.standardOutput.utf8)))
        } catch let error as CommandError {
            return .failure(GPUFailure(error.description))
        } catch {
            return .failure(GPUFailure("\(error)"))
        }
    }

    struct GPUFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private func failure(_ reason: GPUFailure, known: [Int]) -> [CheckResult] {
        let ids = known.isEmpty ? [Self.toolID] : known.map { "gpu:\($0)" }
        return ids.map { CheckResult(id: $0, kind: kind, status: .crit, summary: reason.description) }
    }

    func evaluate(_ gpu: GPUReading, details: GPUDetails?) -> CheckResult {
        var findings = Findings()
        var observations: [String: ObservationValue] = [:]
        observations["name"] = gpu.name.map { .string($0) }
        observations["uuid"] = gpu.uuid.map { .string($0) }
        observations["pstate"] = gpu.pstate.map { .string($0) }
        observations["persistence_mode"] = gpu.persistenceMode.map { .bool($0) }
        observations["mig"] = (gpu.migEnabled ?? details?.migEnabled).map { .bool($0) }
        if let details, details.migDevices > 0 { observations["mig_devices"] = .int(Int64(details.migDevices)) }
        let temperature = gpu.temperatureC ?? details?.temperatureC
        observations["temperature_c"] = temperature.map { .double($0) }
        let utilization = gpu.utilizationPercent ?? details?.utilizationPercent
        observations["utilization_pct"] = utilization.map { .double($0) }
        let usedMiB = gpu.memoryUsedMiB ?? details?.memoryUsedMiB
        let totalMiB = gpu.memoryTotalMiB ?? details?.memoryTotalMiB
        observations["memory_used_bytes"] = usedMiB.map { .int(Int64(saturating: $0 * 1_048_576)) }
        observations["memory_total_bytes"] = totalMiB.map { .int(Int64(saturating: $0 * 1_048_576)) }
        observations["power_draw_w"] = (gpu.powerDrawW ?? details?.powerDrawW).map { .double($0) }
        observations["power_limit_w"] = (gpu.powerLimitW ?? details?.powerLimitW).map { .double($0) }
        let volatile = max(gpu.eccUncorrectedVolatile ?? 0, details?.eccUncorrectedVolatile ?? 0)
        let aggregate = max(gpu.eccUncorrectedAggregate ?? 0, details?.eccUncorrectedAggregate ?? 0)
        if gpu.eccUncorrectedVolatile != nil || details?.eccUncorrectedVolatile != nil {
            observations["ecc_uncorrected_volatile"] = .int(volatile)
        }
        if gpu.eccUncorrectedAggregate != nil || details?.eccUncorrectedAggregate != nil {
            observations["ecc_uncorrected_aggregate"] = .int(aggregate)
        }
        let remapFailure = gpu.remappedRowsFailure == true || details?.remappedRowsFailure == true
        let remapPending = gpu.remappedRowsPending == true || details?.remappedRowsPending == true
        let retiredPending = gpu.retiredPagesPending == true || details?.retiredPagesPending == true
        observations["remapped_rows_failure"] = (gpu.remappedRowsFailure ?? details?.remappedRowsFailure).map {
            .bool($0)
        }
        observations["remapped_rows_pending"] = (gpu.remappedRowsPending ?? details?.remappedRowsPending).map {
            .bool($0)
        }
        if let count = details?.retiredPagesDoubleBit { observations["retired_pages_double_bit"] = .int(count) }
        let reasons = Array(Set(gpu.throttleReasons + (details?.activeThrottleReasons ?? []))).sorted()
        if !reasons.isEmpty { observations["throttle_reasons"] = .string(reasons.joined(separator: ",")) }

        if !gpu.failedFields.isEmpty {
            findings.add(.crit, "the GPU answers errors (\(gpu.failedFields.prefix(3).joined(separator: ", ")))")
        }
        if let temperature {
            if let crit = configuration.temperatureC.crit, temperature >= crit {
                findings.add(.crit, "\(Int(saturating: temperature)) °C, at or over \(Int(saturating: crit)) °C")
            } else if let warn = configuration.temperatureC.warn, temperature >= warn {
                findings.add(.warn, "\(Int(saturating: temperature)) °C, at or over \(Int(saturating: warn)) °C")
            }
        }
        if let usedMiB, let totalMiB, totalMiB > 0 {
            let used = Int64(saturating: usedMiB * 1_048_576)
            let total = Int64(saturating: totalMiB * 1_048_576)
            for (status, limit) in [
                (CheckStatus.crit, configuration.memoryUsed.crit), (.warn, configuration.memoryUsed.warn),
            ] {
                guard let limit else { continue }
                if used >= limit.bytes(ofTotal: total) {
                    findings.add(
                        status,
                        "memory \(Int(saturating: (usedMiB / totalMiB * 100).rounded()))% used, at or over \(limit)")
                    break
                }
            }
        }
        if volatile > 0 {
            findings.add(.crit, "\(volatile) uncorrected ECC errors since boot")
        } else if aggregate > 0 {
            findings.add(.warn, "\(aggregate) uncorrected ECC errors in its lifetime")
        }
        if remapFailure {
            findings.add(.crit, "row remapping failed (the GPU needs service)")
        } else if remapPending {
            findings.add(.warn, "remapped rows pending (reset the GPU to apply)")
        }
        if retiredPending { findings.add(.warn, "page retirement pending (reset the GPU to apply)") }
        let troubling = reasons.filter { NvidiaSMI.troubling.contains($0) }
        if !troubling.isEmpty { findings.add(.warn, "held back: \(troubling.joined(separator: ", "))") }
        if let utilization, utilization >= 50, let pstate = gpu.pstate, let level = Int(pstate.dropFirst()), level >= 5
        {
            findings.add(.warn, "\(Int(saturating: utilization))% busy but in low power state \(pstate)")
        }

        var details: [String] = [gpu.name ?? "GPU \(gpu.index)"]
        if let temperature { details.append("\(Int(saturating: temperature)) °C") }
        if let utilization { details.append("\(Int(saturating: utilization))% busy") }
        if let usedMiB, let totalMiB {
            details.append(
                "\(ByteCount.format(Int64(saturating: usedMiB * 1_048_576))) of \(ByteCount.format(Int64(saturating: totalMiB * 1_048_576)))"
            )
        }
        if let power = gpu.powerDrawW { details.append("\(Int(saturating: power.rounded())) W") }
        if let pstate = gpu.pstate { details.append(pstate) }
        return CheckResult(
            id: "gpu:\(gpu.index)", kind: kind, status: findings.status,
            summary: findings.summary(details: details.joined(separator: ", ")), observations: observations)
    }

    static func firstLine(_ text: String) -> String? {
        text.split(whereSeparator: \.isNewline).map { $0.trimmed() }.first { !$0.isEmpty }
    }
}
