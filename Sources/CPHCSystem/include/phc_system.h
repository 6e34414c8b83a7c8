#ifndef PHC_SYSTEM_H
#define PHC_SYSTEM_H
// Filesystem probes that run in a separate process.
//
// A statfs() or a write on a hung network or FUSE mount can block for ever,
// in a sleep no thread can escape, and a process with such a thread cannot
// finish exiting. So the probe runs in a child process, which reports through
// a pipe. The caller waits with a timeout and may walk away from a probe that
// does not answer; the probe's pid lets it make sure no second probe is
// started on the same path meanwhile.
//
// On x86-64 and arm64 the child is created with clone(CLONE_VM): it shares the
// caller's memory instead of copying its page tables, which makes a probe cost
// tens of microseconds instead of a fork's milliseconds. Such a child must not
// touch libc state (errno, locks, the heap) because those belong to the
// caller's thread; it therefore makes raw system calls only. Elsewhere a
// plain fork() is used.

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

/// Probes `path` in a child process and waits at most `timeout_ms` for it.
///
/// When `probe_file` and `probe_file_renamed` are both non-NULL, after statfs the
/// probe creates `probe_file` (O_EXCL), writes to it, fsyncs it, renames it to
/// `probe_file_renamed` and unlinks that.
///
/// Returns 0 with `*result` filled in when the probe answered, ETIMEDOUT when it
/// did not (it is left running, and reaped later by whoever outlives it), or
/// another errno when no probe could be started. `*probe_pid` is the child's pid.
int phc_probe_run(const char *_Nonnull path,
                  const char *_Nullable probe_file,
                  const char *_Nullable probe_file_renamed,
                  int timeout_ms,
                  phc_probe_result *_Nonnull result,
                  pid_t *_Nonnull probe_pid);

/// pipe2(O_CLOEXEC), which Swift's Glibc module does not show (it needs _GNU_SOURCE).
int phc_pipe_cloexec(int fds[_Nonnull 2]);

#endif
