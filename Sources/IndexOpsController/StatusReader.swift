import Foundation
import Git
import IndexOpsCore

/// Reads the status files of a commit's tree, parsing again only the blobs it has not seen.
final class StatusReader {
    /// The name of the file of spec problems, beside the fan-out folders.
    static let diagnosticsFile = "_diagnostics.json"

    private var cache: [OID: DocumentStatus] = [:]
    private let statusDir: String
    private let sizes: SizeLimits

    /// - Parameter sizes: `maxStatusFileSize` bounds each status file, checked before it is read.
    init(statusDir: String, sizes: SizeLimits = SizeLimits()) {
        self.statusDir = statusDir
        self.sizes = sizes
    }

    /// The statuses by document id, and the problems with files that could not be read
    /// (such a document is treated as having no status: its operations run again, and they
    /// are idempotent).
    func read(_ repository: Repository, commit: OID) throws -> (statuses: [String: DocumentStatus], problems: [Diagnostic]) {
        var statuses: [String: DocumentStatus] = [:]
        var problems: [Diagnostic] = []
        var seen: [OID: DocumentStatus] = [:]
        for entry in try repository.files(in: statusDir, at: commit) where entry.path.hasSuffix(".json") {
            if entry.path == statusDir + "/" + Self.diagnosticsFile { continue }
            let status: DocumentStatus
            if let cached = cache[entry.id] {
                status = cached
            } else {
                do {
                    guard entry.kind == .file else { throw StatusFileError("not a regular file") }
                    let bytes = try repository.readBlob(entry.id, limit: .statusFile(sizes))
                    status = try DocumentStatus(fileText: String(decoding: bytes, as: UTF8.self))
                } catch {
                    let reason = (error as? GitError)?.message ?? "\(error)"
                    problems.append(Diagnostic(file: entry.path, line: 1, column: 1, severity: .warning, code: "status",
                                               message: "status file cannot be read (\(reason)); its document is reconciled from scratch"))
                    continue
                }
            }
            guard entry.path == DocumentStatus.path(for: status.documentId, statusDir: statusDir) else {
                problems.append(Diagnostic(file: entry.path, line: 1, column: 1, severity: .warning, code: "status",
                                           message: "status file of \"\(status.documentId)\" is not at its path; ignored"))
                continue
            }
            seen[entry.id] = status
            statuses[status.documentId] = status
        }
        cache = seen
        return (statuses, problems)
    }
}
