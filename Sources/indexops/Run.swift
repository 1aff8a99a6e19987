import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore
import IndexOpsDaemon
import Logging

/// `indexops run`: the sidecar daemon.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run as a sidecar: reconcile on a timer and on a signed webhook, and serve probes, metrics and status.",
        discussion: """
            A pass at start, then every reconcile.interval (±10 %), and at once on a signed \
            POST /hooks/git. HTTP on server.listen: /healthz, /readyz, /metrics (Prometheus), \
            /api/v1/status[/DOC], /api/v1/collections/NAME and an HTML status page at /. \
            SIGTERM or SIGINT: no new operation starts; the running ones may end within \
            --shutdown-grace; their statuses are committed and pushed; exit 0.

            Each setting comes from its flag, else its INDEXOPS_ variable (INDEXOPS_CONFIG, \
            INDEXOPS_LISTEN, INDEXOPS_INTERVAL, INDEXOPS_WEBHOOK_SECRET_FILE, \
            INDEXOPS_LOG_FORMAT, INDEXOPS_LOG_LEVEL, INDEXOPS_SHUTDOWN_GRACE, INDEXOPS_STATUS_BRANCH), else the \
            configuration file, else the default.

            Webhook signatures: GitHub's X-Hub-Signature-256, GitLab's X-Gitlab-Token, or \
            X-Indexops-Signature: sha256=<hex HMAC-SHA256 of the body>. Without a secret file \
            the webhook answers 404.

            Examples:
              indexops run --config indexops.yaml
              indexops run --config indexops.yaml --listen 0.0.0.0:8080 --log-format json
              indexops run --config indexops.yaml --print-config
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var sharding: ShardOptions

    @Option(help: ArgumentHelp("host:port to serve HTTP on (server.listen).", valueName: "address"))
    var listen: String?

    @Option(help: ArgumentHelp("Time between passes, like 30s or 5m (reconcile.interval).", valueName: "duration"))
    var interval: String?

    @Option(help: ArgumentHelp("A file holding the webhook secret (server.webhookSecretFile).", valueName: "file"))
    var webhookSecretFile: String?

    @Option(help: ArgumentHelp("Log format: text or json. Default text.", valueName: "format"))
    var logFormat: String?

    @Option(help: ArgumentHelp("How long running operations may take to end after SIGTERM. Default 30s.", valueName: "duration"))
    var shutdownGrace: String?

    @Flag(help: "Print the effective configuration as JSON, secrets redacted, and exit.")
    var printConfig = false

    func run() async throws {
        var flags = DaemonFlags()
        flags.configFile = global.config
        flags.listen = listen
        flags.interval = interval
        flags.webhookSecretFile = webhookSecretFile
        flags.logFormat = logFormat
        flags.logLevel = global.logLevel
        flags.shutdownGrace = shutdownGrace
        flags.statusBranch = global.statusBranch
        var settings = try DaemonSettings.resolve(repo: global.repo, flags: flags, environment: ProcessInfo.processInfo.environment)
        settings.config = try sharding.apply(to: settings.config)
        // The flags and variables may name other secret files than --config did.
        let redactor = Redactor(loading: settings.config)
        Output.use(redactor)
        if printConfig {
            Output.document(settings.printable.canonicalText)
            return
        }
        let logger = IndexOpsLogging.logger(format: settings.logFormat, level: settings.logLevel, redactor: redactor)
        Output.warnAboutShortSecrets(redactor, logger: logger)
        try await Daemon.run(settings, logger: logger, redactor: redactor)
    }
}
