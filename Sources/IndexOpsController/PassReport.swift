import Foundation
import Git
import IndexOpsCore

/// How a pass runs.
public struct PassOptions: Sendable {
    /// Plan only: no commit, no operation.
    public var dryRun = false
    /// Let this pass delete past the mass-delete brake.
    public var allowMassDelete = false
    /// Run the pass even when nothing changed since the last one.
    public var force = false
    /// Called after each operation ends (from the reconciler's actor: keep it quick).
    public var progress: (@Sendable (PassProgress) -> Void)?

    /// Creates options.
    public init(dryRun: Bool = false, allowMassDelete: Bool = false, force: Bool = false) {
        self.dryRun = dryRun
        self.allowMassDelete = allowMassDelete
        self.force = force
    }
}

/// The time, for the reconciler: injected, so that tests move it and nothing in a pass reads
/// the system clock or a random source on its own.
public struct PassClock: Sendable {
    /// The time of day, written into status files.
    public var now: @Sendable () -> Date
    /// A monotonic reading, for durations (commit intervals, step timings).
    public var elapsed: @Sendable () -> Duration
    /// The random factor applied to retry backoffs (0.9 to 1.1 by default).
    public var jitter: @Sendable () -> Double

    /// Creates a clock.
    public init(now: @escaping @Sendable () -> Date, elapsed: @escaping @Sendable () -> Duration = PassClock.monotonic,
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.9...1.1) }) {
        self.now = now
        self.elapsed = elapsed
        self.jitter = jitter
    }

    /// The system's clocks and random source.
    public static let system = PassClock(now: { Date() })

    private static let origin = ContinuousClock.now
    /// Time since the process started, from the monotonic clock.
    public static let monotonic: @Sendable () -> Duration = { ContinuousClock.now - origin }
}

/// What a pass did.
public struct PassReport: Sendable {
    /// The spec commit the pass read.
    public var specCommit: OID?
    /// The pass ended at once: nothing changed and nothing was due.
    public var idle = false
    /// The plan.
    public var plan = ReconcilePlan()
    /// Spec and status problems.
    public var diagnostics: [Diagnostic] = []
    /// Each operation and how it ended.
    public var outcomes: [(operation: PlannedOperation, outcome: OperationOutcome)] = []
    /// Commits the pass made.
    public var commits: [OID] = []
    /// Whether the pass pushed.
    public var pushed = false
    /// Index entries that are failed after the pass.
    public var failedIndexes: [IndexKey] = []
    /// How long fetching and fast-forwarding took (`nil`: no remote, or a dry run).
    public var syncDuration: Duration?
    /// How long pushing took (`nil`: nothing was pushed).
    public var pushDuration: Duration?
    /// Why the push failed (the remote went away, rejected every attempt): the pass's commits
    /// stay in the clone and the next pass pushes them. `nil`: pushed, or nothing to push.
    public var pushError: String?
    /// How long each step took, in order: `sync`, `diff` (with reading the specs and statuses
    /// that changed), `plan`, `commit intents`, `run operations` (with the result commits made
    /// meanwhile), `commit results`, `push`, `remember`.
    public var steps: [(step: String, duration: Duration)] = []
    /// The work done, counted: for tests that count instead of timing.
    public var work = Work()

    /// Creates an empty report.
    public init() {}

    /// What a pass read and wrote.
    public struct Work: Sendable, Hashable {
        /// The whole tree was read (no usable pass cache).
        public var fullRead = false
        /// Paths that differ between the tree last read and the new head's.
        public var changedPaths = 0
        /// Spec files parsed.
        public var specFilesParsed = 0
        /// Status files read.
        public var statusFilesRead = 0
        /// Documents planned.
        public var documentsPlanned = 0
        /// Sources read to index them.
        public var sourcesRead = 0
        /// Status files written or removed, over all commits.
        public var statusFilesWritten = 0
        /// Files written to the work tree (without a status branch): each status file once
        /// however many commits of the pass changed it, intents being published with results.
        public var filesPublished = 0
        /// Publishes of the work tree (each reads and rewrites the clone's git index).
        public var publishes = 0
        /// Git blobs read by the pass (spec, status, source and diagnostics files).
        public var blobsRead = 0
        /// Git trees read by the pass (folders listed or walked through).
        public var treesRead = 0
    }

    /// Spec files parsed (the others were unchanged since the last pass).
    public var filesParsed: Int { work.specFilesParsed }
}
