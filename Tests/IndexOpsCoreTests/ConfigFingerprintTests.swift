import IndexOpsCore
import Testing

/// The idle check's fingerprint covers the whole configuration: every setting, found by
/// reflection. The table below has a change for every setting there is; a setting added to
/// the configuration without a row fails `theTableCoversEverySetting`, and every row must
/// change the fingerprint.
@Suite("Configuration fingerprint")
struct ConfigFingerprintTests {
    /// A configuration with every optional setting given, so that every setting is a leaf.
    static let full: ControllerConfig = {
        var config = ControllerConfig(indexTypes: [:])
        config.repository.path = "/var/lib/indexops/repo"
        config.repository.url = "https://git.example.com/specs.git"
        config.repository.sshKeyFile = "/keys/id"
        config.repository.knownHostsFile = "/keys/known_hosts"
        config.repository.tokenFile = "/keys/token"
        config.repository.tokenEnv = "GIT_TOKEN"
        config.server.webhookSecretFile = "/keys/webhook"
        config.indexTypes["graph"] = IndexTypeSettings(
            driver: .exec, database: "/db.sqlite", command: ["/opt/graph", "--fast"], timeout: .seconds(60), env: ["URL": "http://g"])
        config.indexTypes["pg"] = IndexTypeSettings(
            driver: .postgresFTS,
            postgres: PostgresIndexSettings(
                connection: try! PostgresConnectionSettings(
                    url: "postgresql://indexops@db:5432/rag", passwordFile: "/keys/pg", tls: .require, caFile: "/keys/ca.pem"),
                schema: "rag", table: "chunks", textSearchConfig: "english"))
        return config
    }()

    typealias Change = @Sendable (inout ControllerConfig) -> Void

    /// One change per setting, by the setting's shape (``SettingsReflection/shape(_:)``).
    static let changes: [String: Change] = [
        "repository.path": { $0.repository.path = "/elsewhere" },
        "repository.url": { $0.repository.url = "https://git.example.com/other.git" },
        "repository.branch": { $0.repository.branch = "trunk" },
        "repository.statusBranch": { $0.repository.statusBranch = "indexops/status" },
        "repository.specsDir": { $0.repository.specsDir = "declared" },
        "repository.statusDir": { $0.repository.statusDir = "observed" },
        "repository.sshKeyFile": { $0.repository.sshKeyFile = "/keys/other" },
        "repository.knownHostsFile": { $0.repository.knownHostsFile = nil },
        "repository.tokenFile": { $0.repository.tokenFile = nil },
        "repository.tokenEnv": { $0.repository.tokenEnv = "OTHER" },
        "repository.authorName": { $0.repository.authorName = "bot" },
        "repository.authorEmail": { $0.repository.authorEmail = "bot@example.com" },
        "reconcile.interval": { $0.reconcile.interval = .seconds(31) },
        "reconcile.concurrency": { $0.reconcile.concurrency = 5 },
        "reconcile.operationTimeout": { $0.reconcile.operationTimeout = .milliseconds(600_001) },
        "reconcile.maxRetries": { $0.reconcile.maxRetries = 6 },
        "reconcile.retryBackoff": { $0.reconcile.retryBackoff = .seconds(31) },
        "reconcile.maxRetryBackoff": { $0.reconcile.maxRetryBackoff = .seconds(901) },
        "reconcile.commitInterval": { $0.reconcile.commitInterval = .seconds(3) },
        "reconcile.maxDeletePercent": { $0.reconcile.maxDeletePercent = 51 },
        "indexTypes#count": { $0.indexTypes["noop"] = IndexTypeSettings(driver: .noop) },
        "indexTypes[*].driver": { $0.indexTypes["graph"]!.driver = .noop },
        "indexTypes[*].database": { $0.indexTypes["graph"]!.database = "/other.sqlite" },
        "indexTypes[*].command#count": { $0.indexTypes["graph"]!.command!.append("--more") },
        "indexTypes[*].command[*]": { $0.indexTypes["graph"]!.command![1] = "--slow" },
        "indexTypes[*].timeout": { $0.indexTypes["graph"]!.timeout = nil },
        "indexTypes[*].env#count": { $0.indexTypes["graph"]!.env["MORE"] = "1" },
        "indexTypes[*].env[*]": { $0.indexTypes["graph"]!.env["URL"] = "http://h" },
        "indexTypes[*].embedder": { $0.indexTypes["graph"]!.embedder = EmbedderSettings(url: "http://127.0.0.1:11434/v1/embeddings", model: "m", dimensions: 8) },
        "server.listen": { $0.server.listen = "0.0.0.0:8080" },
        "server.webhookSecretFile": { $0.server.webhookSecretFile = nil },
        "limits.maxFileSize": { $0.limits.maxFileSize += 1 },
        "limits.maxDepth": { $0.limits.maxDepth += 1 },
        "limits.maxDocuments": { $0.limits.maxDocuments += 1 },
        "limits.maxScalarLength": { $0.limits.maxScalarLength += 1 },
        "limits.aliasExpansionRatio": { $0.limits.aliasExpansionRatio += 1 },
        "limits.aliasExpansionFloor": { $0.limits.aliasExpansionFloor += 1 },
        "sizeLimits.maxSourceSize": { $0.sizeLimits.maxSourceSize += 1 },
        "reconcile.minDeleteCount": { $0.reconcile.minDeleteCount += 1 },
        "shard.index": { $0.shard = try! Shard(index: 1, count: 2) },
        "shard.count": { $0.shard = try! Shard(index: 0, count: 2) },
        "repository.stallTimeout": { $0.repository.stallTimeout += .seconds(1) },
        "sizeLimits.maxStatusFileSize": { $0.sizeLimits.maxStatusFileSize += 1 },
        "sizeLimits.maxWorkTreeFileSize": { $0.sizeLimits.maxWorkTreeFileSize += 1 },
        "indexTypes[*].command": { $0.indexTypes["pg"]!.command = ["/opt/unused"] },
        "indexTypes[*].postgres": { $0.indexTypes["pg"]!.postgres = nil },
        "indexTypes[*].postgres.connection.user": { $0.indexTypes["pg"]!.postgres!.connection.user = "other" },
        "indexTypes[*].postgres.connection.host": { $0.indexTypes["pg"]!.postgres!.connection.host = "db2" },
        "indexTypes[*].postgres.connection.port": { $0.indexTypes["pg"]!.postgres!.connection.port = 5433 },
        "indexTypes[*].postgres.connection.database": { $0.indexTypes["pg"]!.postgres!.connection.database = "rag2" },
        "indexTypes[*].postgres.connection.passwordFile": { $0.indexTypes["pg"]!.postgres!.connection.passwordFile = nil },
        "indexTypes[*].postgres.connection.tls": { $0.indexTypes["pg"]!.postgres!.connection.tls = .prefer },
        "indexTypes[*].postgres.connection.caFile": { $0.indexTypes["pg"]!.postgres!.connection.caFile = "/keys/other.pem" },
        "indexTypes[*].postgres.connection.maxConnections": { $0.indexTypes["pg"]!.postgres!.connection.maxConnections = 8 },
        "indexTypes[*].postgres.schema": { $0.indexTypes["pg"]!.postgres!.schema = nil },
        "indexTypes[*].postgres.table": { $0.indexTypes["pg"]!.postgres!.table = "chunks2" },
        "indexTypes[*].postgres.textSearchConfig": { $0.indexTypes["pg"]!.postgres!.textSearchConfig = "simple" },
        "indexTypes[*].postgres.vectorStorage": { $0.indexTypes["pg"]!.postgres!.vectorStorage = .array },
    ]

