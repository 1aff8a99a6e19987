import Foundation
import Git
import IndexOpsController
import IndexOpsCore
import Logging
import ServiceLifecycle
import Synchronization

/// The daemon's reconcile loop, a swift-service-lifecycle `Service`: a pass at start, then one
/// every `interval` (±10 %), and one at once after ``trigger()``. Passes never overlap; triggers
/// during a pass make one more pass after it.
///
/// At graceful shutdown (SIGTERM, SIGINT) it starts no new pass, makes the running pass start
/// no new operation (``Reconciler/drain()``), lets the running operations end for up to the
/// grace period, then cancels them; the pass commits and pushes their statuses, and `run()`
/// returns.
final class ReconcileLoop: Service, Sendable {
    private let reconciler: Reconciler
    private let interval: Duration
    private let grace: Duration
    private let indexTypes: [String]
    private let state: DaemonState
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let wakeup = Wakeup()
    private let control = Mutex<(stopping: Bool, pass: Task<Void, Never>?)>((false, nil))
    private let onPass: (@Sendable (PassReport) -> Void)?
    private let options: PassOptions
    /// The summary the status routes serve, made anew after each pass that changed something.
    private let summaries: SharedSummary

    init(reconciler: Reconciler, config: ControllerConfig, grace: Duration, state: DaemonState, metrics: DaemonMetrics, logger: Logger,
         summaries: SharedSummary? = nil, options: PassOptions = PassOptions(), onPass: (@Sendable (PassReport) -> Void)? = nil) {
        self.summaries = summaries ?? SharedSummary(reconciler)
        self.onPass = onPass
        self.options = options
        self.reconciler = reconciler
        self.interval = config.reconcile.interval
        self.grace = grace
        self.indexTypes = config.indexTypes.keys.sorted()
        self.state = state
        self.metrics = metrics
        self.logger = logger
    }

    /// Asks for a pass as soon as the running one, if any, ends.
    func trigger() {
        wakeup.signal()
    }

    func run() async throws {
        // Cancelled (another service failed, say the server could not bind): stop at once.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await loop()
            } onGracefulShutdown: {
                self.shutDown()
            }
        } onCancel: {
            let running = control.withLock { c -> Task<Void, Never>? in
                c.stopping = true
                return c.pass
            }
            running?.cancel()
            wakeup.signal()
        }
    }

    private var stopping: Bool { control.withLock { $0.stopping } }

    private func loop() async {
        var first = true
        while !stopping {
            let readAll = first
            // Started under the lock, so that a shutdown either sees this pass or stops the loop.
            let started = control.withLock { c -> Task<Void, Never>? in
                guard !c.stopping else { return nil }
                c.pass = Task { await self.runPass(readAll: readAll) }
                return c.pass
            }
            guard let task = started else { break }
            await task.value
            control.withLock { $0.pass = nil }
            first = false
            if stopping { break }
            await wakeup.wait(atMost: interval * Double.random(in: 0.9...1.1))
        }
        state.loopEnded()
        logger.notice("The reconcile loop stopped")
    }

    private func shutDown() {
        let running = control.withLock { c -> Task<Void, Never>? in
            c.stopping = true
            return c.pass
        }
        wakeup.signal()
        guard let running else { return }
        logger.notice("Shutting down: running operations may end within the grace period", metadata: [
            "grace": "\(DurationText.format(grace))",
        ])
        let reconciler = self.reconciler, grace = self.grace, logger = self.logger
        Task {
            await reconciler.drain()
            let timer = Task {
                try await Task.sleep(for: grace)
                logger.warning("The grace period ended: cancelling the running operations")
                running.cancel()
            }
            await running.value
            timer.cancel()
        }
    }

    private func runPass(readAll: Bool) async {
        let started = ContinuousClock.now
        do {
            let report = try await reconciler.pass(options)
            let duration = ContinuousClock.now - started
            let problems = !report.failedIndexes.isEmpty || report.plan.brake != nil || report.diagnostics.contains { $0.severity == .error }
                || report.pushError != nil
            let result = report.idle ? "idle" : problems ? "problems" : "ok"
            let failed = report.outcomes.filter { if case .failed = $0.outcome { true } else { false } }.count
            let summary = report.idle
                ? "nothing to do"
                : "\(report.outcomes.count) operations (\(report.outcomes.count - failed) succeeded, \(failed) failed), \(report.commits.count) commits\(report.pushed ? ", pushed" : "")"
            metrics.record(report, duration: duration, result: result)
            onPass?(report)
            state.record(
                PassRecord(endedAt: Self.now, duration: duration, result: result, summary: summary), succeeded: true,
                commits: report.commits.map(\.hex))
            if !report.idle || readAll {
                metrics.record(counts: try await summaries.refresh().counts, types: indexTypes)
            }
            logger.log(level: report.idle ? .debug : .info, "Pass finished: \(summary)", metadata: [
                "commit": "\(report.specCommit?.hex ?? "")", "duration": "\(DurationText.format(duration))", "result": "\(result)",
            ])
        } catch {
            let duration = ContinuousClock.now - started
            metrics.recordFailure(error, duration: duration, isGit: error is GitError)
            state.record(PassRecord(endedAt: Self.now, duration: duration, result: "error", summary: "\(error)"), succeeded: false, commits: [])
            logger.error("Pass failed: \(error)", metadata: ["duration": "\(DurationText.format(duration))"])
        }
    }

    private static var now: Timestamp { Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970) }
}
