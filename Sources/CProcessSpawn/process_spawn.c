#define _GNU_SOURCE
#include "process_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// In the child: report the failed step and errno through the close-on-exec pipe, then leave
// without running atexit handlers or flushing the parent's stdio buffers.
static void child_fail(int report_fd, int step) {
    int message[2] = { step, errno };
    ssize_t ignored = write(report_fd, message, sizeof message);
    (void)ignored;
    _exit(127);
}

int rlhf_spawn(const rlhf_spawn_request *request, pid_t *pid, int *failed_step) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *failed_step = RLHF_SPAWN_STEP_FORK; return errno; }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int error = errno;
        close(report[0]);
        close(report[1]);
        *failed_step = RLHF_SPAWN_STEP_FORK;
        return error;
    }
    if (child == 0) {
        // Own process group, so stop() can signal the child and anything it starts at once, and
        // a Ctrl-C at the terminal reaches the supervisor only (it then stops the children).
        if (setpgid(0, 0) != 0) child_fail(report[1], RLHF_SPAWN_STEP_PROCESS_GROUP);
        if (request->death_signal != 0) {
            if (prctl(PR_SET_PDEATHSIG, request->death_signal) != 0) child_fail(report[1], RLHF_SPAWN_STEP_DEATH_SIGNAL);
            // The parent may have died before prctl took effect: then nobody would ever signal us.
            if (getppid() != parent) { errno = ESRCH; child_fail(report[1], RLHF_SPAWN_STEP_PARENT_GONE); }
        }
        // The supervisor ignores or catches SIGINT/SIGTERM/SIGPIPE; ignored dispositions and the
        // blocked mask survive exec, so restore the defaults.
        struct sigaction defaults;
        memset(&defaults, 0, sizeof defaults);
        defaults.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++) (void)sigaction(s, &defaults, NULL);
        sigset_t none;
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        if (request->core_count > 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            for (int i = 0; i < request->core_count; i++) CPU_SET(request->cores[i], &set);
            if (sched_setaffinity(0, sizeof set, &set) != 0) child_fail(report[1], RLHF_SPAWN_STEP_AFFINITY);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0) child_fail(report[1], RLHF_SPAWN_STEP_STDIO);
        if (dup2(request->output_fd, 1) < 0 || dup2(request->output_fd, 2) < 0) child_fail(report[1], RLHF_SPAWN_STEP_STDIO);
        if (request->working_directory && chdir(request->working_directory) != 0) child_fail(report[1], RLHF_SPAWN_STEP_CHDIR);
        // Descriptors the Swift runtime or other threads opened without O_CLOEXEC (other
        // children's pipes) must not leak into this child; kernels before 5.11 just skip this.
        (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        execve(request->path, request->argv, request->envp);
        child_fail(report[1], RLHF_SPAWN_STEP_EXEC);
    }
    close(report[1]);
    (void)setpgid(child, child);  // also from the parent, so the group exists before we return
    int message[2] = { 0, 0 };
    ssize_t got;
    do { got = read(report[0], message, sizeof message); } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof message) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        *failed_step = message[0];
        return message[1] != 0 ? message[1] : EIO;
    }
    *pid = child;
    *failed_step = 0;
    return 0;
}

int rlhf_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}

int rlhf_allowed_cpus(int *out, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) out[count++] = cpu;
    }
    return count;
}
