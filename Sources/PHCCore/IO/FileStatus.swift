#if canImport(Glibc)
    internal import Glibc
#endif
internal import Synchronization

/// What `stat(2)` says about a path.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case regular = "regular file"
        case directory
        case symlink = "symbolic link"
        case other = "special file"
    }

    public var kind: Kind
    /// Permission bits (`st_mode & 07777`).
    public var permissions: UInt32
    public var ownerID: UInt32
    public var groupID: UInt32
    public var size: Int64
    public var modified: Timestamp

    /// `stat` (following symlinks) or `lstat` of `path`.
    ///
    /// - Throws: ``SystemError`` (ENOENT when the path does not exist).
    public init(path: String, followSymlinks: Bool = true) throws(SystemError) {
        var info = stat()
        let rc = followSymlinks ? stat(path, &info) : lstat(path, &info)
        guard rc == 0 else { throw SystemError("stat", path: path, errno: errno) }
        self.init(info)
    }

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        permissions = UInt32(info.st_mode & 0o7777)
        ownerID = info.st_uid
        groupID = info.st_gid
        size = Int64(info.st_size)
        modified = Timestamp(secondsSinceEpoch: Int64(info.st_mtim.tv_sec))
    }

    /// Whether `path` exists (without following a final symlink).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}

/// User and group names for ids, and ids for names.
public enum Accounts {
    /// Who runs this process, for records of operator actions: the user name (or uid), and
    /// through sudo, who invoked sudo (`root (sudo by mdt)`).
    public static var invokingUser: String {
        let uid = getuid()
        let name = userName(uid) ?? "uid \(uid)"
        guard let sudo = getenv("SUDO_USER").map({ String(cString: $0) }), !sudo.isEmpty, sudo != name else {
            return name
        }
        return "\(name) (sudo by \(InertText.terminal(sudo)))"
    }

    /// Names already looked up, by id, for the life of the process: one agent run asks about the
    /// same owner (root) for every secrets file, and each lookup reads nsswitch.conf and /etc/passwd
    /// again (or asks nscd).
    private static let users = Mutex<[UInt32: String?]>([:])
    private static let groups = Mutex<[UInt32: String?]>([:])

    public static func userName(_ uid: UInt32) -> String? { cached(uid, in: users, lookUpUser) }

    public static func groupName(_ gid: UInt32) -> String? { cached(gid, in: groups, lookUpGroup) }

    /// Looked up under the lock: checks running at once wait for the first lookup, not repeat it.
    private static func cached(
        _ id: UInt32, in cache: borrowing Mutex<[UInt32: String?]>, _ lookUp: (UInt32) -> String?
    ) -> String? {
        cache.withLock { known in
            if let name = known[id] { return name }
            let name = lookUp(id)
            known[id] = name
            return name
        }
    }

    private static func lookUpUser(_ uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, let found = result else { return nil }
        return String(cString: found.pointee.pw_name)
    }

    private static func lookUpGroup(_ gid: UInt32) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, let found = result else { return nil }
        return String(cString: found.pointee.gr_name)
    }
}
