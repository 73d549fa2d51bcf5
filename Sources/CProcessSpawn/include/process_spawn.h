#ifndef RLHF_PROCESS_SPAWN_H
#define RLHF_PROCESS_SPAWN_H

#include <sys/types.h>

/// What a child gets. Every pointer is prepared by the parent before fork: the child only makes
/// system calls (async-signal-safe) between fork and exec.
typedef struct {
    /// Absolute path of the program (PATH is searched by the caller, not in the child).
    const char *_Nonnull path;
    /// NULL-terminated argument and environment vectors.
    char *_Nullable const *_Nonnull argv;
    char *_Nullable const *_Nonnull envp;
    /// CPUs to pin the child to (sched_setaffinity), or core_count 0 to inherit the parent's set.
    const int *_Nullable cores;
    int core_count;
    /// The write end of the pipe that receives both stdout and stderr.
    int output_fd;
    /// Working directory, or NULL for the parent's.
    const char *_Nullable working_directory;
    /// Signal the child gets when the thread that forked it dies (PR_SET_PDEATHSIG); 0 for none.
    int death_signal;
} rlhf_spawn_request;

/// The step of the child's setup that failed (reported with its errno).
enum {
    RLHF_SPAWN_STEP_FORK = 1,
    RLHF_SPAWN_STEP_PROCESS_GROUP = 2,
    RLHF_SPAWN_STEP_DEATH_SIGNAL = 3,
    RLHF_SPAWN_STEP_PARENT_GONE = 4,
    RLHF_SPAWN_STEP_AFFINITY = 5,
    RLHF_SPAWN_STEP_STDIO = 6,
    RLHF_SPAWN_STEP_CHDIR = 7,
    RLHF_SPAWN_STEP_EXEC = 8,
};

/// Forks and execs `request` in a new process group (its own pid). Returns 0 and the pid, or an
/// errno with `*failed_step` saying which step failed; a failed child is already reaped.
int rlhf_spawn(const rlhf_spawn_request *_Nonnull request, pid_t *_Nonnull pid, int *_Nonnull failed_step);

/// pipe2(fds, O_CLOEXEC): the read end must not leak into other children (glibc hides pipe2
/// from Swift without _GNU_SOURCE). Returns 0 or errno.
int rlhf_pipe_cloexec(int fds[_Nonnull 2]);

/// The CPUs this process may run on (sched_getaffinity), ascending; returns how many were written.
int rlhf_allowed_cpus(int *_Nonnull out, int capacity);

#endif
