#include <git2.h>

/* Swift cannot call C variadic functions such as git_libgit2_opts; these fixed-arity
   wrappers expose the few options the Git module sets. */
static inline int cgit2_enable_fsync_gitdir(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, enabled);
}
