import Foundation
import Git
import IndexOpsCore

/// The whole system's indexes at a glance: what `indexops status`, `/api/v1/status` and the
/// status page show, built from counts rather than from every status file.
public struct StatusSummary: Sendable {
    /// Documents with a status file.
    public var documents = 0
    /// Their collections, sorted.
    public var collections: [String] = []
    /// Indexes per type and state.
    public var counts: [String: [ActualState: Int]] = [:]
    /// Every failed index, sorted by document and type.
    public var failed: [FailedIndex] = []
    /// Progress per shard, when the statuses were written under several shards (or the
    /// configuration names several): empty otherwise.
    public var shards: [ShardProgress] = []

    /// The documents and indexes of one shard.
    public struct ShardProgress: Sendable {
        /// The shard.
        public var shard: Shard
        /// Its documents with a status file.
        public var documents = 0
        /// Their indexes per state.
        public var counts: [ActualState: Int] = [:]
        /// The replicas that wrote intents of this shard, by name, sorted.
        public var replicas: [String] = []
    }

    /// The progress per shard of `statuses` among `count` shards: each document counted in the
    /// shard its id hashes to (``Shard/index(of:count:)``).
    public static func shardProgress(_ statuses: some Sequence<DocumentStatus>, count: Int) -> [ShardProgress] {
        guard count > 1 else { return [] }
        var progress = (0..<count).map { ShardProgress(shard: try! Shard(index: $0, count: count)) }
        var replicas = Array(repeating: Set<String>(), count: count)
        for status in statuses {
            let i = Shard.index(of: status.documentId, count: count)
            progress[i].documents += 1
            for entry in status.indexes.values {
                progress[i].counts[entry.actualState, default: 0] += 1
                if let owner = entry.owner, owner.shard.count == count, owner.shard.index == i { replicas[i].insert(owner.replica) }
            }
        }
        for i in 0..<count { progress[i].replicas = replicas[i].sorted() }
        return progress
    }

    /// The shard count the statuses were last written under: the most frequent `N` of their
    /// intents' owners (ties: the larger), or `nil` when none names one.
    public static func shardCount(of statuses: some Sequence<DocumentStatus>) -> Int? {
        var seen: [Int: Int] = [:]
        for status in statuses { for entry in status.indexes.values { if let n = entry.owner?.shard.count { seen[n, default: 0] += 1 } } }
        return seen.max { ($0.value, $0.key) < ($1.value, $1.key) }?.key
    }

    /// A failed index and its entry.
    public struct FailedIndex: Sendable {
        /// The document.
        public var documentId: String
        /// The index type.
        public var indexType: String
        /// The entry, with its error.
        public var entry: IndexStatus
    }

    /// Creates an empty summary.
    public init() {}

    /// The summary of a set of statuses.
    public init(_ statuses: some Sequence<DocumentStatus>) {
        var collections = Set<String>()
        for status in statuses { add(status, collections: &collections) }
        self.collections = collections.sorted()
        failed.sort { ($0.documentId, $0.indexType) < ($1.documentId, $1.indexType) }
    }

    private mutating func add(_ status: DocumentStatus, collections: inout Set<String>) {
        documents += 1
        if let c = status.collection { collections.insert(c) }
        for (type, entry) in status.indexes {
            counts[type, default: [:]][entry.actualState, default: 0] += 1
            if entry.actualState == .failed { failed.append(FailedIndex(documentId: status.documentId, indexType: type, entry: entry)) }
        }
    }

    /// Indexes in all.
    public var total: Int { counts.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
}

/// Reads statuses for the status views: one document from its file; a collection and the
/// whole system from the pass cache, corrected by the status files that changed since the
/// tree the cache describes (a person's push that no pass has read yet). Without a cache, it
/// reads every status file.
public struct StatusQuery {
    let repository: Repository
    let config: ControllerConfig
    let cache: PassCache?

    private var statusDir: String { config.repository.statusDir }

    /// The cache when it holds every document's status: a replica of several shards keeps
    /// only its own shard's, and the views then read the status files.
    private var wholeCache: PassCache? {
        guard let cache, ((try? cache.meta("shard")) ?? nil).map({ $0 == Shard.single.description }) ?? true else { return nil }
        return cache
    }

    /// The status of one document at `head`, read from its one file.
    public func status(of documentId: String, at head: OID) throws -> DocumentStatus? {
        guard Identifier.isValidID(documentId) else { return nil }
        let path = DocumentStatus.path(for: documentId, statusDir: statusDir)
        guard try repository.entry(at: path, in: head) != nil else { return nil }
        return try? DocumentStatus(fileText: String(decoding: try repository.readFile(path, at: head).contents, as: UTF8.self))
    }

