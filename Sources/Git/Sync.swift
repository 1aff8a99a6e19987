internal import CGit2
import Foundation

/// What `sync` did to the local branch.
public struct SyncResult: Sendable, Equatable {
    /// How the local branch was brought up to date.
    public enum Outcome: Sendable, Equatable {
        /// The remote has no such branch (yet); nothing changed.
        case noUpstream
        /// The local branch already was the upstream.
        case upToDate
        /// The local branch was missing or behind, and now is the upstream.
        case fastForwarded
        /// The local branch holds commits of ours that are not upstream; it contains the
        /// upstream, so nothing changed until the next push.
        case ahead
        /// The branches had diverged: this many local commits were replayed onto the upstream.
        case replayed(Int)
    }

    /// The local branch before (`nil`: it had no commit).
    public var previousHead: OID?
    /// The local branch after.
    public var head: OID?
    /// The remote's branch as fetched.
    public var upstream: OID?
    /// What happened.
    public var outcome: Outcome

    /// Whether the local branch moved (so the work tree needs `publish(to:)`).
    public var moved: Bool { previousHead != head }
}

extension Repository {
    /// Fetches the configured branch and brings the local branch up to date: a
    /// fast-forward when it is behind; when it has diverged, its own commits (which must
    /// touch only paths below `ownedPrefix`, e.g. `status`) are replayed onto the upstream
    /// with the same changes, messages and authors. The work tree is not touched: call
    /// `publish(to:)` when `moved` is true.
    ///
    /// - Throws: `GitError` from the fetch (`.stalled`, `.certificate`, `.auth`, …);
    ///   `.notReplayable` when a local commit not upstream is a merge or touches a path
    ///   outside `ownedPrefix` (people's history is never rewritten: the branch is left
    ///   as it was); `.modified` when the branch moved meanwhile.
    public func sync(_ remote: RemoteConfiguration, replaying ownedPrefix: String) throws -> SyncResult {
        let previous = try branchTip(remote.branch)
        try fetch(remote)
        guard let upstream = try trackingTip(remote) else {
            return SyncResult(previousHead: previous, head: previous, upstream: nil, outcome: .noUpstream)
        }
        let local = "refs/heads/" + remote.branch
        guard let previous else {
            try moveReference(local, from: nil, to: upstream, message: "indexops: sync: fast-forward")
            return SyncResult(previousHead: nil, head: upstream, upstream: upstream, outcome: .fastForwarded)
        }
        if previous == upstream {
            return SyncResult(previousHead: previous, head: previous, upstream: upstream, outcome: .upToDate)
        }
        if try isDescendant(upstream, of: previous) {
            try moveReference(local, from: previous, to: upstream, message: "indexops: sync: fast-forward")
            return SyncResult(previousHead: previous, head: upstream, upstream: upstream, outcome: .fastForwarded)
        }
        if try isDescendant(previous, of: upstream) {
            return SyncResult(previousHead: previous, head: previous, upstream: upstream, outcome: .ahead)
        }
        let (head, count) = try replay(previous, onto: upstream, ownedPrefix: ownedPrefix)
        try moveReference(local, from: previous, to: head, message: "indexops: sync: replay \(count) commit(s)")
        return SyncResult(previousHead: previous, head: head, upstream: upstream, outcome: .replayed(count))
    }

