import Foundation
import Git
import IndexOpsCore
import YAML

/// The read steps of a pass (DESIGN.md §5, §9): the difference between the tree the pass cache
/// describes and the new head's tree, then the spec files and status files that changed, into
/// the cache. Nothing that did not change is listed, read or parsed; with no cache, the
/// difference is the whole tree, and the same code reads everything.
final class PassReader {
    /// What the read steps found.
    struct Changes {
        /// Documents whose spec, source or status changed.
        var dirty: Set<String> = []
        /// Paths that differ between the two trees.
        var changedPaths = 0
        /// Spec files parsed.
        var specFilesParsed = 0
        /// Status files read.
        var statusFilesRead = 0
        /// The cache was empty: the whole tree was read.
        var full = false
    }

    let cache: PassCache
    private let config: ControllerConfig
    private let revisionBases: [String: String]
    /// In a full read, every file outside the specs and status folders, to look sources up
    /// without walking the tree again.
    private var listing: [String: TreeEntry]?
    private var incompleteFiles: Set<String>?

    init(cache: PassCache, config: ControllerConfig) {
        self.cache = cache
        self.config = config
        self.revisionBases = config.revisionFingerprints
    }

    private var specsPrefix: String { config.repository.specsDir + "/" }
    private var statusPrefix: String { config.repository.statusDir + "/" }
    private var diagnosticsPath: String { statusPrefix + DiagnosticsFile.name(shard: config.shard) }

    // MARK: - Diff, read specs, read statuses

    /// Brings the cache to the tree of `head`: steps *diff*, *read specs* and *read statuses*,
    /// in one cache transaction. The documents touched are also marked pending, so that a pass
    /// that fails later plans them again.
    func refresh(_ repository: Repository, head: OID) throws -> Changes {
        let newTree = try repository.treeID(ofCommit: head)
        var oldTree = try cache.meta("tree").flatMap(OID.init(hex:))
        if let tree = oldTree, !repository.hasObject(tree) {
            // The tree the cache describes is gone (a rewritten branch, then a gc): start over.
            try cache.reset()
            oldTree = nil
        }
        var result = Changes(full: oldTree == nil)
        listing = nil
        incompleteFiles = nil
        if oldTree == newTree {
            if try cache.meta("head") != head.hex { try cache.setMeta("head", head.hex) }
            return result
        }
        var leftOut: [SkippedEntry] = [], leftOutBefore: [SkippedEntry] = []
        let changes = try repository.changes(fromTree: oldTree, to: head, skipped: &leftOut, skippedBefore: &leftOutBefore)
        result.changedPaths = changes.count
        if result.full {
            listing = [:]
            for change in changes {
                guard let new = change.new, !change.path.hasPrefix(specsPrefix), !change.path.hasPrefix(statusPrefix) else { continue }
                listing?[change.path] = new
            }
        }
        try cache.transaction {
            try recordLeftOut(changes, leftOut: leftOut, leftOutBefore: leftOutBefore, repository)
            for change in changes {
                if change.path.hasPrefix(specsPrefix) {
                    guard SpecFile.isSpecPath(change.path) else { continue }
                    try readSpecFile(change, repository, into: &result)
                } else if change.path.hasPrefix(statusPrefix) {
                    try readStatusFile(change, repository, head: head, into: &result)
                } else if !result.full {
                    try sourceChanged(change.path, repository, head: head, into: &result)
                }
            }
            // A replica plans, runs and commits its own shard's documents only (DESIGN.md §9).
            result.dirty = result.dirty.filter(config.shard.owns)
            try cache.setPending(result.dirty, pending: true)
            try cache.setMeta("tree", newTree.hex)
            try cache.setMeta("head", head.hex)
        }
        return result
    }

    /// The tree entries that are never read or written to the work tree, as problems: names
    /// git refuses (from the folders that differ), symlinks out of the work tree and files
    /// over `limits.maxWorkTreeFileSize` (among the entries that changed). An entry that is
    /// gone, or changed, loses its old problem.
    private func recordLeftOut(_ changes: [PathChange], leftOut: [SkippedEntry], leftOutBefore: [SkippedEntry], _ repository: Repository) throws {
        for entry in leftOutBefore { try cache.putTreeProblem(entry.path, nil) }
        for entry in leftOut { try cache.putTreeProblem(entry.path, Diagnostic(leftOut: entry)) }
        for change in changes {
            if change.old != nil { try cache.putTreeProblem(change.path, nil) }
            guard let new = change.new else { continue }
            switch new.kind {
            case .symlink:
                let problem: String?
                if try repository.objectSize(new.id) > 4095 {
                    problem = "a symlink target longer than 4095 bytes"
                } else {
                    problem = EntryName.symlinkTargetProblem([UInt8](try repository.readBlob(new.id)), at: change.path)
                }
                if let problem {
                    try cache.putTreeProblem(change.path, Diagnostic(leftOut: SkippedEntry(
                        path: change.path, kind: .unsafeSymlink, reason: problem + "; the symlink is not created")))
                }
            case .file, .executable:
                let size = try repository.objectSize(new.id)
                let limit = config.sizeLimits.maxWorkTreeFileSize
                if size > limit {
                    try cache.putTreeProblem(change.path, Diagnostic(leftOut: SkippedEntry(
                        path: change.path, kind: .tooLarge,
                        reason: "a file of \(BlobSizeLimit.describe(size)), over limits.maxWorkTreeFileSize (\(BlobSizeLimit.describe(limit))); not written to the work tree")))
                }
            case .submodule, .folder:
                break
            }
        }
    }

