import Foundation
import IndexOpsCore
import Indexers
import Logging

/// Builds what the commands need from `--repo` and `--config`: the configuration, the
/// reconciler with the configured indexers, and a search over the built-in indexes.
public enum Controller {
    /// The reconciler for `repo`, with the indexers the configuration names.
    ///
    /// - Throws: ``IndexOpsError`` for a missing repository or configuration file,
    ///   `YAMLError` for a broken configuration, `IndexerError` for an indexer that cannot
    ///   start (a database that cannot be opened, say).
    /// - Parameter statusBranch: `--status-branch` (see ``ConfigLoader/applyingStatusBranch(_:flag:environment:)``).
    public static func reconciler(repo: String, configFile: String?, statusBranch: String? = nil, logger: Logger) throws -> Reconciler {
        let config = try ConfigLoader.applyingStatusBranch(try ConfigLoader.load(configFile), flag: statusBranch)
        return try reconciler(repo: repo, config: config, configured: configFile != nil, logger: logger)
    }

    /// The reconciler for `repo` with an effective configuration (the daemon's, with its flags
    /// and environment applied), with the indexers it names.
    ///
    /// - Parameter configured: whether the configuration came from a file (else the branch
    ///   checked out in `repo` is used).
    /// - Parameter shutdownGrace: how long operations may take to end at a shutdown (with the
    ///   operation timeout, how long a new shard owner waits for an old owner's intent).
    public static func reconciler(
        repo: String, config: ControllerConfig, configured: Bool, logger: Logger, shutdownGrace: Duration = .seconds(30)
    ) throws -> Reconciler {
        try Reconciler(repo: repo, config: config, configured: configured, logger: logger, shutdownGrace: shutdownGrace)
    }

    /// The service API over the repository of `repo` (or of the configuration).
    /// - Parameter statusBranch: `--status-branch` (see ``ConfigLoader/applyingStatusBranch(_:flag:environment:)``).
    public static func service(repo: String, configFile: String?, statusBranch: String? = nil) throws -> IndexService {
        let config = try ConfigLoader.applyingStatusBranch(try ConfigLoader.load(configFile), flag: statusBranch)
        return try IndexService(repo: repo, config: config, configured: configFile != nil)
    }

    /// The importer over the repository of `repo` (or of the configuration), with the
    /// configuration whose index types and revisions the import maps to.
    public static func importer(repo: String, configFile: String?, logger: Logger) throws -> Importer {
        try Importer(repo: repo, config: try ConfigLoader.load(configFile), configured: configFile != nil, logger: logger)
    }

    /// Searches a built-in index of the repository.
    ///
    /// - Parameter type: the index type; `nil`: `fulltext` when configured, else the first
    ///   searchable type by name.
    /// - Throws: ``IndexOpsError`` when the type is not configured or cannot be searched.
    public static func search(
        _ query: String, type: String?, collection: String?, limit: Int, repo: String, configFile: String?
    ) async throws -> (type: String, hits: [SearchHit]) {
        let config = try ConfigLoader.load(configFile)
        let (workspace, _) = try Workspace.open(repo: repo, config: config, configured: configFile != nil)
        let searchable = config.indexTypes.filter { $0.value.driver.isSearchable }
        guard let name = type ?? (searchable["fulltext"] != nil ? "fulltext" : searchable.keys.sorted().first) else {
            throw IndexOpsError("no index type can be searched: only the sqlite and postgres drivers keep a searchable index")
        }
        guard let settings = config.indexTypes[name] else {
            throw IndexOpsError("index type \"\(name)\" is not configured (configured: \(config.indexTypes.keys.sorted().joined(separator: ", ")))")
        }
        let indexer = try IndexerFactory.make(name: name, settings: settings, defaultDatabase: workspace.defaultDatabase)
        guard let index = indexer as? any SearchableIndexer else {
            throw IndexOpsError("index type \"\(name)\" uses the \(settings.driver.rawValue) driver, which indexops cannot search")
        }
        return (name, try await index.search(query, collection: collection, limit: limit))
    }
}
