internal import CGit2
import Foundation
internal import FaultInjection

/// What `publish(to:)` changed in the work tree.
public struct PublishReport: Sendable, Equatable {
    /// Paths written (files, symlinks, submodule folders), sorted.
    public var written: [String] = []
    /// Paths removed, sorted.
    public var removed: [String] = []
    /// Entries of the tree that are not in the work tree, and why, sorted: names git refuses,
    /// symlinks that would point out of the work tree, files over ``Repository/workTreeFileLimit``.
    /// Every publish reports all of them again (they never reach the index), so the report
    /// is complete for the commit published, not only for what changed.
    public var skipped: [SkippedEntry] = []

    /// Whether the work tree was already up to date (skipped entries do not count).
    public var isEmpty: Bool { written.isEmpty && removed.isEmpty }
}

extension Repository {
    /// Updates the checked-out files and the index to the tree of `commit`, touching only
    /// the paths whose entries differ between the index and that tree.
    ///
    /// Each file is written to a temporary file in its folder, fsynced, and renamed over
    /// the old one (then the folder is fsynced), so a process reading the folder sees the
    /// old file or the new one, never a part. The index gets each path's id and stat data,
    /// so `git status` is clean without re-reading files. Blobs are read one at a time.
    ///
    /// The clone is the controller's own: a local edit to a path that changed is
    /// overwritten; a local edit to any other path is left as it is (and `git status`
    /// shows it). Symlinks are created as symlinks (never followed: a folder on the way
    /// that is a symlink is replaced by a real folder); a submodule gets an empty folder.
    ///
    /// Nothing is written for an entry that ``EntryName`` refuses (nor below it), for a
    /// symlink whose target leaves the work tree (``EntryName/symlinkTargetProblem(_:at:)``),
    /// or for a file over ``workTreeFileLimit`` (its size is read from the object header):
    /// such an entry is left out, what was at its path before is removed, and the report
    /// lists it in `skipped`. The rest of the tree is published.
    ///
    /// - Parameter known: the contents of files the caller just committed, by path, so that
    ///   they are not read back from the object database.
    /// - Throws: `GitError` `.invalid` for a bare repository; `.locked` when `index.lock`
    ///   exists (see `removeStaleLocks`); `.os` when a file cannot be written (no temporary
    ///   file is left behind).
    @discardableResult
    public func publish(to commit: OID, known: [String: Data] = [:]) throws -> PublishReport {
        guard let workDirectory else {
            throw GitError(.invalid, "a bare repository has no work tree to publish to", function: "Repository.publish")
        }
        let plan = try workTreePlan(to: commit)
        let report = PublishReport(skipped: plan.skipped)
        if plan.changes.isEmpty { return report }
        return try markingPublish { try write(plan, into: workDirectory, report: report, known: known) }
    }

    /// Writes the changes of `plan` into the work tree and the index.
    private func write(
        _ plan: WorkTreePlan,
        into workDirectory: String, report: PublishReport, known: [String: Data]
    ) throws -> PublishReport {
        var report = report
        let index = try indexUpdates(for: plan)
        let files = WorkTreeFiles(root: workDirectory)

        for change in plan.changes.reversed() where change.new == nil || plan.refused.contains(change.path) {
            guard change.old != nil else { continue }
            try files.remove(change.path)
            try index.remove(change.path)
            report.removed.append(change.path)
        }
        var regular: [(path: String, executable: Bool)] = []
        var entries: [String: TreeEntry] = [:]
        for change in plan.changes {
            guard let new = change.new, !plan.refused.contains(change.path) else { continue }
            switch new.kind {
            case .file, .executable:
                regular.append((change.path, new.kind == .executable))
                entries[change.path] = new
                continue
            case .symlink:
                try files.symlink(change.path, target: plan.targets[change.path] ?? [])
            case .submodule:
                try files.makeFolder(change.path)
            case .folder:
                continue
            }
            try index.add(change.path, entry: new, files: files)
            report.written.append(change.path)
        }
        try files.writeAll(regular, contents: { path, sink in
            if let contents = known[path] {
                try contents.withUnsafeBytes { try sink.write($0) }
            } else {
                try self.withBlob(entries[path]!.id) { try sink.write($0) }
            }
        }, then: { path in
            try index.add(path, entry: entries[path]!, files: files)
            report.written.append(path)
            try Failpoints.hit(.publishMidway) { GitError(.os, $0, function: "Repository.publish") }
        })
        report.written.sort()
        try index.write(publishing: plan.commit, in: self)
        report.removed.sort()
        return report
    }

    /// The entries of the tree of `commit` that ``publish(to:)`` leaves out of the work
    /// tree, and why; nothing is written. As cheap as a publish that finds nothing to do:
    /// only the folders that differ between the index and that tree are read (and a
    /// left-out entry never reaches the index, so its folders always differ). A bare
    /// repository has no work tree and reports nothing.
    public func entriesLeftOutOfWorkTree(at commit: OID) throws -> [SkippedEntry] {
        guard workDirectory != nil else { return [] }
        return try workTreePlan(to: commit).skipped
    }

    /// What publishing a commit over the index changes: the changes, the paths whose new
    /// entry is not written (`refused`), the reports, and the targets of the symlinks to make.
    private typealias WorkTreePlan = (
        index: IndexSource, commit: OID, changes: [PathChange], refused: Set<String>, skipped: [SkippedEntry], targets: [String: [UInt8]]
    )

