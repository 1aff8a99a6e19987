internal import CGit2
import Foundation

/// What marks a commit as indexops's own status commit, which `sync` and `push` may replay
/// onto a newer (or rewritten) upstream: one parent, the configured status author (name and
/// e-mail), the ``trailer`` in its message, and changes only below ``folder``.
public struct OwnCommits: Sendable, Hashable {
    /// The trailer every status commit message carries, followed by the spec commit's id.
    public static let trailer = "Indexops-Spec-Commit:"

    /// The folder the controller alone writes (`status`).
    public var folder: String
    /// The author name of status commits.
    public var authorName: String
    /// The author e-mail of status commits.
    public var authorEmail: String

    /// Describes the status commits of an author in a folder.
    public init(folder: String, authorName: String, authorEmail: String) {
        self.folder = folder
        self.authorName = authorName
        self.authorEmail = authorEmail
    }
}

/// A rewritten upstream, as `sync` found and handled it: a warning for the log.
public struct UpstreamRewrite: Sendable, Equatable, CustomStringConvertible {
    /// The branch.
    public var branch: String
    /// The upstream as last synced, which the new one does not contain.
    public var previousUpstream: OID
    /// The upstream now, taken as it is.
    public var upstream: OID
    /// Our own status commits that were never upstream, replayed onto it (the originals).
    public var replayed: [OID]
    /// The local commits dropped, oldest first: those the upstream dropped, and any other
    /// commit that was not our own. None of them is ever pushed again.
    public var dropped: [OID]

    /// The warning, naming the old and the new upstream.
    public var description: String {
        let shown = dropped.prefix(5).map(\.short).joined(separator: ", ") + (dropped.count > 5 ? ", …" : "")
        return "the upstream of '\(branch)' was rewritten (\(previousUpstream.short) -> \(upstream.short)): "
            + "took it as it is, replayed \(replayed.count) status commit(s) of our own, "
            + "dropped \(dropped.count) commit(s) that are not upstream" + (dropped.isEmpty ? "" : " (\(shown))")
    }
}

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
        /// The upstream was rewritten (see ``SyncResult/rewrite``): the local branch is now
        /// the upstream with this many of our own status commits replayed onto it.
        case rewritten(replayed: Int)
        /// The remote's branch was deleted (after it had been fetched): the local branch was
        /// deleted too, taken as it is (only with `takingDeletion`).
        case deleted
    }

    /// The local branch before (`nil`: it had no commit).
    public var previousHead: OID?
    /// The local branch after.
    public var head: OID?
    /// The remote's branch as fetched.
    public var upstream: OID?
    /// What happened.
    public var outcome: Outcome
    /// When the upstream was rewritten: what was kept and dropped, for a warning in the log.
    public var rewrite: UpstreamRewrite?

    /// Whether the local branch moved (so the work tree needs `publish(to:)`).
    public var moved: Bool { previousHead != head }
}

