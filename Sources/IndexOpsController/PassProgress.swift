import IndexOpsCore

/// How far the operations of a pass are, after each one ends: for a progress line
/// (``PassOptions/progress``).
public struct PassProgress: Sendable, Hashable {
    /// Operations ended so far, this one included.
    public var done: Int
    /// Operations the pass planned.
    public var total: Int
    /// The index this one worked on.
    public var key: IndexKey
    /// How it ended: `created`, `deleted` or `failed`.
    public var result: String

    /// The progress after `operation` ended with `outcome`.
    public init(done: Int, total: Int, operation: PlannedOperation, outcome: OperationOutcome) {
        self.done = done
        self.total = total
        self.key = operation.key
        switch (operation.action, outcome) {
        case (.create, .succeeded): result = "created"
        case (.delete, .succeeded): result = "deleted"
        case (_, .failed): result = "failed"
        }
    }
}
