// See include/bora_spawn.h for the contract.
#define _GNU_SOURCE
#include "bora_spawn.h"

#include <errno.h>

#if defined(__linux__)

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436 // the same number on every architecture (unified table since 5.1)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#endif
#ifndef PR_CAP_AMBIENT_CLEAR_ALL
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

// 32-bit ARM and i386 have 16-bit-id legacy calls under the plain names.
#if defined(SYS_setgroups32)
#define BORA_SYS_SETGROUPS SYS_setgroups32
#define BORA_SYS_SETGID SYS_setgid32
#define BORA_SYS_SETUID SYS_setuid32
#else
#define BORA_SYS_SETGROUPS SYS_setgroups
#define BORA_SYS_SETGID SYS_setgid
#define BORA_SYS_SETUID SYS_setuid
#endif

// The kernel's sigset size (8 bytes on everything but MIPS), as glibc's __NSIG_BYTES.
#define BORA_KERNEL_SIGSET_BYTES ((_NSIG - 1) / 8)

/// rt_sigprocmask without glibc's filtering (pthread_sigmask never blocks glibc's internal
/// SIGCANCEL/SIGSETXID; a vfork child must not run their handlers either).
static int raw_sigmask(int how, const sigset_t *set, sigset_t *old) {
    return (int)syscall(SYS_rt_sigprocmask, how, set, old, BORA_KERNEL_SIGSET_BYTES);
}

struct bora_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/// Closes every descriptor >= 3. Only system calls: safe in a vfork child.
static void close_from_3(void) {
    if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
    int dfd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        _Alignas(8) char buf[1024];
        for (;;) {
            long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
            if (n < 0) break;
            if (n == 0) { close(dfd); return; }
            int closed = 0;
            for (long off = 0; off < n;) {
                struct bora_dirent64 *d = (struct bora_dirent64 *)(void *)(buf + off);
                off += d->d_reclen;
                const char *s = d->d_name;
                if (*s < '0' || *s > '9') continue;
                long fd = 0;
                for (; *s >= '0' && *s <= '9'; s++) fd = fd * 10 + (*s - '0');
                if (fd >= 3 && fd != dfd) { close((int)fd); closed = 1; }
            }
            // Closing changes the directory; read it again from the start until nothing is left.
            if (closed) lseek(dfd, 0, SEEK_SET);
        }
        close(dfd);
    }
    struct rlimit rl;
    long max = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) max = (long)rl.rlim_cur;
    if (max > (1L << 20)) max = 1L << 20;
    for (long fd = 3; fd < max; fd++) close((int)fd);
}

/// The vfork child: only async-signal-safe calls and raw system calls; on failure records errno and
/// the call's name in the parent's (shared) variables and exits 127.
__attribute__((noreturn)) static void child(const char *path, char *const argv[], char *const envp[],
                                            int stdin_fd, int out_fd, int id_flags, uid_t uid, gid_t gid,
                                            volatile int *err, const char *volatile *call) {
#define FAIL(name) do { *err = errno ? errno : EIO; *call = (name); _exit(127); } while (0)
    // Raw rt_sigaction: glibc's sigaction() refuses its internal signals (32, 33), whose
    // dispositions would otherwise survive execve when ignored. An all-zero kernel sigaction is
    // SIG_DFL with no flags and an empty mask whatever the architecture's field order.
    _Alignas(16) unsigned char dfl[64];
    memset(dfl, 0, sizeof dfl);
    for (int s = 1; s < _NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        if (syscall(SYS_rt_sigaction, s, dfl, NULL, BORA_KERNEL_SIGSET_BYTES) != 0 && errno != EINVAL) FAIL("sigaction");
    }
    if (setpgid(0, 0) != 0) FAIL("setpgid");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) FAIL("prctl");
    if (id_flags & BORA_SPAWN_SET_GID) {
        gid_t groups[1] = {gid};
        if (syscall(BORA_SYS_SETGROUPS, 1, groups) != 0) FAIL("setgroups");
        if (syscall(BORA_SYS_SETGID, gid) != 0) FAIL("setgid");
    }
    if (id_flags & BORA_SPAWN_SET_UID) {
        if (syscall(BORA_SYS_SETUID, uid) != 0) FAIL("setuid");
    }
    // Move descriptors out of 0..2 first so one dup2 cannot clobber the other's source.
    if (stdin_fd < 3 && (stdin_fd = fcntl(stdin_fd, F_DUPFD, 3)) < 0) FAIL("fcntl");
    if (out_fd < 3 && (out_fd = fcntl(out_fd, F_DUPFD, 3)) < 0) FAIL("fcntl");
    if (dup2(stdin_fd, 0) < 0) FAIL("dup2");
    if (dup2(out_fd, 1) < 0) FAIL("dup2");
    if (dup2(out_fd, 2) < 0) FAIL("dup2");
    close_from_3();
    sigset_t none;
    sigemptyset(&none);
    if (raw_sigmask(SIG_SETMASK, &none, NULL) != 0) FAIL("sigprocmask");
    execve(path, argv, envp);
    FAIL("execve");
