import Foundation
import IndexOpsCore
import Synchronization

/// One finished pass, for the status page.
public struct PassRecord: Sendable {
    /// When it ended.
    public var endedAt: Timestamp
    /// How long it took.
    public var duration: Duration
    /// `idle`, `ok`, `problems` (failed indexes, spec errors or the brake) or `error`.
    public var result: String
    /// A line for people: what it did, or the error.
    public var summary: String
}

/// A status commit a pass made, for the status page.
public struct CommitRecord: Sendable {
    /// The commit id.
    public var commit: String
    /// When the pass that made it ended.
    public var at: Timestamp
    /// What the pass did.
    public var summary: String
}

/// What the HTTP side knows of the loop: shared between the loop's task and the request
/// handlers, behind a lock.
final class DaemonState: Sendable {
    struct Snapshot {
        var startedAt = ContinuousClock.now
        var lastPassEndedAt: ContinuousClock.Instant?
        var succeededOnce = false
        var loopRunning = true
        var passes: [PassRecord] = []
        var commits: [CommitRecord] = []
    }

    private let state = Mutex(Snapshot())
    static let kept = 10

    func snapshot() -> Snapshot { state.withLock { $0 } }

    func record(_ pass: PassRecord, succeeded: Bool, commits: [String]) {
        state.withLock { s in
            s.lastPassEndedAt = .now
            if succeeded { s.succeededOnce = true }
            s.passes.insert(pass, at: 0)
            s.passes = Array(s.passes.prefix(Self.kept))
            for commit in commits.reversed() {
                s.commits.insert(CommitRecord(commit: commit, at: pass.endedAt, summary: pass.summary), at: 0)
            }
            s.commits = Array(s.commits.prefix(Self.kept))
        }
    }

    func loopEnded() {
        state.withLock { $0.loopRunning = false }
    }

    /// Alive: the loop runs and a pass ended within `window` (counted from the start before
    /// the first one).
    func isHealthy(window: Duration) -> Bool {
        state.withLock { s in
            s.loopRunning && ContinuousClock.now - (s.lastPassEndedAt ?? s.startedAt) <= window
        }
    }

    var isReady: Bool { state.withLock { $0.succeededOnce } }
}
