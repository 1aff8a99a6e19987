import YAML

/// The controller's configuration (DESIGN.md §6): where the repository is, how passes run,
/// and how each index type is built. Written by the operator, never read from the watched
/// repository, whose writers must not be able to choose what runs on the controller.
///
/// Every field has a default; ``embeddedDefaults`` is what indexops runs on with no file.
public struct ControllerConfig: Sendable, Hashable {
    /// The resource kind of a configuration file.
    public static let kind = "ControllerConfig"

    /// The watched repository.
    public var repository: RepositorySettings
    /// How passes run.
    public var reconcile: ReconcileSettings
    /// The index types, by name.
    public var indexTypes: [String: IndexTypeSettings]
    /// The sidecar's HTTP server.
    public var server: ServerSettings
    /// The limits for reading spec files (`limits:` in the file).
    public var limits: YAMLLimits
    /// The size limits on the other blobs indexops reads (`limits:` in the file too).
    public var sizeLimits: SizeLimits
    /// The documents this replica owns (`shard:` in the file, `I/N`; `--shard`,
    /// `INDEXOPS_SHARD`). Default `0/1`: all of them.
    public var shard: Shard = .single

    /// Creates a configuration.
    public init(
        repository: RepositorySettings = .init(), reconcile: ReconcileSettings = .init(),
        indexTypes: [String: IndexTypeSettings] = ControllerConfig.defaultIndexTypes,
        server: ServerSettings = .init(), limits: YAMLLimits = .default, sizeLimits: SizeLimits = .init()
    ) {
        self.repository = repository
        self.reconcile = reconcile
        self.indexTypes = indexTypes
        self.server = server
        self.limits = limits
        self.sizeLimits = sizeLimits
    }

    /// The largest configuration file read, in bytes (1 MiB): it is checked before the file
    /// is read, and cannot be configured, since the file itself would have to say so.
    public static let maxFileSize = 1 << 20

    /// The index types of the embedded defaults: `fulltext` (sqlite-fts) and `vector`
    /// (sqlite-vector), in the default database.
    public static let defaultIndexTypes: [String: IndexTypeSettings] = [
        "fulltext": IndexTypeSettings(driver: .sqliteFTS),
        "vector": IndexTypeSettings(driver: .sqliteVector),
    ]

    /// What indexops runs on without a configuration file.
    public static let embeddedDefaults = ControllerConfig()

    /// The configuration with every relative path made relative to `directory` (the folder
    /// of the configuration file), as DESIGN.md §6 says. A bare command name stays a name
    /// looked up in `PATH`.
    public func resolvingPaths(relativeTo directory: String) -> ControllerConfig {
        func resolve(_ path: String?) -> String? {
            guard let path, !path.hasPrefix("/") else { return path }
            return directory.hasSuffix("/") ? directory + path : directory + "/" + path
        }
        var copy = self
        copy.repository.path = resolve(repository.path)
        copy.repository.sshKeyFile = resolve(repository.sshKeyFile)
        copy.repository.knownHostsFile = resolve(repository.knownHostsFile)
        copy.repository.tokenFile = resolve(repository.tokenFile)
        copy.server.webhookSecretFile = resolve(server.webhookSecretFile)
        for (name, var settings) in indexTypes {
            settings.database = resolve(settings.database)
            if let keyFile = settings.embedder?.apiKeyFile { settings.embedder?.apiKeyFile = resolve(keyFile) }
            if var postgres = settings.postgres {
                postgres.connection.passwordFile = resolve(postgres.connection.passwordFile)
                postgres.connection.caFile = resolve(postgres.connection.caFile)
                settings.postgres = postgres
            }
            if var command = settings.command, let first = command.first, first.contains("/") {
                command[0] = resolve(first) ?? first
                settings.command = command
            }
            copy.indexTypes[name] = settings
        }
        return copy
    }
}

/// The sizes checked, from the object header, before a blob of the watched repository is
/// read: anyone who can push chooses those sizes. Spec files have their own limit,
/// ``YAMLLimits/maxFileSize``.
public struct SizeLimits: Sendable, Hashable {
    /// The largest status file read (`limits.maxStatusFileSize`); a larger one is a
    /// diagnostic and its document has no status. Default 1 MiB.
    public var maxStatusFileSize = 1 << 20
    /// The largest source indexed (`limits.maxSourceSize`); a larger one fails its
    /// operations at once, without retries, until the source or the setting changes.
    /// Default 32 MiB.
    public var maxSourceSize = 32 << 20
    /// The largest file written into the clone's work tree (`limits.maxWorkTreeFileSize`);
    /// a larger one stays in git only, and is reported. Default 64 MiB.
    public var maxWorkTreeFileSize = 64 << 20

