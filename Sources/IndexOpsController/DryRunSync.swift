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

    /// The heads a dry run reads: the specs as ``fetch(_:remote:branch:)`` picks them; with a
    /// status branch, its statuses picked the same way from the status branch (fetched too),
    /// in a ``Repository/statusView(spec:status:folder:)`` of the two.
    static func heads(_ repository: Repository, workspace: Workspace, remote: RemoteConfiguration) throws -> Workspace.Heads? {
        guard workspace.hasStatusBranch, let statusRemote = workspace.statusRemote else {
            guard let specs = try fetch(repository, remote: remote, branch: workspace.branch).specs else { return nil }
            return Workspace.Heads(spec: specs, status: specs, read: specs)
        }
        guard let specs = try fetch(repository, remote: remote, branch: workspace.branch).specs else { return nil }
        let statuses = try fetch(repository, remote: statusRemote, branch: workspace.statusBranch).statuses
        return try workspace.heads(spec: specs, status: statuses, repository)
    }
}
