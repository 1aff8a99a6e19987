import Foundation
import IndexOpsCore
import Indexers
internal import FaultInjection

/// What the passes read, kept in `<git dir>/indexops/cache.sqlite` (DESIGN.md §9), so that a
/// pass after one edit reads only what changed: spec file → its blob and the documents it
/// declares; document → its status and when it is due; every declared source path → what it
/// names; the problems found.
///
/// It is only a cache, and it is keyed by a **tree**, not by history: its rows describe the
/// tree ``tree``, and a pass reads the difference between that tree and the new head's, which
/// is exact whatever happened to the branch in between (a rewrite or a rewind included). When
/// it is missing, unreadable, of another schema or of another configuration, it starts empty,
/// and the first pass reads the whole tree, with the same result.
///
/// Writes are SQLite transactions that move the rows and ``tree`` together: a crash leaves an
/// older, consistent cache. Ids planned by a pass that did not end stay in ``pendingIDs()``.
final class PassCache {
    /// Bumped whenever the tables or the meaning of a row change: an older cache is rebuilt.
    static let schemaVersion = "1"
    static let fileName = "cache.sqlite"

    let path: String
    private let db: SQLiteConnection
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens the cache of a state folder. A cache that cannot be read, has another schema or
    /// was made for another configuration is replaced by an empty one.
    init(directory: String, configFingerprint: String) throws {
        path = directory + "/" + Self.fileName
        if let db = try? Self.open(path), let valid = try? Self.meta(db, "schema") == Self.schemaVersion && Self.meta(db, "config") == configFingerprint,
           valid
        {
            self.db = db
            return
        }
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        db = try Self.open(path)
        try db.transaction { () throws(IndexerError) in
            try Self.setMeta(db, "schema", Self.schemaVersion)
            try Self.setMeta(db, "config", configFingerprint)
        }
    }

    /// Opens the cache of a state folder for reading only, as the status commands do while a
    /// controller may be writing it; `nil` when there is none or it cannot be read.
    init?(readingIn directory: String) {
        path = directory + "/" + Self.fileName
        guard FileManager.default.fileExists(atPath: path),
              let db = try? SQLiteConnection(path: path, readOnly: true),
              (try? Self.meta(db, "schema")) == Self.schemaVersion
        else { return nil }
        self.db = db
    }

    private static func open(_ path: String) throws -> SQLiteConnection {
        let db = try SQLiteConnection(path: path)
        // A cache: losing the last transaction to a power cut gives an older, consistent cache.
        try db.execute("PRAGMA synchronous=NORMAL;")
        try db.execute("""
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS spec_files(path TEXT PRIMARY KEY, blob TEXT NOT NULL, complete INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS spec_files_incomplete ON spec_files(path) WHERE complete = 0;
            CREATE TABLE IF NOT EXISTS file_diagnostics(path TEXT PRIMARY KEY, diagnostics TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS declarations(file TEXT NOT NULL, ordinal INTEGER NOT NULL, id TEXT NOT NULL, source_path TEXT, resource TEXT NOT NULL, PRIMARY KEY(file, ordinal));
            CREATE INDEX IF NOT EXISTS declarations_id ON declarations(id);
            CREATE INDEX IF NOT EXISTS declarations_source ON declarations(source_path);
            CREATE TABLE IF NOT EXISTS held_ids(file TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(file, id));
            CREATE INDEX IF NOT EXISTS held_ids_id ON held_ids(id);
            CREATE TABLE IF NOT EXISTS sources(path TEXT PRIMARY KEY, kind TEXT NOT NULL, blob TEXT);
            CREATE TABLE IF NOT EXISTS statuses(id TEXT PRIMARY KEY, status TEXT NOT NULL, spec_file TEXT, collection TEXT, due_at REAL);
            CREATE INDEX IF NOT EXISTS statuses_spec_file ON statuses(spec_file);
            CREATE INDEX IF NOT EXISTS statuses_collection ON statuses(collection);
            CREATE INDEX IF NOT EXISTS statuses_due_at ON statuses(due_at);
            CREATE TABLE IF NOT EXISTS entries(id TEXT NOT NULL, type TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY(id, type));
            CREATE INDEX IF NOT EXISTS entries_state ON entries(state);
            CREATE TABLE IF NOT EXISTS status_problems(path TEXT PRIMARY KEY, id TEXT, diagnostic TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS id_diagnostics(id TEXT PRIMARY KEY, diagnostics TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tree_problems(path TEXT PRIMARY KEY, diagnostic TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS pending(id TEXT PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS braked(id TEXT PRIMARY KEY);
            """)
        return db
    }

