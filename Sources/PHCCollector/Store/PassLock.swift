#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCCore

/// The lock that keeps two passes (two timers, a timer and a hand-run pass) from overlapping:
/// `flock` on `<database>.lock`, released when the pass ends or its process dies.
///
/// Without it, two passes that read the device table before either commits would both
/// apply the same manifests, and count them twice.
final class PassLock {
    private var fd: Int32

    /// Takes the lock, waiting up to `wait` for another pass to finish.
    ///
    /// - Throws: ``StoreError`` when the lock file cannot be opened, or another pass holds it longer.
    init(database: String, wait: Duration) throws(StoreError) {
        let path = database + ".lock"
        do {
            try Directory.create(AtomicFile.split(database).directory, mode: 0o750)
        } catch {
            throw StoreError(path: database, message: error.description)
        }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(path: database, message: SystemError("open", path: path, errno: errno).description)
        }
        let giveUp = Deadline(after: wait)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, !giveUp.hasPassed else {
                close(fd)
                fd = -1
                throw StoreError(
                    path: database,
                    message: "another phc-collector pass has held \(path) for over \(wait); this pass did not run")
            }
            usleep(20_000)
        }
    }

    func release() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { release() }
}
