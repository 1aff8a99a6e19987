import Foundation
import IndexOpsController
import IndexOpsCore
import Logging
import YAML

/// How the daemon writes its log.
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's `StreamLogHandler` lines, for people.
    case text
    /// One JSON object a line (``JSONLogHandler``), for log collectors.
    case json
}

/// The values `indexops run` takes from its flags; `nil`: not given.
public struct DaemonFlags: Sendable {
    /// `--config`.
    public var configFile: String?
    /// `--listen`.
    public var listen: String?
    /// `--interval`.
    public var interval: String?
    /// `--webhook-secret-file`.
    public var webhookSecretFile: String?
    /// `--log-format`.
    public var logFormat: String?
    /// `--log-level`.
    public var logLevel: String?
    /// `--shutdown-grace`.
    public var shutdownGrace: String?
    /// `--status-branch`.
    public var statusBranch: String?

    /// Creates flags, none given.
    public init() {}
}

/// The daemon's effective settings. Each value comes from the first of: a flag, an
/// `INDEXOPS_…` environment variable, the configuration file, the default.
///
/// | flag | environment | file |
/// |---|---|---|
/// | `--config` | `INDEXOPS_CONFIG` | — |
/// | `--listen` | `INDEXOPS_LISTEN` | `server.listen` |
/// | `--interval` | `INDEXOPS_INTERVAL` | `reconcile.interval` |
/// | `--webhook-secret-file` | `INDEXOPS_WEBHOOK_SECRET_FILE` | `server.webhookSecretFile` |
/// | `--log-format` | `INDEXOPS_LOG_FORMAT` | — (default `text`) |
/// | `--log-level` | `INDEXOPS_LOG_LEVEL` | — (default `info`) |
/// | `--status-branch` | `INDEXOPS_STATUS_BRANCH` | `repository.statusBranch` |
/// | `--shutdown-grace` | `INDEXOPS_SHUTDOWN_GRACE` | — (default 30 s) |
public struct DaemonSettings: Sendable {
    /// The `--repo` folder.
    public var repo: String
    /// The configuration file, if any.
    public var configFile: String?
    /// The controller's configuration with the flags and environment applied.
    public var config: ControllerConfig
    /// The log format.
    public var logFormat: LogFormat
    /// The log level.
    public var logLevel: Logger.Level
    /// How long running operations may take to end after SIGTERM.
    public var shutdownGrace: Duration