    /// How the index was read: as bytes (``IndexFile``, the plain case), or through libgit2.
    private enum IndexSource {
        case file(IndexFile)
        case libgit2(IndexHandle)
    }

    /// The ``WorkTreePlan`` of publishing `commit`.
    private func workTreePlan(to commit: OID) throws -> WorkTreePlan {
        let index: IndexSource
        let indexTree: OID
        if let file = IndexFile.load(gitDirectory + "index"), let tree = file.tree {
            index = .file(file)
            indexTree = tree
        } else {
            let handle = try libgit2Index()
            var raw = git_oid()
            try call("git_index_write_tree") { git_index_write_tree(&raw, handle.pointer) }
            index = .libgit2(handle)
            indexTree = OID(raw)
        }
        var skipped: [SkippedEntry] = []
        let changes = try self.changes(from: lookupTree(indexTree), to: tree(ofCommit: commit), in: "", skipped: &skipped)
        var refused = Set<String>()
        var targets: [String: [UInt8]] = [:]
        for change in changes {
            guard let new = change.new else { continue }
            switch new.kind {
            case .file, .executable:
                guard let limit = workTreeFileLimit else { continue }
                let size = try objectSize(new.id)
                if size > limit.bytes {
                    refused.insert(change.path)
                    skipped.append(SkippedEntry(path: change.path, kind: .tooLarge, reason: "a file of \(BlobSizeLimit.describe(size)), over \(limit.setting) (\(BlobSizeLimit.describe(limit.bytes))); not written to the work tree"))
                }
            case .symlink:
                let problem: String?
                if try objectSize(new.id) > 4095 {
                    problem = "a symlink target longer than 4095 bytes"
                } else {
                    let target = [UInt8](try readBlob(new.id))
                    problem = EntryName.symlinkTargetProblem(target, at: change.path)
                    targets[change.path] = target
                }
                if let problem {
                    refused.insert(change.path)
                    skipped.append(SkippedEntry(path: change.path, kind: .unsafeSymlink, reason: problem + "; the symlink is not created"))
                }
            case .submodule, .folder:
                continue
            }
        }
        return (index, commit, changes, refused, skipped.sorted(), targets)
    }

    /// Where the publish of `plan` records what it does to the index: the index as bytes
    /// when it was read so and the publish leaves nothing out (what is left out never
    /// reaches the index, so the cached trees of its folders are not the commit's), else
    /// libgit2's index.
    private func indexUpdates(for plan: WorkTreePlan) throws -> IndexUpdates {
        switch plan.index {
        case .file(let file) where plan.refused.isEmpty && plan.skipped.isEmpty: return IndexUpdates(file: file)
        case .file: return IndexUpdates(libgit2: try libgit2Index())
        case .libgit2(let handle): return IndexUpdates(libgit2: handle)
        }
    }

    /// The repository's index through libgit2, read again if the file changed.
    private func libgit2Index() throws -> IndexHandle {
        counters.libgit2IndexReads += 1
        var raw: OpaquePointer?
        try call("git_repository_index") { git_repository_index(&raw, pointer) }
        let index = IndexHandle(raw!)
        try call("git_index_read") { git_index_read(index.pointer, 0) }
        return index
    }
}

/// What a publish does to the index: through libgit2's index, or recorded for
/// ``IndexFile/write(removing:writing:subtree:)``.
private final class IndexUpdates {
    private let libgit2: IndexHandle?
    private let file: IndexFile?
    private var removed: [[UInt8]] = []
    private var written: [IndexFile.NewEntry] = []

    init(libgit2: IndexHandle) {
        self.libgit2 = libgit2
        file = nil
    }

    init(file: IndexFile) {
        libgit2 = nil
        self.file = file
    }

    func remove(_ path: String) throws {
        if let libgit2 {
            try call("git_index_remove_bypath") { git_index_remove_bypath(libgit2.pointer, path) }
        } else {
            removed.append(Array(path.utf8))
        }
    }

    /// Records `path` with the id and mode of `entry` and the stat data of the file just
    /// written, so that `git status` is clean without reading it.
    func add(_ path: String, entry: TreeEntry, files: WorkTreeFiles) throws {
        var info = stat()
        guard lstat(files.absolute(path), &info) == 0 else {
            throw GitError.posix("lstat '\(path)'", function: "Repository.publish")
        }
        guard let libgit2 else {
            written.append(IndexFile.NewEntry(path: Array(path.utf8), mode: entry.mode, id: entry.id, info: info, isSubmodule: entry.kind == .submodule))
            return
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
            try call("git_index_add") { git_index_add(libgit2.pointer, &raw) }
        }
    }

    /// Writes the index, which now holds what was published of `commit`.
    func write(publishing commit: OID, in repository: Repository) throws {
        if let libgit2 {
            // Brings the index's cached trees (its TREE extension) up to date before writing
            // it: only the folders that changed are hashed again. Without it the next process
            // found the root invalid and hashed every folder of the index to learn its tree
            // (0.14 s at 100,000 documents).
            var tree = git_oid()
            try call("git_index_write_tree") { git_index_write_tree(&tree, libgit2.pointer) }
            try call("git_index_write") { git_index_write(libgit2.pointer) }
            return
        }
        let root = try repository.tree(ofCommit: commit)
        try file!.write(removing: removed, writing: written) { folder in
            if folder.isEmpty { return root.id }
            guard let entry = try repository.entry(at: String(decoding: folder, as: UTF8.self), in: root), entry.kind == .folder else { return nil }
            return entry.id
        }
    }
}
