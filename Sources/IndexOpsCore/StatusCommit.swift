/// One index whose actual state changed between two versions of a status file.
public struct StateChange: Sendable, Hashable {
    /// The index type.
    public var indexType: String
    /// The state before (`absent` when there was no entry).
    public var from: String
    /// The state after (`removed` when the entry is gone).
    public var to: String

    /// The changes of every index type, sorted by type: what a status commit's message lists
    /// and what `indexops history` shows.
    public static func between(_ old: DocumentStatus?, _ new: DocumentStatus?) -> [StateChange] {
        let types = Set(old?.indexes.keys ?? [:].keys).union(new?.indexes.keys ?? [:].keys).sorted()
        return types.compactMap { type in
            let before = old?.indexes[type]?.actualState.rawValue ?? "absent"
            let after = new?.indexes[type]?.actualState.rawValue ?? "removed"
            return before == after ? nil : StateChange(indexType: type, from: before, to: after)
        }
    }
}

/// The status files of one commit and its message (DESIGN.md §5): a summary for people, one
/// line per index that changed state, and a trailer naming the spec commit for tools.
public struct StatusCommit: Sendable {
    /// Which commit of a pass this is.
    public enum Kind: Sendable { case intents, results }

    /// The status folder.
    public let statusDir: String
    /// The spec commit (hex) the pass reconciled.
    public let specCommit: String
    /// The status of each document to write (`nil`: remove its file), by id.
    public private(set) var statuses: [String: DocumentStatus?] = [:]
    /// Other files of ours to write, by path (the diagnostics file).
    public var extra: [String: String] = [:]
    private var lines: [String] = []
    private var created = 0, deleted = 0, failed = 0, started = 0

    /// An empty commit.
    public init(statusDir: String, specCommit: String) {
        self.statusDir = statusDir
        self.specCommit = specCommit
    }

    /// Whether there is nothing to commit.
    public var isEmpty: Bool { statuses.isEmpty && extra.isEmpty }

    /// Records that a document's status goes from `old` to `new`; a failure of `operation`
    /// adds its message's first line to the index's line.
    public mutating func record(id: String, from old: DocumentStatus?, to new: DocumentStatus?,
                                operation: PlannedOperation? = nil, outcome: OperationOutcome? = nil) {
        statuses[id] = .some(new)
        for change in StateChange.between(old, new) {
            var line = "\(id)/\(change.indexType): \(change.from) -> \(change.to)"
            if let message = outcome?.failureMessage, operation?.key.indexType == change.indexType {
                line += ": " + (message.split(separator: "\n").first.map(String.init) ?? "")
            }
            lines.append(line)
            switch change.to {
            case "creating", "deleting": started += 1
            case "present": created += 1
            case "removed": deleted += 1
            case "failed": failed += 1
            default: break
            }
        }
    }

    /// The files to write (text) or remove (`nil`), by path, sorted.
    public var files: [(path: String, text: String?)] {
        var files: [(path: String, text: String?)] = statuses.keys.sorted().map { id in
            let path = DocumentStatus.path(for: id, statusDir: statusDir)
            guard case .some(.some(let status)) = statuses[id] else { return (path, nil) }
            return (path, status.fileText)
        }
        files += extra.keys.sorted().map { ($0, extra[$0]) }
        return files
    }

    /// The commit message.
    public func message(_ kind: Kind) -> String {
        var summary: String
        switch kind {
        case .intents:
            summary = started > 0 ? "indexops: \(started) operation\(started == 1 ? "" : "s") started" : "indexops: status updated"
        case .results:
            let done = created + deleted + failed
            var parts: [String] = []
            if created > 0 { parts.append("\(created) created") }
            if deleted > 0 { parts.append("\(deleted) deleted") }
            if failed > 0 { parts.append("\(failed) failed") }
            summary = done > 0 ? "indexops: \(done) index\(done == 1 ? "" : "es") reconciled (\(parts.joined(separator: ", ")))"
                : "indexops: status updated"
        }
        if lines.isEmpty, !extra.isEmpty, statuses.isEmpty { summary = "indexops: spec diagnostics updated" }
        let sorted = lines.sorted()
        var body = sorted.prefix(200).joined(separator: "\n")
        if lines.count > 200 { body += "\n… and \(lines.count - 200) more" }
        return summary + "\n\n" + (body.isEmpty ? "" : body + "\n\n") + "\(Self.trailer): \(specCommit)\n"
    }

    /// The trailer that names the spec commit a status commit reconciled.
    public static let trailer = "Indexops-Spec-Commit"
    /// The trailer that names the shard (`I/N`) and the replica of a status commit, under a
    /// layout of several shards: `Indexops-Shard: 1/4 indexops-1`.
    public static let shardTrailer = "Indexops-Shard"
}

/// `status/_diagnostics.json`: every problem of the specs and statuses, and the brake, sorted
/// and stable, so that it is rewritten only when the set of problems changes.
public enum DiagnosticsFile {
    /// The file's name, beside the fan-out folders.
    public static let name = "_diagnostics.json"

    /// The file of a shard's replica: ``name`` for the single replica (`0/1`), else
    /// `_diagnostics.<I>-of-<N>.json`, so that replicas never write one file.
    public static func name(shard: Shard) -> String {
        shard.fileTag.map { "_diagnostics.\($0).json" } ?? name
    }

    /// Whether a name in the status folder is a diagnostics file, of any shard.
    public static func isDiagnosticsName(_ fileName: String) -> Bool {
        guard fileName != name else { return true }
        guard fileName.hasPrefix("_diagnostics."), fileName.hasSuffix(".json") else { return false }
        let tag = fileName.dropFirst("_diagnostics.".count).dropLast(".json".count)
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[1] == "of" && (try? Shard(parsing: "\(parts[0])/\(parts[2])")) != nil
    }

    /// The file's content.
    public static func text(_ diagnostics: [Diagnostic], brake: MassDeleteBrake?) -> String {
        let items: [JSONValue] = diagnostics.sorted().map { d in
            .object([
                "file": .string(d.file), "line": .int(Int64(d.line)), "column": .int(Int64(d.column)),
                "severity": .string(d.severity.rawValue), "code": .string(d.code), "message": .string(d.message),
            ])
        }
        return JSONValue.object([
            "apiVersion": .string(DocumentIndex.apiVersion),
            "kind": .string("Diagnostics"),
            "diagnostics": .array(items),
            "massDeleteBrake": brake.map { .string($0.description) } ?? .null,
        ]).canonicalText + "\n"
    }
}
