import Foundation
import Git
import IndexOpsCore

/// Reads the status files of a commit's tree, parsing again only the blobs it has not seen.
///
/// A status file is input too (DESIGN.md §4): one that breaks ``StatusFileRules`` is a
/// diagnostic naming the file and the field, and its document is listed in `rebuild`. In its
/// place the reader gives the last valid version of the file in git history (up to
/// ``historyLimit`` versions back), so that an orphan's indexes are still deleted and a
/// document's indexes that are no longer wanted are too; the planner builds the desired ones
/// again and writes the file anew.
final class StatusReader {
    /// The name of the file of spec problems, beside the fan-out folders.
    static let diagnosticsFile = "_diagnostics.json"
    /// How many earlier versions of an invalid status file are tried.
    static let historyLimit = 50

    /// What a status blob was found to be.
    private enum Parsed {
        case valid(DocumentStatus)
        /// Invalid; the document id its path names (if it names one) and the last valid
        /// version in history (if any).
        case invalid(StatusFileError, id: String?, recovered: DocumentStatus?)
    }

    private var cache: [OID: Parsed] = [:]
    private let statusDir: String

    init(statusDir: String) {
        self.statusDir = statusDir
    }

    /// The statuses by document id (for an invalid file, its last valid version, when there
    /// is one), the problems, and the ids whose file is invalid.
    func read(
        _ repository: Repository, commit: OID
    ) throws -> (statuses: [String: DocumentStatus], problems: [Diagnostic], rebuild: Set<String>) {
        var statuses: [String: DocumentStatus] = [:]
        var problems: [Diagnostic] = []
        var rebuild = Set<String>()
        var seen: [OID: Parsed] = [:]
        for entry in try repository.files(in: statusDir, at: commit) where entry.path.hasSuffix(".json") {
            if entry.path == statusDir + "/" + Self.diagnosticsFile { continue }
            let parsed = try cache[entry.id] ?? parse(repository, entry, commit: commit)
            seen[entry.id] = parsed
            switch parsed {
            case .valid(let status):
                guard entry.path == DocumentStatus.path(for: status.documentId, statusDir: statusDir) else {
                    problems.append(Diagnostic(file: entry.path, line: 1, column: 1, severity: .warning, code: "status",
                                               message: "status file of \"\(status.documentId)\" is not at its path; ignored"))
                    continue
                }
                statuses[status.documentId] = status
            case .invalid(let error, let id, let recovered):
                problems.append(Self.diagnostic(entry.path, error, id: id, recovered: recovered))
                guard let id else { continue }
                rebuild.insert(id)
                if let recovered { statuses[id] = recovered }
            }
        }
        cache = seen
        return (statuses, problems, rebuild)
    }

    private func parse(_ repository: Repository, _ entry: TreeEntry, commit: OID) throws -> Parsed {
        do {
            guard entry.kind == .file else { throw StatusFileError("not a regular file") }
            return .valid(try DocumentStatus(fileText: String(decoding: try repository.readBlob(entry.id), as: UTF8.self)))
        } catch {
            let error = error as? StatusFileError ?? StatusFileError("cannot be read: \(error)")
            let id = documentId(atPath: entry.path)
            let recovered = try id.flatMap { try lastValidVersion(repository, path: entry.path, id: $0, commit: commit, invalid: entry.id) }
            return .invalid(error, id: id, recovered: recovered)
        }
    }

    /// The id a status path stands for: `status/ab/<id>.json` with `ab` its fan-out.
    private func documentId(atPath path: String) -> String? {
        guard let name = path.split(separator: "/").last, name.hasSuffix(".json") else { return nil }
        let id = String(name.dropLast(5))
        guard Identifier.isValidID(id), DocumentStatus.path(for: id, statusDir: statusDir) == path else { return nil }
        return id
    }

    /// The newest earlier version of the file that is valid and names the same document.
    private func lastValidVersion(_ repository: Repository, path: String, id: String, commit: OID, invalid: OID) throws -> DocumentStatus? {
        for version in try repository.history(of: path, from: commit, limit: Self.historyLimit) {
            guard let blob = version.blob, blob != invalid else { continue }
            if case .valid(let status)? = cache[blob], status.documentId == id { return status }
            guard let data = try? repository.readBlob(blob), data.count <= StatusFileRules.maxFileSize,
                  let status = try? DocumentStatus(fileText: String(decoding: data, as: UTF8.self)), status.documentId == id
            else { continue }
            return status
        }
        return nil
    }

    /// `diagnostics` without the problems of the status files of `rewritten` documents, which
    /// a pass writes anew (or removes): what `_diagnostics.json` and the next idle pass report.
    static func lasting(_ diagnostics: [Diagnostic], rewritten: some Collection<String>, statusDir: String) -> [Diagnostic] {
        let paths = Set(rewritten.map { DocumentStatus.path(for: $0, statusDir: statusDir) })
        return diagnostics.filter { $0.code != "status" || !paths.contains($0.file) }
    }

    private static func diagnostic(_ path: String, _ error: StatusFileError, id: String?, recovered: DocumentStatus?) -> Diagnostic {
        let what = "invalid status file: \(error)"
        guard id != nil else {
            return Diagnostic(file: path, line: 1, column: 1, severity: .error, code: "status",
                              message: what + "; its path names no document, so it is ignored")
        }
        if recovered != nil {
            return Diagnostic(file: path, line: 1, column: 1, severity: .warning, code: "status",
                              message: what + "; its document is reconciled from the last valid version in git history, and the file is written anew")
        }
        return Diagnostic(file: path, line: 1, column: 1, severity: .error, code: "status",
                          message: what + "; no earlier version is valid: a declared document's indexes are built again, "
                              + "an orphan's indexes are left alone (fix or remove the file)")
    }
}
