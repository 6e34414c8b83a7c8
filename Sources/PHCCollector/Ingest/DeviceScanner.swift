#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCCore

/// A file the collector may read, with what identifies its version.
struct FileRef: Equatable, Sendable {
    var path: String
    /// inode, size and modification time: a changed file gets a new one.
    var stamp: FileStamp
    /// The ``stamp`` as stored, `inode:size:seconds.nanoseconds`.
    var signature: String { stamp.description }
    /// The file's modification time in seconds, as the file system says (untrusted: may be anything).
    var modified: Int64 { stamp.seconds }
    var size: Int64 { stamp.size }
}

/// A file or folder of the share that cannot be used, and why. Recorded as a
/// rejection (`ManifestUnreadable`), never skipped in silence.
struct ScanProblem: Equatable, Sendable {
    var path: String
    var reason: String
}

/// One folder of the devices folder.
struct DeviceFolder: Equatable, Sendable {
    /// Lower-cased: device names compare case-insensitively.
    var name: String
    /// As on disk.
    var displayName: String
    var path: String
    /// Why the folder (or its manifest) is not read at all: a symlink leading out of
    /// devices_dir, a manifest.json that is a FIFO or a folder, folders differing only in case.
    var problem: String?
    var healthDir: String?
    var manifest: FileRef?
    /// The manifest was found with one `stat` through `_health`, which was not looked at
    /// itself (it may be a symlink): enough to tell that the manifest is the file already
    /// examined, so that there is nothing to read, and nothing more. Its ``path``, ``healthDir`` and
    /// the manifest's path are not filled in (a pass over an unchanged fleet needs none of them):
    /// ``DeviceScanner/settled(_:root:)`` looks at the rest before anything of the folder is used.
    var provisional = false

    /// Whether there is a manifest other than the one last examined (its stamp, nil for none):
    /// only then is it read.
    @inline(__always)
    func manifestChanged(since stamp: FileStamp?) -> Bool {
        manifest.map { $0.stamp != stamp } ?? false
    }
}

