import Foundation
import Git
import IndexOpsCore
import Logging
import Synchronization
import YAML

/// What an import did (or, in a dry run, would do).
public struct ImportReport: Sendable {
    /// Rows read.
    public var rows = 0
    /// Documents read.
    public var documents = 0
    /// Documents written by this import, and their indexes by type and category.
    public var written = 0
    public var counts: [String: [ImportCategory: Int]] = [:]
    /// Documents already imported as they are: left alone.
    public var unchanged = 0
    /// Documents declared by hand (or otherwise in the way): left as they are, one line each.
    public var conflicts: [String] = []
    /// The first files written (`+ path`).
    public var differences: [String] = []
    /// The import commit; `nil` when nothing changed or in a dry run.
    public var commit: String?
    /// Whether the commit was pushed.
    public var pushed = false

    /// The per-type counts, one line a type: `vector: 3 present, 1 pending`.
    public var countLines: [String] {
        counts.keys.sorted().map { type in
            let parts = counts[type]!.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key.rawValue)" }
            return "\(type): " + parts.joined(separator: ", ")
        }
    }
}

/// `indexops import` (DESIGN.md §11): reads a table-based system's rows, checks every one
/// before anything is written, and commits the spec and status files of the documents that
/// are not in the repository yet, in one commit (pushed when a remote is configured).
///
/// Rows stream through an ``ImportAssembler`` into an ``ImportSpool`` (a temporary file);
/// the commit is written from the spool file by file, so memory does not grow with the table.
/// A document already imported as it is is left alone, and so is its status (which the
/// controller may have changed since), and so is an orphan an earlier import wrote (whose
/// status the controller removed once its indexes were deleted); a document id that a
/// person declared (in another file, or in the file the import would write, changed) is
/// reported and left as it is.
public struct Importer {
    /// The trailer of an import commit naming where its rows came from.
    public static let trailer = "Indexops-Imported-From"
    /// How many first differences a report keeps.
    public static let differenceLimit = 20

    private let workspace: Workspace
    private let repository: Repository
    private let logger: Logger

    /// Opens the repository of `repo`, as every command does.
    public init(repo: String, config: ControllerConfig, configured: Bool, logger: Logger) throws {
        (workspace, repository) = try Workspace.open(repo: repo, config: config, configured: configured)
        self.logger = logger
    }

    /// `Name <email>` from git's configuration, for a `--user` not given.
    public func defaultUser() throws -> String? {
        try IndexService.gitUser(repository)
    }

    /// The configuration the import maps types and revisions with.
    public var config: ControllerConfig { workspace.config }

    /// Imports the rows `read` hands over (its `take`: a row's JSON text and where it is).
    ///
    /// - Parameters:
    ///   - layout: the rows' layout; `nil`: from the first row.
    ///   - source: where the rows come from, without a password (a URL or a file name):
    ///     the commit message and each status's history name it.
    ///   - progress: called with the number of rows read so far.
    /// - Throws: ``ImportError`` for a row that cannot be imported (nothing is written);
    ///   ``IndexOpsError`` and `GitError` for the repository.
    public func run(
        settings: ImportSettings, layout: ImportLayout?, source: String, author: String, dryRun: Bool,
        progress: (@Sendable (Int) -> Void)? = nil,
        read: (_ take: @escaping @Sendable (String, String) throws -> Void) async throws -> Void
    ) async throws -> ImportReport {
        let signature = try IndexService.signature(author, time: Date())
        try workspace.syncAndPublish(repository, logger: logger)
        let spool = try ImportSpool()
        let reader = RowReader(settings: settings, layout: layout, spool: spool, progress: progress)
        try await read { text, location in try reader.take(text, location: location) }
        let rows = try reader.finish()

        guard let head = try repository.branchTip(workspace.branch) else {
            throw IndexOpsError("the branch \(workspace.branch) has no commit yet; commit something first (indexops init)")
        }
        var report = ImportReport()
        report.rows = rows
        report.documents = spool.count
        let plan = try classify(spool, head: head)
        try spool.forEach { record in
            switch plan.decision(record) {
            case .conflict(let line): report.conflicts.append(line)
            case .unchanged: report.unchanged += 1
            case .write:
                report.written += 1
                for (type, category) in record.categories { report.counts[type, default: [:]][category, default: 0] += 1 }
                for path in [record.specPath, record.statusText == nil ? nil : record.statusPath].compactMap({ $0 })
                where report.differences.count < Self.differenceLimit {
                    report.differences.append("+ \(path)")
                }
            }
        }
        guard !dryRun, report.written > 0 else { return report }

        let message = Self.message(report, source: source, layout: reader.layout)
        let commit = try repository.commit(on: workspace.branch, parent: head, message: message, author: signature) { emit in
            try spool.forEach { record in
                guard case .write = plan.decision(record) else { return }
                if let path = record.specPath, let text = record.specText { try emit(.write(path, Data(text.utf8))) }
                if let text = record.statusText { try emit(.write(record.statusPath, Data(text.utf8))) }
            }
        }
        guard let commit else { return report }
        report.commit = commit.hex
        try repository.publish(to: commit)
        if let remote = workspace.remote {
            do {
                _ = try repository.push(remote, replaying: workspace.ownCommits, retry: RetryPolicy(maxAttempts: 3))
                report.pushed = true
            } catch {
                // Take the commit back (only ours: a compare-and-swap), so that a run again
                // starts from the remote's state.
                try? repository.moveBranch(workspace.branch, from: commit, to: head)
                _ = try? repository.publish(to: head)
                throw IndexOpsError("could not push the import (\(error)); nothing was imported; run it again")
            }
        }
        return report
    }

