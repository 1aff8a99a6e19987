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
    /// - Throws: `GitError` `.invalid` for a bare repository; `.locked` when `index.lock`
    ///   exists (see `removeStaleLocks`); `.os` when a file cannot be written.
    @discardableResult
    public func publish(to commit: OID) throws -> PublishReport {
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
        for change in changes {
            guard let new = change.new else { continue }
            switch new.kind {
            case .file, .executable:
                try files.write(change.path, contents: try readBlob(new.id), executable: new.kind == .executable)
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

/// Atomic file operations below a work tree root; never follows a symlink on the way.
struct WorkTreeFiles {
    let root: String
    private static let counter = Counter()

    func absolute(_ path: String) -> String {
        root.hasSuffix("/") ? root + path : root + "/" + path
    }

    /// Writes `contents` to `path` through a temporary file, fsync and rename.
    func write(_ path: String, contents: Data, executable: Bool) throws {
        let target = absolute(path)
        try prepare(path)
        let temporary = temporaryName(for: target)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, executable ? 0o755 : 0o644)
        guard fd >= 0 else { throw GitError.posix("create '\(temporary)'", function: "Repository.publish") }
        var ok = contents.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
        ok = ok && fchmod(fd, executable ? 0o755 : 0o644) == 0 && fsync(fd) == 0
        let failure = ok ? nil : GitError.posix("write '\(temporary)'", function: "Repository.publish")
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        try commitRename(temporary, to: target)
    }

    /// Makes `path` a symlink to `target` (bytes of the blob), through a temporary name.
    func symlink(_ path: String, target: Data) throws {
        let destination = absolute(path)
        try prepare(path)
        let temporary = temporaryName(for: destination)
        let text = String(decoding: target, as: UTF8.self)
        guard Glibc.symlink(text, temporary) == 0 else {
            throw GitError.posix("symlink '\(temporary)'", function: "Repository.publish")
        }
        try commitRename(temporary, to: destination)
    }

    /// Makes `path` a (possibly empty) folder.
    func makeFolder(_ path: String) throws {
        try prepare(path)
        let target = absolute(path)
        var info = stat()
        if lstat(target, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return }
        unlink(target)
        guard mkdir(target, 0o755) == 0 else { throw GitError.posix("mkdir '\(target)'", function: "Repository.publish") }
    }

    /// Removes the file at `path`, then its folders that became empty.
    func remove(_ path: String) throws {
        let target = absolute(path)
        var info = stat()
        if lstat(target, &info) == 0 {
            let result = info.st_mode & S_IFMT == S_IFDIR ? rmdir(target) : unlink(target)
            if result != 0 && errno != ENOTEMPTY {
                throw GitError.posix("remove '\(target)'", function: "Repository.publish")
            }
            syncFolder(parent(of: target))
        }
        var folder = parent(of: path)
        while !folder.isEmpty, rmdir(absolute(folder)) == 0 {
            folder = parent(of: folder)
        }
    }

    /// Makes every folder on the way to `path` a real folder (replacing a file or a
    /// symlink in the way), and clears a folder left where `path` itself goes.
    private func prepare(_ path: String) throws {
        var current = ""
        for component in path.split(separator: "/").dropLast() {
            current = current.isEmpty ? String(component) : current + "/" + component
            let folder = absolute(current)
            var info = stat()
            if lstat(folder, &info) == 0 {
                if info.st_mode & S_IFMT == S_IFDIR { continue }
                guard unlink(folder) == 0 else { throw GitError.posix("unlink '\(folder)'", function: "Repository.publish") }
            }
            guard mkdir(folder, 0o755) == 0 else { throw GitError.posix("mkdir '\(folder)'", function: "Repository.publish") }
        }
        var info = stat()
        let target = absolute(path)
        if lstat(target, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, rmdir(target) != 0 {
            throw GitError.posix("replace folder '\(target)' by a file", function: "Repository.publish")
        }
    }

    private func commitRename(_ temporary: String, to target: String) throws {
        guard rename(temporary, target) == 0 else {
            let error = GitError.posix("rename '\(temporary)' to '\(target)'", function: "Repository.publish")
            unlink(temporary)
            throw error
        }
        syncFolder(parent(of: target))
    }

    private func syncFolder(_ folder: String) {
        let fd = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    private func temporaryName(for target: String) -> String {
        let folder = parent(of: target)
        let name = target.split(separator: "/").last.map(String.init) ?? "file"
        return "\(folder)/.\(name).indexops-\(getpid())-\(Self.counter.next())"
    }

    private func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}

/// A process-wide counter for unique temporary names.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
