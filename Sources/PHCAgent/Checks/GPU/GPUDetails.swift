internal import PHCCore

/// What the slower `nvidia-smi -q -x` adds for one GPU.
struct GPUDetails: Equatable {
    var uuid: String?
    var name: String?
    var eccUncorrectedVolatile: Int64?
    var eccUncorrectedAggregate: Int64?
    var retiredPagesSingleBit: Int64?
    var retiredPagesDoubleBit: Int64?
    var retiredPagesPending: Bool?
    var remappedRowsUncorrectable: Int64?
    var remappedRowsPending: Bool?
    var remappedRowsFailure: Bool?
    var activeThrottleReasons: [String] = []
    var migEnabled: Bool?
    var migDevices = 0
    var temperatureC: Double?
    var memoryUsedMiB: Double?
    var memoryTotalMiB: Double?
    var powerDrawW: Double?
    var powerLimitW: Double?
    var utilizationPercent: Double?
    var pstate: String?

    /// Reads every `<gpu>` of an `nvidia_smi_log` (schema v10 to v13, with or without DOCTYPE).
    static func parse(_ bytes: [UInt8]) throws(XMLElement.ParseError) -> [GPUDetails] {
        let root = try XMLElement.parse(bytes)
        guard root.name == "nvidia_smi_log" else {
            throw XMLElement.ParseError(offset: 0, reason: "root is <\(root.name)>, not <nvidia_smi_log>")
        }
        return root.children("gpu").map(details)
    }

    private static func details(_ gpu: XMLElement) -> GPUDetails {
        var details = GPUDetails()
        details.uuid = gpu.value("uuid").flatMap(NvidiaSMI.cleaned)
        details.name = gpu.value("product_name").flatMap(NvidiaSMI.cleaned)
        // v10/v11: <double_bit><total>; v12: dram_/sram_uncorrectable; v13: sram_uncorrectable_parity/_secded.
        details.eccUncorrectedVolatile = uncorrected(gpu.at("ecc_errors/volatile"))
        details.eccUncorrectedAggregate = uncorrected(gpu.at("ecc_errors/aggregate"))
        details.retiredPagesSingleBit = count(gpu.value("retired_pages/multiple_single_bit_retirement/retired_count"))
        details.retiredPagesDoubleBit = count(gpu.value("retired_pages/double_bit_retirement/retired_count"))
        details.retiredPagesPending =
            (gpu.value("retired_pages/pending_retirement") ?? gpu.value("retired_pages/pending_blacklist"))
            .flatMap(NvidiaSMI.flag)
        details.remappedRowsUncorrectable = count(gpu.value("remapped_rows/remapped_row_unc"))
        details.remappedRowsPending = gpu.value("remapped_rows/remapped_row_pending").flatMap(NvidiaSMI.flag)
        details.remappedRowsFailure = gpu.value("remapped_rows/remapped_row_failure").flatMap(NvidiaSMI.flag)
        let reasons = gpu.child("clocks_event_reasons") ?? gpu.child("clocks_throttle_reasons")
        details.activeThrottleReasons =
            reasons?.children.filter { NvidiaSMI.flag($0.text) == true }.map { reason in
                reason.name.replacingPrefix("clocks_event_reason_").replacingPrefix("clocks_throttle_reason_")
            } ?? []
        details.migEnabled = gpu.value("mig_mode/current_mig").flatMap(NvidiaSMI.flag)
        details.migDevices = gpu.at("mig_devices")?.children("mig_device").count ?? 0
        details.temperatureC = gpu.value("temperature/gpu_temp").flatMap(NvidiaSMI.number)
        details.memoryUsedMiB = gpu.value("fb_memory_usage/used").flatMap(NvidiaSMI.number)
        details.memoryTotalMiB = gpu.value("fb_memory_usage/total").flatMap(NvidiaSMI.number)
        let power = gpu.child("gpu_power_readings") ?? gpu.child("power_readings")
        details.powerDrawW =
            (power?.value("power_draw") ?? power?.value("instant_power_draw") ?? power?.value("average_power_draw"))
            .flatMap(NvidiaSMI.number)
        details.powerLimitW =
            (power?.value("current_power_limit") ?? power?.value("power_limit") ?? power?.value("enforced_power_limit"))
            .flatMap(NvidiaSMI.number)
        details.utilizationPercent = gpu.value("utilization/gpu_util").flatMap(NvidiaSMI.number)
        details.pstate = gpu.value("performance_state").flatMap(NvidiaSMI.cleaned)
        return details
    }

    private static func uncorrected(_ block: XMLElement?) -> Int64? {
        guard let block else { return nil }
        var paths = ["double_bit/total", "dram_uncorrectable", "sram_uncorrectable"]
        paths += ["sram_uncorrectable_parity", "sram_uncorrectable_secded"]
        let values = paths.compactMap { block.value($0).flatMap(count) }
        return values.isEmpty ? nil : values.reduce(0, +)
    }

    private static func count(_ text: String?) -> Int64? {
        text.flatMap(NvidiaSMI.number).map { Int64(saturating: $0) }
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