    /// Where the rows of an import commit came from: its trailer's value; `nil` for another commit.
    public static func source(ofMessage message: String) -> String? {
        let prefix = trailer + ": "
        return message.split(separator: "\n").last { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// The commit message: counts for people, the source in a trailer for `indexops history`.
    static func message(_ report: ImportReport, source: String, layout: ImportLayout?) -> String {
        var text = "indexops import: \(report.written) document\(report.written == 1 ? "" : "s") from \(source)\n\n"
        for line in report.countLines { text += line + "\n" }
        if let layout { text += "\nLayout: \(layout.rawValue)" }
        if !report.conflicts.isEmpty {
            text += "\n\(report.conflicts.count) document\(report.conflicts.count == 1 ? "" : "s") declared by hand left as they are"
        }
        return text + "\n\n\(trailer): \(source)\n"
    }

    // MARK: - What is already there

    private enum Decision {
        case write
        case unchanged
        case conflict(String)
    }

    private struct Plan {
        var specBlobs: [String: TreeEntry]
        var statusPaths: Set<String>
        var identical: Set<String>
        var declared: [String: String]
        /// Status files of orphans that an earlier import wrote (and the controller has
        /// removed since, with the orphan's indexes): not written again.
        var importedOrphans: Set<String>

        func decision(_ record: ImportSpool.Record) -> Decision {
            if let place = declared[record.id] {
                return .conflict("\(record.id): declared by hand in \(place); left as it is")
            }
            guard let specPath = record.specPath else {
                return statusPaths.contains(record.statusPath) || importedOrphans.contains(record.statusPath) ? .unchanged : .write
            }
            if identical.contains(specPath) { return .unchanged }
            if specBlobs[specPath] != nil {
                return .conflict("\(record.id): \(specPath) exists and does not declare it; left as it is")
            }
            if statusPaths.contains(record.statusPath) {
                return .conflict("\(record.id): has a status file (\(record.statusPath)) but no spec; left as it is")
            }
            return .write
        }
    }

    /// What the repository already has: spec files the import wrote before (byte for byte),
    /// the ids declared anywhere else, and every status file.
    private func classify(_ spool: ImportSpool, head: OID) throws -> Plan {
        let config = workspace.config
        var specBlobs: [String: TreeEntry] = [:]
        for entry in try repository.files(in: config.repository.specsDir, at: head) where SpecFile.isSpecPath(entry.path) {
            specBlobs[entry.path] = entry
        }
        let statusPaths = Set(try repository.files(in: config.repository.statusDir, at: head).map(\.path))
        var identical = Set<String>()
        if !specBlobs.isEmpty {
            try spool.forEach { record in
                guard let path = record.specPath, let text = record.specText, let entry = specBlobs[path],
                      entry.kind == .file, let bytes = try? repository.readBlob(entry.id)
                else { return }
                if bytes == Data(text.utf8) { identical.insert(path) }
            }
        }
        var declared: [String: String] = [:]
        for (path, entry) in specBlobs.sorted(by: { $0.key < $1.key }) where !identical.contains(path) {
            guard entry.kind == .file || entry.kind == .executable else { continue }
            let file = try repository.specFile(entry, limits: config.limits)
            for resource in file.resources where declared[resource.index.id] == nil {
                declared[resource.index.id] = "\(resource.file):\(resource.nameMark.line)"
            }
        }
        var importedOrphans = Set<String>()
        let earlierImports = try repository.history(of: config.repository.statusDir, from: head)
            .filter { Self.source(ofMessage: $0.message) != nil }.map(\.commit)
        if !earlierImports.isEmpty {
            try spool.forEach { record in
                guard record.specPath == nil, !statusPaths.contains(record.statusPath) else { return }
                for commit in earlierImports where try repository.entry(at: record.statusPath, in: commit) != nil {
                    importedOrphans.insert(record.statusPath)
                    return
                }
            }
        }
        return Plan(specBlobs: specBlobs, statusPaths: statusPaths, identical: identical, declared: declared, importedOrphans: importedOrphans)
    }
}

/// Reads rows into documents and the spool, checking each; shared with the task that reads
/// the database, hence the lock.
private final class RowReader: Sendable {
    private struct State {
        var assembler: ImportAssembler
        var layout: ImportLayout?
        var spool: ImportSpool
        var rows = 0
    }
    private let state: Mutex<State>
    private let progress: (@Sendable (Int) -> Void)?

    init(settings: ImportSettings, layout: ImportLayout?, spool: ImportSpool, progress: (@Sendable (Int) -> Void)?) {
        state = Mutex(State(assembler: ImportAssembler(settings: settings), layout: layout, spool: spool))
        self.progress = progress
    }

    var layout: ImportLayout? { state.withLock { $0.layout } }

    func take(_ text: String, location: String) throws {
        let rows = try state.withLock { state throws -> Int in
            guard let object = JSONValue(parsing: text), case .object = object else {
                throw ImportError("\(location): the row is not a JSON object")
            }
            let layout: ImportLayout
            if let known = state.layout {
                layout = known
            } else {
                guard let found = ImportRow.layout(of: object) else {
                    throw ImportError("\(location): the row has neither layout's columns (status, or desired_state and actual_state)")
                }
                layout = found
                state.layout = found
            }
            let row = try ImportRow(object: object, layout: layout, location: location)
            if let document = try state.assembler.add(row, location: location) { try state.spool.append(document) }
            state.rows += 1
            return state.rows
        }
        progress?(rows)
    }

    func finish() throws -> Int {
        try state.withLock { state throws -> Int in
            if let document = try state.assembler.finish() { try state.spool.append(document) }
            try state.spool.flush()
            return state.rows
        }
    }
}
