/// The limits the parser enforces while it reads, so that hostile input ends in a clean error
/// in bounded time and memory. libyaml has none of these of its own.
///
/// Each limit is named in the error it raises, so that a person can find the setting.
public struct YAMLLimits: Sendable, Hashable {
    /// The largest input, in bytes. Default 1 MiB.
    public var maxFileSize: Int
    /// The deepest nesting of sequences and mappings. Default 64.
    public var maxDepth: Int
    /// The most documents (`---`) in one stream. Default 1,000.
    public var maxDocuments: Int
    /// The longest scalar, in bytes. Default 256 KiB.
    public var maxScalarLength: Int
    /// Aliases may make a document expand, counting each alias as a copy of its node, to at
    /// most `max(aliasExpansionFloor, aliasExpansionRatio × nodes written)` nodes: small
    /// documents may alias freely, large ones may not multiply themselves (the rule of
    /// go-yaml's "excessive aliasing" check). Default ratio 10.
    public var aliasExpansionRatio: Int
    /// See ``aliasExpansionRatio``. Default 10,000 nodes.
    public var aliasExpansionFloor: Int

    /// Creates limits; every argument has the documented default.
    public init(
        maxFileSize: Int = 1 << 20,
        maxDepth: Int = 64,
        maxDocuments: Int = 1_000,
        maxScalarLength: Int = 256 << 10,
        aliasExpansionRatio: Int = 10,
        aliasExpansionFloor: Int = 10_000
    ) {
        self.maxFileSize = maxFileSize
        self.maxDepth = maxDepth
        self.maxDocuments = maxDocuments
        self.maxScalarLength = maxScalarLength
        self.aliasExpansionRatio = aliasExpansionRatio
        self.aliasExpansionFloor = aliasExpansionFloor
    }

    /// The defaults.
    public static let `default` = YAMLLimits()
}
