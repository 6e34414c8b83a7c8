#include "phc_system.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__aarch64__)
#define PHC_CLONE_VM_PROBE 1
#endif

// MARK: - System calls for the probe process

#if PHC_CLONE_VM_PROBE
// Raw system calls: they return -errno and never touch errno or other libc state.
#if defined(__x86_64__)
static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#else
static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}
#endif
#define SYS(n, a, b, c, d) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static int64_t probe_now_ns(void) {
    struct timespec ts;
    SYS(SYS_clock_gettime, CLOCK_MONOTONIC, &ts, 0, 0);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static long p_statfs(const char *path, struct statfs *st) { return SYS(SYS_statfs, path, st, 0, 0); }
static long p_open(const char *path, int flags, int mode) { return SYS(SYS_openat, AT_FDCWD, path, flags, mode); }
static long p_write(int fd, const void *data, size_t length) { return SYS(SYS_write, fd, data, length, 0); }
static long p_fsync(int fd) { return SYS(SYS_fsync, fd, 0, 0, 0); }
static long p_close(int fd) { return SYS(SYS_close, fd, 0, 0, 0); }
static long p_unlink(const char *path) { return SYS(SYS_unlinkat, AT_FDCWD, path, 0, 0); }
static long p_rename(const char *from, const char *to) {
#ifdef SYS_renameat
    return SYS(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to);
#else
    return sys6(SYS_renameat2, AT_FDCWD, (long)from, AT_FDCWD, (long)to, 0, 0);
#endif
}
static void p_exit(int code) {
    for (;;) SYS(SYS_exit, code, 0, 0, 0);
}
static void p_close_all_but(int keep) {
#ifdef SYS_close_range
    long a = keep > 0 ? SYS(SYS_close_range, 0, keep - 1, 0, 0) : 0;
    long b = SYS(SYS_close_range, keep + 1, ~0U, 0, 0);
    if (a == 0 && b == 0) return;
#endif
    for (int fd = 0; fd < 4096; fd++) {
        if (fd != keep) p_close(fd);
    }
}
#define P_ERR(rc) ((int32_t)(-(rc)))
#else
// fork() child: it has its own copy of libc's state, and calls only
// async-signal-safe functions.
static int64_t probe_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static long wrap(long rc) { return rc < 0 ? -errno : rc; }
static long p_statfs(const char *path, struct statfs *st) { return wrap(statfs(path, st)); }
static long p_open(const char *path, int flags, int mode) { return wrap(open(path, flags, mode)); }
static long p_write(int fd, const void *data, size_t length) { return wrap(write(fd, data, length)); }
static long p_fsync(int fd) { return wrap(fsync(fd)); }
static long p_close(int fd) { return wrap(close(fd)); }
static long p_unlink(const char *path) { return wrap(unlink(path)); }
static long p_rename(const char *from, const char *to) { return wrap(rename(from, to)); }
static void p_exit(int code) { _exit(code); }
static void p_close_all_but(int keep) {
    for (int fd = 0; fd < 4096; fd++) {
        if (fd != keep) close(fd);
    }
}
#define P_ERR(rc) ((int32_t)(-(rc)))
#endif

// MARK: - The probe

typedef struct {
    const char *path;
    const char *probe_file;          // NULL: no write probe
    const char *probe_file_renamed;
    int result_fd;
} probe_request;

static void write_all(int fd, const void *data, size_t length) {
    const char *p = data;
    while (length > 0) {
        long n = p_write(fd, p, length);
        if (n == -EINTR) continue;
        if (n <= 0) return;
        p += n;
        length -= (size_t)n;
    }
}

