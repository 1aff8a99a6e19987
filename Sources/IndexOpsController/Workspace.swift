import Foundation
import Git
import IndexOpsCore
import Indexers
import Logging

/// Where the controller works: its clone, its branch, its remote, and the files it keeps
/// inside the git directory (so that nothing untracked appears in the work tree).
public struct Workspace: Sendable {
    /// The repository folder (the work tree).
    public var repositoryPath: String
    /// The branch watched and written to.
    public var branch: String
    /// The branch status commits go to: ``branch`` unless `repository.statusBranch` names
    /// another (then the controller never writes ``branch``).
    public var statusBranch: String
    /// The remote, when one is configured.
    public var remote: RemoteConfiguration?
    /// The effective configuration.
    public var config: ControllerConfig
    /// `<git dir>/indexops`: the default index database and the controller's state.
    public var stateDirectory: String

    /// The default SQLite file of the built-in drivers.
    public var defaultDatabase: String { stateDirectory + "/indexes.sqlite" }

    /// What marks the controller's own status commits, which sync and push replay.
    public var ownCommits: OwnCommits {
        OwnCommits(folder: config.repository.statusDir, authorName: config.repository.authorName, authorEmail: config.repository.authorEmail)
    }

    /// How the names of this clone's exec content files begin (`indexops-content-<12 hex>-`,
    /// from the state folder's path): a controller removes the files it left when it was
    /// killed, never those of another clone's controller on the same machine.
    public var contentFilePrefix: String { ExecIndexer.contentFilePrefix + Digests.sha256Hex(stateDirectory).prefix(12) + "-" }

    /// The indexer of a configured index type, with this workspace's default database and
    /// content file prefix.
    ///
    /// - Throws: ``IndexerError`` as ``IndexerFactory/make(name:settings:defaultDatabase:contentFilePrefix:)``.
    public func makeIndexer(_ name: String, settings: IndexTypeSettings) throws -> any Indexer {
        try IndexerFactory.make(name: name, settings: settings, defaultDatabase: defaultDatabase, contentFilePrefix: contentFilePrefix)
    }

    /// Opens the repository of `--repo` (or the configuration's `repository.path`), cloning
    /// it when it is missing and a remote is configured.
    ///
    /// Without a configuration file, the branch checked out in the repository is used.
    /// - Throws: ``IndexOpsError`` when there is no repository there.
    public static func open(repo: String, config: ControllerConfig, configured: Bool) throws -> (Workspace, Repository) {
        let path = URL(fileURLWithPath: config.repository.path ?? repo).standardizedFileURL.path
        var remote: RemoteConfiguration?
        if let url = config.repository.url {
            remote = RemoteConfiguration(
                url: url, branch: config.repository.branch,
                authentication: authentication(config.repository),
                knownHostsFile: config.repository.knownHostsFile, stallTimeout: config.repository.stallTimeout)
        }
        let repository: Repository
        do {
            repository = try Repository.openOrClone(
                at: path, remote: remote,
                workTreeFileLimit: BlobSizeLimit(bytes: config.sizeLimits.maxWorkTreeFileSize, setting: "limits.maxWorkTreeFileSize"))
        } catch let error as GitError where error.code == .notFound {
            throw IndexOpsError("\(path) is not a git repository (run `git init`, or pass --repo)")
        }
        let branch = configured ? config.repository.branch : currentBranch(gitDirectory: repository.gitDirectory) ?? config.repository.branch
        remote?.branch = branch
        let state = repository.gitDirectory.hasSuffix("/") ? repository.gitDirectory + "indexops" : repository.gitDirectory + "/indexops"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let workspace = Workspace(
            repositoryPath: path, branch: branch, statusBranch: config.repository.statusBranch ?? branch, remote: remote, config: config,
            stateDirectory: state)
        if workspace.hasStatusBranch, repository.workDirectory != nil { try workspace.excludeStatusFolder(gitDirectory: repository.gitDirectory) }
        return (workspace, repository)
    }