extension Repository {
    /// Fetches the configured branch and brings the local branch up to date: a
    /// fast-forward when it is behind; when it has diverged, its own commits (which must
    /// touch only paths below `own.folder`, e.g. `status`) are replayed onto the upstream
    /// with the same changes, messages and authors. The work tree is not touched: call
    /// `publish(to:)` when `moved` is true.
    ///
    /// A rewritten upstream (a force-push that rewound or rewrote the branch) is taken as it
    /// is and never blocks: when the upstream does not contain what was last synced (the
    /// remote-tracking branch before the fetch and its recent reflog), or the local branch
    /// holds commits that were upstream once and are not any more, the local branch becomes
    /// the upstream with only our own status commits (see ``OwnCommits``) that were never
    /// upstream replayed onto it. Everything else is dropped, so no commit that the upstream
    /// dropped is ever pushed again; ``SyncResult/rewrite`` says what happened.
    ///
    /// - Throws: `GitError` from the fetch (`.stalled`, `.certificate`, `.auth`, …);
    ///   `.notReplayable` when, the upstream not being rewritten, a local commit not upstream
    ///   is a merge or touches a path outside `own.folder` (people's history is never
    ///   rewritten: the branch is left as it was); `.modified` when the branch moved meanwhile.
    ///
    /// - Parameter takingDeletion: the fetch prunes the remote-tracking branch, and a remote
    ///   branch deleted since it was last fetched deletes the local branch (``SyncResult/Outcome/deleted``):
    ///   for a branch that only the controller writes and a person may delete (a status
    ///   branch), so that nothing it dropped is pushed again.
    public func sync(_ remote: RemoteConfiguration, replaying own: OwnCommits, takingDeletion: Bool = false) throws -> SyncResult {
        let previous = try branchTip(remote.branch)
        let previousUpstream = try trackingTip(remote)
        try fetch(remote, prune: takingDeletion)
        guard let upstream = try trackingTip(remote) else {
            if takingDeletion, previousUpstream != nil, let previous {
                try deleteReference("refs/heads/" + remote.branch, expected: previous)
                return SyncResult(previousHead: previous, head: nil, upstream: nil, outcome: .deleted)
            }
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
        let notUpstream = try commits(from: previous, hiding: [upstream], oldestFirst: true)
        let formerTips = try formerUpstreamTips(remote, previousUpstream: previousUpstream)
        let neverUpstream = Set(try commits(from: previous, hiding: [upstream], alsoHiding: formerTips, oldestFirst: true))
        let droppedByUpstream = notUpstream.filter { !neverUpstream.contains($0) }
        var rewound = false
        if let previousUpstream, previousUpstream != upstream { rewound = try !isDescendant(upstream, of: previousUpstream) }

        if !rewound && droppedByUpstream.isEmpty {
            if notUpstream.isEmpty {
                try moveReference(local, from: previous, to: upstream, message: "indexops: sync: fast-forward")
                return SyncResult(previousHead: previous, head: upstream, upstream: upstream, outcome: .fastForwarded)
            }
            if try isDescendant(previous, of: upstream) {
                return SyncResult(previousHead: previous, head: previous, upstream: upstream, outcome: .ahead)
            }
            let (head, count) = try replay(notUpstream, onto: upstream, ownedPrefix: own.folder)
            try moveReference(local, from: previous, to: head, message: "indexops: sync: replay \(count) commit(s)")
            return SyncResult(previousHead: previous, head: head, upstream: upstream, outcome: .replayed(count))
        }

        // The upstream was rewritten: keep only our own status commits that it never had.
        var kept: [OID] = []
        var dropped: [OID] = []
        for id in notUpstream {
            if neverUpstream.contains(id), try isOwn(id, own) { kept.append(id) } else { dropped.append(id) }
        }
        let (head, count) = try replay(kept, onto: upstream, ownedPrefix: own.folder)
        try moveReference(local, from: previous, to: head, message: "indexops: sync: the upstream was rewritten; took it, replayed \(count) commit(s)")
        var old = previousUpstream ?? upstream
        if !rewound {
            // The tracking branch already was the new upstream (a pass ended between the fetch
            // and the move): the old upstream is the newest former tip it does not contain.
            for tip in formerTips where tip != upstream {
                if try !isDescendant(upstream, of: tip) {
                    old = tip
                    break
                }
            }
        }
        let rewrite = UpstreamRewrite(branch: remote.branch, previousUpstream: old, upstream: upstream, replayed: kept, dropped: dropped)
        return SyncResult(previousHead: previous, head: head, upstream: upstream, outcome: .rewritten(replayed: count), rewrite: rewrite)
    }

    /// Whether commit `id` is one of our own status commits (see ``OwnCommits``).
    func isOwn(_ id: OID, _ own: OwnCommits) throws -> Bool {
        let commit = try lookupCommit(id)
        guard git_commit_parentcount(commit.pointer) == 1 else { return false }
        let author = Signature(git_commit_author(commit.pointer))
        guard author.name == own.authorName, author.email == own.authorEmail else { return false }
        let message = String(cString: git_commit_message(commit.pointer))
        guard message.split(separator: "\n").contains(where: { $0.hasPrefix(OwnCommits.trailer) }) else { return false }
        let prefix = try Self.normalized(own.folder, allowRoot: false)
        let parent = OID(git_commit_parent_id(commit.pointer, 0))
        var skipped: [SkippedEntry] = []
        let changes = try self.changes(from: tree(ofCommit: parent), to: tree(ofCommit: id), in: "", skipped: &skipped)
        return changes.allSatisfy { $0.path.hasPrefix(prefix + "/") }
    }

    /// What the upstream was before: the remote-tracking branch before this fetch and the
    /// tips in its reflog (fetches and pushes), newest first, at most 32.
    private func formerUpstreamTips(_ remote: RemoteConfiguration, previousUpstream: OID?) throws -> [OID] {
        var tips: [OID] = previousUpstream.map { [$0] } ?? []
        var reflog: OpaquePointer?
        let name = "refs/remotes/\(remote.remoteName)/\(remote.branch)"
        guard git_reflog_read(&reflog, pointer, name) == 0, let reflog else {
            git_error_clear()
            return tips
        }
        defer { git_reflog_free(reflog) }
        let zero = OID(git_oid())
        for index in 0..<min(git_reflog_entrycount(reflog), 32) {
            guard let entry = git_reflog_entry_byindex(reflog, index) else { continue }
            for raw in [git_reflog_entry_id_new(entry), git_reflog_entry_id_old(entry)] {
                guard let raw else { continue }
                let id = OID(raw)
                if id != zero, !tips.contains(id) { tips.append(id) }
            }
        }
        return tips
    }

    /// Fetches `refs/heads/<branch>` into `refs/remotes/<remote>/<branch>`; no tags. From a
    /// repository on this machine (a path, `file://`), ``fetchLocally(from:ref:into:prune:)``
    /// copies only what changed; from any other, libgit2's `git_remote_fetch`.
    /// - Parameter prune: a remote branch that is gone removes its remote-tracking branch.
    public func fetch(_ remote: RemoteConfiguration, prune: Bool = false) throws {
        let handle = try remoteHandle(remote)
        let session = try RemoteSession(remote, operation: "fetch")
        if let path = LocalRemote.repositoryPath(remote.url) {
            // Through `withRemote` all the same: the remote stays configured in the clone,
            // and a failure forgets it, as for any other.
            return try withRemote(remote, session) {
                _ = try fetchLocally(
                    from: path, ref: "refs/heads/" + remote.branch, into: "refs/remotes/\(remote.remoteName)/\(remote.branch)", prune: prune)
            }
        }
        let refspec = "+refs/heads/\(remote.branch):refs/remotes/\(remote.remoteName)/\(remote.branch)"
        try withRemote(remote, session) {
            var options = git_fetch_options()
            try call("git_fetch_options_init") { git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)) }
            options.callbacks = session.callbacks()
            options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
            options.prune = prune ? GIT_FETCH_PRUNE : GIT_FETCH_NO_PRUNE
            options.follow_redirects = GIT_REMOTE_REDIRECT_NONE
            try LibGit2.withStrarray([refspec]) { refspecs in
                let result = session.guarded { git_remote_fetch(handle.pointer, refspecs, &options, "indexops: fetch") }
                if result < 0 { throw session.error(result, function: "git_remote_fetch") }
            }
        }
    }

    /// The named remote, created (or its URL updated) to match `remote`; looked up once per
    /// `Repository` and reused.
    ///
    /// Why once: every `git_remote_lookup` matches the `url.*.insteadOf` pattern against each
    /// configuration entry, and libgit2 1.5 (Debian 12's) leaks its PCRE2 match data, about
    /// 20 KiB, at each entry that does not match (fixed upstream by libgit2 pull request 6382):
    /// half a megabyte a pass, which made `indexops run` grow without bound (the load test
    /// `indexops-bench --load` found it). A fetch or push that fails drops the handle
    /// (`withRemote`), so that no half-used connection is reused.
    func remoteHandle(_ remote: RemoteConfiguration) throws -> RemoteHandle {
        let key = remote.remoteName + "\n" + remote.url
        if let cached = remoteHandles[key] { return cached }
        let handle = try lookUpRemote(remote)
        remoteHandles = [key: handle]
        return handle
    }

    /// Runs a fetch or push through `remote`'s handle; on an error, forgets the handle.
    func withRemote<T>(_ remote: RemoteConfiguration, _ session: RemoteSession, _ body: () throws -> T) throws -> T {
        do {
            return try withExtendedLifetime(session) { try body() }
        } catch {
            remoteHandles[remote.remoteName + "\n" + remote.url] = nil
            throw error
        }
    }

    private func lookUpRemote(_ remote: RemoteConfiguration) throws -> RemoteHandle {
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

    /// Re-creates `commits` (oldest first) on top of `upstream`, each with the same path
    /// changes, message and author. A commit whose changes are already upstream is dropped
    /// (never an empty commit). The new trees and commits are written as one pack
    /// (`writingOnePack`). Moves no reference.
    /// - Throws: `.notReplayable` for a merge or a change outside `ownedPrefix`.
    func replay(_ commits: [OID], onto upstream: OID, ownedPrefix: String) throws -> (head: OID, count: Int) {
        var count = 0
        let head = try writingOnePack { try replayCommits(commits, onto: upstream, ownedPrefix: ownedPrefix, count: &count) }
        return (head ?? upstream, count)
    }

    private func replayCommits(_ commits: [OID], onto upstream: OID, ownedPrefix: String, count: inout Int) throws -> OID {
        let prefix = try Self.normalized(ownedPrefix, allowRoot: false)
        var base = upstream
        for id in commits {
            let commit = try lookupCommit(id)
            guard git_commit_parentcount(commit.pointer) == 1 else {
                throw GitError(.notReplayable, "local commit \(id.short) is a merge; it is not replayed", function: "Repository.replay")
            }
            let parent = OID(git_commit_parent_id(commit.pointer, 0))
            var skipped: [SkippedEntry] = []
            let changes = try self.changes(from: tree(ofCommit: parent), to: tree(ofCommit: id), in: "", skipped: &skipped)
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
        return base
    }

    /// The commits reachable from `tip` but not from `hidden` (nor from `alsoHiding`, whose
    /// ids may be gone from the object database), in topological order.
    func commits(from tip: OID, hiding hidden: [OID], alsoHiding optional: [OID] = [], oldestFirst: Bool) throws -> [OID] {
        releaseRemovedPacks()
        var walk: OpaquePointer?
        try call("git_revwalk_new") { git_revwalk_new(&walk, pointer) }
        let handle = RevwalkHandle(walk!)
        try call("git_revwalk_sorting") {
            git_revwalk_sorting(handle.pointer, GIT_SORT_TOPOLOGICAL.rawValue | (oldestFirst ? GIT_SORT_REVERSE.rawValue : 0))
        }
        var raw = tip.raw
        try call("git_revwalk_push") { git_revwalk_push(handle.pointer, &raw) }
        for id in hidden {
            var hiddenRaw = id.raw
            try call("git_revwalk_hide") { git_revwalk_hide(handle.pointer, &hiddenRaw) }
        }
        for id in optional {
            var hiddenRaw = id.raw
            if git_revwalk_hide(handle.pointer, &hiddenRaw) < 0 { git_error_clear() }
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
