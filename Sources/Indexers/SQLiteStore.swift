import Synchronization

/// One SQLite database file, shared by every index type configured on it: a single
/// connection, opened on first use and confined to this actor, so that the index types of
/// one file never contend for its write lock inside one controller.
///
/// Statements run synchronously on the actor; a write lock held by another process is
/// waited for up to SQLite's busy timeout (5 s). The connection closes when the last indexer
/// using the store is gone.
actor SQLiteStore {
    /// The database file.
    let path: String
    private var connection: SQLiteConnection?
    private var preparedTables: Set<String> = []

    private init(path: String) { self.path = path }

    /// Runs `body` with the open connection, creating the tables of `table` first (once per
    /// connection) with `schema`.
    func run<T: Sendable>(
        table: String, schema: String, _ body: @Sendable (SQLiteConnection) throws(IndexerError) -> T
    ) throws(IndexerError) -> T {
        let db: SQLiteConnection
        if let connection { db = connection } else {
            db = try SQLiteConnection(path: path)
            connection = db
        }
        if !preparedTables.contains(table) {
            try db.transaction { () throws(IndexerError) in try db.execute(schema) }
            preparedTables.insert(table)
        }
        return try body(db)
    }

    private struct WeakStore { weak var store: SQLiteStore? }
    private static let stores = Mutex<[String: WeakStore]>([:])

    /// The store of a database file: the same actor for the same path while any indexer
    /// holds it. Two spellings of one path get two connections, which WAL and the busy
    /// timeout keep correct.
    static func shared(path: String) -> SQLiteStore {
        stores.withLock { stores in
            if let store = stores[path]?.store { return store }
            stores = stores.filter { $0.value.store != nil }
            let store = SQLiteStore(path: path)
            stores[path] = WeakStore(store: store)
            return store
        }
    }
}

/// An SQL identifier in double quotes. Index type names are `[a-z][a-z0-9-]*`, so they
/// need quoting for their hyphens, never escaping; the doubling is for safety.
func quotedIdentifier(_ name: String) -> String {
    "\"" + String(name.flatMap { $0 == "\"" ? "\"\"" : String($0) }) + "\""
}