    /// The branch `HEAD` points at, or `nil` when it is detached.
    static func currentBranch(gitDirectory: String) -> String? {
        guard let head = try? String(contentsOfFile: gitDirectory + "/HEAD", encoding: .utf8) else { return nil }
        let prefix = "ref: refs/heads/"
        guard head.hasPrefix(prefix) else { return nil }
        return head.dropFirst(prefix.count).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func authentication(_ settings: RepositorySettings) -> Authentication {
        if let key = settings.sshKeyFile { return .sshKey(privateKeyFile: key) }
        if let file = settings.tokenFile { return .token(.file(file)) }
        if let variable = settings.tokenEnv { return .token(.environment(variable)) }
        return .none
    }
}

extension Workspace {
    /// Fetches the remote and brings the branch up to date, then updates the work tree when
    /// the branch moved: what every command does before it reads or edits. A rewritten
    /// upstream is taken as it is (see `Repository.sync`), with a warning. Nothing without a
    /// remote.
    ///
    /// With a status branch (``hasStatusBranch``), the status branch is synced too (a person's
    /// force push or deletion of it taken as it is), and its status files mirrored into the
    /// work tree (``publishStatuses(_:full:)``).
    ///
    /// - Parameter publishingSpecs: `false` leaves the spec branch's work tree to the caller
    ///   (a pass publishes it once, at its end, with its own statuses).
    @discardableResult
    func syncAndPublish(_ repository: Repository, logger: Logger, publishingSpecs: Bool = true) throws -> SyncResult? {
        guard let remote else {
            if hasStatusBranch { try publishStatuses(repository) }
            return nil
        }
        let result = try repository.sync(remote, replaying: ownCommits)
        if let rewrite = result.rewrite { logger.warning("\(rewrite)") }
        if publishingSpecs, result.moved, let head = result.head { try repository.publish(to: head) }
        if hasStatusBranch, let statusRemote {
            let status = try repository.sync(statusRemote, replaying: ownCommits, takingDeletion: true)
            if let rewrite = status.rewrite { logger.warning("\(rewrite)") }
            if status.outcome == .deleted {
                logger.warning("The status branch '\(statusBranch)' was deleted on the remote: took it as it is; documents without a status are reconciled again")
            }
            // A spec commit that touched the status folder (old status files, from before the
            // status branch) rewrote files of the mirror: write it whole again.
            var full = false
            if result.moved, let head = result.head {
                full = try !repository.changes(from: result.previousHead, to: head, in: config.repository.statusDir).isEmpty
            }
            try publishStatuses(repository, full: full)
        }
        return result
    }
}

// MARK: - A status branch of its own

extension Workspace {
    /// Whether statuses are kept on a branch of their own (not ``branch``).
    public var hasStatusBranch: Bool { statusBranch != branch }

    /// The remote's status branch, when a remote is configured.
    public var statusRemote: RemoteConfiguration? {
        guard var remote else { return nil }
        remote.branch = statusBranch
        return remote
    }

    /// What one reads: the spec commit, the status commit, and the commit whose tree holds
    /// the specs of the one and the statuses of the other (the spec commit itself when they
    /// share a branch; else ``Repository/statusView(spec:status:folder:)``).
    public struct Heads: Sendable, Equatable {
        /// The tip of ``Workspace/branch``.
        public var spec: OID
        /// The tip of ``Workspace/statusBranch`` (`nil`: it has no commit yet).
        public var status: OID?
        /// The commit whose tree is read for specs, sources and statuses.
        public var read: OID
    }

    /// The heads of the local branches; `nil` when the spec branch has no commit.
    public func heads(_ repository: Repository) throws -> Heads? {
        guard let spec = try repository.branchTip(branch) else { return nil }
        return try heads(spec: spec, status: hasStatusBranch ? repository.branchTip(statusBranch) : spec, repository)
    }

    /// The heads of a spec commit and a status commit.
    func heads(spec: OID, status: OID?, _ repository: Repository) throws -> Heads {
        guard hasStatusBranch else { return Heads(spec: spec, status: spec, read: spec) }
        return Heads(spec: spec, status: status, read: try repository.statusView(spec: spec, status: status, folder: config.repository.statusDir))
    }

    /// Mirrors the status folder of the status branch into the work tree, outside the index
    /// (listed in `.git/info/exclude`): what a neighbouring container reads. Only what changed
    /// since the last mirror is written (`full`: everything).
    func publishStatuses(_ repository: Repository, full: Bool = false) throws {
        guard repository.workDirectory != nil else { return }
        let tip = try repository.branchTip(statusBranch)
        let file = stateDirectory + "/status-mirror"
        let previous = full ? nil : (try? String(contentsOfFile: file, encoding: .utf8)).flatMap {
            OID(hex: $0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if previous == nil, tip == nil, !full { return }
        if let previous, let tip, try repository.treeID(ofCommit: tip) == previous { return }
        let report = try repository.mirror(folder: config.repository.statusDir, of: tip, previous: previous)
        try Data((report.tree?.hex ?? "").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
    }

    /// Lists the status folder in `.git/info/exclude`, once: its files are in the work tree
    /// and not on the spec branch, and `git status` should not show them.
    func excludeStatusFolder(gitDirectory: String) throws {
        let info = (gitDirectory.hasSuffix("/") ? gitDirectory : gitDirectory + "/") + "info"
        let path = info + "/exclude"
        let line = "/" + config.repository.statusDir + "/"
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard !existing.split(separator: "\n").contains(where: { $0.trimmingCharacters(in: .whitespaces) == line }) else { return }
        try FileManager.default.createDirectory(atPath: info, withIntermediateDirectories: true)
        let text = existing + (existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n")
            + "# indexops: the status files of the status branch '\(statusBranch)'\n" + line + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
