import Foundation
import Git
import IndexOpsCore

/// Collects status file changes for one commit and writes its message (DESIGN.md §5):
/// a summary for people, one line per index that changed state, and a trailer for tools.
struct StatusWriter {
    /// Which commit of a pass this is.
    enum Kind { case intents, results }

    let statusDir: String
    let specCommit: OID
    /// The status files to write (`nil`: remove), by document id.
    private(set) var files: [String: DocumentStatus?] = [:]
    /// Other files of ours to write, by path.
    var extra: [String: String] = [:]
    private var lines: [String] = []
    private var created = 0, deleted = 0, failed = 0, started = 0

    init(statusDir: String, specCommit: OID) {
        self.statusDir = statusDir
        self.specCommit = specCommit
    }

    var isEmpty: Bool { files.isEmpty && extra.isEmpty }

    /// Records that a document's status goes from `old` to `new`.
    mutating func record(id: String, from old: DocumentStatus?, to new: DocumentStatus?,
                         operation: PlannedOperation? = nil, outcome: OperationOutcome? = nil) {
        files[id] = .some(new)
        let types = Set(old?.indexes.keys ?? [:].keys).union(new?.indexes.keys ?? [:].keys).sorted()
        for type in types {
            let before = old?.indexes[type]?.actualState.rawValue ?? "absent"
            let after = new?.indexes[type]?.actualState.rawValue ?? "removed"
            guard before != after else { continue }
            var line = "\(id)/\(type): \(before) -> \(after)"
            if case .failed(let message)? = outcome, operation?.key.indexType == type {
                line += ": " + (message.split(separator: "\n").first.map(String.init) ?? "")
            }
            lines.append(line)
            switch after {
            case "creating", "deleting": started += 1
            case "present": created += 1
            case "removed": deleted += 1
            case "failed": failed += 1
            default: break
            }
        }
    }

    func edits() -> [PathEdit] {
        var edits: [PathEdit] = files.keys.sorted().map { id in
            let path = DocumentStatus.path(for: id, statusDir: statusDir)
            guard case .some(.some(let status)) = files[id] else { return .remove(path) }
            return .write(path, Data(status.fileText.utf8))
        }
        edits += extra.keys.sorted().map { .write($0, Data(extra[$0]!.utf8)) }
        return edits
    }

    func message(_ kind: Kind) -> String {
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
        if lines.isEmpty, !extra.isEmpty, files.isEmpty { summary = "indexops: spec diagnostics updated" }
        let sorted = lines.sorted()
        var body = sorted.prefix(200).joined(separator: "\n")
        if lines.count > 200 { body += "\n… and \(lines.count - 200) more" }
        return summary + "\n\n" + (body.isEmpty ? "" : body + "\n\n") + "Indexops-Spec-Commit: \(specCommit.hex)\n"
    }

    mutating func reset() {
        self = StatusWriter(statusDir: statusDir, specCommit: specCommit)
    }
}

/// What the last complete pass saw, kept in `<git dir>/indexops/state.json`, so that a pass
/// with nothing new ends at once, whatever the size of the repository. It also keeps what that pass found (problems, the brake, failed indexes), which an idle
/// pass reports again without reading anything.
struct PassState: Codable {
    var head: String
    var config: String
    var nextDueAt: Timestamp?
    var diagnostics: [Diagnostic]
    var brake: MassDeleteBrake?
    var failed: [IndexKey]

    static func load(_ directory: String) -> PassState? {
        guard let data = FileManager.default.contents(atPath: directory + "/state.json") else { return nil }
        return try? JSONDecoder().decode(PassState.self, from: data)
    }

    func save(_ directory: String) {
        guard let data = try? JSONEncoder().encode(self) else { return }
        let path = directory + "/state.json"
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else { return }
        _ = rename(temporary, path)
    }
}