#undef FAIL
}

int bora_spawn(const char *path, char *const argv[], char *const envp[], int stdin_fd, int out_fd,
               int id_flags, uid_t uid, gid_t gid, pid_t *pid_out, const char **failed_call) {
    volatile int child_err = 0;
    const char *volatile child_call = NULL;
    sigset_t all, old;
    memset(&all, 0xff, sizeof all);
    memset(&old, 0, sizeof old);
    if (raw_sigmask(SIG_SETMASK, &all, &old) != 0) {
        int e = errno;
        if (failed_call) *failed_call = "sigprocmask";
        return e;
    }
    pid_t pid = vfork();
    if (pid == 0) child(path, argv, envp, stdin_fd, out_fd, id_flags, uid, gid, &child_err, &child_call);
    int vfork_errno = errno;
    raw_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        if (failed_call) *failed_call = "vfork";
        return vfork_errno;
    }
    if (child_err != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (failed_call) *failed_call = child_call;
        return child_err;
    }
    *pid_out = pid;
    return 0;
}

int bora_output_pipe(int *read_fd, int *write_fd) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;
    int flags = fcntl(fds[0], F_GETFL);
    if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) != 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    *read_fd = fds[0];
    *write_fd = fds[1];
    return 0;
}

int bora_wait_status(int status, int *value) {
    if (WIFEXITED(status)) { *value = WEXITSTATUS(status); return 1; }
    if (WIFSIGNALED(status)) { *value = WTERMSIG(status); return 2; }
    return 0;
}

/// Runs a *_r lookup with a growing heap buffer (ERANGE → double, up to 1 MiB).
#define BORA_LOOKUP(call, result_ptr, on_found)                              \
    do {                                                                    \
        size_t size = 1024;                                                 \
        for (;;) {                                                          \
            char *buf = malloc(size);                                       \
            if (!buf) return ENOMEM;                                        \
            int rc = (call);                                                \
            if (rc == 0 && (result_ptr) != NULL) { on_found; free(buf); return 0; } \
            free(buf);                                                      \
            if (rc == ERANGE && size < (1u << 20)) { size *= 2; continue; } \
            if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) return ENOENT; \
            return rc;                                                      \
        }                                                                   \
    } while (0)

int bora_uid_for_name(const char *name, uid_t *uid, gid_t *primary_gid) {
    struct passwd pw, *res = NULL;
    BORA_LOOKUP(getpwnam_r(name, &pw, buf, size, &res), res, (*uid = pw.pw_uid, *primary_gid = pw.pw_gid));
}

int bora_primary_gid_for_uid(uid_t uid, gid_t *primary_gid) {
    struct passwd pw, *res = NULL;
    BORA_LOOKUP(getpwuid_r(uid, &pw, buf, size, &res), res, (*primary_gid = pw.pw_gid));
}

int bora_gid_for_name(const char *name, gid_t *gid) {
    struct group gr, *res = NULL;
    BORA_LOOKUP(getgrnam_r(name, &gr, buf, size, &res), res, (*gid = gr.gr_gid));
}

#else // not Linux: the fenced spawn is Linux-only.

int bora_spawn(const char *path, char *const argv[], char *const envp[], int stdin_fd, int out_fd,
               int id_flags, uid_t uid, gid_t gid, pid_t *pid_out, const char **failed_call) {
    (void)path; (void)argv; (void)envp; (void)stdin_fd; (void)out_fd; (void)id_flags; (void)uid; (void)gid; (void)pid_out;
    if (failed_call) *failed_call = "bora_spawn";
    return ENOSYS;
}
int bora_output_pipe(int *read_fd, int *write_fd) { (void)read_fd; (void)write_fd; return ENOSYS; }
int bora_wait_status(int status, int *value) { (void)status; (void)value; return 0; }
int bora_uid_for_name(const char *name, uid_t *uid, gid_t *primary_gid) { (void)name; (void)uid; (void)primary_gid; return ENOSYS; }
int bora_primary_gid_for_uid(uid_t uid, gid_t *primary_gid) { (void)uid; (void)primary_gid; return ENOSYS; }
int bora_gid_for_name(const char *name, gid_t *gid) { (void)name; (void)gid; return ENOSYS; }

#endif