    /// Fetches `refs/heads/<branch>` into `refs/remotes/<remote>/<branch>`; no tags.
    public func fetch(_ remote: RemoteConfiguration) throws {
        let handle = try remoteHandle(remote)
        let session = try RemoteSession(remote, operation: "fetch")
        let refspec = "+refs/heads/\(remote.branch):refs/remotes/\(remote.remoteName)/\(remote.branch)"
        try withExtendedLifetime(session) {
            var options = git_fetch_options()
            try call("git_fetch_options_init") { git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)) }
            options.callbacks = session.callbacks()
            options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
            options.follow_redirects = GIT_REMOTE_REDIRECT_NONE
            try LibGit2.withStrarray([refspec]) { refspecs in
                let result = session.guarded { git_remote_fetch(handle.pointer, refspecs, &options, "indexops: fetch") }
                if result < 0 { throw session.error(result, function: "git_remote_fetch") }
            }
        }
    }

    /// The named remote, created (or its URL updated) to match `remote`.
    func remoteHandle(_ remote: RemoteConfiguration) throws -> RemoteHandle {
        var handle: OpaquePointer?
        let result = git_remote_lookup(&handle, pointer, remote.remoteName)
        if result == GIT_ENOTFOUND.rawValue {
            git_error_clear()
            try call("git_remote_create") { git_remote_create(&handle, pointer, remote.remoteName, remote.url) }
            return RemoteHandle(handle!)
        }
        if result < 0 { throw GitError.last(result, function: "git_remote_lookup") }
        let existing = RemoteHandle(handle!)
        if git_remote_url(existing.pointer).map({ String(cString: $0) }) == remote.url { return existing }
        try call("git_remote_set_url") { git_remote_set_url(pointer, remote.remoteName, remote.url) }
        var updated: OpaquePointer?
        try call("git_remote_lookup") { git_remote_lookup(&updated, pointer, remote.remoteName) }
        return RemoteHandle(updated!)
    }

    /// Re-creates the commits of `local` that are not in `upstream`, oldest first, on top
    /// of `upstream`, each with the same path changes, message and author. A commit whose
    /// changes are already upstream is dropped (never an empty commit). Moves no reference.
    func replay(_ local: OID, onto upstream: OID, ownedPrefix: String) throws -> (head: OID, count: Int) {
        let prefix = try Self.normalized(ownedPrefix, allowRoot: false)
        var base = upstream
        var count = 0
        for id in try commits(from: local, excluding: upstream, oldestFirst: true) {
            let commit = try lookupCommit(id)
            guard git_commit_parentcount(commit.pointer) == 1 else {
                throw GitError(.notReplayable, "local commit \(id.short) is a merge; it is not replayed", function: "Repository.replay")
            }
            let parent = OID(git_commit_parent_id(commit.pointer, 0))
            let changes = try self.changes(from: tree(ofCommit: parent), to: tree(ofCommit: id), in: "")
            if let outside = changes.first(where: { $0.path != prefix && !$0.path.hasPrefix(prefix + "/") }) {
                throw GitError(.notReplayable, "local commit \(id.short) changes '\(outside.path)' outside '\(prefix)/'; it is not replayed", function: "Repository.replay")
            }
            let baseTree = try tree(ofCommit: base)
            var updates: [TreeUpdate] = []
            for change in changes {
                if let new = change.new {
                    updates.append(TreeUpdate(path: change.path, entry: (new.id, new.kind)))
                } else if try entry(at: change.path, in: baseTree) != nil {
                    updates.append(TreeUpdate(path: change.path, entry: nil))
                }
            }
            let newTree = try apply(updates, to: baseTree)
            if newTree == baseTree.id { continue }
            let committer = Signature(git_commit_committer(commit.pointer))
            base = try writeCommit(
                tree: newTree,
                parents: [base],
                message: String(cString: git_commit_message(commit.pointer)),
                author: Signature(git_commit_author(commit.pointer)),
                committer: Signature(name: committer.name, email: committer.email)
            )
            count += 1
        }
        return (base, count)
    }

    /// The commits reachable from `tip` but not from `excluded`, in topological order.
    func commits(from tip: OID, excluding excluded: OID?, oldestFirst: Bool) throws -> [OID] {
        var walk: OpaquePointer?
        try call("git_revwalk_new") { git_revwalk_new(&walk, pointer) }
        let handle = RevwalkHandle(walk!)
        try call("git_revwalk_sorting") {
            git_revwalk_sorting(handle.pointer, GIT_SORT_TOPOLOGICAL.rawValue | (oldestFirst ? GIT_SORT_REVERSE.rawValue : 0))
        }
        var raw = tip.raw
        try call("git_revwalk_push") { git_revwalk_push(handle.pointer, &raw) }
        if var hidden = excluded?.raw {
            try call("git_revwalk_hide") { git_revwalk_hide(handle.pointer, &hidden) }
        }
        var result: [OID] = []
        var oid = git_oid()
        while true {
            let status = git_revwalk_next(&oid, handle.pointer)
            if status == GIT_ITEROVER.rawValue { break }
            if status < 0 { throw GitError.last(status, function: "git_revwalk_next") }
            result.append(OID(oid))
        }
        return result
    }
}
