internal import CGit2
import Foundation

/// A git repository on disk, opened through libgit2: the controller's own clone.
///
/// Ownership: the instance owns its `git_repository` handle and frees it when released.
/// Concurrency: a `Repository` is not `Sendable`. libgit2 handles must not be used by two
/// threads at once and its errors are thread-local, so the compiler keeps an instance in
/// one isolation domain: own it inside one actor (the controller's) or one task. Every
/// method is synchronous and blocking (network operations included); call it from that
/// actor, never from two tasks at once.
public final class Repository {
    let pointer: OpaquePointer

    /// Called before each push attempt with its number (from 1): lets tests land a
    /// person's push exactly between our fetch and our push.
    var beforePushAttempt: ((Int) throws -> Void)?

    /// Called in each push attempt after the remote's branch was read and checked, just
    /// before the remote moves it: lets tests land another push in the window where two
    /// pushers race.
    var whilePushing: (() throws -> Void)?

    /// What this handle has read, for tests that count work instead of timing it.
    public struct ReadCounters: Sendable, Hashable {
        /// Blobs read whole (`readBlob`, and files published to the work tree).
        public var blobsRead = 0
        /// Tree objects looked up (each folder listed or walked through).
        public var treesRead = 0
        /// Times a publish had libgit2 read the whole git index (``IndexFile`` could not).
        public var libgit2IndexReads = 0
    }

    /// What this handle has read so far.
    public internal(set) var counters = ReadCounters()

    /// The largest file ``publish(to:)`` writes into the work tree; a larger one is left out
    /// and reported (its size is read from the object header, so it is never read).
    /// `nil`: no limit.
    public var workTreeFileLimit: BlobSizeLimit?

    /// When a commit finds more packs than this in `objects/pack`, it first consolidates
    /// them (see `consolidatePacks`); `defaultPackLimit` unless changed.
    public var packLimit = Repository.defaultPackLimit

    /// The objects of the commit being made, while `writingOnePack` runs.
    var staging: StagedObjects?

    /// The `PackRemovals.generation` that this handle's object database has caught up with.
    var seenPackRemovals: Int

    /// The remotes looked up so far, by name and URL (see `remoteHandle`).
    var remoteHandles: [String: RemoteHandle] = [:]

    private init(_ pointer: OpaquePointer) {
        self.pointer = pointer
        self.seenPackRemovals = PackRemovals.generation.load(ordering: .acquiring)
    }

    deinit {
        remoteHandles.removeAll()  // each remote before the repository it belongs to
        git_repository_free(pointer)
    }

