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
        return (Workspace(repositoryPath: path, branch: branch, remote: remote, config: config, stateDirectory: state), repository)
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
    @discardableResult
    func syncAndPublish(_ repository: Repository, logger: Logger) throws -> SyncResult? {
        guard let remote else { return nil }
        let result = try repository.sync(remote, replaying: ownCommits)
        if let rewrite = result.rewrite { logger.warning("\(rewrite)") }
        if result.moved, let head = result.head { try repository.publish(to: head) }
        return result
    }
}
