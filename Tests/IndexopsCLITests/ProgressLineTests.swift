import IndexOpsController
import IndexOpsCore
@testable import indexops
import Testing

/// The text of the progress line that `reconcile` draws on a terminal.
struct ProgressLineTests {
    @Test func countsWithThousandsSeparatorsAndTheOutcome() {
        let create = PlannedOperation(key: IndexKey("doc-4120", "vector"), action: .create, revision: "r", reason: .missing)
        let delete = PlannedOperation(key: IndexKey("old", "fulltext"), action: .delete, revision: "r", reason: .orphaned)
        #expect(ProgressLine.text(PassProgress(done: 4_120, total: 30_000, operation: create, outcome: .succeeded(.null)))
            == "[ 4,120/30,000 ] doc-4120/vector created")
        #expect(ProgressLine.text(PassProgress(done: 7, total: 1_234_567, operation: delete, outcome: .succeeded(.null)))
            == "[ 7/1,234,567 ] old/fulltext deleted")
        #expect(ProgressLine.text(PassProgress(done: 999, total: 1_000, operation: create, outcome: .failed("boom")))
            == "[ 999/1,000 ] doc-4120/vector failed")
    }
}
