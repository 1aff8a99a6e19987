import Git

/// What a dry run (`indexops plan`, `reconcile --dry-run`) plans against: the remote as it is
/// now, without changing anything a person would see.
///
/// A dry run fetches, as `git fetch` does: only the remote-tracking branch
/// (`refs/remotes/origin/<branch>`) moves. The local branch, the work tree and the status
/// files stay as they are, and nothing is committed or pushed. It then plans against what
/// the next real pass would see after its sync:
///
/// | local branch vs. upstream | specs read from | statuses read from |
/// |---|---|---|
/// | the same, or no upstream yet | the local branch | the local branch |
/// | behind (people pushed) | the upstream | the upstream |
/// | ahead (status commits not pushed yet) | the local branch | the local branch |
/// | diverged | the upstream | the local branch (its own status commits are replayed by the next pass) |
struct DryRunSync {
    /// The commit whose specs are read; `nil`: the branch has no commit.
    var specs: OID?
    /// The commit whose statuses are read.
    var statuses: OID?

    /// Fetches and picks the commits.
    ///
    /// - Throws: `GitError` when the fetch fails (an unreachable remote is an error, as for
    ///   a real pass: the plan would otherwise be silently stale).
    static func fetch(_ repository: Repository, remote: RemoteConfiguration, branch: String) throws -> DryRunSync {
        try repository.fetch(remote)
        let local = try repository.branchTip(branch)
        guard let upstream = try repository.trackingTip(remote) else { return DryRunSync(specs: local, statuses: local) }
        guard let local, local != upstream else { return DryRunSync(specs: upstream, statuses: upstream) }
        if try repository.isDescendant(upstream, of: local) { return DryRunSync(specs: upstream, statuses: upstream) }
        if try repository.isDescendant(local, of: upstream) { return DryRunSync(specs: local, statuses: local) }
        return DryRunSync(specs: upstream, statuses: local)
    }
}
