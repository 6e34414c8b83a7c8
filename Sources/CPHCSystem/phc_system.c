#include "phc_system.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_all(int fd, const void *data, size_t length) {
    const char *p = data;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        length -= (size_t)n;
    }
}

// Keeps only fd 3 (the result pipe) and /dev/null on 0-2: a probe that stays
// blocked must not hold open the pipes or files of whoever started the agent.
static void isolate_descriptors(int result_fd) {
    if (result_fd != 3) {
        dup2(result_fd, 3);
    }
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
    }
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 4U, ~0U, 0U) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 4; fd < max; fd++) close(fd);
}

static void run_probe(const char *path, const char *probe_file, const char *probe_file_renamed) {
    phc_probe_result result;
    memset(&result, 0, sizeof result);
    result.write_probe_ns = -1;

    pid_t me = getpid();
    write_all(3, &me, sizeof me);

    int64_t start = monotonic_ns();
    // statfs, not statvfs: glibc's statvfs may read /proc/mounts (malloc), which
    // is not async-signal-safe. The kernel reports the mount flags in f_flags.
    struct statfs st;
    if (statfs(path, &st) != 0) {
        result.failed_step = PHC_PROBE_STEP_STATFS;
        result.error_number = errno;
        result.statfs_ns = monotonic_ns() - start;
        write_all(3, &result, sizeof result);
        return;
    }
    result.statfs_ns = monotonic_ns() - start;
    result.block_size = st.f_frsize ? st.f_frsize : st.f_bsize;
    result.blocks = st.f_blocks;
    result.blocks_free = st.f_bfree;
    result.blocks_available = st.f_bavail;
    result.files = st.f_files;
    result.files_free = st.f_ffree;
    result.flags = (uint64_t)st.f_flags;

    if (probe_file != NULL && probe_file_renamed != NULL) {
        start = monotonic_ns();
        int step = PHC_PROBE_STEP_CREATE;
        int fd = open(probe_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            static const char payload[] = "phc write probe\n";
            step = PHC_PROBE_STEP_WRITE;
            if (write(fd, payload, sizeof payload - 1) == (ssize_t)(sizeof payload - 1)) {
                step = PHC_PROBE_STEP_FSYNC;
                if (fsync(fd) == 0) step = PHC_PROBE_STEP_RENAME;
            }
            int saved = errno;
            close(fd);
            errno = saved;
            if (step == PHC_PROBE_STEP_RENAME) {
                if (rename(probe_file, probe_file_renamed) == 0) {
                    step = PHC_PROBE_STEP_UNLINK;
                    if (unlink(probe_file_renamed) == 0) step = PHC_PROBE_STEP_NONE;
                } else {
                    saved = errno;
                    unlink(probe_file);
                    errno = saved;
                }
            } else {
                saved = errno;
                unlink(probe_file);
                errno = saved;
            }
        }
        if (step != PHC_PROBE_STEP_NONE) {
            result.failed_step = step;
            result.error_number = errno;
        }
        result.write_probe_ns = monotonic_ns() - start;
    }
    write_all(3, &result, sizeof result);
}

int phc_probe_start(const char *path, const char *probe_file, const char *probe_file_renamed,
                    int *read_fd, pid_t *probe_pid) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;

    pid_t child = fork();
    if (child < 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        return saved;
    }
    if (child == 0) {
        // Intermediate child: fork the probe and leave at once, so the probe is
        // re-parented to init (or the nearest subreaper), which reaps it.
        pid_t grandchild = fork();
        if (grandchild != 0) _exit(grandchild < 0 ? 1 : 0);

        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        prctl(PR_SET_NAME, "phc-fsprobe", 0, 0, 0);
        close(fds[0]);
        isolate_descriptors(fds[1]);
        run_probe(path, probe_file, probe_file_renamed);
        _exit(0);
    }
    close(fds[1]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        close(fds[0]);
        return ECHILD;
    }
    pid_t pid = 0;
    int rc = phc_read_full_timeout(fds[0], &pid, sizeof pid, 2000);
    if (rc != 0) {
        close(fds[0]);
        return rc;
    }
    *read_fd = fds[0];
    *probe_pid = pid;
    return 0;
}

int phc_read_full_timeout(int fd, void *buffer, size_t length, int timeout_ms) {
    char *p = buffer;
    int64_t deadline = monotonic_ns() + (int64_t)timeout_ms * 1000000LL;
    while (length > 0) {
        int64_t left_ns = deadline - monotonic_ns();
        if (left_ns <= 0) return ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, (int)((left_ns + 999999) / 1000000));
        if (ready < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (ready == 0) return ETIMEDOUT;
        ssize_t n = read(fd, p, length);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return errno;
        }
        if (n == 0) return EPIPE;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

int phc_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}
