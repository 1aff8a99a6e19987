/// When a pass brings the work tree up to date while its operations run (DESIGN.md §5, step 6).
///
/// A publish reads and rewrites the clone's whole git index, whatever it writes: at a hundred
/// thousand documents that is 300,000 entries, about 0.4 s. Publishing after every results
/// commit (one each `commitInterval`) would then be most of a pass of fast operations. So a
/// results commit made while operations run publishes only while the publishes so far have
/// taken at most a tenth of the time since the operations started; the pass's last results
/// commit always publishes. Slow operations (an embeddings endpoint) leave the budget free,
/// and their statuses reach the work tree with each commit, as before.
public struct PublishBudget: Sendable, Equatable {
    /// The share of the operations' time that publishing may take: one part in this many.
    public static let parts = 10

    /// The time the publishes so far took.
    public private(set) var spent: Duration = .zero

    public init() {}

    /// Whether a results commit made `elapsed` after the operations started publishes.
    public func allows(elapsed: Duration) -> Bool {
        spent * Self.parts <= elapsed
    }

    /// Counts a publish that took `duration`.
    public mutating func spend(_ duration: Duration) {
        spent += duration
    }
}
