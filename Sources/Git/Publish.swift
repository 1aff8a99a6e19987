internal import CGit2
import Foundation

/// What `publish(to:)` changed in the work tree.
public struct PublishReport: Sendable, Equatable {
    /// Paths written (files, symlinks, submodule folders), sorted.
    public var written: [String] = []
    /// Paths removed, sorted.
    public var removed: [String] = []

    /// Whether the work tree was already up to date.
    public var isEmpty: Bool { written.isEmpty && removed.isEmpty }
}

extension Repository {
    /// Updates the checked-out files and the index to the tree of `commit`, touching only
    /// the paths whose entries differ between the index and that tree.
    ///
    /// Each file is written to a temporary file in its folder, fsynced, and renamed over
    /// the old one (then the folder is fsynced), so a process reading the folder sees the
    /// old file or the new one, never a part. The index gets each path's id and stat data,
    /// so `git status` is clean without re-reading files.
    ///
    /// The clone is the controller's own: a local edit to a path that changed is
    /// overwritten; a local edit to any other path is left as it is (and `git status`
    /// shows it). Symlinks are created as symlinks (never followed: a folder on the way
    /// that is a symlink is replaced by a real folder); a submodule gets an empty folder.
    ///
    /// - Parameter known: the contents of files the caller just committed, by path, so that
    ///   they are not read back from the object database.
    /// - Throws: `GitError` `.invalid` for a bare repository; `.locked` when `index.lock`
    ///   exists (see `removeStaleLocks`); `.os` when a file cannot be written.
    @discardableResult
    public func publish(to commit: OID, known: [String: Data] = [:]) throws -> PublishReport {
        guard let workDirectory else {
            throw GitError(.invalid, "a bare repository has no work tree to publish to", function: "Repository.publish")
        }
        var index: OpaquePointer?
        try call("git_repository_index") { git_repository_index(&index, pointer) }
        let owned = IndexHandle(index!)
        try call("git_index_read") { git_index_read(owned.pointer, 0) }
        var indexTree = git_oid()
        try call("git_index_write_tree") { git_index_write_tree(&indexTree, owned.pointer) }
        let changes = try self.changes(from: lookupTree(OID(indexTree)), to: tree(ofCommit: commit), in: "")
        if changes.isEmpty { return PublishReport() }
        let files = WorkTreeFiles(root: workDirectory)
        var report = PublishReport()

        for change in changes.reversed() where change.new == nil {
            try files.remove(change.path)
            try call("git_index_remove_bypath") { git_index_remove_bypath(owned.pointer, change.path) }
            report.removed.append(change.path)
        }
        var regular: [(path: String, contents: Data, executable: Bool)] = []
        var entries: [String: TreeEntry] = [:]
        for change in changes {
            guard let new = change.new else { continue }
            switch new.kind {
            case .file, .executable:
                regular.append((change.path, try known[change.path] ?? readBlob(new.id), new.kind == .executable))
                entries[change.path] = new
                continue
            case .symlink:
                try files.symlink(change.path, target: try readBlob(new.id))
            case .submodule:
                try files.makeFolder(change.path)
            case .folder:
                continue
            }
            try addIndexEntry(owned, path: change.path, entry: new, files: files)
            report.written.append(change.path)
        }
        try files.writeAll(regular) { path in
            try addIndexEntry(owned, path: path, entry: entries[path]!, files: files)
            report.written.append(path)
        }
        report.written.sort()
        try call("git_index_write") { git_index_write(owned.pointer) }
        report.removed.sort()
        return report
    }

    private func addIndexEntry(_ index: IndexHandle, path: String, entry: TreeEntry, files: WorkTreeFiles) throws {
        var info = stat()
        guard lstat(files.absolute(path), &info) == 0 else {
            throw GitError.posix("lstat '\(path)'", function: "Repository.publish")
        }
        var raw = git_index_entry()
        raw.ctime = git_index_time(seconds: Int32(truncatingIfNeeded: info.st_ctim.tv_sec), nanoseconds: UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec))
        raw.mtime = git_index_time(seconds: Int32(truncatingIfNeeded: info.st_mtim.tv_sec), nanoseconds: UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec))
        raw.dev = UInt32(truncatingIfNeeded: info.st_dev)
        raw.ino = UInt32(truncatingIfNeeded: info.st_ino)
        raw.mode = entry.mode
        raw.uid = info.st_uid
        raw.gid = info.st_gid
        raw.file_size = entry.kind == .submodule ? 0 : UInt32(truncatingIfNeeded: info.st_size)
        raw.id = entry.id.raw
        try path.withCString { cPath in
            raw.path = cPath
            try call("git_index_add") { git_index_add(index.pointer, &raw) }
        }
    }
}