    private func readSpecFile(_ change: PathChange, _ repository: Repository, into result: inout Changes) throws {
        let path = change.path
        result.dirty.formUnion(try cache.ids(inSpecFile: path))
        result.dirty.formUnion(try cache.ids(withStatusSpecFile: path))
        guard let new = change.new else {
            try cache.removeSpecFile(path)
            return
        }
        guard new.kind == .file || new.kind == .executable else {
            let problem = Diagnostic(
                file: path, line: 1, column: 1, severity: .warning, code: "symlink",
                message: "spec file is a \(new.kind.rawValue); it is never followed (skipped, its documents held)")
            try cache.putSpecFile(path, blob: new.kind.rawValue, file: nil, diagnostics: [problem])
            return
        }
        let file = try parse(repository, new)
        result.specFilesParsed += 1
        try cache.putSpecFile(path, blob: new.id.hex, file: file, diagnostics: file.diagnostics)
        result.dirty.formUnion(file.resources.map(\.index.id))
        result.dirty.formUnion(file.heldIDs)
    }

    private func parse(_ repository: Repository, _ entry: TreeEntry) throws -> SpecFile {
        try repository.specFile(entry, limits: config.limits)
    }

    private func readStatusFile(_ change: PathChange, _ repository: Repository, head: OID, into result: inout Changes) throws {
        let path = change.path
        if path == diagnosticsPath {
            let text = change.new.flatMap { try? String(decoding: repository.readBlob($0.id, limit: .statusFile(config.sizeLimits)), as: UTF8.self) }
            try cache.setMeta("diagnosticsText", text)
            return
        }
        // Another shard's diagnostics file: its replica's.
        if path.dropFirst(statusPrefix.count).firstIndex(of: "/") == nil,
           DiagnosticsFile.isDiagnosticsName(String(path.dropFirst(statusPrefix.count))) { return }
        guard path.hasSuffix(".json") else { return }
        let name = String(path.split(separator: "/").last ?? "").dropLast(".json".count)
        let id = Identifier.isValidID(String(name)) ? String(name) : nil
        guard let id, path == DocumentStatus.path(for: id, statusDir: config.repository.statusDir) else {
            try cache.putStatusProblem(path, id: nil, change.new.map { _ in
                Diagnostic(file: path, line: 1, column: 1, severity: .warning, code: "status",
                           message: "a file in the status folder that is not the status file of a document; ignored")
            })
            return
        }
        // Another shard's document: its replica reads it (and this cache never holds it).
        guard config.shard.owns(id) else { return }
        result.dirty.insert(id)
        guard let new = change.new else {
            try cache.putStatusProblem(path, id: id, nil)
            try cache.putStatus(id, nil)
            return
        }
        result.statusFilesRead += 1
        do {
            guard new.kind == .file else { throw StatusFileError("not a regular file") }
            let bytes: Data
            do {
                bytes = try repository.readBlob(new.id, limit: .statusFile(config.sizeLimits))
            } catch let error as GitError where error.code == .tooLarge {
                throw StatusFileError(error.message)
            }
            let status = try DocumentStatus(fileText: String(decoding: bytes, as: UTF8.self))
            guard status.documentId == id else {
                throw StatusFileError("is \"\(status.documentId)\", not the document its path names (\"\(id)\")", field: "documentId")
            }
            try cache.putStatusProblem(path, id: id, nil)
            try cache.putStatus(id, status)
        } catch let error as StatusFileError {
            // Input from a stranger: its document is rebuilt from the last valid version of
            // the file in git history, when there is one (DESIGN.md §4).
            let recovered = try lastValidVersion(repository, path: path, id: id, head: head, invalid: new.id)
            try cache.putStatusProblem(path, id: id, Self.invalidStatus(path, error, recovered: recovered != nil))
            try cache.putStatus(id, recovered)
        }
    }

    /// How many earlier versions of an invalid status file are tried.
    static let historyLimit = 50

    /// The newest earlier version of a status file that is valid and names the same document.
    private func lastValidVersion(_ repository: Repository, path: String, id: String, head: OID, invalid: OID) throws -> DocumentStatus? {
        for version in try repository.history(of: path, from: head, limit: Self.historyLimit) {
            guard let blob = version.blob, blob != invalid,
                  let data = try? repository.readBlob(blob, limit: .statusFile(config.sizeLimits)),
                  let status = try? DocumentStatus(fileText: String(decoding: data, as: UTF8.self)), status.documentId == id
            else { continue }
            return status
        }
        return nil
    }

