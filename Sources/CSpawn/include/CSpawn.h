#ifndef INDEXOPS_CSPAWN_H
#define INDEXOPS_CSPAWN_H

#include <sys/types.h>

/// Starts `path` (argv, envp: NULL-terminated) as the child of a small supervisor process
/// that dies with the calling process, taking the program's whole process group with it.
///
/// The supervisor is a fork of the caller that runs only async-signal-safe code and never
/// returns to Swift: it leads a new process group, holds the three descriptors as its
/// stdin, stdout and stderr (every other descriptor is closed), asks the kernel for a
/// parent-death signal (`PR_SET_PDEATHSIG`), checks that its parent is still the caller
/// (the parent may have died before the request), forks the program into its group and
/// waits for it. When the caller dies (even by SIGKILL), the supervisor kills its group:
/// the program and anything it started that stayed in the group. SIGTERM sent to the group
/// reaches the program; the supervisor ignores it and ends the way the program ended (the
/// same exit status, or the same signal).
///
/// Returns the supervisor's pid, which is also the process group id, once the program has
/// been exec'd. Returns -1 and sets `*error` to an errno value when the program could not
/// be started (the supervisor is then reaped).
pid_t indexops_spawn_supervised(const char *path, char *const argv[], char *const envp[],
                                int stdin_fd, int stdout_fd, int stderr_fd, int *error);

#endif
