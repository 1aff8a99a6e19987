internal import CSQLite
import Glibc

/// SQLite's `SQLITE_TRANSIENT`: SQLite copies a bound value before the call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// An open SQLite database file: owns one `sqlite3` handle, closed in `deinit`.
///
/// Not thread-safe by itself: it is used by one task at a time, confined to a
/// ``SQLiteStore`` actor. Every failing C call becomes an ``IndexerError`` right after the
/// call, with SQLite's message, its extended code and the failing function.
package final class SQLiteConnection {
    private let handle: OpaquePointer
    /// The file, for error messages.
    package let path: String

    /// Opens (creating when missing) the database at `path`, creating its parent folder,
    /// in WAL mode with a busy timeout and full synchronous writes; `readOnly` opens an
    /// existing file for reading only.
    package init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 5_000) throws(IndexerError) {
        self.path = path
        if !readOnly { try Self.makeParentFolder(of: path) }
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw IndexerError("sqlite: cannot open \(path): \(message) (code \(rc))")
        }
        handle = db
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        // WAL lets readers (indexops search) work while the controller writes; FULL keeps a
        // committed index across a power loss, since its status says "present" right after.
        if !readOnly { try execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") }
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows needed.
    package func execute(_ sql: String) throws(IndexerError) {
        var errorText: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorText)
        if rc != SQLITE_OK {
            let systemReason = systemReason(rc, errno: errno)
            let message = errorText.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorText)
            throw IndexerError("sqlite: \(path): \(message)\(systemReason) (code \(rc), in sqlite3_exec)")
        }
    }

    /// Compiles one statement.
    package func prepare(_ sql: String) throws(IndexerError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, in: "sqlite3_prepare_v2") }
        return SQLiteStatement(statement, connection: self)
    }

    /// Runs `body` in an immediate transaction: committed when it returns, rolled back when
    /// it throws.
    package func transaction<T>(_ body: () throws(IndexerError) -> T) throws(IndexerError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The error of the last failed call on this connection.
    func error(_ rc: Int32, in function: String) -> IndexerError {
        let reason = systemReason(rc, errno: errno)
        return IndexerError("sqlite: \(path): \(String(cString: sqlite3_errmsg(handle)))\(reason) (code \(rc), in \(function))")
    }

    /// The system's reason for an I/O error (a full disk, a file too large): the one SQLite
    /// kept, else `errno` as the failing call left it.
    private func systemReason(_ rc: Int32, errno: Int32) -> String {
        guard rc & 0xFF == SQLITE_IOERR || rc & 0xFF == SQLITE_FULL else { return "" }
        let number = sqlite3_system_errno(handle) != 0 ? sqlite3_system_errno(handle) : errno
        return number == 0 ? "" : ": " + String(cString: strerror(number))
    }

    private static func makeParentFolder(of path: String) throws(IndexerError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path[..<slash].split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o755) != 0 else { continue }
            guard errno == EEXIST else {
                throw IndexerError("sqlite: cannot create folder \(prefix): \(String(cString: strerror(errno)))")
            }
            var info = stat()
            if stat(prefix, &info) == 0, info.st_mode & S_IFMT != S_IFDIR {
                throw IndexerError("sqlite: \(prefix) is not a folder")
            }
        }
    }
}

/// A compiled statement; finalized in `deinit`. Keeps its connection alive.
package final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: SQLiteConnection

    fileprivate init(_ handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    /// A value to bind to a `?` parameter.
    package enum Value {
        case text(String)
        case int(Int64)
        case double(Double)
        case blob([UInt8])
        case null
    }

    /// Resets the statement and binds `values` to its parameters, 1-based, in order.
    package func bind(_ values: [Value]) throws(IndexerError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .text(let s): rc = sqlite3_bind_text(handle, index, s, -1, transient)
            case .int(let i): rc = sqlite3_bind_int64(handle, index, i)
            case .double(let d): rc = sqlite3_bind_double(handle, index, d)
            case .null: rc = sqlite3_bind_null(handle, index)
            case .blob(let bytes):
                rc = bytes.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, in: "sqlite3_bind") }
        }
    }

    /// Steps once: `true` when a row is ready, `false` when the statement is done.
    package func step() throws(IndexerError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, in: "sqlite3_step")
        }
    }

    /// Binds `values` and steps to the end.
    package func run(_ values: [Value]) throws(IndexerError) {
        try bind(values)
        while try step() {}
    }

    /// A text column of the current row; `nil` for NULL.
    package func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL, let p = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: p)
    }

    /// Whether a column of the current row is NULL.
    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// An integer column of the current row.
    package func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// A floating-point column of the current row.
    package func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    /// Calls `body` with the bytes of a blob column of the current row; they are valid only
    /// during the call.
    package func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return body(UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count))
    }
}