    /// Creates limits with the defaults.
    public init() {}
}

/// The watched repository.
public struct RepositorySettings: Sendable, Hashable {
    /// The local clone; made from ``url`` when missing. `nil`: the `--repo` folder.
    public var path: String?
    /// The remote to fetch from and push to; `nil`: a local repository only.
    public var url: String?
    /// The branch to watch and commit to. Default `main`.
    public var branch: String = "main"
    /// The branch status commits go to, when it is not ``branch`` (a protected spec branch):
    /// its tree holds only ``statusDir``, and the controller never writes ``branch``.
    /// `nil` (the default): ``branch``.
    public var statusBranch: String?
    /// The folder of the spec files. Default `specs`.
    public var specsDir: String = "specs"
    /// The folder of the status files. Default `status`.
    public var statusDir: String = "status"
    /// An ssh private key file for an ssh remote.
    public var sshKeyFile: String?
    /// The known_hosts file an ssh remote's host key is checked against.
    public var knownHostsFile: String?
    /// A file holding an https token.
    public var tokenFile: String?
    /// An environment variable holding an https token.
    public var tokenEnv: String?
    /// The author and committer of status commits.
    public var authorName: String = "indexops"
    /// The author's email.
    public var authorEmail: String = "indexops@localhost"
    /// A fetch, push or clone that receives nothing for this long is abandoned (a remote
    /// that went silent). Default 60 s.
    public var stallTimeout: Duration = .seconds(60)

    /// Creates settings with the defaults.
    public init() {}
}

/// How passes run.
public struct ReconcileSettings: Sendable, Hashable {
    /// Time between passes of `indexops run`. Default 30 s.
    public var interval: Duration = .seconds(30)
    /// Operations run at once. Default 4.
    public var concurrency = 4
    /// An operation running longer is cancelled and counts as a failure. Default 10 min.
    public var operationTimeout: Duration = .seconds(600)
    /// Failures of an index before it is held, at most ``IndexStatus/maxRetryCount``. Default 5.
    public var maxRetries = 5
    /// The first retry delay, doubled at each failure. Default 30 s.
    public var retryBackoff: Duration = .seconds(30)
    /// The longest retry delay. Default 15 min.
    public var maxRetryBackoff: Duration = .seconds(900)
    /// Results are committed at least this often during a pass (and published to the work tree
    /// as ``PublishBudget`` allows). Default 2 s.
    public var commitInterval: Duration = .seconds(2)
    /// A pass that would delete more than this share of the present indexes deletes none.
    /// Default 50.
    public var maxDeletePercent = 50
    /// The mass-delete brake applies only when more indexes than this are present. Default 10.
    public var minDeleteCount = 10

    /// Creates settings with the defaults.
    public init() {}
}

/// How one index type is built.
public struct IndexTypeSettings: Sendable, Hashable {
    /// The built-in drivers.
    public enum Driver: String, Sendable, Hashable, CaseIterable {
        case sqliteFTS = "sqlite-fts"
        case sqliteVector = "sqlite-vector"
        case exec
        case noop
        case postgresFTS = "postgres-fts"
        case postgresVector = "postgres-vector"

        /// Whether `indexops search` can query the indexes the driver keeps.
        public var isSearchable: Bool { [.sqliteFTS, .sqliteVector, .postgresFTS, .postgresVector].contains(self) }

        /// Whether the driver keeps vectors, and so takes an ``EmbedderSettings``.
        public var keepsVectors: Bool { self == .sqliteVector }
    }

    /// The driver.
    public var driver: Driver
    /// The SQLite file of the sqlite drivers; `nil`: `<git dir>/indexops/indexes.sqlite`.
    public var database: String?
    /// The argv of the exec driver.
    public var command: [String]?
    /// The exec driver's own timeout; `nil`: the operation timeout.
    public var timeout: Duration?
    /// Environment variables given to the exec driver (its environment is otherwise scrubbed).
    public var env: [String: String] = [:]
    /// The embeddings endpoint of a vector driver; `nil`: lexical feature-hashed vectors.
    public var embedder: EmbedderSettings?
    /// The database and table of the postgres drivers; `nil` for the others.
    public var postgres: PostgresIndexSettings?