    /// Resolves the settings.
    ///
    /// - Throws: ``IndexOpsError`` naming the flag or variable of a bad value, or the
    ///   configuration loader's errors.
    public static func resolve(repo: String, flags: DaemonFlags, environment: [String: String]) throws -> DaemonSettings {
        func pick(_ flag: String?, _ name: String, _ variable: String) -> (value: String, origin: String)? {
            if let flag { return (flag, "--\(name)") }
            if let value = environment[variable], !value.isEmpty { return (value, variable) }
            return nil
        }
        func duration(_ flag: String?, _ name: String, _ variable: String) throws -> Duration? {
            guard let (text, origin) = pick(flag, name, variable) else { return nil }
            guard let value = DurationText.parse(text), value > .zero else {
                throw IndexOpsError("\(origin): \"\(text)\" is not a duration like 30s, 5m or 1h")
            }
            return value
        }
        let configFile = pick(flags.configFile, "config", "INDEXOPS_CONFIG")?.value
        var config = try ConfigLoader.applyingStatusBranch(try ConfigLoader.load(configFile), flag: flags.statusBranch, environment: environment)
        if let (listen, origin) = pick(flags.listen, "listen", "INDEXOPS_LISTEN") {
            guard ListenAddress(listen) != nil else { throw IndexOpsError("\(origin): \"\(listen)\" is not host:port, like 0.0.0.0:8080") }
            config.server.listen = listen
        }
        if let interval = try duration(flags.interval, "interval", "INDEXOPS_INTERVAL") { config.reconcile.interval = interval }
        if let (file, _) = pick(flags.webhookSecretFile, "webhook-secret-file", "INDEXOPS_WEBHOOK_SECRET_FILE") {
            config.server.webhookSecretFile = file
        }
        var logFormat = LogFormat.text
        if let (text, origin) = pick(flags.logFormat, "log-format", "INDEXOPS_LOG_FORMAT") {
            guard let format = LogFormat(rawValue: text) else { throw IndexOpsError("\(origin): \"\(text)\" is not text or json") }
            logFormat = format
        }
        var logLevel = Logger.Level.info
        if let (text, origin) = pick(flags.logLevel, "log-level", "INDEXOPS_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text) else {
                throw IndexOpsError("\(origin): \"\(text)\" is not one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = level
        }
        let grace = try duration(flags.shutdownGrace, "shutdown-grace", "INDEXOPS_SHUTDOWN_GRACE") ?? .seconds(30)
        return DaemonSettings(
            repo: repo, configFile: configFile, config: config, logFormat: logFormat, logLevel: logLevel, shutdownGrace: grace)
    }

    /// The effective configuration as JSON, for `--print-config`. Paths of secret files are
    /// shown, their contents never; the values of exec `env` and a password in the remote's
    /// URL are replaced by `<redacted>`.
    public var printable: JSONValue {
        func string(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func duration(_ d: Duration) -> JSONValue { .string(DurationText.format(d)) }
        let r = config.repository, c = config.reconcile, s = config.server, l = config.limits
        var types: [String: JSONValue] = [:]
        for (name, t) in config.indexTypes {
            types[name] = .object([
                "driver": .string(t.driver.rawValue),
                "database": string(t.database),
                "command": t.command.map { .array($0.map(JSONValue.string)) } ?? .null,
                "timeout": t.timeout.map(duration) ?? .null,
                "env": .object(t.env.mapValues { _ in .string("<redacted>") }),
                "embedder": t.embedder.map { e in
                    .object([
                        "url": .string(e.url), "model": .string(e.model), "dimensions": .int(Int64(e.dimensions)),
                        "apiKeyFile": string(e.apiKeyFile), "batchSize": .int(Int64(e.batchSize)), "timeout": duration(e.timeout),
                    ])
                } ?? .null,
            ])
            if let p = t.postgres, case .object(var fields) = types[name] {
                // The URL never holds a password (the configuration refuses one); the
                // password file is shown by path.
                fields["postgres"] = .object([
                    "url": .string(p.connection.url), "passwordFile": string(p.connection.passwordFile),
                    "tls": .string(p.connection.tls.rawValue), "caFile": string(p.connection.caFile),
                    "maxConnections": .int(Int64(p.connection.maxConnections)), "schema": string(p.schema),
                    "table": .string(p.tableName(indexType: name)), "textSearchConfig": .string(p.textSearchConfig),
                    "vectorStorage": .string(p.vectorStorage.rawValue),
                ])
                types[name] = .object(fields)
            }
        }
        return .object([
            "configFile": string(configFile),
            "repo": .string(repo),
            "repository": .object([
                "path": string(r.path), "url": string(r.url.map(Self.redactingPassword)), "branch": .string(r.branch),
                "specsDir": .string(r.specsDir), "statusDir": .string(r.statusDir), "statusBranch": string(r.statusBranch),
                "sshKeyFile": string(r.sshKeyFile), "knownHostsFile": string(r.knownHostsFile),
                "tokenFile": string(r.tokenFile), "tokenEnv": string(r.tokenEnv),
                "authorName": .string(r.authorName), "authorEmail": .string(r.authorEmail),
                "stallTimeout": duration(r.stallTimeout),
            ]),
            "reconcile": .object([
                "interval": duration(c.interval), "concurrency": .int(Int64(c.concurrency)),
                "operationTimeout": duration(c.operationTimeout), "maxRetries": .int(Int64(c.maxRetries)),
                "retryBackoff": duration(c.retryBackoff), "maxRetryBackoff": duration(c.maxRetryBackoff),
                "commitInterval": duration(c.commitInterval), "maxDeletePercent": .int(Int64(c.maxDeletePercent)),
                "minDeleteCount": .int(Int64(c.minDeleteCount)),
            ]),
            "indexTypes": .object(types),
            "server": .object(["listen": .string(s.listen), "webhookSecretFile": string(s.webhookSecretFile)]),
            "limits": .object([
                "maxFileSize": .int(Int64(l.maxFileSize)), "maxDepth": .int(Int64(l.maxDepth)),
                "maxDocuments": .int(Int64(l.maxDocuments)), "maxScalarLength": .int(Int64(l.maxScalarLength)),
                "aliasExpansionRatio": .int(Int64(l.aliasExpansionRatio)), "aliasExpansionFloor": .int(Int64(l.aliasExpansionFloor)),
                "maxStatusFileSize": .int(Int64(config.sizeLimits.maxStatusFileSize)),
                "maxSourceSize": .int(Int64(config.sizeLimits.maxSourceSize)),
                "maxWorkTreeFileSize": .int(Int64(config.sizeLimits.maxWorkTreeFileSize)),
            ]),
            "log": .object(["format": .string(logFormat.rawValue), "level": .string(logLevel.rawValue)]),
            "shutdownGrace": duration(shutdownGrace),
        ])
    }

    /// `https://user:secret@host/x` → `https://user:<redacted>@host/x`.
    static func redactingPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let userinfo = url[scheme.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":<redacted>" + String(url[at...])
    }
}

/// `host:port` as the server binds it.
public struct ListenAddress: Sendable, Hashable {
    /// The host name or address.
    public var host: String
    /// The port; 0: any free port.
    public var port: Int

    /// Parses `host:port` (`[::1]:8080` for IPv6); `nil` when it is not one.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}
