import IndexOpsCore

/// The `noop` driver: every operation succeeds at once and builds nothing; create returns
/// `{}`. For dry runs and benchmarks of the controller itself.
public struct NoopIndexer: Indexer {
    /// Creates the indexer.
    public init() {}

    /// Returns `{}`.
    public func create(_ request: IndexRequest) async throws -> JSONValue { .object([:]) }

    /// Does nothing.
    public func delete(_ request: IndexRequest) async throws {}

    /// `nil`: a noop index holds nothing to list.
    public func documentIDs() async throws -> Set<String>? { nil }
}