    private static func meta(_ db: SQLiteConnection, _ key: String) throws -> String? {
        let statement = try db.prepare("SELECT value FROM meta WHERE key = ?")
        try statement.bind([.text(key)])
        return try statement.step() ? statement.text(0) : nil
    }

    private static func setMeta(_ db: SQLiteConnection, _ key: String, _ value: String?) throws(IndexerError) {
        if let value {
            try db.prepare("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                .run([.text(key), .text(value)])
        } else {
            try db.prepare("DELETE FROM meta WHERE key = ?").run([.text(key)])
        }
    }

    private func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] { return cached }
        let statement = try db.prepare(sql)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in one transaction. A failure of the cache itself (a full disk) is an
    /// ``IndexOpsError`` naming the file: the pass stops, and the next one reads again what
    /// the cache could not keep.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        do {
            try db.execute("BEGIN IMMEDIATE")
            do {
                let value = try body()
                try Failpoints.hit(.passCacheWrite) { IndexerError($0) }
                try db.execute("COMMIT")
                return value
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        } catch let error as IndexerError {
            throw IndexOpsError("cannot write the pass cache: \(error.message)")
        }
    }

    /// Forgets every row: the next read is a full one. For a cache whose tree is no longer in
    /// the repository (a rewritten branch, then a garbage collection).
    func reset() throws {
        try transaction {
            for table in ["spec_files", "file_diagnostics", "declarations", "held_ids", "sources", "statuses", "entries",
                          "status_problems", "id_diagnostics", "tree_problems", "pending", "braked"] {
                try db.execute("DELETE FROM \(table)")
            }
            for key in ["tree", "head", "diagnosticsText", "brake"] { try setMeta(key, nil) }
        }
    }

    // MARK: - Meta

    /// A value of the meta table: `tree` (the tree the rows describe), `head` (a commit of that
    /// tree), `diagnosticsText` (the diagnostics file of that tree), `report` (what the last
    /// pass found, for an idle pass to say again), `unpublished` (a commit, ours or one the
    /// sync brought in, may not be in the work tree yet).
    func meta(_ key: String) throws -> String? { try Self.meta(db, key) }

    /// Sets (or with `nil` removes) a value of the meta table.
    func setMeta(_ key: String, _ value: String?) throws { try Self.setMeta(db, key, value) }

    // MARK: - Spec files

    /// A spec file's row: its blob (or kind, for an entry that is not a regular file) and
    /// whether it was read whole.
    func specFile(_ path: String) throws -> (blob: String, complete: Bool)? {
        let s = try statement("SELECT blob, complete FROM spec_files WHERE path = ?")
        try s.bind([.text(path)])
        guard try s.step() else { return nil }
        return (s.text(0) ?? "", s.int(1) != 0)
    }

    /// Spec files that could not be read whole: whatever they declared is held.
    func incompleteSpecFiles() throws -> Set<String> {
        let s = try statement("SELECT path FROM spec_files WHERE complete = 0")
        try s.bind([])
        var paths = Set<String>()
        while try s.step() { if let path = s.text(0) { paths.insert(path) } }
        return paths
    }

    /// Records a spec file as read: its declarations, the ids of its documents that did not
    /// decode, and its own problems. Replaces what was recorded for the path.
    func putSpecFile(_ path: String, blob: String, file: SpecFile?, diagnostics: [Diagnostic]) throws {
        try removeSpecFile(path)
        try statement("INSERT INTO spec_files(path, blob, complete) VALUES(?, ?, ?)")
            .run([.text(path), .text(blob), .int(file?.isComplete == true ? 1 : 0)])
        if !diagnostics.isEmpty {
            try statement("INSERT INTO file_diagnostics(path, diagnostics) VALUES(?, ?)").run([.text(path), .text(Self.encode(diagnostics))])
        }
        guard let file else { return }
        for (ordinal, resource) in file.resources.enumerated() {
            var sourcePath: String?
            if case .path(let p) = resource.index.spec.source { sourcePath = p }
            try statement("INSERT INTO declarations(file, ordinal, id, source_path, resource) VALUES(?, ?, ?, ?, ?)").run([
                .text(path), .int(Int64(ordinal)), .text(resource.index.id), sourcePath.map { .text($0) } ?? .null,
                .text(resource.cacheJSON.canonicalText),
            ])
        }
        for id in file.heldIDs {
            try statement("INSERT OR IGNORE INTO held_ids(file, id) VALUES(?, ?)").run([.text(path), .text(id)])
        }
    }

    /// Forgets a spec file and what it declared.
    func removeSpecFile(_ path: String) throws {
        try statement("DELETE FROM spec_files WHERE path = ?").run([.text(path)])
        try statement("DELETE FROM file_diagnostics WHERE path = ?").run([.text(path)])
        try statement("DELETE FROM declarations WHERE file = ?").run([.text(path)])
        try statement("DELETE FROM held_ids WHERE file = ?").run([.text(path)])
    }

    /// The ids a spec file declares or holds, as last recorded.
    func ids(inSpecFile path: String) throws -> Set<String> {
        var ids = Set<String>()
        for sql in ["SELECT id FROM declarations WHERE file = ?", "SELECT id FROM held_ids WHERE file = ?"] {
            let s = try statement(sql)
            try s.bind([.text(path)])
            while try s.step() { if let id = s.text(0) { ids.insert(id) } }
        }
        return ids
    }

    /// Every declaration of an id, in file order.
    func declarations(of id: String) throws -> [SpecResource] {
        let s = try statement("SELECT resource FROM declarations WHERE id = ? ORDER BY file, ordinal")
        try s.bind([.text(id)])
        var result: [SpecResource] = []
        while try s.step() {
            guard let text = s.text(0), let json = JSONValue(parsing: text), let resource = SpecResource(cacheJSON: json) else {
                throw IndexOpsError("the pass cache \(path) holds an unreadable declaration of \(id)")
            }
            result.append(resource)
        }
        return result
    }

    /// The files a declaration of `id` is in, and whether a broken document of a file names it.
    func declaringFiles(of id: String) throws -> (files: Set<String>, heldBy: Set<String>) {
        var files = Set<String>(), heldBy = Set<String>()
        let d = try statement("SELECT file FROM declarations WHERE id = ?")
        try d.bind([.text(id)])
        while try d.step() { if let f = d.text(0) { files.insert(f) } }
        let h = try statement("SELECT file FROM held_ids WHERE id = ?")
        try h.bind([.text(id)])
        while try h.step() { if let f = h.text(0) { heldBy.insert(f) } }
        return (files, heldBy)
    }

    /// The ids whose declarations name `path` as their source.
    func ids(withSource path: String) throws -> Set<String> {
        let s = try statement("SELECT id FROM declarations WHERE source_path = ?")
        try s.bind([.text(path)])
        var ids = Set<String>()
        while try s.step() { if let id = s.text(0) { ids.insert(id) } }
        return ids
    }

    // MARK: - Sources

    /// What a declared source path names, as last looked up.
    func source(_ path: String) throws -> SpecResolution.SourceLookup? {
        let s = try statement("SELECT kind, blob FROM sources WHERE path = ?")
        try s.bind([.text(path)])
        guard try s.step(), let kind = s.text(0).flatMap(SourceEntry.init(cacheName:)) else { return nil }
        return SpecResolution.SourceLookup(entry: kind, blob: s.text(1))
    }

    /// Whether a source path has a row.
    func hasSource(_ path: String) throws -> Bool { try source(path) != nil }

    /// Records what a source path names.
    func putSource(_ path: String, _ lookup: SpecResolution.SourceLookup) throws {
        try statement("INSERT INTO sources(path, kind, blob) VALUES(?, ?, ?) ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, blob = excluded.blob")
            .run([.text(path), .text(lookup.entry.cacheName), lookup.blob.map { .text($0) } ?? .null])
    }

    /// Forgets a source path.
    func removeSource(_ path: String) throws {
        try statement("DELETE FROM sources WHERE path = ?").run([.text(path)])
    }

    // MARK: - Statuses

    /// A document's status, as last read or written.
    func status(_ id: String) throws -> DocumentStatus? {
        let s = try statement("SELECT status FROM statuses WHERE id = ?")
        try s.bind([.text(id)])
        guard try s.step(), let text = s.text(0) else { return nil }
        do {
            return try DocumentStatus(fileText: text)
        } catch {
            throw IndexOpsError("the pass cache \(path) holds an unreadable status of \(id): \(error)")
        }
    }

    /// Records a document's status and when it is due again (`nil`: no status file).
    func putStatus(_ id: String, _ status: DocumentStatus?) throws {
        try statement("DELETE FROM entries WHERE id = ?").run([.text(id)])
        guard let status else {
            try statement("DELETE FROM statuses WHERE id = ?").run([.text(id)])
            return
        }
        try statement("""
            INSERT INTO statuses(id, status, spec_file, collection) VALUES(?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET status = excluded.status, spec_file = excluded.spec_file, collection = excluded.collection
            """).run([.text(id), .text(status.fileText), status.specFile.map { .text($0) } ?? .null, status.collection.map { .text($0) } ?? .null])
        for (type, entry) in status.indexes {
            try statement("INSERT INTO entries(id, type, state) VALUES(?, ?, ?)").run([.text(id), .text(type), .text(entry.actualState.rawValue)])
        }
    }

    /// Sets when a document has to be planned again (`nil`: only when something changes).
    func setDue(_ id: String, at time: Timestamp?) throws {
        try statement("UPDATE statuses SET due_at = ? WHERE id = ?")
            .run([time.map { .double($0.secondsSinceEpoch) } ?? .null, .text(id)])
    }

    /// Ids whose status says they were declared in `specFile`.
    func ids(withStatusSpecFile specFile: String) throws -> Set<String> {
        let s = try statement("SELECT id FROM statuses WHERE spec_file = ?")
        try s.bind([.text(specFile)])
        var ids = Set<String>()
        while try s.step() { if let id = s.text(0) { ids.insert(id) } }
        return ids
    }

    /// The spec file a document's status names.
    func statusSpecFile(_ id: String) throws -> String? {
        let s = try statement("SELECT spec_file FROM statuses WHERE id = ?")
        try s.bind([.text(id)])
        return try s.step() ? s.text(0) : nil
    }

    /// Ids due at `now` or earlier.
    func dueIDs(at now: Timestamp) throws -> Set<String> {
        let s = try statement("SELECT id FROM statuses WHERE due_at <= ?")
        try s.bind([.double(now.secondsSinceEpoch)])
        var ids = Set<String>()
        while try s.step() { if let id = s.text(0) { ids.insert(id) } }
        return ids
    }

    /// The earliest due time.
    func nextDue() throws -> Timestamp? {
        let s = try statement("SELECT MIN(due_at) FROM statuses")
        try s.bind([])
        guard try s.step(), !s.isNull(0) else { return nil }
        return Timestamp(secondsSinceEpoch: s.double(0))
    }

    /// Ids with an intent (`creating`, `deleting`) and no operation of this process: they
    /// were interrupted, or held back at a shutdown.
    func unsettledIDs() throws -> Set<String> {
        let s = try statement("SELECT DISTINCT id FROM entries WHERE state IN ('creating', 'deleting')")
        try s.bind([])
        var ids = Set<String>()
        while try s.step() { if let id = s.text(0) { ids.insert(id) } }
        return ids
    }

    /// Present indexes in all, for the mass-delete brake.
    func presentCount() throws -> Int {
        let s = try statement("SELECT COUNT(*) FROM entries WHERE state = 'present'")
        try s.bind([])
        return try s.step() ? Int(s.int(0)) : 0
    }

    /// Every failed index.
    func failedIndexes() throws -> [IndexKey] {
        let s = try statement("SELECT id, type FROM entries WHERE state = 'failed' ORDER BY id, type")
        try s.bind([])
        var keys: [IndexKey] = []
        while try s.step() { keys.append(IndexKey(s.text(0) ?? "", s.text(1) ?? "")) }
        return keys
    }

    /// Indexes per (type, state).
    func counts() throws -> [String: [ActualState: Int]] {
        let s = try statement("SELECT type, state, COUNT(*) FROM entries GROUP BY type, state")
        try s.bind([])
        var counts: [String: [ActualState: Int]] = [:]
        while try s.step() {
            guard let type = s.text(0), let state = s.text(1).flatMap(ActualState.init(rawValue:)) else { continue }
            counts[type, default: [:]][state] = Int(s.int(2))
        }
        return counts
    }

    /// Every status, or those of one collection, sorted by id.
    func statuses(collection: String? = nil) throws -> [DocumentStatus] {
        let s = try statement(collection == nil ? "SELECT id FROM statuses ORDER BY id" : "SELECT id FROM statuses WHERE collection = ? ORDER BY id")
        try s.bind(collection.map { [.text($0)] } ?? [])
        var ids: [String] = []
        while try s.step() { if let id = s.text(0) { ids.append(id) } }
        return try ids.compactMap { try status($0) }
    }

    /// Documents with a status, and their collections.
    func documentSummary() throws -> (documents: Int, collections: [String]) {
        let count = try statement("SELECT COUNT(*) FROM statuses")
        try count.bind([])
        let documents = try count.step() ? Int(count.int(0)) : 0
        let s = try statement("SELECT DISTINCT collection FROM statuses WHERE collection IS NOT NULL ORDER BY collection")
        try s.bind([])
        var collections: [String] = []
        while try s.step() { if let c = s.text(0) { collections.append(c) } }
        return (documents, collections)
    }

    // MARK: - Problems

    /// Records (or with `nil` clears) the problem of a status file that cannot be used.
    func putStatusProblem(_ path: String, id: String?, _ diagnostic: Diagnostic?) throws {
        guard let diagnostic else {
            try statement("DELETE FROM status_problems WHERE path = ?").run([.text(path)])
            return
        }
        try statement("INSERT INTO status_problems(path, id, diagnostic) VALUES(?, ?, ?) ON CONFLICT(path) DO UPDATE SET id = excluded.id, diagnostic = excluded.diagnostic")
            .run([.text(path), id.map { .text($0) } ?? .null, .text(Self.encode([diagnostic]))])
    }

    /// Whether the status file of `id` could not be read.
    func hasStatusProblem(id: String) throws -> Bool {
        let s = try statement("SELECT 1 FROM status_problems WHERE id = ? LIMIT 1")
        try s.bind([.text(id)])
        return try s.step()
    }

    /// Records (or with `nil` clears) the problem of a tree entry that is left out of the
    /// work tree or never read (an unsafe name, an outward symlink, a file too large).
    func putTreeProblem(_ path: String, _ diagnostic: Diagnostic?) throws {
        guard let diagnostic else {
            try statement("DELETE FROM tree_problems WHERE path = ?").run([.text(path)])
            return
        }
        try statement("INSERT INTO tree_problems(path, diagnostic) VALUES(?, ?) ON CONFLICT(path) DO UPDATE SET diagnostic = excluded.diagnostic")
            .run([.text(path), .text(Self.encode([diagnostic]))])
    }

    /// Records the problems of one id's declarations (duplicates, sources, index types).
    func putDiagnostics(of id: String, _ diagnostics: [Diagnostic]) throws {
        if diagnostics.isEmpty {
            try statement("DELETE FROM id_diagnostics WHERE id = ?").run([.text(id)])
        } else {
            try statement("INSERT INTO id_diagnostics(id, diagnostics) VALUES(?, ?) ON CONFLICT(id) DO UPDATE SET diagnostics = excluded.diagnostics")
                .run([.text(id), .text(Self.encode(diagnostics))])
        }
    }

    /// Every problem recorded: of spec files, of ids, of status files; sorted.
    func allDiagnostics() throws -> [Diagnostic] {
        var all: [Diagnostic] = []
        for sql in ["SELECT diagnostics FROM file_diagnostics", "SELECT diagnostics FROM id_diagnostics",
                    "SELECT diagnostic FROM status_problems", "SELECT diagnostic FROM tree_problems"] {
            let s = try statement(sql)
            try s.bind([])
            while try s.step() { all += Self.decode(s.text(0) ?? "[]") }
        }
        return all.sorted()
    }

    // MARK: - Pending

    /// Ids a pass planned and did not finish: the next pass plans them again.
    func pendingIDs() throws -> Set<String> {
        let s = try statement("SELECT id FROM pending")
        try s.bind([])
        var ids = Set<String>()
        while try s.step() { if let id = s.text(0) { ids.insert(id) } }
        return ids
    }

    /// Marks ids pending (or settled, with `pending: false`).
    func setPending(_ ids: some Sequence<String>, pending: Bool) throws {
        let s = try statement(pending ? "INSERT OR IGNORE INTO pending(id) VALUES(?)" : "DELETE FROM pending WHERE id = ?")
        for id in ids { try s.run([.text(id)]) }
    }

    /// Ids whose deletes the mass-delete brake holds: planned again by every pass that is not
    /// idle (and by `--allow-mass-delete`), without making an unchanged repository busy.
    func brakedIDs() throws -> Set<String> {
        let s = try statement("SELECT id FROM braked")
        try s.bind([])
        var ids = Set<String>()
        while try s.step() { if let id = s.text(0) { ids.insert(id) } }
        return ids
    }

    /// Marks ids held by the brake (or no longer, with `braked: false`).
    func setBraked(_ ids: some Sequence<String>, braked: Bool) throws {
        let s = try statement(braked ? "INSERT OR IGNORE INTO braked(id) VALUES(?)" : "DELETE FROM braked WHERE id = ?")
        for id in ids { try s.run([.text(id)]) }
    }

    // MARK: - Encoding

    static func encode(_ diagnostics: [Diagnostic]) -> String {
        guard !diagnostics.isEmpty, let data = try? JSONEncoder().encode(diagnostics) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String) -> [Diagnostic] {
        (try? JSONDecoder().decode([Diagnostic].self, from: Data(text.utf8))) ?? []
    }
}

extension SourceEntry {
    /// The name a cache row keeps.
    var cacheName: String {
        switch self {
        case .file: "file"
        case .missing: "missing"
        case .directory: "directory"
        case .symlink: "symlink"
        case .submodule: "submodule"
        }
    }

    init?(cacheName: String) {
        switch cacheName {
        case "file": self = .file
        case "missing": self = .missing
        case "directory": self = .directory
        case "symlink": self = .symlink
        case "submodule": self = .submodule
        default: return nil
        }
    }
}
