import IndexOpsCore

/// Makes the indexer of a configured index type.
public enum IndexerFactory {
    /// The indexer of the index type `name` with `settings`.
    ///
    /// The sqlite drivers use `settings.database`, or `defaultDatabase` when it is `nil`;
    /// index types on one database file share one connection (an actor), opened on first
    /// use; sqlite-vector embeds through `settings.embedder` when one is set. The exec driver
    /// uses `settings.command`, `settings.env` and `settings.timeout`, and names its content
    /// files with `contentFilePrefix`. The postgres drivers use `settings.postgres`; index
    /// types on one database share the process's pool of connections to it
    /// (``PostgresPool/shared(_:)``), started on first use.
    ///
    /// - Throws: ``IndexerError`` when the settings cannot make an indexer (an invalid index
    ///   type name, an exec driver without a command or with a relative command path).
    public static func make(
        name: String, settings: IndexTypeSettings, defaultDatabase: String, contentFilePrefix: String = ExecIndexer.contentFilePrefix
    ) throws -> any Indexer {
        switch settings.driver {
        case .sqliteFTS:
            return try SQLiteFTSIndexer(indexType: name, databasePath: settings.database ?? defaultDatabase)
        case .sqliteVector:
            return try SQLiteVectorIndexer(
                indexType: name, databasePath: settings.database ?? defaultDatabase, embedder: settings.embedder.map { EmbeddingClient(settings: $0) })
        case .exec:
            return try ExecIndexer(
                indexType: name, command: settings.command ?? [], environment: settings.env, timeout: settings.timeout,
                contentFilePrefix: contentFilePrefix)
        case .noop:
            return NoopIndexer()
        case .postgresFTS, .postgresVector:
            guard let postgres = settings.postgres else {
                throw IndexerError("\(settings.driver.rawValue) \(name): no url is configured", terminal: true)
            }
            return settings.driver == .postgresFTS
                ? try PostgresFTSIndexer(indexType: name, settings: postgres)
                : try PostgresVectorIndexer(indexType: name, settings: postgres)
        }
    }
}
