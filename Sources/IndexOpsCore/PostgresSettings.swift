import YAML

/// Where and how to reach a PostgreSQL database: the connection part of the postgres drivers'
/// settings, and what `indexops import` reads from its command line.
///
/// The password is never part of it. A URL is shown wherever the configuration is (logs,
/// `--print-config`, error messages, a process listing), so a URL that holds one is refused;
/// the password comes from ``passwordFile`` or, without one, from the `PGPASSWORD` variable
/// of the controller's environment, and is read only when a connection is made.
public struct PostgresConnectionSettings: Sendable, Hashable {
    /// Whether connections use TLS.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Never: the password and the data cross the network in clear.
        case disable
        /// When the server offers TLS; in clear when it does not. When TLS is used, the
        /// server's certificate is verified (against ``caFile`` or the system's roots): unlike
        /// libpq's `prefer`, a certificate that does not verify fails the connection.
        case prefer
        /// Always, with the server's certificate and host name verified against ``caFile``
        /// or the system's roots (libpq's `verify-full`).
        case require
    }

    /// The role to connect as.
    public var user: String
    /// The server's host name or address.
    public var host: String
    /// The server's TCP port. Default 5432.
    public var port: Int
    /// The database.
    public var database: String
    /// A file holding the password (a trailing newline is ignored); `nil`: `PGPASSWORD`,
    /// or no password. A secret: its path may be shown, its contents never.
    public var passwordFile: String?
    /// Whether connections use TLS. Default ``TLSMode/prefer``.
    public var tls: TLSMode
    /// A PEM file of the certificate authorities the server's certificate must chain to;
    /// `nil`: the system's roots.
    public var caFile: String?
    /// The most connections the process opens to this database. Default 4 (the default
    /// `reconcile.concurrency`).
    public var maxConnections: Int

    /// The default PostgreSQL port.
    public static let defaultPort = 5432

    /// Settings from a URL `postgresql://USER@HOST[:PORT]/DATABASE` (`postgres://` too;
    /// `%XX` escapes in the user and database are decoded; an IPv6 address goes in brackets).
    ///
    /// - Throws: ``PostgresSettingsError`` for a URL that is not of that form, that holds a
    ///   password, or that has query parameters; and for `maxConnections` outside 1...100 or
    ///   a `caFile` with TLS disabled. The message never repeats the URL, which might hold a
    ///   password.
    public init(
        url: String, passwordFile: String? = nil, tls: TLSMode = .prefer, caFile: String? = nil, maxConnections: Int = 4
    ) throws(PostgresSettingsError) {
        let parsed = try Self.parse(url)
        user = parsed.user
        host = parsed.host
        port = parsed.port
        database = parsed.database
        self.passwordFile = passwordFile
        self.tls = tls
        self.caFile = caFile
        self.maxConnections = maxConnections
        guard (1...100).contains(maxConnections) else { throw PostgresSettingsError("maxConnections must be between 1 and 100") }
        if caFile != nil, tls == .disable { throw PostgresSettingsError("caFile is for TLS, which tls: disable turns off") }
    }

    /// The URL without a password, in a canonical form: what logs, errors and commit
    /// messages may show.
    public var url: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(Self.escaped(user))@\(hostPart):\(port)/\(Self.escaped(database))"
    }

    private static func parse(_ url: String) throws(PostgresSettingsError) -> (user: String, host: String, port: Int, database: String) {
        let form = "postgresql://USER@HOST:PORT/DATABASE"
        guard let scheme = ["postgresql://", "postgres://"].first(where: { url.hasPrefix($0) }) else {
            throw PostgresSettingsError("the url must be of the form \(form)")
        }
        let rest = url.dropFirst(scheme.count)
        if rest.contains("?") || rest.contains("#") {
            if rest.lowercased().contains("password=") { throw passwordRefused }
            throw PostgresSettingsError(
                "the url must have no query parameters (\(form)): TLS goes in the settings tls and caFile, the password in passwordFile or PGPASSWORD")
        }
        guard let slash = rest.firstIndex(of: "/") else { throw PostgresSettingsError("the url names no database (\(form))") }
        let authority = rest[..<slash]
        guard let at = authority.lastIndex(of: "@") else { throw PostgresSettingsError("the url names no user (\(form))") }
        let userinfo = authority[..<at]
        if userinfo.contains(":") { throw passwordRefused }
        guard let user = percentDecoded(userinfo), !user.isEmpty else { throw PostgresSettingsError("the url names no user (\(form))") }
        let hostPort = authority[authority.index(after: at)...]
        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw PostgresSettingsError("the url has an unclosed [ in its host") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw PostgresSettingsError("the url's host is not followed by :PORT") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.firstIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty, !host.contains(where: { $0 == "%" || $0 == "/" || $0.isWhitespace }) else {
            throw PostgresSettingsError("the url names no host (\(form); a unix socket is not supported)")
        }
        var port = defaultPort
        if let portText {
            guard portText.allSatisfy(\.isASCII), let number = Int(portText), (1...65_535).contains(number) else {
                throw PostgresSettingsError("the url's port must be a number from 1 to 65535")
            }
            port = number
        }
        let path = rest[rest.index(after: slash)...]
        guard !path.isEmpty, !path.contains("/"), let database = percentDecoded(path), !database.isEmpty else {
            throw PostgresSettingsError("the url names no database (\(form))")
        }
        return (user, String(host), port, database)
    }

    private static var passwordRefused: PostgresSettingsError {
        PostgresSettingsError(
            "the url must not hold a password: a URL is shown in logs, --print-config, errors and process listings; "
                + "put the password in a file named by passwordFile, or in PGPASSWORD")
    }

    /// `%XX` escapes decoded; `nil` for a bad escape or bytes that are not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Escapes what would change a URL's meaning.
    private static func escaped(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80, c.isLetter || c.isNumber || "-._~".contains(c) {
                out.append(c)
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}

/// A PostgreSQL setting that cannot be used; the message names no secret.
public struct PostgresSettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, for people.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The settings of an index type whose driver is `postgres-fts` or `postgres-vector`: the
/// database, the table, and how the text is indexed.
public struct PostgresIndexSettings: Sendable, Hashable {
    /// How `postgres-vector` stores vectors.
    public enum VectorStorage: String, Sendable, Hashable, CaseIterable {
        /// What an existing table has; for a new table, pgvector's `vector` when the
        /// extension is installed in the database, else `real[]`.
        case auto
        /// pgvector's `vector` type with an HNSW index (pgvector ≥ 0.5): the driver creates
        /// the extension when it may, and fails with a configuration error when it cannot.
        case pgvector
        /// `real[]` with the cosine computed in SQL over every row: the slow path, for
        /// servers without pgvector.
        case array
    }

    /// The database.
    public var connection: PostgresConnectionSettings
    /// The schema of the table; `nil`: the connection's `search_path` (normally `public`).
    public var schema: String?
    /// The table; `nil`: `indexops_<index type>` with `-` written `_`.
    public var table: String?
    /// The text search configuration of `postgres-fts` (a name in `pg_ts_config`). Default
    /// `simple`: lower-cased words, no stemming, no stop words, any language.
    public var textSearchConfig: String
    /// How `postgres-vector` stores vectors. Default ``VectorStorage/auto``.
    public var vectorStorage: VectorStorage

    /// The longest table name: the driver names its indexes after the table with a suffix of
    /// up to 11 characters, and PostgreSQL cuts names at 63 bytes.
    public static let maxTableNameLength = 52

    /// Creates settings.
    public init(
        connection: PostgresConnectionSettings, schema: String? = nil, table: String? = nil,
        textSearchConfig: String = "simple", vectorStorage: VectorStorage = .auto
    ) {
        self.connection = connection
        self.schema = schema
        self.table = table
        self.textSearchConfig = textSearchConfig
        self.vectorStorage = vectorStorage
    }

    /// The table of index type `indexType`: ``table``, or `indexops_<type>` with `-` as `_`.
    public func tableName(indexType: String) -> String {
        table ?? "indexops_" + indexType.replacing("-", with: "_")
    }

    /// Why `name` cannot be a schema, table or text search configuration name, or `nil`.
    /// Names are lower-case letters, digits and `_`, starting with a letter or `_`, so that
    /// they never need quoting and PostgreSQL never folds or cuts them.
    public static func identifierProblem(_ name: String, maxLength: Int = 63) -> String? {
        let first = name.unicodeScalars.first
        let valid = !name.isEmpty && name.utf8.count <= maxLength
            && (first.map { ("a"..."z").contains($0) || $0 == "_" } ?? false)
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        return valid ? nil
            : "\"\(name)\" is not a valid name: use lower-case letters, digits and '_', starting with a letter or '_', at most \(maxLength) characters"
    }

    /// What of these settings decides which indexes exist: the database and the table, and
    /// how text becomes an index. A change of it rebuilds every index of the type.
    public var fingerprint: String {
        let c = connection
        return ["\(c.host):\(c.port)/\(c.database)", schema ?? "", table ?? "", textSearchConfig, vectorStorage.rawValue]
            .joined(separator: "\u{1}")
    }

    /// Problems across index types: a default table name that is too long, or two index
    /// types of one database on one table. Keyed by index type name.
    static func problems(in types: [String: IndexTypeSettings]) -> [(type: String, message: String)] {
        var problems: [(String, String)] = []
        var owners: [String: String] = [:]
        for name in types.keys.sorted() {
            guard let settings = types[name]?.postgres else { continue }
            let table = settings.tableName(indexType: name)
            if settings.table == nil, table.utf8.count > maxTableNameLength {
                problems.append((name, "the default table name \(table) is longer than \(maxTableNameLength) characters: set table"))
                continue
            }
            let c = settings.connection
            let key = "\(c.host):\(c.port)/\(c.database)/\(settings.schema ?? "")/\(table)"
            if let other = owners[key] {
                problems.append((name, "index types \(other) and \(name) use the same table \(table) of one database: set table"))
            }
            owners[key] = name
        }
        return problems
    }
}

extension PostgresIndexSettings {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case url, passwordFile, tls, caFile, maxConnections, schema, table, textSearchConfig, vectorStorage
    }

    /// The postgres settings of an index type's mapping: required for the postgres drivers
    /// (`nil` for the others, which must not have any of these keys).
    static func decode(from decoder: any Decoder, driver: IndexTypeSettings.Driver) throws -> PostgresIndexSettings? {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard driver == .postgresFTS || driver == .postgresVector else {
            if let key = CodingKeys.allCases.first(where: { c.contains($0) }) {
                throw DecodingProblem("\(key.stringValue) is only for the postgres drivers", at: .key(key.stringValue))
            }
            return nil
        }
        guard let url = try c.decodeIfPresent(String.self, forKey: .url) else {
            throw DecodingProblem("the \(driver.rawValue) driver needs a url: postgresql://USER@HOST:PORT/DATABASE")
        }
        func named<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ key: CodingKeys) throws -> T? where T.RawValue == String {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let value = T(rawValue: text) else {
                let known = T.allCases.map(\.rawValue).joined(separator: ", ")
                throw DecodingProblem("unknown \(key.stringValue) \"\(text)\" (known: \(known))", at: .value(key.stringValue))
            }
            return value
        }
        func identifier(_ key: CodingKeys, maxLength: Int = 63) throws -> String? {
            guard let name = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            if let problem = identifierProblem(name, maxLength: maxLength) { throw DecodingProblem(problem, at: .value(key.stringValue)) }
            return name
        }
        let tls = try named(PostgresConnectionSettings.TLSMode.self, .tls) ?? .prefer
        let passwordFile = try c.decodeIfPresent(String.self, forKey: .passwordFile)
        let caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
        let maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? 4
        let connection: PostgresConnectionSettings
        do throws(PostgresSettingsError) {
            connection = try PostgresConnectionSettings(
                url: url, passwordFile: passwordFile, tls: tls, caFile: caFile, maxConnections: maxConnections)
        } catch {
            let key: CodingKeys = error.message.hasPrefix("maxConnections") ? .maxConnections : error.message.hasPrefix("caFile") ? .caFile : .url
            throw DecodingProblem(error.message, at: .value(key.stringValue))
        }
        var settings = PostgresIndexSettings(
            connection: connection, schema: try identifier(.schema), table: try identifier(.table, maxLength: maxTableNameLength))
        if let config = try identifier(.textSearchConfig) {
            guard driver == .postgresFTS else { throw DecodingProblem("textSearchConfig is only for the postgres-fts driver", at: .key("textSearchConfig")) }
            settings.textSearchConfig = config
        }
        if let storage = try named(VectorStorage.self, .vectorStorage) {
            guard driver == .postgresVector else { throw DecodingProblem("vectorStorage is only for the postgres-vector driver", at: .key("vectorStorage")) }
            settings.vectorStorage = storage
        }
        return settings
    }
}