/// Lists device folders without following symlinks out of the devices folder.
/// Names starting with `.` (temporary) or `_` (`_fleet`) are not devices.
///
/// Only the file system is touched here: no database, no parsing.
enum DeviceScanner {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The device folders, sorted by name, one per device name.
    ///
    /// Folders whose names differ only in case (`DEV1` beside `dev1`) name one device: the
    /// folder spelled in lower case is that device's, the others are ignored; when none is
    /// spelled in lower case, the device is refused with a reason until one is renamed. The
    /// rule depends only on the names, so every pass reads the same folder.
    ///
    /// The usual folder costs one `stat` and comes back ``DeviceFolder/provisional``: pass it
    /// through ``settled(_:root:)`` before using more of it than its manifest's signature.
    static func scan(_ devicesDir: String, skipping publishDir: String?) throws(Failure) -> [DeviceFolder] {
        guard let root = realPath(devicesDir) else {
            throw Failure(
                description: "devices_dir \(devicesDir) does not exist or cannot be read (share not mounted?)")
        }
        let listed: [(name: String, type: UInt8)]
        do {
            listed = try Directory.entries(root)
        } catch {
            throw Failure(description: "devices_dir \(error.description)")
        }
        // The publish folder, when it is one of the devices folder's entries, is not a device.
        let skipped = publishDir.flatMap(realPath).flatMap { path in
            path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : nil
        }
        // Sorted by device name (its lower-case spelling), so that the spellings of one name are
        // neighbours: a name listed once is the usual case.
        var candidates: [(entry: String, name: String, type: UInt8)] = []
        var keys: [SortKey?] = []
        candidates.reserveCapacity(listed.count)
        keys.reserveCapacity(listed.count)
        for (entry, type) in listed where entry != skipped {
            let look = SortKey.look(entry)
            guard !look.hidden else { continue }
            candidates.append((entry, look.key == nil ? entry.lowercased() : entry, type))
            keys.append(look.key)
        }
        // Positions sorted, then the candidates put in their order: most comparisons are two integers',
        // and what moves is an integer, not three fields.
        var order = Array(0..<candidates.count)
        candidates.withUnsafeBufferPointer { candidates in
            keys.withUnsafeBufferPointer { keys in
                order.sort { a, b in
                    if let first = keys[a], let second = keys[b], first != second { return first < second }
                    return candidates[a].name < candidates[b].name
                }
            }
        }
        candidates = order.map { candidates[$0] }
        (keys, order) = ([], [])
        var entries: [(entry: String, name: String, type: UInt8)] = []
        var folders: [DeviceFolder] = []
        entries.reserveCapacity(candidates.count)
        var next = candidates.startIndex
        while next < candidates.endIndex {
            let first = candidates[next]
            var end = next + 1
            while end < candidates.endIndex && candidates[end].name == first.name { end += 1 }
            defer { next = end }
            guard end - next > 1 else {
                entries.append(first)
                continue
            }
            let spelled = candidates[next..<end]
            if let lower = spelled.first(where: { $0.entry == $0.name }) {
                entries.append(lower)
            } else {
                let sorted = spelled.map(\.entry).sorted()
                folders.append(
                    DeviceFolder(
                        name: first.name, displayName: first.name, path: root + "/" + sorted[0],
                        problem:
                            "folders \(sorted.map(InertText.terminal).joined(separator: ", ")) differ only in case; "
                            + "rename all but one (to \(first.name))"))
            }
        }
        candidates = []
        // A system call or a few per folder: on all cores, for fleets of thousands.
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if rootFD >= 0 { close(rootFD) } }
        // Straight into the array returned: an entry that is no device folder leaves a folder without
        // a name, taken out in place (no second array of ten thousand folders to fill, a page at a time).
        var inspected = Parallel.map(entries) { listed in
            glance(listed.entry, lowercased: listed.name, root: root, rootFD: rootFD, type: listed.type)
                ?? inspect(listed.entry, lowercased: listed.name, root: root, type: listed.type)
                ?? DeviceFolder(name: "", displayName: "", path: "")
        }
        inspected.removeAll { $0.name.isEmpty }
        guard !folders.isEmpty else { return inspected }
        inspected.append(contentsOf: folders)
        inspected.sort { $0.name < $1.name }
        return inspected
    }

    /// The first sixteen bytes of a name spelled in lower-case ASCII, as two big-endian words (zeros
    /// after a shorter name): where two names' keys differ, they order the names as the names' own
    /// comparison does.
    struct SortKey: Comparable {
        var high: UInt64
        var low: UInt64

        static func < (a: SortKey, b: SortKey) -> Bool { (a.high, a.low) < (b.high, b.low) }

        /// `entry` read once: whether it is hidden (`.` or `_` first: temporary, or `_fleet`), and its key
        /// when it is spelled in lower-case ASCII (nil otherwise: it is compared as a string).
        static func look(_ entry: String) -> (hidden: Bool, key: SortKey?) {
            var entry = entry
            return entry.withUTF8 { bytes in
                guard let first = bytes.first, first != UInt8(ascii: "."), first != UInt8(ascii: "_") else {
                    return (true, nil)
                }
                var key = SortKey(high: 0, low: 0)
                for index in bytes.indices {
                    let byte = bytes[index]
                    guard byte < 0x80, !(0x41...0x5A).contains(byte) else { return (false, nil) }
                    if index < 8 {
                        key.high |= UInt64(byte) << (56 - 8 * index)
                    } else if index < 16 {
                        key.low |= UInt64(byte) << (56 - 8 * (index - 8))
                    }
                }
                return (false, key)
            }
        }
    }

    /// The usual folder, with one `stat`: a folder (as listed) with a device name and a regular
    /// `_health/manifest.json`, looked up relative to the devices folder. Provisional: nil for
    /// anything else, which ``inspect(_:lowercased:root:type:)`` looks at in full.
    private static func glance(_ entryName: String, lowercased name: String, root: String, rootFD: Int32, type: UInt8)
        -> DeviceFolder?
    {
        guard rootFD >= 0, Int32(type) == Int32(DT_DIR), DeviceName.isValid(name) else { return nil }
        var info = stat()
        let found = relativeManifest(entryName) { fstatat(rootFD, $0, &info, AT_SYMLINK_NOFOLLOW) == 0 }
        guard found, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var folder = DeviceFolder(name: name, displayName: entryName, path: "", manifest: reference("", info))
        folder.provisional = true
        return folder
    }

    /// `body` with `entry/_health/manifest.json` as a C string (on the stack: ten thousand of these a pass).
    static func relativeManifest(_ entry: String, _ body: (UnsafePointer<CChar>) -> Bool) -> Bool {
        let suffix = "/_health/manifest.json"
        let count = entry.utf8.count + suffix.utf8.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count + 1) { buffer in
            var end = buffer.initialize(fromContentsOf: entry.utf8)
            end = buffer[end...].initialize(fromContentsOf: suffix.utf8)
            buffer[end] = 0
            return buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// `directory/name`, written straight into one allocation (no list of parts to build first: a
    /// pass writes one for every device).
    static func path(_ directory: String, _ name: String) -> String {
        var (directory, name) = (directory, name)
        return directory.withUTF8 { head in
            name.withUTF8 { tail in
                String(unsafeUninitializedCapacity: head.count + 1 + tail.count) { buffer in
                    var end = buffer.initialize(fromContentsOf: head)
                    buffer[end] = UInt8(ascii: "/")
                    end = buffer[(end + 1)...].initialize(fromContentsOf: tail)
                    return end
                }
            }
        }
    }

    /// `folder` as a full look at it finds it: a provisional folder's `_health` is looked at (one
    /// `lstat`; a folder after all, and the manifest found stands), or the folder inspected again.
    static func settled(_ folder: DeviceFolder, root: String) -> DeviceFolder {
        guard folder.provisional else { return folder }
        var settled = folder
        settled.provisional = false
        settled.path = path(root, folder.displayName)
        let health = settled.path + "/_health"
        let healthKind = fileKind(health)
        if healthKind == .directory, var manifest = folder.manifest {
            manifest.path = health + "/manifest.json"
            (settled.healthDir, settled.manifest) = (health, manifest)
            return settled
        }
        settled.manifest = nil
        lookInHealth(&settled, kind: healthKind, root: root)
        return settled
    }

    /// One candidate folder; nil when it is not a device folder at all (a plain file, a user's
    /// folder whose name is no device name).
    /// `type` is the listing's `d_type`: one `lstat` fewer per device when the file system gives it.
    private static func inspect(_ entryName: String, lowercased name: String, root: String, type: UInt8)
        -> DeviceFolder?
    {
        let entry = root + "/" + entryName
        var folder = DeviceFolder(name: name, displayName: entryName, path: entry)
        let listedKind: Kind? =
            switch Int32(type) {
            case Int32(DT_DIR): .directory
            case Int32(DT_LNK): .symlink
            case Int32(DT_UNKNOWN): nil
            default: .other
            }
        guard let kind = listedKind ?? fileKind(entry) else { return nil }
        guard let path = followInside(entry, isLink: kind == .symlink, root: root) else {
            folder.problem = leadsOut(entry)
            return DeviceName.isValid(name) ? folder : nil
        }
        folder.path = path
        // A symlink was followed: what it leads to must be a folder. (Otherwise lstat said so already.)
        guard (kind == .symlink ? fileKind(path) : kind) == .directory else { return nil }
        let health = path + "/_health"
        let healthKind = fileKind(health)
        guard DeviceName.isValid(name) else {
            // Not a device name: a device writing here is refused, anything else is not ours.
            guard healthKind != nil else { return nil }
            folder.name = InertText.terminal(name)
            folder.displayName = InertText.terminal(entryName)
            folder.problem = "folder name '\(folder.displayName)' is not a device name (\(DeviceName.rule))"
            return folder
        }
        lookInHealth(&folder, kind: healthKind, root: root)
        return folder
    }

    /// The manifest in a device folder's `_health` (of kind `kind`, nil when there is none), or the
    /// problem that keeps it from being read.
    private static func lookInHealth(_ folder: inout DeviceFolder, kind: Kind?, root: String) {
        guard let kind else { return }
        let health = folder.path + "/_health"
        guard let healthPath = followInside(health, isLink: kind == .symlink, root: root) else {
            folder.problem = leadsOut(health)
            return
        }
        if (kind == .symlink ? fileKind(healthPath) : kind) == .directory {
            folder.healthDir = healthPath
            folder.manifest = file(healthPath + "/manifest.json", root: root, problem: &folder.problem)
        }
    }

    /// A regular file (a symlink only if it stays inside `root`), or nil with `problem` set
    /// when something is there that cannot be read (a FIFO, a folder, a link leading out).
    static func file(_ path: String, root: String, problem: inout String?) -> FileRef? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let isLink = info.st_mode & S_IFMT == S_IFLNK
        guard let target = followInside(path, isLink: isLink, root: root), !isLink || stat(target, &info) == 0 else {
            problem = leadsOut(path)
            return nil
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let kind =
                info.st_mode & S_IFMT == S_IFDIR
                ? "directory" : info.st_mode & S_IFMT == S_IFIFO ? "FIFO" : "special file"
            problem = "\(InertText.terminal(path)) is a \(kind), not a regular file"
            return nil
        }
        return reference(target, info)
    }

    static func reference(_ path: String, _ info: stat) -> FileRef {
        FileRef(path: path, stamp: FileStamp(info))
    }

    /// Backlog files in a `_health` folder, oldest first by their first sequence number, and
    /// the backlog names that cannot be read.
    static func backlogs(in healthDir: String, root: String) -> (files: [FileRef], problems: [ScanProblem]) {
        let names = (try? Directory.list(healthDir)) ?? []
        var found: [(Int64, String, FileRef)] = []
        var problems: [ScanProblem] = []
        for name in names where BacklogFile.isBacklog(name) {
            let first = BacklogFile.sequences(in: name)?.lowerBound ?? 0
            var problem: String?
            if let file = file(healthDir + "/" + name, root: root, problem: &problem) {
                found.append((first, name, file))
            } else if let problem {
                problems.append(ScanProblem(path: healthDir + "/" + name, reason: problem))
            }
        }
        return (found.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2), problems)
    }

    /// `<device>/<user>/_status.json` files, and those that cannot be read.
    static func legacyFiles(in folder: String, root: String) -> (files: [FileRef], problems: [ScanProblem]) {
        var found: [FileRef] = []
        var problems: [ScanProblem] = []
        for name in ((try? Directory.list(folder)) ?? []).sorted() where !name.hasPrefix(".") && name != "_health" {
            guard fileKind(folder + "/" + name) == .directory else { continue }
            var problem: String?
            if let file = file(folder + "/" + name + "/_status.json", root: root, problem: &problem) {
                found.append(file)
            } else if let problem {
                problems.append(ScanProblem(path: folder + "/" + name + "/_status.json", reason: problem))
            }
        }
        return (found, problems)
    }

    enum Kind { case directory, symlink, other }

    static func fileKind(_ path: String) -> Kind? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// `path` itself, or where the symlink `path` leads when that stays inside `root`;
    /// nil for a link leading out (or nowhere).
    static func followInside(_ path: String, isLink: Bool, root: String) -> String? {
        guard isLink else { return path }
        guard let target = realPath(path), isInside(target, root) else { return nil }
        return target
    }

    static func leadsOut(_ path: String) -> String {
        "\(InertText.terminal(path)) is a symbolic link leading out of devices_dir; not followed"
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isInside(_ path: String, _ root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}
