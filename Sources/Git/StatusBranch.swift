internal import CGit2
import Foundation

/// What ``Repository/mirror(folder:of:previous:)`` changed in the work tree.
public struct MirrorReport: Sendable, Equatable {
    /// The root tree of the commit mirrored (`nil`: none), to pass as `previous` next time.
    public var tree: OID?
    /// Files written, sorted.
    public var written: [String] = []
    /// Files removed, sorted.
    public var removed: [String] = []
}

extension Repository {
    /// The commit a reader of specs and statuses kept on two branches reads: the tree of
    /// `spec` with its `folder` replaced by the `folder` of `status` (removed when `status`
    /// is `nil` or has none), with `status` as its only parent, so that the history of a file
    /// below `folder` is the status branch's.
    ///
    /// The commit is on no branch. Its author, committer and time are fixed, so the same two
    /// commits give the same id: a reader keyed by tree or commit (the pass cache) sees a new
    /// one only when either side changed, and nothing is written when it exists already.
    public func statusView(spec: OID, status: OID?, folder: String) throws -> OID {
        let prefix = try Self.normalized(folder, allowRoot: false)
        let written = try writingOnePack { () -> OID? in
            let specTree = try tree(ofCommit: spec)
            let statusEntry = try status.flatMap { try entry(at: prefix, in: tree(ofCommit: $0)) }.flatMap { $0.kind == .folder ? $0 : nil }
            var updates: [TreeUpdate] = []
            if let statusEntry {
                updates.append(TreeUpdate(path: prefix, entry: (statusEntry.id, .folder)))
            } else if try entry(at: prefix, in: specTree) != nil {
                updates.append(TreeUpdate(path: prefix, entry: nil))
            }
            let newTree = try apply(updates, to: specTree)
            let signature = Signature(name: "indexops", email: "indexops@view", time: Date(timeIntervalSince1970: 0))
            return try writeCommit(
                tree: newTree, parents: status.map { [$0] } ?? [],
                message: "indexops: the specs of \(spec.hex) with the statuses of \(status?.hex ?? "none")\n",
                author: signature, committer: signature)
        }
        return written!
    }

    /// Writes the files below `folder` of `commit` (`nil`: none) into the work tree, without
    /// touching the index: for a folder that is not on the checked-out branch (statuses kept
    /// on a branch of their own), which a neighbour reads from the work tree and git ignores
    /// (the caller lists it in `.git/info/exclude`).
    ///
    /// Only what differs from `previous` (the ``MirrorReport/tree`` of the last mirror; `nil`:
    /// everything) is written or removed, each file atomically as ``publish(to:known:)``
    /// does. Only regular files are written; other entries, names ``EntryName`` refuses and
    /// files over ``workTreeFileLimit`` are left out.
    @discardableResult
    public func mirror(folder: String, of commit: OID?, previous: OID?) throws -> MirrorReport {
        try markingPublish { try mirrorFiles(folder: folder, of: commit, previous: previous) }
    }

    private func mirrorFiles(folder: String, of commit: OID?, previous: OID?) throws -> MirrorReport {
        guard let workDirectory else {
            throw GitError(.invalid, "a bare repository has no work tree to mirror to", function: "Repository.mirror")
        }
        let prefix = try Self.normalized(folder, allowRoot: false)
        let newRoot = try commit.map { try tree(ofCommit: $0) }
        var report = MirrorReport(tree: newRoot?.id)
        let oldRoot: TreeHandle? = try previous.flatMap { id in try hasObject(id) ? lookupTree(id) : nil }
        var skipped: [SkippedEntry] = []
        let changes: [PathChange]
        if previous != nil, oldRoot == nil {
            // The tree mirrored last is gone: write everything, remove what is not there.
            changes = try self.changes(from: nil, to: newRoot, in: prefix, skipped: &skipped)
            let files = WorkTreeFiles(root: workDirectory)
            let kept = Set(changes.map(\.path))
            for path in Self.filesOnDisk(files.absolute(prefix), relative: prefix) where !kept.contains(path) {
                try files.remove(path)
                report.removed.append(path)
            }
        } else {
            changes = try self.changes(from: oldRoot, to: newRoot, in: prefix, skipped: &skipped)
        }
        let files = WorkTreeFiles(root: workDirectory)
        var regular: [(path: String, executable: Bool)] = []
        var ids: [String: OID] = [:]
        for change in changes {
            let writable = change.new.flatMap { $0.kind == .file || $0.kind == .executable ? $0 : nil }
            if let new = writable, try workTreeFileLimit.map({ try objectSize(new.id) <= $0.bytes }) ?? true {
                regular.append((change.path, false))
                ids[change.path] = new.id
            } else if change.old != nil {
                try files.remove(change.path)
                report.removed.append(change.path)
            }
        }
        try files.writeAll(regular, contents: { path, sink in
            try self.withBlob(ids[path]!) { try sink.write($0) }
        }, then: { path in report.written.append(path) })
        report.written.sort()
        report.removed.sort()
        return report
    }

    /// The regular files below `folder` on disk, as paths from the root.
    private static func filesOnDisk(_ folder: String, relative: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var paths: [String] = []
        while let item = walker.nextObject() as? String {
            if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { paths.append(relative + "/" + item) }
        }
        return paths
    }

    /// Deletes reference `name` if it still points at `expected`.
    /// - Throws: `GitError` `.modified` when it moved meanwhile.
    func deleteReference(_ name: String, expected: OID) throws {
        var reference: OpaquePointer?
        let found = git_reference_lookup(&reference, pointer, name)
        if found == GIT_ENOTFOUND.rawValue {
            git_error_clear()
            return
        }
        if found < 0 { throw GitError.last(found, function: "git_reference_lookup") }
        defer { git_reference_free(reference) }
        guard let target = git_reference_target(reference), OID(target.pointee) == expected else {
            throw GitError(.modified, "'\(name)' moved meanwhile; it is not deleted", function: "Repository.deleteReference")
        }
        try call("git_reference_delete") { git_reference_delete(reference) }
    }

    /// Deletes the local branch `branch` if it still points at `expected` (a compare-and-swap).
    /// - Throws: `GitError` `.modified` when it moved meanwhile.
    public func deleteBranch(_ branch: String, expected: OID) throws {
        try deleteReference("refs/heads/" + branch, expected: expected)
    }
}

extension Repository {
    /// Creates the local branch `branch` at `commit`; it must not exist.
    /// - Throws: `GitError` `.exists` when it does.
    public func createBranch(_ branch: String, at commit: OID) throws {
        try moveReference("refs/heads/" + branch, from: nil, to: commit, message: "indexops: create \(branch)")
    }
}
