// Starting an exec indexer's program so that it cannot outlive the controller.
//
// posix_spawn cannot set a parent-death signal, and a parent-death signal on the program
// alone would not reach what the program starts. So the program runs under a supervisor:
// a fork of the controller that leads the program's process group and kills the whole
// group when the controller dies. Between fork and _exit the supervisor is a child of a
// multithreaded process: it calls only async-signal-safe functions (no malloc, no stdio,
// no lock), on memory prepared before the fork.

#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/// The controller's pid, in the supervisor's own copy of memory.
static pid_t supervised_parent;

/// The supervisor's parent-death signal. Linux sends it when the *thread* that forked the
/// supervisor ends, which a worker thread of the controller may do while the controller
/// lives on; the supervisor is then re-parented to another thread of the same process, and
/// getppid() still names the controller. Only a new parent means the controller is gone.
static void on_parent_death(int signal) {
    (void)signal;
    if (getppid() != supervised_parent) kill(0, SIGKILL);
}

static void report_and_exit(int fd, int error) __attribute__((noreturn));
static void report_and_exit(int fd, int error) {
    ssize_t n;
    do {
        n = write(fd, &error, sizeof error);
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

static void close_range_or_loop(unsigned first, unsigned last) {
    if (first > last) return;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, first, last, 0) == 0) return;
#endif
    struct rlimit limit;
    unsigned end = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < end) end = (unsigned)limit.rlim_cur;
    for (unsigned fd = first; fd < end && fd <= last; fd++) close((int)fd);
}

static void supervise(const char *path, char *const argv[], char *const envp[], int in, int out, int err, int report, pid_t parent)
    __attribute__((noreturn));
static void supervise(const char *path, char *const argv[], char *const envp[], int in, int out, int err, int report, pid_t parent) {
    // Every signal is blocked: the caller blocked them all before forking.
    supervised_parent = parent;
    struct sigaction standard;
    memset(&standard, 0, sizeof standard);
    standard.sa_handler = SIG_DFL;
    sigemptyset(&standard.sa_mask);
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal != SIGKILL && signal != SIGSTOP) sigaction(signal, &standard, NULL);
    }
    setpgid(0, 0);

    // The three descriptors go to 0, 1 and 2 (moved above 2 first, in case one of them is
    // 0, 1 or 2 already); every other descriptor of the controller is closed, so that the
    // supervisor holds no repository, database, socket or lock of it.
    int report_copy = fcntl(report, F_DUPFD_CLOEXEC, 3);
    if (report_copy < 0) report_and_exit(report, errno);
    report = report_copy;
    int moved[3] = {fcntl(in, F_DUPFD, 3), fcntl(out, F_DUPFD, 3), fcntl(err, F_DUPFD, 3)};
    for (int fd = 0; fd < 3; fd++) {
        if (moved[fd] < 0 || dup2(moved[fd], fd) < 0) report_and_exit(report, errno);
    }
    close_range_or_loop(3, (unsigned)report - 1);
    close_range_or_loop((unsigned)report + 1, ~0U);

    prctl(PR_SET_NAME, "indexops-guard", 0, 0, 0);
    struct sigaction death;
    memset(&death, 0, sizeof death);
    death.sa_handler = on_parent_death;
    sigemptyset(&death.sa_mask);
    sigaction(SIGHUP, &death, NULL);
    // SIGTERM for the group is the program's to handle; the supervisor waits for it.
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGTERM, &ignore, NULL);
    sigaction(SIGINT, &ignore, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGHUP, 0, 0, 0) != 0) report_and_exit(report, errno);
    // The controller may have died before the request: then nobody sends the signal.
    if (getppid() != parent) {
        kill(0, SIGKILL);
        _exit(127);
    }

    pid_t program = _Fork();
    if (program < 0) report_and_exit(report, errno);
    if (program == 0) {
        sigaction(SIGHUP, &standard, NULL);
        sigaction(SIGTERM, &standard, NULL);
        sigaction(SIGINT, &standard, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        report_and_exit(report, errno);
    }
    close(report);
    close(0);
    close(1);
    close(2);
    sigset_t hangup;
    sigemptyset(&hangup);
    sigaddset(&hangup, SIGHUP);
    sigprocmask(SIG_UNBLOCK, &hangup, NULL);

    int status = 0;
    while (waitpid(program, &status, 0) < 0) {
        if (errno != EINTR) _exit(127);
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    // End the way the program ended, without a core dump of the supervisor.
    int signal = WTERMSIG(status);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    sigaction(signal, &standard, NULL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, signal);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    kill(getpid(), signal);
    _exit(128 + signal);
}

pid_t indexops_spawn_supervised(const char *path, char *const argv[], char *const envp[],
                                int stdin_fd, int stdout_fd, int stderr_fd, int *error) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        *error = errno;
        return -1;
    }
    pid_t parent = getpid();
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    // _Fork runs no atfork handler: the child starts from a consistent copy of this thread only.
    pid_t pid = _Fork();
    if (pid == 0) supervise(path, argv, envp, stdin_fd, stdout_fd, stderr_fd, report[1], parent);
    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        *error = fork_error;
        return -1;
    }
    // Also done by the supervisor; whichever runs first, the group exists when this returns.
    setpgid(pid, pid);

    // End of file: the program was exec'd (the pipe is close-on-exec). Four bytes: an errno.
    int child_error = 0;
    size_t got = 0;
    while (got < sizeof child_error) {
        ssize_t n = read(report[0], (char *)&child_error + got, sizeof child_error - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(report[0]);
    if (got == sizeof child_error) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *error = child_error;
        return -1;
    }
    return pid;
}
