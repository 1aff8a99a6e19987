import IndexOpsController
import IndexOpsCore

/// One status summary for many readers. The status API and page ask the reconciler, whose
/// actor also runs the pass, at most once per ``maxAge``: readers that come meanwhile, or
/// while a summary is being made, get the same one. Without it, twenty readers polling
/// during a pass queued a summary at each of the pass's pauses, and passes took 7× as long
/// (`make load`). After a pass that changed something, the loop makes a fresh one
/// (``refresh()``), so a summary is never older than the last pass's end, and never older
/// than ``maxAge`` during a pass.
actor SharedSummary {
    /// How long a summary is served again during a pass, by default.
    static let maxAge: Duration = .seconds(1)

    private let make: @Sendable () async throws -> StatusSummary
    private let maxAge: Duration
    private let clock = ContinuousClock()
    private var last: (madeAt: ContinuousClock.Instant, summary: StatusSummary)?
    private var inFlight: Task<StatusSummary, any Error>?

    /// Shares the summaries of `reconciler`.
    init(_ reconciler: Reconciler) {
        self.init { try await reconciler.summary() }
    }

    /// Shares the summaries `make` makes, each for `maxAge`.
    init(maxAge: Duration = SharedSummary.maxAge, make: @escaping @Sendable () async throws -> StatusSummary) {
        self.maxAge = maxAge
        self.make = make
    }

    /// A summary at most `maxAge` old.
    func get() async throws -> StatusSummary {
        if let last, clock.now - last.madeAt < maxAge { return last.summary }
        return try await makeOne()
    }

    /// A summary made after this call: after a pass, for the metrics and the next readers.
    func refresh() async throws -> StatusSummary {
        last = nil
        if let inFlight { _ = try? await inFlight.value }  // begun before the pass ended
        return try await makeOne()
    }

    private func makeOne() async throws -> StatusSummary {
        if let inFlight { return try await inFlight.value }
        let task = Task { [make] in try await make() }
        inFlight = task
        defer { inFlight = nil }
        let summary = try await task.value
        last = (clock.now, summary)
        return summary
    }
}
