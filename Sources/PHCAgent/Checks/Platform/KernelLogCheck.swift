#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCConfig
internal import PHCCore

/// `kernel`: kernel-log lines that match the configured patterns (NVRM Xid,
/// CIFS VFS errors, btrfs errors, medium errors) and are new since the last run.
///
/// Read from `/dev/kmsg`, whose records carry a sequence number: the last one
/// seen is remembered (with the boot id), so each line is counted once. A match
/// keeps the result raised for an hour after the last one, so a one-off event
/// still reaches an alert rule that waits for two bad results in a row.
public struct KernelLogCheck: HostCheck {
    public let configuration: KernelLogCheckConfiguration
    /// How long a match keeps the result raised.
    let hold: Duration

    public init(_ configuration: KernelLogCheckConfiguration, hold: Duration = .seconds(3600)) {
        self.configuration = configuration
        self.hold = hold
    }

    public var resultIDs: [String] { ["kernel"] }
    public var kind: String { "kernel" }
    public var timeout: Duration { .seconds(3) }

    /// Patterns whose lines mean damage rather than trouble.
    static let critical = ["critical medium error", "BTRFS error"]

    struct Record: Equatable {
        var sequence: UInt64
        var message: String
    }

    public func run(in context: CheckContext) async -> CheckReport {
        let source = configuration.source
        guard let read = await BlockingWork.run(timeout: timeout, { Self.read(source) }) else {
            return CheckReport(finish(.unknown, "reading \(source) did not finish in time"))
        }
        let records: [Record]
        switch read {
        case .success(let value): records = value
        case .failure(let error):
            return CheckReport(finish(.unknown, "cannot read \(source): \(error.reason)"))
        }
        let previous = context.memory["kernel"] ?? [:]
        let bootID = HostFacts.bootID
        let sameBoot = previous["boot_id"] == bootID
        let lastSequence = sameBoot ? UInt64(previous["last_sequence"] ?? "") : nil
        let fresh = records.filter { record in lastSequence.map { record.sequence > $0 } ?? true }

        var counts: [String: Int] = [:]
        var excerpt: String?
        var worst = CheckStatus.ok
        for record in fresh {
            guard let pattern = configuration.patterns.first(where: { record.message.contains($0) }) else { continue }
            counts[pattern, default: 0] += 1
            if excerpt == nil { excerpt = String(record.message.prefix(200)) }
            worst = max(worst, Self.critical.contains { pattern.contains($0) } ? .crit : .warn)
        }
        var memory: [String: String] = ["boot_id": bootID]
        memory["last_sequence"] = (records.last?.sequence ?? lastSequence).map(String.init)
        var observations: [String: ObservationValue] = ["lines_read": .int(Int64(fresh.count))]
        let matched = counts.values.reduce(0, +)
        observations["lines_matched"] = .int(Int64(matched))

        let now = context.now
        let since = lastSequence == nil ? "since boot" : "since the last run"
        if matched > 0 {
            let parts = counts.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")
            let summary =
                "\(matched) new kernel line\(matched == 1 ? "" : "s") \(since): \(parts); first: \(excerpt ?? "")"
            memory["held_status"] = worst.rawValue
            memory["held_summary"] = summary
            memory["held_at"] = String(now.secondsSinceEpoch)
            return CheckReport(finish(worst, summary, observations), memory: memory)
        }
        // Nothing new: an earlier match keeps the result raised for a while.
        if let status = previous["held_status"].flatMap(CheckStatus.init(rawValue:)),
            let at = previous["held_at"].flatMap(Int64.init), now.secondsSinceEpoch - at < hold.milliseconds / 1000,
            let summary = previous["held_summary"]
        {
            for key in ["held_status", "held_summary", "held_at"] { memory[key] = previous[key] }
            let age = DurationText.format(.seconds(max(0, now.secondsSinceEpoch - at)))
            return CheckReport(finish(status, "\(summary) (\(age) ago)", observations), memory: memory)
        }
        let summary = "no matching kernel lines \(since) (\(fresh.count) read)"
        return CheckReport(finish(.ok, summary, observations), memory: memory)
    }

    /// Records of `/dev/kmsg` (one per read) or of a file in the same format (one per line).
    static func read(_ path: String) -> Result<[Record], SystemError> {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(SystemError("open", path: path, errno: errno)) }
        defer { close(fd) }
        var records: [Record] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var pending: [UInt8] = []
        var isDevice = false
        var info = stat()
        if fstat(fd, &info) == 0 { isDevice = info.st_mode & S_IFMT == S_IFCHR }
        while records.count < 200_000 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EPIPE { continue }  // EPIPE: records overwritten meanwhile
                if errno == EAGAIN { break }
                return .failure(SystemError("read", path: path, errno: errno))
            }
            if n == 0 { break }
            if isDevice {
                if let record = parse(buffer[0..<n]) { records.append(record) }
            } else {
                pending += buffer[0..<n]
                while let newline = pending.firstIndex(of: 10) {
                    if let record = parse(pending[0..<newline]) { records.append(record) }
                    pending.removeSubrange(0...newline)
                }
            }
        }
        if let record = parse(pending[...]) { records.append(record) }
        return .success(records)
    }

    /// `prio,seq,usec,flags[,…];message` (continuation lines, which start with a space, are ignored).
    static func parse(_ bytes: ArraySlice<UInt8>) -> Record? {
        guard let semicolon = bytes.firstIndex(of: UInt8(ascii: ";")) else { return nil }
        let header = bytes[bytes.startIndex..<semicolon].split(separator: UInt8(ascii: ","))
        guard header.count >= 2, let sequence = UInt64(String(decoding: header[1], as: UTF8.self)) else { return nil }
        var message = bytes[bytes.index(after: semicolon)...]
        if let newline = message.firstIndex(of: 10) { message = message[message.startIndex..<newline] }
        return Record(sequence: sequence, message: String(decoding: message, as: UTF8.self))
    }

    private func finish(
        _ status: CheckStatus, _ summary: String, _ observations: [String: ObservationValue] = [:]
    ) -> CheckResult {
        CheckResult(id: "kernel", kind: kind, status: status, summary: summary, observations: observations)
    }
}
