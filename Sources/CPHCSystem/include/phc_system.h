#ifndef PHC_SYSTEM_H
#define PHC_SYSTEM_H
// Filesystem probes that run in a separate process.
//
// A statfs() or write on a hung network or FUSE mount can block for ever, in a
// sleep that threads cannot escape. So the probe runs in a grandchild process
// (double fork: it is never our child, so it never becomes our zombie), which
// reports through a pipe. The caller waits on the pipe with a timeout and may
// simply walk away from a probe that does not answer; the probe's pid lets the
// caller make sure it never starts a second one on the same path meanwhile.
//
// Between fork and _exit the child calls only async-signal-safe functions, as
// POSIX requires in a multi-threaded process. Everything it needs (paths) is
// prepared by the caller before the fork.

#include <stdint.h>
#include <sys/types.h>

enum phc_probe_step {
    PHC_PROBE_STEP_NONE = 0,
    PHC_PROBE_STEP_STATFS = 1,
    PHC_PROBE_STEP_CREATE = 2,
    PHC_PROBE_STEP_WRITE = 3,
    PHC_PROBE_STEP_FSYNC = 4,
    PHC_PROBE_STEP_RENAME = 5,
    PHC_PROBE_STEP_UNLINK = 6,
};

/// What the probe process writes back, once, when it is done.
typedef struct {
    int32_t failed_step;     ///< a phc_probe_step, PHC_PROBE_STEP_NONE when everything worked
    int32_t error_number;    ///< errno of the failed step
    uint64_t block_size;     ///< f_frsize
    uint64_t blocks;
    uint64_t blocks_free;
    uint64_t blocks_available;
    uint64_t files;
    uint64_t files_free;
    uint64_t flags;          ///< f_flags (ST_RDONLY...)
    int64_t statfs_ns;
    int64_t write_probe_ns;  ///< -1 when no write probe was asked for
} phc_probe_result;

/// Starts a probe of `path` in a new grandchild process.
///
/// When `probe_file` and `probe_file_renamed` are both non-NULL, after statfs the
/// probe creates `probe_file` (O_EXCL), writes to it, fsyncs it, renames it to
/// `probe_file_renamed` and unlinks that.
///
/// On success returns 0, stores the read end of the result pipe (close-on-exec)
/// in `*read_fd` and the probe's pid in `*probe_pid`. On failure returns an errno.
/// The probe first writes its pid (pid_t), then later one phc_probe_result.
int phc_probe_start(const char *_Nonnull path,
                    const char *_Nullable probe_file,
                    const char *_Nullable probe_file_renamed,
                    int *_Nonnull read_fd,
                    pid_t *_Nonnull probe_pid);

/// Reads exactly `length` bytes from `fd`, waiting at most `timeout_ms` in total.
/// Returns 0 when all bytes arrived, ETIMEDOUT when time ran out, EPIPE at end of
/// file, or another errno.
int phc_read_full_timeout(int fd, void *_Nonnull buffer, size_t length, int timeout_ms);

/// pipe2(O_CLOEXEC), which Swift's Glibc module does not show (it needs _GNU_SOURCE).
int phc_pipe_cloexec(int fds[_Nonnull 2]);

#endif
