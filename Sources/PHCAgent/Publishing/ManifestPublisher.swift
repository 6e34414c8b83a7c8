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

/// Where a signed manifest ended up.
public enum PublishOutcome: Sendable, Equatable {
    /// Written to `path`; `backlog` names the file that delivered spooled envelopes, if any.
    case published(path: String, backlog: String?)
    /// The share could not be written (`reason`); the envelope waits in the local spool.
    case spooled(reason: String, waiting: Int, dropped: Int)
}

/// Writes signed manifests into `<devices_dir>/<device>/_health/`, or spools them locally.
///
/// The devices folder is never created: if it is missing, the share is not
/// mounted and writing would put files on the local disk under the mount point.
/// Every touch of the share is bounded in time (a probe process first, then
/// the writes on a thread with a timeout), so a hung share delays nothing.
struct ManifestPublisher {
    let devicesDir: String
    let device: String
    let legacyUser: String?
    let spool: Spool

    var healthDirectory: String { "\(devicesDir)/\(device)/_health" }
    var manifestPath: String { healthDirectory + "/manifest.json" }

    /// Why the devices folder must not be touched now, or nil when it may.
    ///
    /// A folder under a configured mount is judged by that mount's check (so a
    /// hung share never gets a second blocked probe); any other folder by
    /// `preflight`, a probe started while the checks ran, or by a probe now.
    static func shareProblem(
        devicesDir: String, mounts: MountGate, preflight: Task<FilesystemProbe.Outcome, Never>?,
        probe: FilesystemProbe, timeout: Duration
    ) async -> String? {
        if let blocker = await mounts.blocker(for: devicesDir) { return blocker }
        if preflight == nil && mounts.covers(devicesDir) { return nil }
        let answer: FilesystemProbe.Outcome
        if let preflight {
            answer = await preflight.value
        } else {
            answer = await probe.probe(path: devicesDir, timeout: timeout)
        }
        switch answer {
        case .completed, .failed(step: "statfs", errno: ENOENT, usage: _):
            return nil  // a missing folder is reported by the writer, with its own words
        case .failed(let step, let code, _):
            return "\(step) \(devicesDir): \(SystemError.describe(code))"
        case .timedOut, .stillBlocked:
            return "\(devicesDir) is not responding"
        case .couldNotStart(let reason):
            return "cannot probe \(devicesDir): \(reason)"
        }
    }

    /// Delivers the backlog and the new envelope, or spools it.
    ///
    /// - Parameters:
    ///   - envelope: one line of compact envelope JSON (no newline).
    ///   - shareProblem: from ``shareProblem(devicesDir:mounts:preflight:probe:timeout:)``; when set, spool at once.
    ///   - timeout: the most the writes may take.
    func publish(
        envelope: Data, sequence: Int64, legacyStatus: Data?, shareProblem: String?, timeout: Duration
    ) async -> PublishOutcome {
        if let shareProblem {
            return spoolEnvelope(envelope, sequence: sequence, reason: shareProblem)
        }
        let written = await BlockingWork.run(timeout: max(timeout, .milliseconds(50))) {
            Result { () throws(PublishError) in
                try write(envelope: envelope, sequence: sequence, legacyStatus: legacyStatus)
            }
        }
        switch written {
        case .success(let backlog)?:
            return .published(path: manifestPath, backlog: backlog)
        case .failure(let error)?:
            return spoolEnvelope(envelope, sequence: sequence, reason: error.description)
        case nil:
            return spoolEnvelope(
                envelope, sequence: sequence, reason: "writing to \(devicesDir) did not finish in time")
        }
    }

    private func spoolEnvelope(_ envelope: Data, sequence: Int64, reason: String) -> PublishOutcome {
        do {
            let (dropped, waiting) = try spool.add(envelope, sequence: sequence)
            return .spooled(reason: reason, waiting: waiting, dropped: dropped)
        } catch {
            return .spooled(reason: "\(reason); and the spool failed too: \(error.description)", waiting: 0, dropped: 0)
        }
    }

    struct PublishError: Error, CustomStringConvertible {
        let description: String
    }

    /// The blocking part: backlog first, then the manifest, then the legacy file.
    private func write(envelope: Data, sequence: Int64, legacyStatus: Data?) throws(PublishError) -> String? {
        let status: FileStatus
        do {
            status = try FileStatus(path: devicesDir)
        } catch {
            throw PublishError(
                description: error.errno == ENOENT
                    ? "devices_dir \(devicesDir) does not exist (share not mounted?)" : error.description)
        }
        guard status.kind == .directory else {
            throw PublishError(description: "devices_dir \(devicesDir) is a \(status.kind.rawValue), not a folder")
        }
        do {
            try Directory.create(healthDirectory, mode: 0o755)
        } catch {
            throw PublishError(description: error.description)
        }

        var backlogName: String?
        let waiting = spool.entries().filter { $0.sequence != sequence }
        var start = waiting.startIndex
        while start < waiting.endIndex {
            // One file holds at most what the collector reads from one backlog.
            var lines = Data()
            var delivered: [Spool.Entry] = []
            var index = start
            while index < waiting.endIndex, delivered.count < BacklogFile.maxEnvelopes {
                let entry = waiting[index]
                guard let line = try? FileReader.read(entry.path, limit: 16 * 1024 * 1024) else {
                    index += 1
                    continue
                }
                if !delivered.isEmpty && lines.count + line.count + 1 > BacklogFile.maxBytes { break }
                lines.append(line)
                lines.append(UInt8(ascii: "\n"))
                delivered.append(entry)
                index += 1
            }
            start = index
            guard let first = delivered.first, let last = delivered.last else { continue }
            let name = BacklogFile.name(first: first.sequence, last: last.sequence)
            do {
                try AtomicFile.write(try Gzip.compress(lines), to: healthDirectory + "/" + name)
            } catch let error as SystemError {
                throw PublishError(description: error.description)
            } catch {
                throw PublishError(description: "cannot compress the backlog: \(error)")
            }
            for entry in delivered { try? Directory.removeFile(entry.path) }
            AtomicFile.syncDirectory(spool.directory)
            backlogName = name
        }

        var line = envelope
        line.append(UInt8(ascii: "\n"))
        do {
            try AtomicFile.write(line, to: manifestPath)
        } catch {
            throw PublishError(description: error.description)
        }
        if let legacyUser, let legacyStatus {
            let folder = "\(devicesDir)/\(device)/\(legacyUser)"
            try? Directory.create(folder, mode: 0o755)
            try? AtomicFile.write(legacyStatus, to: folder + "/_status.json")
        }
        return backlogName
    }
}
