import IndexOpsCore
import Testing

@Suite("When a pass publishes while operations run")
struct PublishBudgetTests {
    @Test func theFirstResultsCommitPublishes() {
        #expect(PublishBudget().allows(elapsed: .zero))
        #expect(PublishBudget().allows(elapsed: .seconds(2)))
    }

    /// (publishes so far, time since the operations started, publishes?)
    @Test(arguments: [
        ([0.4], 2.0, false),        // a 0.4 s publish at 100,000 documents: the next waits for 4 s
        ([0.4], 3.9, false),
        ([0.4], 4.0, true),
        ([0.4, 0.4], 6.0, false),
        ([0.4, 0.4], 8.0, true),
        ([0.005], 2.0, true),       // a small repository publishes with every commit
        ([0.005, 0.005], 4.0, true),
        ([1.0, 0.5, 0.5], 19.9, false),
        ([1.0, 0.5, 0.5], 20.0, true),
    ])
    func publishingTakesAtMostATenth(publishes: [Double], elapsed: Double, allowed: Bool) {
        var budget = PublishBudget()
        for seconds in publishes { budget.spend(.milliseconds(Int64(seconds * 1000))) }
        #expect(budget.allows(elapsed: .milliseconds(Int64(elapsed * 1000))) == allowed)
    }

    /// (intents commit, publishes so far, time since the operations started, publishes?)
    @Test(arguments: [
        (15.0, [Double](), 2.0, false),     // 100,000 intents took 15 s to commit: their publish waits
        (15.0, [], 149.0, false),
        (15.0, [], 150.0, true),
        (15.0, [0.5], 5.0, true),           // once a publish has run, its own time counts
        (0.008, [], 2.0, true),             // one document's intents: the first commit publishes
    ])
    func theFirstPublishIsExpectedToCostWhatTheIntentsCost(intents: Double, publishes: [Double], elapsed: Double, allowed: Bool) {
        var budget = PublishBudget(firstPublish: .milliseconds(Int64(intents * 1000)))
        for seconds in publishes { budget.spend(.milliseconds(Int64(seconds * 1000))) }
        #expect(budget.allows(elapsed: .milliseconds(Int64(elapsed * 1000))) == allowed)
    }
}
