import Foundation
import HTTPTypes
import Hummingbird
import IndexOpsController
import IndexOpsCore
import Logging
import NIOCore

/// The daemon's HTTP routes (DESIGN.md §7):
///
/// - `GET /healthz`: 200 while the loop runs and a pass ended within 3 intervals plus the
///   operation timeout, else 503.
/// - `GET /readyz`: 200 after the first pass that did not fail, else 503.
/// - `GET /metrics`: Prometheus text.
/// - `POST /hooks/git`: a signed webhook (``WebhookSignature``) triggers a pass: 202. A body
///   over 1 MiB: 413; a missing or wrong signature: 401; no secret configured: 404 (the
///   webhook is off).
/// - `GET /api/v1/status`, `/api/v1/status/{document}`, `/api/v1/collections/{collection}`:
///   ``StatusViews`` JSON; 404 with `{"error": …}` for an unknown document or collection.
/// - `GET /`: the HTML status page.
///
/// The system status and the page share one summary among their readers (``SharedSummary``).
enum HTTPRoutes {
    /// The largest webhook body read.
    static let maxWebhookBody = 1 << 20

    static func router(
        reconciler: Reconciler, summaries: SharedSummary, loop: ReconcileLoop, state: DaemonState, metrics: DaemonMetrics,
        config: ControllerConfig, webhook: WebhookSignature?, redactor: Redactor, logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router()
        let respond = Responses(redactor: redactor)
        let healthWindow = config.reconcile.interval * 3 + config.reconcile.operationTimeout
        let branch = config.repository.branch

        router.get("/healthz") { _, _ in
            state.isHealthy(window: healthWindow) ? respond.text(.ok, "ok\n") : respond.text(.serviceUnavailable, "no pass ended lately\n")
        }
        router.get("/readyz") { _, _ in
            state.isReady ? respond.text(.ok, "ready\n") : respond.text(.serviceUnavailable, "no pass has succeeded yet\n")
        }
        router.get("/metrics") { _, _ in
            respond.text(.ok, metrics.text(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.post("/hooks/git") { request, _ in
            guard let webhook else { return respond.json(.notFound, error: "the webhook is off: no server.webhookSecretFile is configured") }
            if let length = request.headers[.contentLength].flatMap(Int.init), length > maxWebhookBody {
                metrics.webhook("too_large")
                return respond.json(.contentTooLarge, error: "the body is larger than 1 MiB")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maxWebhookBody)
            } catch is NIOTooManyBytesError {
                metrics.webhook("too_large")
                return respond.json(.contentTooLarge, error: "the body is larger than 1 MiB")
            }
            let signed = webhook.verify(body: Array(buffer: body)) { name in
                HTTPField.Name(name).flatMap { request.headers[$0] }
            }
            guard signed else {
                metrics.webhook("unauthorized")
                logger.warning("Rejected a webhook with a missing or wrong signature")
                return respond.json(.unauthorized, error: "missing or wrong signature")
            }
            metrics.webhook("accepted")
            logger.info("Webhook accepted: a pass is due")
            loop.trigger()
            return respond.json(.accepted, .object(["triggered": .bool(true)]))
        }
        router.get("/api/v1/status") { _, _ in
            respond.json(.ok, StatusViews.system(try await summaries.get()))
        }
        router.get("/api/v1/status/:document") { _, context in
            let id = try context.parameters.require("document")
            guard let status = try await reconciler.status(of: id) else {
                return respond.json(.notFound, error: "no status for document \"\(id)\"")
            }
            return respond.json(.ok, StatusViews.document(status))
        }
        router.get("/api/v1/collections/:collection") { _, context in
            let name = try context.parameters.require("collection")
            let statuses = try await reconciler.statuses(collection: name)
            guard !statuses.isEmpty else {
                return respond.json(.notFound, error: "no document in collection \"\(name)\"")
            }
            return respond.json(.ok, StatusViews.collection(name, statuses))
        }
        router.get("/") { _, _ in
            let summary = try await summaries.get()
            return respond.text(.ok, StatusPage.render(summary: summary, snapshot: state.snapshot(), branch: branch), contentType: "text/html; charset=utf-8")
        }
        return router
    }

}

/// Every response of the daemon is made here: its body has the configured secrets replaced
/// by `<redacted>` (DESIGN.md §10) — an error on the status page, a failed index's message in
/// the status API — whatever route built it.
struct Responses: Sendable {
    let redactor: Redactor

    func text(_ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(
            status: status, headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: redactor.redact(body))))
    }

    func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        text(status, value.canonicalText + "\n", contentType: "application/json")
    }

    func json(_ status: HTTPResponse.Status, error: String) -> Response {
        json(status, .object(["error": .string(error)]))
    }
}
