#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCCore

/// The evidence kept for later: every accepted envelope appended, as read, to
/// `<archive>/<device>/<YYYY-MM-DD>.jsonl.gz` (the day it was issued, UTC), one envelope per line,
/// each append a gzip member of its own, so `phc-agent verify` (or `zcat`) reads the file whole.
/// Files older than `retention.daily` are removed, once a day.
struct EnvelopeArchive: Sendable {
    /// `archive/` next to the database.
    var directory: String

    init(database: String) {
        directory = AtomicFile.split(database).directory + "/archive"
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Appends `entries`, file by file; each file is fsynced, and so is the folder of a new file.
    func append(_ entries: [(device: String, time: Int64, envelope: Data)]) throws(Failure) {
        let files = Dictionary(grouping: entries) { entry in
            "\(entry.device)/\(String(Timestamp(secondsSinceEpoch: entry.time).description.prefix(10))).jsonl.gz"
        }
        for (name, lines) in files.sorted(by: { $0.key < $1.key }) {
            let path = directory + "/" + name
            do {
                try Directory.create(AtomicFile.split(path).directory, mode: 0o750)
                var text = Data()
                for line in lines.sorted(by: { $0.time < $1.time }) {
                    text.append(line.envelope)
                    if line.envelope.last != UInt8(ascii: "\n") { text.append(UInt8(ascii: "\n")) }
                }
                let member = try Gzip.compress(text)
                let isNew = !FileStatus.exists(path)
                let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
                guard fd >= 0 else {
                    throw Failure(description: SystemError("open", path: path, errno: errno).description)
                }
                defer { close(fd) }
                if let code = FileDescriptor.writeAll(fd, Array(member)) {
                    throw Failure(description: SystemError("write", path: path, errno: code).description)
                }
                guard fsync(fd) == 0 else {
                    throw Failure(description: SystemError("fsync", path: path, errno: errno).description)
                }
                if isNew { AtomicFile.syncDirectory(AtomicFile.split(path).directory) }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure(description: "archive \(path): \(error)")
            }
        }
    }

    /// Removes day files older than `before` (by the date in their name).
    func prune(before: Int64) {
        let cutoff = String(Timestamp(secondsSinceEpoch: before).description.prefix(10))
        for device in (try? Directory.list(directory)) ?? [] where !device.hasPrefix(".") {
            for file in (try? Directory.list(directory + "/" + device)) ?? []
            where file.hasSuffix(".jsonl.gz") && String(file.prefix(10)) < cutoff {
                try? Directory.removeFile(directory + "/" + device + "/" + file)
            }
        }
    }
}