    /// Creates settings for a driver.
    public init(
        driver: Driver, database: String? = nil, command: [String]? = nil, timeout: Duration? = nil, env: [String: String] = [:],
        embedder: EmbedderSettings? = nil, postgres: PostgresIndexSettings? = nil
    ) {
        self.driver = driver
        self.database = database
        self.command = command
        self.timeout = timeout
        self.env = env
        self.embedder = embedder
        self.postgres = postgres
    }
}

/// The sidecar's HTTP server.
public struct ServerSettings: Sendable, Hashable {
    /// `host:port` to listen on. Default `127.0.0.1:8080`.
    public var listen = "127.0.0.1:8080"
    /// A file holding the webhook secret; `nil`: the webhook is off.
    public var webhookSecretFile: String?

    /// Creates settings with the defaults.
    public init() {}
}

extension ControllerConfig {
    /// Reads a configuration file.
    ///
    /// - Parameters:
    ///   - bytes: the file's content.
    ///   - path: the file's name in errors.
    /// - Throws: ``YAMLError`` at the position of the first problem.
    public init(bytes: [UInt8], path: String) throws(YAMLError) {
        let stream = YAMLStream(parsing: bytes, file: path)
        if let error = stream.error { throw error }
        let documents = stream.documents.filter { !$0.isEmpty }
        guard documents.count == 1, let document = documents.first else {
            throw YAMLError(
                .invalidValue, file: path, mark: documents.dropFirst().first?.mark ?? .start,
                message: "a configuration file holds exactly one \(Self.kind) document")
        }
        self = try YAMLDecoder().decode(ControllerConfig.self, from: document)
    }
}

extension ControllerConfig: Decodable {
    private enum CodingKeys: String, CodingKey { case apiVersion, kind, repository, reconcile, indexTypes, server, limits, shard }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try checkTypeMeta(c, apiVersion: .apiVersion, kind: .kind, expected: Self.kind)
        self.init()
        repository = try c.decodeIfPresent(RepositorySettings.self, forKey: .repository) ?? repository
        reconcile = try c.decodeIfPresent(ReconcileSettings.self, forKey: .reconcile) ?? reconcile
        if let types = try c.decodeIfPresent(IndexTypes.self, forKey: .indexTypes) { indexTypes = types.values }
        server = try c.decodeIfPresent(ServerSettings.self, forKey: .server) ?? server
        if let settings = try c.decodeIfPresent(LimitSettings.self, forKey: .limits) {
            limits = settings.limits
            sizeLimits = settings.sizes
        }
        if let text = try c.decodeIfPresent(String.self, forKey: .shard) {
            do { shard = try Shard(parsing: text) } catch { throw DecodingProblem(error.message, at: .value("shard")) }
        }
    }

    private struct IndexTypes: Decodable {
        var values: [String: IndexTypeSettings] = [:]
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyCodingKey.self)
            for key in c.allKeys {
                if let problem = Identifier.indexTypeProblem(key.stringValue) { throw DecodingProblem(problem, at: .key(key.stringValue)) }
                values[key.stringValue] = try c.decode(IndexTypeSettings.self, forKey: key)
            }
            if let problem = PostgresIndexSettings.problems(in: values).first { throw DecodingProblem(problem.message, at: .key(problem.type)) }
        }
    }

    private struct LimitSettings: Decodable {
        var limits = YAMLLimits()
        var sizes = SizeLimits()
        private enum CodingKeys: String, CodingKey {
            case maxFileSize, maxDepth, maxDocuments, maxScalarLength, aliasExpansionRatio, aliasExpansionFloor
            case maxStatusFileSize, maxSourceSize, maxWorkTreeFileSize
        }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func positive(_ key: CodingKeys) throws -> Int? {
                guard let n = try c.decodeIfPresent(Int.self, forKey: key) else { return nil }
                guard n > 0 else { throw DecodingProblem("\(key.stringValue) must be positive", at: .key(key.stringValue)) }
                return n
            }
            limits.maxFileSize = try c.decodeIfPresent(ByteSize.self, forKey: .maxFileSize)?.value ?? limits.maxFileSize
            limits.maxScalarLength = try c.decodeIfPresent(ByteSize.self, forKey: .maxScalarLength)?.value ?? limits.maxScalarLength
            limits.maxDepth = try positive(.maxDepth) ?? limits.maxDepth
            limits.maxDocuments = try positive(.maxDocuments) ?? limits.maxDocuments
            limits.aliasExpansionRatio = try positive(.aliasExpansionRatio) ?? limits.aliasExpansionRatio
            limits.aliasExpansionFloor = try positive(.aliasExpansionFloor) ?? limits.aliasExpansionFloor
            sizes.maxStatusFileSize = try c.decodeIfPresent(ByteSize.self, forKey: .maxStatusFileSize)?.value ?? sizes.maxStatusFileSize
            sizes.maxSourceSize = try c.decodeIfPresent(ByteSize.self, forKey: .maxSourceSize)?.value ?? sizes.maxSourceSize
            sizes.maxWorkTreeFileSize = try c.decodeIfPresent(ByteSize.self, forKey: .maxWorkTreeFileSize)?.value ?? sizes.maxWorkTreeFileSize
        }
    }
}