    /// Opens the repository at `path` (a work tree or a bare repository). No discovery of
    /// parent folders: `path` itself must be the repository.
    /// - Throws: `GitError` `.notFound` when there is no repository at `path`.
    public static func open(at path: String) throws -> Repository {
        _ = LibGit2.initialized
        var repository: OpaquePointer?
        try call("git_repository_open_ext") {
            git_repository_open_ext(&repository, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        }
        return Repository(repository!)
    }

    /// Makes a new repository with a work tree at `path` whose unborn branch is `branch`.
    /// - Throws: `GitError` when `path` cannot hold one.
    public static func initialize(at path: String, branch: String) throws -> Repository {
        _ = LibGit2.initialized
        var options = git_repository_init_options()
        try call("git_repository_init_options_init") {
            git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION))
        }
        options.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue
        var repository: OpaquePointer?
        try ("refs/heads/" + branch).withCString { head in
            options.initial_head = head
            try call("git_repository_init_ext") { git_repository_init_ext(&repository, path, &options) }
        }
        return Repository(repository!)
    }

    /// Opens the repository at `path`, or clones `remote` there when `path` is missing or
    /// an empty folder (a freshly mounted volume).
    /// - Throws: `GitError` `.notFound` when there is no repository at `path` and no remote
    ///   is given; any error of `clone(_:to:)`.
    /// - Parameter workTreeFileLimit: becomes the repository's ``workTreeFileLimit``, for the
    ///   clone's first publish too.
    public static func openOrClone(at path: String, remote: RemoteConfiguration?, workTreeFileLimit: BlobSizeLimit? = nil) throws -> Repository {
        let contents = try? FileManager.default.contentsOfDirectory(atPath: path)
        if FileManager.default.fileExists(atPath: path) && contents?.isEmpty != true {
            let repository = try open(at: path)
            repository.workTreeFileLimit = workTreeFileLimit
            return repository
        }
        guard let remote else {
            throw GitError(.notFound, "no repository at '\(path)' and no remote URL to clone", function: "Repository.openOrClone")
        }
        return try clone(remote, to: path, workTreeFileLimit: workTreeFileLimit)
    }

    /// Clones `remote` into `path` (missing, or an empty folder) and checks out its branch.
    ///
    /// When `path` is missing, the clone is made in a sibling folder `path.partial-<pid>`
    /// and renamed into place, so `path` never holds a half-made clone. An empty folder
    /// (a mount point cannot be renamed over) is cloned into directly; a clone killed
    /// half-way there is completed by the next `sync`. Files are written by
    /// `publish(to:)` (complete files only, never an entry that ``EntryName`` refuses). An
    /// empty remote yields an unborn branch.
    public static func clone(_ remote: RemoteConfiguration, to path: String, workTreeFileLimit: BlobSizeLimit? = nil) throws -> Repository {
        _ = LibGit2.initialized
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        let inPlace = (try? FileManager.default.contentsOfDirectory(atPath: target))?.isEmpty == true
        let partial = inPlace ? target : target + ".partial-\(getpid())"
        if !inPlace { try? FileManager.default.removeItem(atPath: partial) }
        let session = try RemoteSession(remote, operation: "clone")
        var repository: OpaquePointer?
        do {
            try withExtendedLifetime(session) {
                var options = git_clone_options()
                try call("git_clone_options_init") { git_clone_options_init(&options, UInt32(GIT_CLONE_OPTIONS_VERSION)) }
                options.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE.rawValue
                options.fetch_opts.callbacks = session.callbacks()
                options.fetch_opts.follow_redirects = GIT_REMOTE_REDIRECT_NONE
                options.fetch_opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
                let result = session.guarded { git_clone(&repository, remote.url, partial, &options) }
                if result < 0 { throw session.error(result, function: "git_clone") }
            }
        } catch {
            if !inPlace { try? FileManager.default.removeItem(atPath: partial) }
            throw error
        }
        git_repository_free(repository)
        if !inPlace, rename(partial, target) != 0 {
            let error = GitError.posix("rename '\(partial)' to '\(target)'", function: "Repository.clone")
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        let cloned = try open(at: target)
        cloned.workTreeFileLimit = workTreeFileLimit
        try cloned.adoptBranch(remote)
        if let head = try cloned.branchTip(remote.branch) {
            try cloned.publish(to: head)
        }
        return cloned
    }

    /// Points HEAD at `refs/heads/<branch>`, creating the branch from its remote-tracking
    /// branch when it is missing, with that upstream configured.
    func adoptBranch(_ remote: RemoteConfiguration) throws {
        let local = "refs/heads/" + remote.branch
        if try branchTip(remote.branch) == nil, let upstream = try trackingTip(remote) {
            try moveReference(local, from: nil, to: upstream, message: "indexops: clone")
            try call("git_config_set_string") {
                withConfig { git_config_set_string($0, "branch.\(remote.branch).remote", remote.remoteName) }
            }
            try call("git_config_set_string") {
                withConfig { git_config_set_string($0, "branch.\(remote.branch).merge", local) }
            }
        }
        try call("git_repository_set_head") { git_repository_set_head(pointer, local) }
    }

    private func withConfig(_ body: (OpaquePointer) -> Int32) -> Int32 {
        var config: OpaquePointer?
        let result = git_repository_config(&config, pointer)
        if result < 0 { return result }
        defer { git_config_free(config) }
        return body(config!)
    }

    /// The work tree folder (with a trailing `/`), or `nil` for a bare repository.
    public var workDirectory: String? {
        git_repository_workdir(pointer).map { String(cString: $0) }
    }

    /// The git directory (`.git/` of a work tree, or the bare repository), with a trailing `/`.
    public var gitDirectory: String {
        String(cString: git_repository_path(pointer))
    }

    // MARK: References

    /// The commit at the tip of the local branch `branch`, or `nil` when it has none yet.
    public func branchTip(_ branch: String) throws -> OID? {
        try referenceTarget("refs/heads/" + branch)
    }

    /// The commit that `refs/remotes/<remote>/<branch>` points at, or `nil`.
    public func trackingTip(_ remote: RemoteConfiguration) throws -> OID? {
        try referenceTarget("refs/remotes/\(remote.remoteName)/\(remote.branch)")
    }

    /// Resolves a revision expression (`HEAD`, `main~2`, a hex id) to a commit id.
    public func resolve(_ revision: String) throws -> OID {
        var object: OpaquePointer?
        try call("git_revparse_single") { git_revparse_single(&object, pointer, revision) }
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try call("git_object_peel") { git_object_peel(&commit, object, GIT_OBJECT_COMMIT) }
        defer { git_object_free(commit) }
        return OID(git_object_id(commit))
    }

    func referenceTarget(_ name: String) throws -> OID? {
        var oid = git_oid()
        let result = git_reference_name_to_id(&oid, pointer, name)
        if result == GIT_ENOTFOUND.rawValue {
            git_error_clear()
            return nil
        }
        if result < 0 { throw GitError.last(result, function: "git_reference_name_to_id") }
        return OID(oid)
    }

    /// Moves `branch` from `old` to `new` only if it still points at `old` (a compare-and-swap),
    /// for instance to take back a local commit that could not be pushed. The work tree is not
    /// touched: call `publish(to:)`.
    /// - Throws: `GitError` `.modified` when the branch moved meanwhile.
    public func moveBranch(_ branch: String, from old: OID, to new: OID) throws {
        try moveReference("refs/heads/" + branch, from: old, to: new, message: "indexops: move \(branch)")
    }

    /// Moves (or creates) reference `name` to `new` only if it still points at `old`
    /// (`nil`: only if it does not exist): a compare-and-swap under the reference's lock.
    /// - Throws: `GitError` `.modified` (moved meanwhile) or `.exists` (created meanwhile).
    func moveReference(_ name: String, from old: OID?, to new: OID, message: String) throws {
        var newRaw = new.raw
        var reference: OpaquePointer?
        if var oldRaw = old?.raw {
            try call("git_reference_create_matching") {
                git_reference_create_matching(&reference, pointer, name, &newRaw, 1, &oldRaw, message)
            }
        } else {
            try call("git_reference_create") {
                git_reference_create(&reference, pointer, name, &newRaw, 0, message)
            }
        }
        git_reference_free(reference)
    }

    /// Points reference `name` at `id`, whatever it pointed at (forced, as a fetch moves a
    /// remote-tracking branch), with a reflog entry `message`; nothing when it already does.
    func setReference(_ name: String, to id: OID, message: String) throws {
        guard try referenceTarget(name) != id else { return }
        var raw = id.raw
        var reference: OpaquePointer?
        try call("git_reference_create") { git_reference_create(&reference, pointer, name, &raw, 1, message) }
        git_reference_free(reference)
    }

    // MARK: Objects

    func lookupCommit(_ id: OID) throws -> CommitHandle {
        releaseRemovedPacks()
        var raw = id.raw
        var commit: OpaquePointer?
        try call("git_commit_lookup") { git_commit_lookup(&commit, pointer, &raw) }
        return CommitHandle(commit!)
    }

    func tree(ofCommit id: OID) throws -> TreeHandle {
        counters.treesRead += 1
        let commit = try lookupCommit(id)
        var tree: OpaquePointer?
        try call("git_commit_tree") { git_commit_tree(&tree, commit.pointer) }
        return TreeHandle(tree!)
    }

    func lookupTree(_ id: OID) throws -> TreeHandle {
        counters.treesRead += 1
        releaseRemovedPacks()
        var raw = id.raw
        var tree: OpaquePointer?
        try call("git_tree_lookup") { git_tree_lookup(&tree, pointer, &raw) }
        return TreeHandle(tree!)
    }

    /// The id of the empty tree, written to the object database if it is not there.
    func emptyTreeID() throws -> OID {
        var builder: OpaquePointer?
        try call("git_treebuilder_new") { git_treebuilder_new(&builder, pointer, nil) }
        defer { git_treebuilder_free(builder) }
        var oid = git_oid()
        try call("git_treebuilder_write") { git_treebuilder_write(&oid, builder) }
        return OID(oid)
    }

    /// Whether `descendant` has `ancestor` in its history (a commit is not its own descendant).
    public func isDescendant(_ descendant: OID, of ancestor: OID) throws -> Bool {
        var a = descendant.raw
        var b = ancestor.raw
        return try call("git_graph_descendant_of") { git_graph_descendant_of(pointer, &a, &b) } == 1
    }
}

/// A `Repository` must stay in one isolation domain (see its documentation).
@available(*, unavailable)
extension Repository: Sendable {}

extension GitError {
    /// An error for a failed POSIX call, with `errno`'s text.
    static func posix(_ what: String, function: String) -> GitError {
        let number = errno
        return GitError(.os, "\(what): \(String(cString: strerror(number))) (errno \(number))", function: function, errorClass: .os)
    }
}
