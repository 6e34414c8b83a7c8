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
struct FileRef: Equatable {
    var path: String
    /// `inode:size:mtime-ns`: a changed file gets a new one.
    var signature: String
    var modified: Int64
    var size: Int64
}

/// One folder of the devices folder.
struct DeviceFolder: Equatable {
    /// Lower-cased: device names compare case-insensitively.
    var name: String
    /// As on disk.
    var displayName: String
    var path: String
    /// Why the folder (or its manifest) is not read at all, such as a symlink leading out of devices_dir.
    var problem: String?
    var healthDir: String?
    var manifest: FileRef?
}

/// Lists device folders without following symlinks out of the devices folder.
/// Names starting with `.` (temporary) or `_` (`_fleet`) are not devices.
enum DeviceScanner {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func scan(_ devicesDir: String, skipping publishDir: String?) throws(Failure) -> [DeviceFolder] {
        guard let root = realPath(devicesDir) else {
            throw Failure(
                description: "devices_dir \(devicesDir) does not exist or cannot be read (share not mounted?)")
        }
        let names: [String]
        do {
            names = try Directory.list(root)
        } catch {
            throw Failure(description: "devices_dir \(error.description)")
        }
        let skipped = publishDir.flatMap(realPath)
        var folders: [DeviceFolder] = []
        for name in names where !name.hasPrefix(".") && !name.hasPrefix("_") {
            let entry = root + "/" + name
            if entry == skipped { continue }
            var folder = DeviceFolder(name: name.lowercased(), displayName: name, path: entry)
            guard let kind = fileKind(entry) else { continue }
            guard let path = followInside(entry, isLink: kind == .symlink, root: root) else {
                folder.problem = leadsOut(entry)
                folders.append(folder)
                continue
            }
            folder.path = path
            guard fileKind(path) == .directory else { continue }
            let health = path + "/_health"
            if let healthKind = fileKind(health) {
                guard let healthPath = followInside(health, isLink: healthKind == .symlink, root: root) else {
                    folder.problem = leadsOut(health)
                    folders.append(folder)
                    continue
                }
                if fileKind(healthPath) == .directory {
                    folder.healthDir = healthPath
                    folder.manifest = file(healthPath + "/manifest.json", root: root, problem: &folder.problem)
                }
            }
            folders.append(folder)
        }
        return folders.sorted { $0.name < $1.name }
    }

    /// A regular file (a symlink only if it stays inside `root`), or nil.
    static func file(_ path: String, root: String, problem: inout String?) -> FileRef? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let isLink = info.st_mode & S_IFMT == S_IFLNK
        guard let target = followInside(path, isLink: isLink, root: root), !isLink || stat(target, &info) == 0 else {
            problem = leadsOut(path)
            return nil
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            problem = "\(path) is not a regular file"
            return nil
        }
        let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return FileRef(
            path: target, signature: "\(info.st_ino):\(info.st_size):\(nanoseconds)",
            modified: Int64(info.st_mtim.tv_sec), size: Int64(info.st_size))
    }

    /// Backlog files in a `_health` folder, oldest first by their first sequence number.
    static func backlogs(in healthDir: String, root: String) -> [FileRef] {
        let names = (try? Directory.list(healthDir)) ?? []
        var found: [(Int64, FileRef)] = []
        for name in names where BacklogFile.isBacklog(name) {
            let first = BacklogFile.sequences(in: name)?.lowerBound ?? 0
            var ignored: String?
            if let file = file(healthDir + "/" + name, root: root, problem: &ignored) { found.append((first, file)) }
        }
        return found.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// `<device>/<user>/_status.json` files.
    static func legacyFiles(in folder: String, root: String) -> [FileRef] {
        var found: [FileRef] = []
        for name in ((try? Directory.list(folder)) ?? []).sorted() where !name.hasPrefix(".") && name != "_health" {
            var ignored: String?
            if let file = file(folder + "/" + name + "/_status.json", root: root, problem: &ignored) {
                found.append(file)
            }
        }
        return found
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
        "\(path) is a symbolic link leading out of devices_dir; not followed"
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
