internal import PHCCore

/// One GPU as `nvidia-smi --query-gpu=… --format=csv` reports it.
struct GPUReading: Equatable {
    var index: Int
    var uuid: String?
    var name: String?
    var temperatureC: Double?
    var utilizationPercent: Double?
    var memoryUsedMiB: Double?
    var memoryTotalMiB: Double?
    var powerDrawW: Double?
    var powerLimitW: Double?
    var pstate: String?
    var persistenceMode: Bool?
    var eccUncorrectedVolatile: Int64?
    var eccUncorrectedAggregate: Int64?
    var retiredPagesPending: Bool?
    var remappedRowsPending: Bool?
    var remappedRowsFailure: Bool?
    /// Active clock event (throttle) reasons, decoded from the bit mask.
    var throttleReasons: [String] = []
    var migEnabled: Bool?
    /// Fields that answered `[GPU is lost]` or `[Unknown Error]`.
    var failedFields: [String] = []
}

/// Parsing of `nvidia-smi` output, in every shape the fixtures show: `[N/A]`,
/// `[Requested functionality has been deprecated]`, units in the header
/// (`memory.used [MiB]`) or in the cells (`19818 MiB`), with or without a
/// header, `clocks_throttle_reasons` (old drivers) or `clocks_event_reasons`.
enum NvidiaSMI {
    /// The cheap every-run query (drivers ≥ 535 know the event-reason names).
    static let fields = [
        "index", "uuid", "name", "temperature.gpu", "utilization.gpu", "memory.used", "memory.total",
        "power.draw", "power.limit", "pstate", "persistence_mode", "ecc.errors.uncorrected.volatile.total",
        "ecc.errors.uncorrected.aggregate.total", "retired_pages.pending", "remapped_rows.pending",
        "remapped_rows.failure", "clocks_event_reasons.active", "mig.mode.current",
    ]
    /// The same for older drivers, which refuse unknown field names.
    static let legacyFields = [
        "index", "uuid", "name", "temperature.gpu", "utilization.gpu", "memory.used", "memory.total",
        "power.draw", "power.limit", "pstate", "persistence_mode", "ecc.errors.uncorrected.volatile.total",
        "ecc.errors.uncorrected.aggregate.total", "retired_pages.pending", "clocks_throttle_reasons.active",
    ]

