// CBoraSpawn — starts an action's program with a fenced environment (Linux).
//
// Plain C types only (usable from Swift, Embedded Swift or C). No allocation on the spawn path.
#ifndef BORA_SPAWN_H
#define BORA_SPAWN_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// `id_flags` bits for bora_spawn.
enum {
    /// setgroups(1, &gid) then setgid(gid) in the child.
    BORA_SPAWN_SET_GID = 1,
    /// setuid(uid) in the child (after the group change).
    BORA_SPAWN_SET_UID = 2,
};

/// Starts `path` (an absolute path: no PATH search) with `argv` and `envp` (both NULL-terminated)
/// through vfork + execve. The child, before execve:
///   - resets every signal disposition to SIG_DFL and starts with an empty signal mask;
///   - is the leader of its own process group (setpgid(0, 0)), so kill(-pid, …) reaches it and its
///     descendants as soon as this function returns;
///   - clears its ambient capabilities (PR_CAP_AMBIENT_CLEAR_ALL; EINVAL from old kernels ignored);
///   - per `id_flags`: setgroups(1, &gid) + setgid(gid), then setuid(uid) — raw system calls, never
///     the glibc wrappers (those signal every thread of the process, which a vfork child sharing
///     the parent's memory must not do);
///   - has `stdin_fd` as fd 0, `out_fd` as fds 1 and 2, and no other descriptor open
///     (close_range(3, ~0U), falling back to /proc/self/fd, then to RLIMIT_NOFILE).
/// All signals (glibc's internal ones included) are blocked in the calling thread while the child
/// shares its memory; the caller's mask is restored before returning.
///
/// Returns 0 and stores the child's pid in `*pid_out`, or returns an errno value and stores the
/// name of the failing call in `*failed_call` (a static string: "vfork", "sigaction", "setpgid",
/// "prctl", "setgroups", "setgid", "setuid", "dup2", "close_range", "execve"); a child that failed
/// has already been reaped. `failed_call` may be NULL.
int bora_spawn(const char *path, char *const argv[], char *const envp[], int stdin_fd, int out_fd,
               int id_flags, uid_t uid, gid_t gid, pid_t *pid_out, const char **failed_call);

/// Makes the pipe for an action's output: both ends O_CLOEXEC (atomically, pipe2), the read end
/// also O_NONBLOCK. Returns 0 or an errno value.
int bora_output_pipe(int *read_fd, int *write_fd);

/// Decodes a waitpid status: returns 1 and the exit code in `*value` when the process exited,
/// 2 and the signal number when a signal killed it, 0 otherwise (stopped, continued).
int bora_wait_status(int status, int *value);

/// Looks up a user: 0 and its uid and primary gid, ENOENT when there is no such user, or the
/// errno of getpwnam_r.
int bora_uid_for_name(const char *name, uid_t *uid, gid_t *primary_gid);

/// Looks up the passwd entry of `uid`: 0 and its primary gid, ENOENT, or the errno of getpwuid_r.
int bora_primary_gid_for_uid(uid_t uid, gid_t *primary_gid);

/// Looks up a group: 0 and its gid, ENOENT when there is no such group, or the errno of getgrnam_r.
int bora_gid_for_name(const char *name, gid_t *gid);

#ifdef __cplusplus
}
#endif

#endif
