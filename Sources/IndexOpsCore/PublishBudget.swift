/// When a pass brings the work tree up to date while its operations run (DESIGN.md §5, step 6).
///
/// A publish reads and rewrites the clone's whole git index, whatever it writes: at a hundred
/// thousand documents that is 300,000 entries, 26 MB, about 0.15 s patched as bytes (0.4 s
/// or more through libgit2, which it falls back to). Publishing after every results
/// commit (one each `commitInterval`) would then be most of a pass of fast operations. So a
/// results commit made while operations run publishes only while the publishes so far have
/// taken at most a tenth of the time since the operations started; the pass's last results
/// commit always publishes. Slow operations (an embeddings endpoint) leave the budget free,
/// and their statuses reach the work tree with each commit, as before.
///
/// The first publish of a pass writes every file committed since the last one, the intents
/// among them, so it costs about what committing them cost: until it has run, that commit's
/// time stands for it. (Without that, a cold pass of fast operations published all its
/// intents at its first results commit and every file again at its end.)
public struct PublishBudget: Sendable, Equatable {
    /// The share of the operations' time that publishing may take: one part in this many.
    public static let parts = 10

    /// The time the publishes so far took.
    public private(set) var spent: Duration = .zero
    /// What the first publish is expected to take, until it has run.
    private var expected: Duration

    /// A budget whose first publish is expected to take `firstPublish` (the time it took to
    /// commit the intents it would write).
    public init(firstPublish: Duration = .zero) {
        expected = firstPublish
    }

    /// Whether a results commit made `elapsed` after the operations started publishes.
    public func allows(elapsed: Duration) -> Bool {
        (spent + expected) * Self.parts <= elapsed
    }

    /// Counts a publish that took `duration`.
    public mutating func spend(_ duration: Duration) {
        spent += duration
        expected = .zero
    }
}
