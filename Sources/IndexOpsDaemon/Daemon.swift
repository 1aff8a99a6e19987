import Foundation
import Hummingbird
import IndexOpsController
import IndexOpsCore
import Indexers
import Logging
import ServiceLifecycle

/// `indexops run`: the reconcile loop and the HTTP server in one `ServiceGroup`, shut down
/// gracefully on SIGTERM and SIGINT.
public enum Daemon {
    /// Runs until SIGTERM or SIGINT, then returns after the running pass has committed and
    /// pushed.
    ///
    /// - Throws: ``IndexOpsError`` for an unreadable webhook secret or a bad listen address;
    ///   the reconciler's errors when the repository cannot be opened; the server's when it
    ///   cannot bind.
    /// - Parameter redactor: the secrets of `settings` (``Redactor/init(loading:environment:)``),
    ///   redacted from every HTTP response.
    public static func run(_ settings: DaemonSettings, logger: Logger, redactor: Redactor) async throws {
        let config = settings.config
        guard let address = ListenAddress(config.server.listen) else {
            throw IndexOpsError("server.listen: \"\(config.server.listen)\" is not host:port")
        }
        let webhook = try config.server.webhookSecretFile.map { WebhookSignature(secret: try readSecret($0)) }
        let reconciler = try Controller.reconciler(
            repo: settings.repo, config: config, configured: settings.configFile != nil, logger: logger, shutdownGrace: settings.shutdownGrace)
        let state = DaemonState()
        let metrics = DaemonMetrics(shard: config.shard)
        let summaries = SharedSummary(reconciler)
        let loop = ReconcileLoop(
            reconciler: reconciler, config: config, grace: settings.shutdownGrace, state: state, metrics: metrics, logger: logger,
            summaries: summaries)
        let router = HTTPRoutes.router(
            reconciler: reconciler, summaries: summaries, loop: loop, state: state, metrics: metrics, config: config, webhook: webhook, redactor: redactor,
            logger: logger)
        if webhook == nil { logger.notice("The webhook is off: no server.webhookSecretFile is configured") }
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "indexops"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                logger.notice("Listening on http://\(address.host):\(port)", metadata: ["address": "\(address.host):\(port)"])
            },
            logger: logger)
        // Graceful shutdown goes from the last service to the first: the loop drains and
        // pushes while the server still answers probes; then the server stops.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: loop)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// Runs the reconcile loop alone, without the HTTP server (`indexops reconcile` without
    /// `--once`): a pass every `reconcile.interval`, until SIGTERM or SIGINT, which end it as
    /// they end the daemon. `onPass` sees each pass's report.
    public static func runLoop(
        _ reconciler: Reconciler, config: ControllerConfig, options: PassOptions = PassOptions(), logger: Logger,
        onPass: @escaping @Sendable (PassReport) -> Void
    ) async throws {
        let loop = ReconcileLoop(
            reconciler: reconciler, config: config, grace: .seconds(30), state: DaemonState(), metrics: DaemonMetrics(shard: config.shard), logger: logger,
            options: options, onPass: onPass)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: loop)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The secret in a file, without a trailing newline. Its contents are never logged.
    static func readSecret(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IndexOpsError("cannot read the webhook secret file \(path)")
        }
        var bytes = [UInt8](data)
        while let last = bytes.last, last == 0x0a || last == 0x0d { bytes.removeLast() }
        guard !bytes.isEmpty else { throw IndexOpsError("the webhook secret file \(path) is empty") }
        return bytes
    }
}