extension RepositorySettings: Decodable {
    private enum CodingKeys: String, CodingKey {
        case path, url, branch, specsDir, statusDir, sshKeyFile, knownHostsFile, tokenFile, tokenEnv, authorName, authorEmail
        case stallTimeout, statusBranch
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        path = try c.decodeIfPresent(String.self, forKey: .path)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        branch = try c.decodeIfPresent(String.self, forKey: .branch) ?? branch
        statusBranch = try c.decodeIfPresent(String.self, forKey: .statusBranch)
        if let problem = statusBranch.flatMap(Self.branchNameProblem) {
            throw DecodingProblem(problem, at: .value(CodingKeys.statusBranch.stringValue))
        }
        specsDir = try c.decodeIfPresent(String.self, forKey: .specsDir) ?? specsDir
        statusDir = try c.decodeIfPresent(String.self, forKey: .statusDir) ?? statusDir
        for (key, value) in [(CodingKeys.specsDir, specsDir), (.statusDir, statusDir)] {
            if let problem = Source.pathProblem(value, label: "folder") {
                throw DecodingProblem(problem, at: .value(key.stringValue))
            }
        }
        sshKeyFile = try c.decodeIfPresent(String.self, forKey: .sshKeyFile)
        knownHostsFile = try c.decodeIfPresent(String.self, forKey: .knownHostsFile)
        tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
        tokenEnv = try c.decodeIfPresent(String.self, forKey: .tokenEnv)
        authorName = try c.decodeIfPresent(String.self, forKey: .authorName) ?? authorName
        authorEmail = try c.decodeIfPresent(String.self, forKey: .authorEmail) ?? authorEmail
        stallTimeout = try c.decodeIfPresent(DurationValue.self, forKey: .stallTimeout)?.value ?? stallTimeout
        guard stallTimeout > .zero else { throw DecodingProblem("stallTimeout must be longer than 0s", at: .value("stallTimeout")) }
    }
}

extension RepositorySettings {
    /// The branch status commits go to: ``statusBranch``, else ``branch``.
    public var effectiveStatusBranch: String { statusBranch ?? branch }

    /// Whether statuses live on a branch of their own.
    public var hasStatusBranch: Bool { effectiveStatusBranch != branch }

    /// Why `name` cannot be a branch of the status commits, or `nil`: git's rules for a
    /// reference name, in short (no empty component, no `..`, no control character, space,
    /// `~^:?*[\\`, no leading `-`, no `.lock` or `/` at the end).
    public static func branchNameProblem(_ name: String) -> String? {
        let bad = name.isEmpty || name.hasPrefix("-") || name.hasPrefix("/") || name.hasSuffix("/") || name.hasSuffix(".lock")
            || name.hasSuffix(".") || name.contains("..") || name.contains("//") || name.contains("@{")
            || name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f || " ~^:?*[\\".unicodeScalars.contains($0) }
            || name.split(separator: "/").contains { $0.hasPrefix(".") }
        return bad ? "\"\(name)\" is not a valid branch name" : nil
    }
}

