/// Which documents a replica owns: shard `index` of `count` (`I/N`, DESIGN.md §9).
///
/// A document belongs to shard `h mod N`, where `h` is the first 8 bytes of the SHA-256 of
/// its id's UTF-8, read as a big-endian unsigned 64-bit integer. The rule never changes: other
/// tools compute it too (`printf %s doc-1 | sha256sum | cut -c1-16`, then that hex number
/// modulo N). `0/1`, the default, owns every document.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// The most shards a repository may be split into.
    public static let maxCount = 1_024
    /// The one shard that owns everything: a single replica.
    public static let single = Shard(uncheckedIndex: 0, count: 1)

    /// `I`: this replica's shard, from 0.
    public let index: Int
    /// `N`: how many shards there are.
    public let count: Int

    /// A shard; `0 <= index < count <= maxCount`.
    ///
    /// - Throws: ``ShardError`` naming what is out of range.
    public init(index: Int, count: Int) throws(ShardError) {
        guard (1...Self.maxCount).contains(count) else {
            throw ShardError("the number of shards must be from 1 to \(Self.maxCount), not \(count)")
        }
        guard (0..<count).contains(index) else {
            throw ShardError("shard \(index) does not exist: with \(count) shard\(count == 1 ? "" : "s"), I is from 0 to \(count - 1)")
        }
        self.init(uncheckedIndex: index, count: count)
    }

    private init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `I/N`, like `2/4`.
    ///
    /// - Throws: ``ShardError`` for any other text, or numbers out of range.
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Self.number(parts[0]), let n = Self.number(parts[1]) else {
            throw ShardError("\"\(DisplayText.line(String(text.prefix(64))))\" is not I/N, like 0/4 (shard I of N, counting from 0)")
        }
        try self.init(index: i, count: n)
    }

    /// Decimal digits only (no sign, no spaces), at most 6 of them.
    private static func number(_ text: Substring) -> Int? {
        guard (1...6).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    /// Whether this shard owns the document.
    public func owns(_ documentId: String) -> Bool {
        count == 1 || Self.index(of: documentId, count: count) == index
    }

    /// The shard of a document among `count` (see the type's documentation).
    public static func index(of documentId: String, count: Int) -> Int {
        precondition(count >= 1, "a shard count is at least 1")
        return Int(hash(documentId) % UInt64(count))
    }

    /// The first 8 bytes of SHA-256 of the id's UTF-8, big-endian.
    public static func hash(_ documentId: String) -> UInt64 {
        Digests.sha256Prefix64(documentId)
    }

    /// `I-of-N`, for the names of this shard's files (`_diagnostics.1-of-4.json`); `nil` for
    /// ``single``, whose files keep their names.
    public var fileTag: String? { count == 1 ? nil : "\(index)-of-\(count)" }

    /// The ordinal a StatefulSet gives its pod, from the pod's host name: the digits after
    /// the last `-` of the first label (`indexops-3` and `indexops-3.indexops.ns.svc` give 3).
    ///
    /// - Throws: ``ShardError`` when the name does not end in `-<number>`.
    public static func ordinal(hostname: String) throws(ShardError) -> Int {
        let label = hostname.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard let dash = label.lastIndex(of: "-"), let n = number(label[label.index(after: dash)...]) else {
            throw ShardError(
                "--shard-from-hostname: the host name \"\(DisplayText.line(String(hostname.prefix(64))))\" does not end in -<ordinal>, "
                    + "like a StatefulSet pod's (indexops-3)")
        }
        return n
    }

    /// The shard of a replica from its settings, each from the first of its flag, its
    /// environment variable and the configuration file:
    ///
    /// - `--shard I/N` (`INDEXOPS_SHARD`, `shard:`): the shard; default `0/1`;
    /// - `--shards N` (`INDEXOPS_SHARDS`): the number of shards, which a `--shard` given too
    ///   must agree with; with `--shard-from-hostname` it is N, else `--shard`'s N;
    /// - `--shard-from-hostname` (`INDEXOPS_SHARD_FROM_HOSTNAME=true`): I is the ordinal of
    ///   `hostname` (``ordinal(hostname:)``).
    ///
    /// - Parameters:
    ///   - shard: `--shard`, or `INDEXOPS_SHARD`, with where it came from, for errors.
    ///   - shards: `--shards`, or `INDEXOPS_SHARDS`, with where it came from.
    ///   - fromHostname: whether I comes from the host name.
    ///   - configured: the configuration file's `shard:`.
    /// - Throws: ``ShardError`` naming the setting that is wrong.
    public static func resolve(
        shard: (text: String, origin: String)?, shards: (text: String, origin: String)?, fromHostname: Bool,
        configured: Shard, hostname: () -> String
    ) throws(ShardError) -> Shard {
        var base = configured
        if let (text, origin) = shard {
            do { base = try Shard(parsing: text) } catch { throw ShardError("\(origin): \(error.message)") }
        }
        var count = base.count
        if let (text, origin) = shards {
            guard let n = number(Substring(text)), (1...maxCount).contains(n) else {
                throw ShardError("\(origin): \"\(DisplayText.line(String(text.prefix(64))))\" is not a number of shards from 1 to \(maxCount)")
            }
            if let (_, shardOrigin) = shard, n != base.count {
                throw ShardError("\(origin) says \(n) shards, but \(shardOrigin) says \(base.count); give one of them")
            }
            count = n
        }
        guard fromHostname else { return try Shard(index: base.index, count: count) }
        let name = hostname()
        let ordinal = try ordinal(hostname: name)
        guard ordinal < count else {
            throw ShardError(
                "--shard-from-hostname: the host name \(DisplayText.line(name)) gives shard \(ordinal), but there are only \(count) "
                    + "shard\(count == 1 ? "" : "s") (set --shards N, INDEXOPS_SHARDS or shard: in the configuration to the replica count)")
        }
        return try Shard(index: ordinal, count: count)
    }
}

/// A shard setting that cannot be used.
public struct ShardError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, naming the setting.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Who committed an intent (`creating`, `deleting`): the shard layout and the replica. A new
/// owner of the document under another layout waits for it to end (DESIGN.md §9: resharding).
public struct IntentOwner: Sendable, Hashable {
    /// The longest replica name, in bytes (a DNS name).
    public static let maxReplicaLength = 253

    /// The shard of the replica, `I/N`.
    public var shard: Shard
    /// The replica's name: its host name (a StatefulSet pod's name).
    public var replica: String

    /// Creates an owner.
    public init(shard: Shard, replica: String) {
        self.shard = shard
        self.replica = replica
    }

    /// A host name as a replica name status files accept: letters, digits, `.`, `-` and `_`
    /// (anything else becomes `_`), at most ``maxReplicaLength`` bytes; `replica` when empty.
    public static func replicaName(hostname: String) -> String {
        let kept = String(String.UnicodeScalarView(hostname.unicodeScalars.prefix(maxReplicaLength).map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || ".-_".unicodeScalars.contains(scalar))
                ? scalar : "_"
        }))
        return kept.isEmpty ? "replica" : kept
    }

    /// `{"replica": …, "shard": "I/N"}`, as status files hold it.
    public var json: JSONValue { .object(["replica": .string(replica), "shard": .string(shard.description)]) }
}
