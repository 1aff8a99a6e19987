#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

/* Swift cannot call C variadic functions such as git_libgit2_opts; these fixed-arity
   wrappers expose the few options the Git module sets. */
static inline int cgit2_enable_fsync_gitdir(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, enabled);
}

/* A backend's own `exists` and `write`, called directly: the Git module asks libgit2's
   mempack backend which objects it holds, and writes blobs straight into it (without the
   odb's per-object refresh of the pack folder). */
static inline int cgit2_backend_exists(git_odb_backend *backend, const git_oid *id) {
    return backend->exists(backend, id);
}

static inline int cgit2_backend_write(git_odb_backend *backend, const git_oid *id, const void *data, size_t length, git_object_t type) {
    return backend->write(backend, id, data, length, type);
}

static inline void cgit2_backend_free(git_odb_backend *backend) {
    backend->free(backend);
}