extension ReconcileSettings: Decodable {
    private enum CodingKeys: String, CodingKey {
        case interval, concurrency, operationTimeout, maxRetries, retryBackoff, maxRetryBackoff, commitInterval, maxDeletePercent
        case minDeleteCount
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        interval = try c.decodeIfPresent(DurationValue.self, forKey: .interval)?.value ?? interval
        operationTimeout = try c.decodeIfPresent(DurationValue.self, forKey: .operationTimeout)?.value ?? operationTimeout
        retryBackoff = try c.decodeIfPresent(DurationValue.self, forKey: .retryBackoff)?.value ?? retryBackoff
        maxRetryBackoff = try c.decodeIfPresent(DurationValue.self, forKey: .maxRetryBackoff)?.value ?? maxRetryBackoff
        commitInterval = try c.decodeIfPresent(DurationValue.self, forKey: .commitInterval)?.value ?? commitInterval
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? concurrency
        guard (1...256).contains(concurrency) else { throw DecodingProblem("concurrency must be between 1 and 256", at: .value("concurrency")) }
        maxRetries = try c.decodeIfPresent(Int.self, forKey: .maxRetries) ?? maxRetries
        guard (0...IndexStatus.maxRetryCount).contains(maxRetries) else {
            throw DecodingProblem("maxRetries must be between 0 and \(IndexStatus.maxRetryCount)", at: .value("maxRetries"))
        }
        maxDeletePercent = try c.decodeIfPresent(Int.self, forKey: .maxDeletePercent) ?? maxDeletePercent
        guard (0...100).contains(maxDeletePercent) else {
            throw DecodingProblem("maxDeletePercent must be between 0 and 100", at: .value("maxDeletePercent"))
        }
        minDeleteCount = try c.decodeIfPresent(Int.self, forKey: .minDeleteCount) ?? minDeleteCount
        guard minDeleteCount >= 0 else { throw DecodingProblem("minDeleteCount must not be negative", at: .value("minDeleteCount")) }
        guard maxRetryBackoff >= retryBackoff else {
            throw DecodingProblem("maxRetryBackoff must not be shorter than retryBackoff", at: .value("maxRetryBackoff"))
        }
    }
}

extension IndexTypeSettings: Decodable {
    private enum CodingKeys: String, CodingKey { case driver, database, command, timeout, env, embedder }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .driver)
        guard let driver = Driver(rawValue: name) else {
            let known = Driver.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingProblem("unknown driver \"\(name)\" (known: \(known))", at: .value("driver"))
        }
        self.init(driver: driver)
        database = try c.decodeIfPresent(String.self, forKey: .database)
        command = try c.decodeIfPresent([String].self, forKey: .command)
        timeout = try c.decodeIfPresent(DurationValue.self, forKey: .timeout)?.value
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        embedder = try c.decodeIfPresent(EmbedderSettings.self, forKey: .embedder)
        if embedder != nil, !driver.keepsVectors {
            throw DecodingProblem("embedder is only for the vector drivers", at: .key("embedder"))
        }
        postgres = try PostgresIndexSettings.decode(from: decoder, driver: driver)
        switch driver {
        case .exec:
            guard let command, let first = command.first, !first.isEmpty else {
                throw DecodingProblem("the exec driver needs a command: an argv whose first item is a program", at: command == nil ? .node : .value("command"))
            }
            if database != nil { throw DecodingProblem("database is only for the sqlite drivers", at: .key("database")) }
        case .sqliteFTS, .sqliteVector, .noop, .postgresFTS, .postgresVector:
            if command != nil { throw DecodingProblem("command is only for the exec driver", at: .key("command")) }
            if !env.isEmpty { throw DecodingProblem("env is only for the exec driver", at: .key("env")) }
            if driver != .sqliteFTS, driver != .sqliteVector, database != nil {
                throw DecodingProblem("database is only for the sqlite drivers", at: .key("database"))
            }
        }
    }
}

extension ServerSettings: Decodable {
    private enum CodingKeys: String, CodingKey { case listen, webhookSecretFile }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        listen = try c.decodeIfPresent(String.self, forKey: .listen) ?? listen
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65_535).contains(port) else {
            throw DecodingProblem("listen must be host:port, like 0.0.0.0:8080", at: .value("listen"))
        }
        webhookSecretFile = try c.decodeIfPresent(String.self, forKey: .webhookSecretFile)
    }
}