    struct ParseError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// Parses CSV output. With a header row, columns are found by name (units in
    /// brackets removed); without one, `requested` gives their order.
    static func parseCSV(_ text: String, requested: [String] = fields) throws(ParseError) -> [GPUReading] {
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmed() }.filter { !$0.isEmpty }
        guard let first = lines.first else { throw ParseError(description: "no output") }
        var columns = requested
        let firstCells = split(first)
        if firstCells.contains(where: { headerName($0) == "index" || headerName($0) == "uuid" }) {
            columns = firstCells.map(headerName)
            lines.removeFirst()
        }
        guard let indexColumn = columns.firstIndex(of: "index") else {
            throw ParseError(description: "no index column")
        }
        var readings: [GPUReading] = []
        for (number, line) in lines.enumerated() {
            let cells = split(line)
            guard cells.count == columns.count else {
                throw ParseError(description: "row \(number + 1) has \(cells.count) fields, expected \(columns.count)")
            }
            var row: [String: String] = [:]
            for (column, cell) in zip(columns, cells) { row[column] = cell }
            guard let index = Int(cells[indexColumn]) else {
                throw ParseError(description: "row \(number + 1): index '\(cells[indexColumn])' is not a number")
            }
            readings.append(reading(index: index, row: row))
        }
        guard !readings.isEmpty else { throw ParseError(description: "no GPU rows") }
        return readings
    }

    private static func reading(index: Int, row: [String: String]) -> GPUReading {
        var gpu = GPUReading(index: index)
        gpu.uuid = row["uuid"].flatMap(cleaned)
        gpu.name = row["name"].flatMap(cleaned)
        gpu.temperatureC = row["temperature.gpu"].flatMap(number)
        gpu.utilizationPercent = row["utilization.gpu"].flatMap(number)
        gpu.memoryUsedMiB = row["memory.used"].flatMap(number)
        gpu.memoryTotalMiB = row["memory.total"].flatMap(number)
        gpu.powerDrawW = (row["power.draw"] ?? row["power.draw.instant"]).flatMap(number)
        gpu.powerLimitW = (row["power.limit"] ?? row["enforced.power.limit"]).flatMap(number)
        gpu.pstate = row["pstate"].flatMap(cleaned)
        gpu.persistenceMode = row["persistence_mode"].flatMap(flag)
        gpu.eccUncorrectedVolatile = row["ecc.errors.uncorrected.volatile.total"].flatMap(number).map {
            Int64(saturating: $0)
        }
        gpu.eccUncorrectedAggregate = row["ecc.errors.uncorrected.aggregate.total"].flatMap(number).map {
            Int64(saturating: $0)
        }
        gpu.retiredPagesPending = row["retired_pages.pending"].flatMap(flag)
        gpu.remappedRowsPending = row["remapped_rows.pending"].flatMap(flag)
        gpu.remappedRowsFailure = row["remapped_rows.failure"].flatMap(flag)
        let mask = (row["clocks_event_reasons.active"] ?? row["clocks_throttle_reasons.active"]).flatMap(hex)
        gpu.throttleReasons = mask.map(throttleReasons) ?? []
        gpu.migEnabled = row["mig.mode.current"].flatMap(flag)
        gpu.failedFields = row.filter { isFailure($0.value) }.map(\.key).sorted()
        return gpu
    }

    /// `memory.used [MiB]` → `memory.used`.
    static func headerName(_ cell: String) -> String {
        guard let bracket = cell.firstIndex(of: "[") else { return cell.trimmed() }
        return cell[..<bracket].trimmed()
    }

    static func split(_ line: String) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmed() }
    }

    /// nil for `[N/A]`, `N/A`, `[Not Supported]`, `[Requested functionality has been deprecated]` and the like.
    static func cleaned(_ cell: String) -> String? {
        let text = cell.trimmed()
        if text.isEmpty || text == "N/A" || text.hasPrefix("[") { return nil }
        return text
    }

    /// A number, with any unit after it (`19818 MiB`, `631.95 W`, `100 %`, `38 C`).
    static func number(_ cell: String) -> Double? {
        guard let text = cleaned(cell) else { return nil }
        let head = text.split(separator: " ").first.map(String.init) ?? text
        // `inf` and `nan` are no reading.
        return Double(head).flatMap { $0.isFinite ? $0 : nil }
    }

    static func hex(_ cell: String) -> UInt64? {
        guard let text = cleaned(cell) else { return nil }
        if text.lowercased().hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    /// Enabled/Disabled, Yes/No, Active/Not Active.
    static func flag(_ cell: String) -> Bool? {
        switch cleaned(cell)?.lowercased() {
        case "enabled", "yes", "active", "true": true
        case "disabled", "no", "not active", "false": false
        default: nil
        }
    }

    /// The GPU answered with an error rather than a value.
    static func isFailure(_ cell: String) -> Bool {
        let text = cell.trimmed().lowercased()
        return text == "[gpu is lost]" || text == "[unknown error]"
    }

    /// NVML clock event reason bits, by name.
    static let reasonBits: [(UInt64, String)] = [
        (0x1, "gpu_idle"), (0x2, "applications_clocks_setting"), (0x4, "sw_power_cap"), (0x8, "hw_slowdown"),
        (0x10, "sync_boost"), (0x20, "sw_thermal_slowdown"), (0x40, "hw_thermal_slowdown"),
        (0x80, "hw_power_brake_slowdown"), (0x100, "display_clocks_setting"),
    ]

    /// Reasons that mean the GPU is held back by a fault or by heat, not by choice.
    static let troubling: Set<String> = [
        "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown",
    ]

    static func throttleReasons(_ mask: UInt64) -> [String] {
        reasonBits.filter { mask & $0.0 != 0 }.map(\.1)
    }
}
