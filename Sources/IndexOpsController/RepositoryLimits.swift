import Foundation
import Git
import IndexOpsCore
import Indexers
import YAML

/// The reads of the watched repository whose size is chosen by anyone who can push: each
/// blob's size is read from its object header and checked against its setting before the
/// blob is read (DESIGN.md §10).
extension Repository {
    /// The spec file of `entry`, parsed only when its blob is at most `limits.maxFileSize`;
    /// a larger one is a spec file that failed with the size error, unread.
    func specFile(_ entry: TreeEntry, limits: YAMLLimits) throws -> SpecFile {
        let size = try objectSize(entry.id)
        if size > limits.maxFileSize {
            return SpecFile(path: entry.path, failure: YAMLError.fileTooLarge(file: entry.path, size: size, limits: limits))
        }
        return SpecFile(path: entry.path, bytes: [UInt8](try readBlob(entry.id)), limits: limits)
    }

    /// The bytes of a source for an indexer, read only when the blob is at most
    /// `limits.maxSourceSize`.
    /// - Throws: a terminal ``IndexerError`` naming the size and the setting when it is larger
    ///   (the operation is not retried until the source or the setting changes); a transient
    ///   one when it cannot be read.
    func readSource(_ blob: OID, path: String, limits: SizeLimits) throws(IndexerError) -> [UInt8] {
        let size: Int
        do {
            size = try objectSize(blob)
        } catch {
            throw IndexerError("cannot read the source \(path): \((error as? GitError)?.message ?? "\(error)")")
        }
        guard size <= limits.maxSourceSize else {
            throw IndexerError(
                "the source \(path) is \(BlobSizeLimit.describe(size)), over limits.maxSourceSize (\(BlobSizeLimit.describe(limits.maxSourceSize))); "
                    + "it is not indexed until the source shrinks or the setting is raised",
                terminal: true)
        }
        do {
            return [UInt8](try readBlob(blob))
        } catch {
            throw IndexerError("cannot read the source \(path): \((error as? GitError)?.message ?? "\(error)")")
        }
    }
}

extension Diagnostic {
    /// The problem of a tree entry that is not read or not written to the work tree: a name
    /// git refuses or a symlink out of the work tree (errors), a file over
    /// `limits.maxWorkTreeFileSize` (a warning).
    init(leftOut entry: SkippedEntry) {
        self.init(
            file: entry.path, line: 1, column: 1, severity: entry.kind == .tooLarge ? .warning : .error, code: "treeEntry",
            message: entry.kind == .unsafeName
                ? "\(entry.reason): this entry, and everything below it, is not read or written to the work tree"
                : entry.reason)
    }
}

extension BlobSizeLimit {
    /// `limits.maxStatusFileSize` of `sizes`.
    static func statusFile(_ sizes: SizeLimits) -> BlobSizeLimit {
        BlobSizeLimit(bytes: sizes.maxStatusFileSize, setting: "limits.maxStatusFileSize")
    }
}