static int probe_main(void *argument) {
    const probe_request *request = argument;
#if PHC_CLONE_VM_PROBE
    // Signals as a normal process has them (the caller's thread may block most),
    // and a name that tells what it is in ps.
    unsigned long no_signals = 0;
    SYS(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, 0, sizeof no_signals);
    SYS(SYS_prctl, PR_SET_NAME, "phc-fsprobe", 0, 0);
#else
    prctl(PR_SET_NAME, "phc-fsprobe", 0, 0, 0);
#endif
    // Nothing of the caller's stays open here: a probe blocked for hours must
    // not hold the agent's lock file, pipes or the terminal.
    p_close_all_but(request->result_fd);

    phc_probe_result result;
    memset(&result, 0, sizeof result);
    result.write_probe_ns = -1;

    int64_t start = probe_now_ns();
    struct statfs st;
    long rc = p_statfs(request->path, &st);
    result.statfs_ns = probe_now_ns() - start;
    if (rc < 0) {
        result.failed_step = PHC_PROBE_STEP_STATFS;
        result.error_number = P_ERR(rc);
        write_all(request->result_fd, &result, sizeof result);
        p_exit(0);
    }
    result.block_size = st.f_frsize ? (uint64_t)st.f_frsize : (uint64_t)st.f_bsize;
    result.blocks = st.f_blocks;
    result.blocks_free = st.f_bfree;
    result.blocks_available = st.f_bavail;
    result.files = st.f_files;
    result.files_free = st.f_ffree;
    result.flags = (uint64_t)st.f_flags;

    if (request->probe_file != NULL && request->probe_file_renamed != NULL) {
        static const char payload[] = "phc write probe\n";
        start = probe_now_ns();
        int step = PHC_PROBE_STEP_CREATE;
        long fd = p_open(request->probe_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        long failure = fd;
        if (fd >= 0) {
            step = PHC_PROBE_STEP_WRITE;
            failure = p_write((int)fd, payload, sizeof payload - 1);
            if (failure == (long)(sizeof payload - 1)) {
                step = PHC_PROBE_STEP_FSYNC;
                failure = p_fsync((int)fd);
                if (failure == 0) step = PHC_PROBE_STEP_RENAME;
            } else if (failure >= 0) {
                failure = -EIO;
            }
            p_close((int)fd);
            if (step == PHC_PROBE_STEP_RENAME) {
                failure = p_rename(request->probe_file, request->probe_file_renamed);
                if (failure == 0) {
                    step = PHC_PROBE_STEP_UNLINK;
                    failure = p_unlink(request->probe_file_renamed);
                    if (failure == 0) step = PHC_PROBE_STEP_NONE;
                } else {
                    p_unlink(request->probe_file);
                }
            } else {
                p_unlink(request->probe_file);
            }
        }
        if (step != PHC_PROBE_STEP_NONE) {
            result.failed_step = step;
            result.error_number = P_ERR(failure);
        }
        result.write_probe_ns = probe_now_ns() - start;
    }
    write_all(request->result_fd, &result, sizeof result);
    p_exit(0);
    return 0;
}

// MARK: - Starting and waiting

// Probes left behind by this process (they did not answer in time), reaped
// whenever a later probe starts, so a long-lived process collects no zombies.
static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t abandoned[64];
static int abandoned_count = 0;

static void reap_abandoned(void) {
    pthread_mutex_lock(&abandoned_lock);
    for (int i = 0; i < abandoned_count;) {
        int status;
        pid_t rc = waitpid(abandoned[i], &status, WNOHANG);
        if (rc == abandoned[i] || (rc < 0 && errno == ECHILD)) {
            abandoned[i] = abandoned[--abandoned_count];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&abandoned_lock);
}

static void abandon(pid_t pid) {
    pthread_mutex_lock(&abandoned_lock);
    if (abandoned_count < (int)(sizeof abandoned / sizeof abandoned[0])) abandoned[abandoned_count++] = pid;
    pthread_mutex_unlock(&abandoned_lock);
}

static int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int read_full_timeout(int fd, void *buffer, size_t length, int timeout_ms) {
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

static char *copy_into(char **cursor, const char *text) {
    if (text == NULL) return NULL;
    size_t length = strlen(text) + 1;
    char *copy = *cursor;
    memcpy(copy, text, length);
    *cursor += length;
    return copy;
}

#define PROBE_STACK (64 * 1024)

int phc_probe_run(const char *path, const char *probe_file, const char *probe_file_renamed, int timeout_ms,
                  phc_probe_result *result, pid_t *probe_pid) {
    reap_abandoned();
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;

    // One mapping holds the child's stack and its request (the paths). It is
    // released once the child has exited; a child left blocked keeps it.
    size_t strings = strlen(path) + 1 + (probe_file ? strlen(probe_file) + 1 : 0) +
                     (probe_file_renamed ? strlen(probe_file_renamed) + 1 : 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = (PROBE_STACK + sizeof(probe_request) + strings + page - 1) / page * page + page;
    char *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (region == MAP_FAILED) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        return saved;
    }
    mprotect(region, page, PROT_NONE);  // stack guard
    char *stack_top = region + page + PROBE_STACK;
    probe_request *request = (probe_request *)stack_top;
    char *cursor = stack_top + sizeof(probe_request);
    request->path = copy_into(&cursor, path);
    request->probe_file = copy_into(&cursor, probe_file);
    request->probe_file_renamed = copy_into(&cursor, probe_file_renamed);
    request->result_fd = fds[1];

#if PHC_CLONE_VM_PROBE
    pid_t pid = clone(probe_main, stack_top, CLONE_VM | SIGCHLD, request);
#else
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        probe_main(request);
    }
#endif
    int saved = errno;
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        munmap(region, size);
        return saved;
    }
    *probe_pid = pid;
    int rc = read_full_timeout(fds[0], result, sizeof *result, timeout_ms);
    close(fds[0]);
    if (rc == ETIMEDOUT) {
        abandon(pid);
        return ETIMEDOUT;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    munmap(region, size);
    return rc;
}

int phc_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}
