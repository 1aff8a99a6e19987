import IndexOpsController
import Synchronization
import Testing
@testable import IndexOpsDaemon

/// The status routes' readers share one summary: however many ask at once, the reconciler
/// (whose actor runs the pass) makes one; a pass's end makes a fresh one. The summaries are
/// kept an hour here, not a second: a loaded machine may pause a test for longer than that.
@Suite("Shared summary")
struct SharedSummaryTests {
    /// Counts the summaries made; each takes a moment, as one over a large cache does.
    final class Maker: Sendable {
        let made = Atomic<Int>(0)
        func make() async throws -> StatusSummary {
            let n = made.add(1, ordering: .relaxed).newValue
            try await Task.sleep(for: .milliseconds(50))
            var summary = StatusSummary()
            summary.documents = n
            return summary
        }
    }

    @Test func twentyReadersAtOnceGetOneSummary() async throws {
        let maker = Maker()
        let shared = SharedSummary(maxAge: .seconds(3600)) { try await maker.make() }
        let seen = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await shared.get().documents } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(maker.made.load(ordering: .relaxed) == 1)
        #expect(Set(seen) == [1], "every reader got the one summary")
        // While it is young enough, the next reader gets it again.
        #expect(try await shared.get().documents == 1)
        #expect(maker.made.load(ordering: .relaxed) == 1)
    }

    @Test func aPassEndMakesAFreshOneForTheNextReaders() async throws {
        let maker = Maker()
        let shared = SharedSummary(maxAge: .seconds(3600)) { try await maker.make() }
        #expect(try await shared.get().documents == 1)
        #expect(try await shared.refresh().documents == 2, "made after the pass, not served from before it")
        #expect(try await shared.get().documents == 2)
        #expect(maker.made.load(ordering: .relaxed) == 2)
    }

    @Test func aFailedSummaryIsNotKept() async throws {
        struct Broken: Error {}
        let calls = Atomic<Int>(0)
        let shared = SharedSummary {
            if calls.add(1, ordering: .relaxed).newValue == 1 { throw Broken() }
            return StatusSummary()
        }
        await #expect(throws: Broken.self) { try await shared.get() }
        _ = try await shared.get()
        #expect(calls.load(ordering: .relaxed) == 2)
    }
}
