internal import CGit2
import Foundation
internal import FaultInjection

/// One change of a commit: write a file, or remove one.
public enum PathEdit: Sendable, Hashable {
    /// Sets the regular file at `path` to `contents` (creating its folders).
    case write(_ path: String, _ contents: Data, executable: Bool = false)
    /// Removes the file at `path`; a path that is not there is ignored. Folders left
    /// empty disappear, as in git.
    case remove(_ path: String)

    /// The path the edit touches.
    public var path: String {
        switch self {
        case .write(let path, _, _), .remove(let path): path
        }
    }
}

/// A change of one path in a tree, by id: what a replayed commit re-applies.
struct TreeUpdate {
    var path: String
    /// The new entry's id and kind; `nil` removes the path.
    var entry: (id: OID, kind: EntryKind)?
}

extension Repository {
    /// Commits `edits` on top of `parent` and moves `branch` from `parent` to the new
    /// commit with a compare-and-swap. Every path not in `edits` keeps its entry: only the
    /// trees on the edited paths are rewritten (libgit2's tree update).
    ///
    /// The new objects (blobs, the rewritten trees, the commit) are made in memory and
    /// written as one pack, fsynced with its index and the pack folder, before the branch
    /// moves; no loose object is written. A crash leaves the branch where it was, perhaps
    /// with a pack that nothing names yet. When `objects/pack` holds more than `packLimit`
    /// packs, the commit first consolidates them.
    ///
    /// - Parameters:
    ///   - parent: the branch head the caller read (`nil`: the branch has no commit yet).
    ///   - committer: defaults to `author`.
    /// - Returns: the new commit, or `nil` when the edits change nothing (never an empty
    ///   commit; the branch is not touched).
    /// - Throws: `GitError` `.modified` when `branch` no longer points at `parent` (a
    ///   concurrent writer: nothing is overwritten), `.exists` when it appeared meanwhile,
    ///   `.invalid` for an unclean or duplicated path, `.notAFile` when removing a folder.
    public func commit(
        _ edits: [PathEdit],
        on branch: String,
        parent: OID?,
        message: String,
        author: Signature,
        committer: Signature? = nil
    ) throws -> OID? {
        try commit(on: branch, parent: parent, message: message, author: author, committer: committer) { emit in
            for edit in edits { try emit(edit) }
        }
    }

    /// Commits the edits `produce` hands to `emit`, one at a time, like
    /// ``commit(_:on:parent:message:author:committer:)``: each file's contents are written as
    /// a blob as soon as they are emitted and can then be dropped, so that a commit of a
    /// hundred thousand files does not hold them all twice (as edits and as objects).
    ///
    /// - Throws: what `produce` throws (nothing is committed), and the errors of
    ///   ``commit(_:on:parent:message:author:committer:)``.
    public func commit(
        on branch: String, parent: OID?, message: String, author: Signature, committer: Signature? = nil,
        streaming produce: (_ emit: (PathEdit) throws -> Void) throws -> Void
    ) throws -> OID? {
        let written = try writingOnePack {
            try writeCommit(produce, parent: parent, message: message, author: author, committer: committer ?? author)
        }
        guard let id = written else { return nil }
        try Failpoints.hit(.commitObjectsWritten) { GitError(.os, $0, function: "Repository.commit") }
        try moveReference("refs/heads/" + branch, from: parent, to: id, message: "indexops: commit")
        return id
    }

    /// Writes the blobs, trees and commit of `edits` on top of `parent`; `nil` when the
    /// edits change nothing. Moves no reference.
    private func writeCommit(
        _ produce: (_ emit: (PathEdit) throws -> Void) throws -> Void, parent: OID?, message: String, author: Signature, committer: Signature
    ) throws -> OID? {
        let base = try parent.map { try tree(ofCommit: $0) } ?? lookupTree(emptyTreeID())
        var seen = Set<String>()
        var updates: [TreeUpdate] = []
        try produce { edit in
            let path = try Self.normalized(edit.path, allowRoot: false)
            guard seen.insert(path).inserted else {
                throw GitError(.invalid, "'\(path)' is edited twice in one commit", function: "Repository.commit")
            }
            let existing = try entry(at: path, in: base)
            switch edit {
            case .write(_, let contents, let executable):
                let id = try writeBlob(contents)
                let kind: EntryKind = executable ? .executable : .file
                if existing?.id != id || existing?.kind != kind {
                    updates.append(TreeUpdate(path: path, entry: (id, kind)))
                }
            case .remove:
                if let existing {
                    guard existing.kind != .folder else {
                        throw GitError(.notAFile, "'\(path)' is a folder; remove its files instead", function: "Repository.commit")
                    }
                    updates.append(TreeUpdate(path: path, entry: nil))
                }
            }
        }
        let newTree = try apply(updates, to: base)
        if newTree == base.id { return nil }
        return try writeCommit(tree: newTree, parents: parent.map { [$0] } ?? [], message: message, author: author, committer: committer)
    }

    /// Writes `contents` as a blob: into memory inside `writingOnePack`, else loose.
    func writeBlob(_ contents: Data) throws -> OID {
        if let staging { return try staging.writeBlob(contents) }
        var oid = git_oid()
        _ = try contents.withUnsafeBytes { bytes in
            try call("git_blob_create_from_buffer") {
                git_blob_create_from_buffer(&oid, pointer, bytes.baseAddress, bytes.count)
            }
        }
        return OID(oid)
    }

    /// Writes the tree `base` with `updates` applied, rewriting only the trees on the
    /// updated paths; returns its id (`base`'s own id when nothing changed).
    func apply(_ updates: [TreeUpdate], to base: TreeHandle) throws -> OID {
        if updates.isEmpty { return base.id }
        let paths = updates.map { strdup($0.path)! }
        defer { paths.forEach { free($0) } }
        var raw = updates.enumerated().map { index, update in
            var item = git_tree_update()
            item.path = UnsafePointer(paths[index])
            if let entry = update.entry {
                item.action = GIT_TREE_UPDATE_UPSERT
                item.id = entry.id.raw
                item.filemode = git_filemode_t(rawValue: entry.kind.mode)
            } else {
                item.action = GIT_TREE_UPDATE_REMOVE
            }
            return item
        }
        var oid = git_oid()
        try call("git_tree_create_updated") {
            git_tree_create_updated(&oid, pointer, base.pointer, raw.count, &raw)
        }
        return OID(oid)
    }

    /// Writes a commit object without moving any reference.
    func writeCommit(tree: OID, parents: [OID], message: String, author: Signature, committer: Signature) throws -> OID {
        let treeHandle = try lookupTree(tree)
        let parentHandles = try parents.map { try lookupCommit($0) }
        let authorHandle = try author.handle()
        let committerHandle = try committer.handle()
        var parentPointers: [OpaquePointer?] = parentHandles.map { $0.pointer }
        var oid = git_oid()
        _ = try withExtendedLifetime(parentHandles) {
            try call("git_commit_create") {
                git_commit_create(&oid, pointer, nil, authorHandle.pointer, committerHandle.pointer, nil, message, treeHandle.pointer, parentPointers.count, &parentPointers)
            }
        }
        return OID(oid)
    }
}