    @Test func theTableCoversEverySetting() {
        let shapes = Set(SettingsReflection.leaves(of: Self.full).map { SettingsReflection.shape($0.path) })
        #expect(shapes.subtracting(Self.changes.keys).sorted() == [], "settings without a row in ConfigFingerprintTests.changes")
        #expect(Set(Self.changes.keys).subtracting(shapes).sorted() == [], "rows for settings that do not exist")
    }

    @Test(arguments: changes.keys.sorted()) func everySettingChangesTheFingerprint(_ setting: String) {
        var changed = Self.full
        Self.changes[setting]!(&changed)
        #expect(changed != Self.full, "the row for \(setting) changes nothing")
        #expect(changed.fingerprint != Self.full.fingerprint)
    }

    @Test func renamingAVariableOrATypeChangesIt() {
        var renamed = Self.full
        renamed.indexTypes["graph"]!.env = ["URI": "http://g"]
        #expect(renamed.fingerprint != Self.full.fingerprint)
        renamed = Self.full
        renamed.indexTypes = ["graph2": Self.full.indexTypes["graph"]!]
        #expect(renamed.fingerprint != Self.full.fingerprint)
    }

    @Test func theSameConfigurationGivesTheSameFingerprint() {
        var a = ControllerConfig()
        var b = ControllerConfig()
        for name in ["x", "y", "z", "w"] { a.indexTypes[name] = IndexTypeSettings(driver: .noop) }
        for name in ["w", "z", "y", "x"] { b.indexTypes[name] = IndexTypeSettings(driver: .noop) }
        #expect(a.fingerprint == b.fingerprint)
        #expect(ControllerConfig().fingerprint == ControllerConfig.embeddedDefaults.fingerprint)
        #expect(ControllerConfig().fingerprint.count == 64)
    }

    @Test func shapes() {
        #expect(SettingsReflection.shape(#"indexTypes["a.b]"].env["X\"]"].y"#) == "indexTypes[*].env[*].y")
        #expect(SettingsReflection.shape("indexTypes[\"g\"].command[0]") == "indexTypes[*].command[*]")
    }
}