    /// The statuses of a collection's documents at `head`, sorted by id.
    public func statuses(collection: String, at head: OID) throws -> [DocumentStatus] {
        let (base, overlay) = try read(at: head) { try $0.statuses(collection: collection) }
        return Self.merge(base, overlay).filter { $0.collection == collection }
    }

    /// Every status at `head`, sorted by id: for the tools that want them all.
    public func allStatuses(at head: OID) throws -> [DocumentStatus] {
        let (base, overlay) = try read(at: head) { try $0.statuses() }
        return Self.merge(base, overlay)
    }

    /// The summary of the system at `head`.
    public func summary(at head: OID) throws -> StatusSummary {
        guard let cache = wholeCache, let overlay = try overlay(at: head, cache) else {
            let statuses = try fullRead(at: head)
            var summary = StatusSummary(statuses)
            let count = config.shard.count > 1 ? config.shard.count : StatusSummary.shardCount(of: statuses) ?? 1
            summary.shards = StatusSummary.shardProgress(statuses, count: count)
            return summary
        }
        var summary = StatusSummary()
        let (documents, collections) = try cache.documentSummary()
        summary.documents = documents
        summary.counts = try cache.counts()
        var names = Set(collections)
        var failed: [String: [StatusSummary.FailedIndex]] = [:]
        for key in try cache.failedIndexes() where overlay[key.documentId] == nil {
            guard let entry = try cache.status(key.documentId)?.indexes[key.indexType] else { continue }
            failed[key.documentId, default: []].append(StatusSummary.FailedIndex(documentId: key.documentId, indexType: key.indexType, entry: entry))
        }
        // The documents that changed since the cache's tree: out with what the cache says, in
        // with their files.
        for (id, status) in overlay {
            if let old = try cache.status(id) {
                summary.documents -= 1
                for (type, entry) in old.indexes { summary.counts[type]?[entry.actualState]? -= 1 }
            }
            guard let status else { continue }
            let one = StatusSummary([status])
            summary.documents += 1
            for (type, states) in one.counts { for (state, n) in states { summary.counts[type, default: [:]][state, default: 0] += n } }
            if let c = status.collection { names.insert(c) }
            failed[id] = one.failed
        }
        summary.counts = summary.counts.mapValues { $0.filter { $0.value > 0 } }.filter { !$0.value.isEmpty }
        summary.collections = names.sorted()
        summary.failed = failed.keys.sorted().flatMap { failed[$0]!.sorted { $0.indexType < $1.indexType } }
        return summary
    }

    /// The cache's rows (through `rows`) and the statuses that changed since its tree; with no
    /// usable cache, every status file and no overlay.
    private func read(at head: OID, _ rows: (PassCache) throws -> [DocumentStatus]) throws -> ([DocumentStatus], [String: DocumentStatus?]) {
        guard let cache = wholeCache, let overlay = try overlay(at: head, cache) else { return (try fullRead(at: head), [:]) }
        return (try rows(cache), overlay)
    }

    private static func merge(_ base: [DocumentStatus], _ overlay: [String: DocumentStatus?]) -> [DocumentStatus] {
        var byID = Dictionary(base.map { ($0.documentId, $0) }, uniquingKeysWith: { a, _ in a })
        for (id, status) in overlay { byID[id] = status ?? nil }
        return byID.keys.sorted().map { byID[$0]! }
    }

    /// The status files that differ between the cache's tree and `head`'s, read; `nil` when
    /// the cache describes no tree.
    private func overlay(at head: OID, _ cache: PassCache) throws -> [String: DocumentStatus?]? {
        guard let tree = try cache.meta("tree").flatMap(OID.init(hex:)) else { return nil }
        var overlay: [String: DocumentStatus?] = [:]
        for change in try repository.changes(fromTree: tree, to: head, in: statusDir) where change.path.hasSuffix(".json") {
            let name = String(change.path.split(separator: "/").last ?? "").dropLast(".json".count)
            let id = String(name)
            guard Identifier.isValidID(id), change.path == DocumentStatus.path(for: id, statusDir: statusDir) else { continue }
            overlay[id] = .some(change.new.flatMap { entry in
                try? DocumentStatus(fileText: String(decoding: try repository.readBlob(entry.id), as: UTF8.self))
            })
        }
        return overlay
    }

    /// Every readable status file of `head`.
    private func fullRead(at head: OID) throws -> [DocumentStatus] {
        var statuses: [DocumentStatus] = []
        for entry in try repository.files(in: statusDir, at: head) where entry.path.hasSuffix(".json") && entry.kind == .file {
            guard let status = try? DocumentStatus(fileText: String(decoding: try repository.readBlob(entry.id), as: UTF8.self)),
                  entry.path == DocumentStatus.path(for: status.documentId, statusDir: statusDir)
            else { continue }
            statuses.append(status)
        }
        return statuses.sorted { $0.documentId < $1.documentId }
    }
}