    private static func invalidStatus(_ path: String, _ error: StatusFileError, recovered: Bool) -> Diagnostic {
        let what = "invalid status file: \(error)"
        if recovered {
            return Diagnostic(file: path, line: 1, column: 1, severity: .warning, code: "status",
                              message: what + "; its document is reconciled from the last valid version in git history, and the file is written anew")
        }
        return Diagnostic(file: path, line: 1, column: 1, severity: .error, code: "status",
                          message: what + "; no earlier version is valid: a declared document's indexes are built again, "
                              + "an orphan's indexes are left alone (fix or remove the file)")
    }

    /// `diagnostics` without the problems of the status files of `rewritten` documents, which
    /// a pass writes anew (or removes): what `_diagnostics.json` and the next idle pass report.
    static func lasting(_ diagnostics: [Diagnostic], rewritten: some Collection<String>, statusDir: String) -> [Diagnostic] {
        let paths = Set(rewritten.map { DocumentStatus.path(for: $0, statusDir: statusDir) })
        return diagnostics.filter { $0.code != "status" || !paths.contains($0.file) }
    }

    /// A path outside the specs and status folders changed: the documents whose source is the
    /// path, or a folder on its way, must look their source up again.
    private func sourceChanged(_ path: String, _ repository: Repository, head: OID, into result: inout Changes) throws {
        var candidate = Substring(path)
        while true {
            let source = String(candidate)
            if try cache.hasSource(source) {
                try cache.putSource(source, try lookUp(source, repository, head: head))
                result.dirty.formUnion(try cache.ids(withSource: source))
            }
            guard let slash = candidate.lastIndex(of: "/") else { break }
            candidate = candidate[..<slash]
        }
    }

    // MARK: - What the planner needs

    /// The desired state, the holds and the statuses of `ids`, from the cache; each id's
    /// problems are recorded with it.
    func planInput(_ ids: [String], _ repository: Repository, head: OID) throws
        -> (desired: [String: DesiredDocument], held: Set<String>, actual: [String: DocumentStatus], rebuilding: Set<String>)
    {
        var desired: [String: DesiredDocument] = [:]
        var held = Set<String>()
        var actual: [String: DocumentStatus] = [:]
        var rebuilding = Set<String>()
        try cache.transaction {
            for id in ids {
                let (resolution, diagnostics) = try resolve(id, repository, head: head)
                try cache.putDiagnostics(of: id, diagnostics)
                switch resolution {
                case .desired(let document): desired[id] = document
                case .held: held.insert(id)
                case .undeclared: break
                }
                if let status = try cache.status(id) { actual[id] = status }
                if try cache.hasStatusProblem(id: id) { rebuilding.insert(id) }
            }
        }
        return (desired, held, actual, rebuilding)
    }

    private func resolve(_ id: String, _ repository: Repository, head: OID) throws -> (SpecResolution, [Diagnostic]) {
        let incomplete = try incompleteFiles ?? cache.incompleteSpecFiles()
        incompleteFiles = incomplete
        let (files, heldBy) = try cache.declaringFiles(of: id)
        var heldByFile = !heldBy.isEmpty || !files.isDisjoint(with: incomplete)
        if !heldByFile, !incomplete.isEmpty, let specFile = try cache.statusSpecFile(id) { heldByFile = incomplete.contains(specFile) }
        var lookupError: (any Error)?
        let outcome = SpecResolution.resolve(
            declarations: try cache.declarations(of: id), heldByFile: heldByFile,
            source: { path in
                do {
                    if let known = try cache.source(path) { return known }
                    let found = try lookUp(path, repository, head: head)
                    try cache.putSource(path, found)
                    return found
                } catch {
                    lookupError = error
                    return SpecResolution.SourceLookup(entry: .missing)
                }
            },
            indexTypes: revisionBases)
        if let lookupError { throw lookupError }
        return outcome
    }

    /// What `path` names in the tree of `head`.
    private func lookUp(_ path: String, _ repository: Repository, head: OID) throws -> SpecResolution.SourceLookup {
        let entry: TreeEntry?
        if let listing, let listed = listing[path] {
            entry = listed
        } else {
            entry = try repository.entry(at: path, in: head)
        }
        guard let entry else { return SpecResolution.SourceLookup(entry: .missing) }
        switch entry.kind {
        case .file, .executable: return SpecResolution.SourceLookup(entry: .file, blob: entry.id.hex)
        case .symlink: return SpecResolution.SourceLookup(entry: .symlink)
        case .submodule: return SpecResolution.SourceLookup(entry: .submodule)
        case .folder: return SpecResolution.SourceLookup(entry: .directory)
        }
    }
}
