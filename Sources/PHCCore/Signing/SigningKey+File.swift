#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif

extension SigningKey {
    /// Loads the private key at `path`.
    ///
    /// A group-readable key (0640) is accepted; a key that others can read is
    /// refused, as ssh does, because it can no longer be trusted to be private.
    ///
    /// - Throws: ``KeyFileError``; its text never contains key material.
    public static func load(path: String) throws(KeyFileError) -> SigningKey {
        let status: FileStatus
        do {
            status = try FileStatus(path: path)
        } catch {
            if error.errno == ENOENT { throw .notFound(path: path) }
            throw .unreadable(path: path, reason: error.reason)
        }
        guard status.kind == .regular else {
            throw .malformed(path: path, reason: "it is a \(status.kind.rawValue), not a key file")
        }
        guard status.permissions & 0o007 == 0 else { throw .tooOpen(path: path, mode: status.permissions) }
        let data: Data
        do {
            data = try FileReader.read(path, limit: 64 * 1024)
        } catch {
            switch error {
            case .tooLarge: throw .malformed(path: path, reason: "too large for a PEM key")
            case .system(let system): throw .unreadable(path: path, reason: system.reason)
            default: throw .unreadable(path: path, reason: error.description)
            }
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .malformed(path: path, reason: "not PEM text")
        }
        return try SigningKey(pem: text, path: path)
    }

    /// Creates a new key at `path` with mode 0600, creating a missing parent folder (0700).
    ///
    /// - Throws: ``KeyFileError/alreadyExists(path:)`` rather than overwrite an existing file.
    public static func create(at path: String) throws(KeyFileError) -> SigningKey {
        let (directory, _) = AtomicFile.split(path)
        if !FileStatus.exists(directory) {
            do { try Directory.create(directory, mode: 0o700) } catch {
                throw .unwritable(path: path, reason: error.description)
            }
        }
        let key = SigningKey()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { throw .alreadyExists(path: path) }
            throw .unwritable(path: path, reason: SystemError.describe(code))
        }
        let bytes = Array(key.pemRepresentation.utf8)
        let written = FileDescriptor.writeAll(fd, bytes) == nil
        let synced = fchmod(fd, 0o600) == 0 && fsync(fd) == 0
        close(fd)
        guard written, synced else {
            unlink(path)
            throw .unwritable(path: path, reason: "short write")
        }
        AtomicFile.syncDirectory(directory)
        return key
    }
}
