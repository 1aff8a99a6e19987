import Foundation

/// Atomic file operations below a work tree root; never follows a symlink on the way, and
/// writes no path with a component that ``EntryName`` refuses (a second line of defence:
/// tree reads never make such a path).
struct WorkTreeFiles {
    let root: String
    private static let counter = Counter()

    func absolute(_ path: String) -> String {
        root.hasSuffix("/") ? root + path : root + "/" + path
    }

    /// A file written under a temporary name, waiting for its rename.
    struct Staged {
        let temporary: String
        let target: String
    }

    /// Writes many files: each to a temporary file, then one `syncfs` for all of them, then
    /// each rename, then one fsync per folder. Readers see the old file or the new one,
    /// never a part, as with ``write(_:contents:executable:)``, for two syncs per folder
    /// rather than two per file. `contents` is called once per file, one file at a time,
    /// with the path and the sink to write the file's bytes to (so only one file's bytes
    /// need be in memory). `then` runs after each rename (to record the file). Whatever
    /// fails, no temporary file is left behind.
    func writeAll(
        _ files: [(path: String, executable: Bool)],
        contents: (String, FileSink) throws -> Void,
        then: (String) throws -> Void
    ) throws {
        var staged: [(path: String, file: Staged)] = []
        do {
            for file in files {
                staged.append((file.path, try stage(file.path, executable: file.executable, sync: false) { sink in
                    try contents(file.path, sink)
                }))
            }
        } catch {
            for item in staged { unlink(item.file.temporary) }
            throw error
        }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            let synced = syncFileSystem(fd)
            close(fd)
            guard synced == 0 else {
                for item in staged { unlink(item.file.temporary) }
                throw GitError.posix("syncfs '\(root)'", function: "Repository.publish")
            }
        }
        var folders = Set<String>()
        for (index, item) in staged.enumerated() {
            do {
                guard rename(item.file.temporary, item.file.target) == 0 else {
                    throw GitError.posix("rename '\(item.file.temporary)' to '\(item.file.target)'", function: "Repository.publish")
                }
                folders.insert(parent(of: item.file.target))
                try then(item.path)
            } catch {
                for rest in staged[index...] { unlink(rest.file.temporary) }
                for folder in folders.sorted() { syncFolder(folder) }
                throw error
            }
        }
        for folder in folders.sorted() { syncFolder(folder) }
    }

    /// Writes `contents` to `path` through a temporary file, fsync and rename.
    func write(_ path: String, contents: Data, executable: Bool) throws {
        let file = try stage(path, executable: executable, sync: true) { sink in
            try contents.withUnsafeBytes { try sink.write($0) }
        }
        try commitRename(file.temporary, to: file.target)
    }

    /// Where a file's bytes go: an open temporary file.
    struct FileSink {
        fileprivate let fd: Int32
        fileprivate let name: String

        /// Appends `bytes` to the file.
        /// - Throws: `GitError` `.os` when the write fails.
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw GitError.posix("write '\(name)'", function: "Repository.publish")
                }
                offset += written
            }
        }
    }

    /// Writes the bytes that `fill` hands to its sink into a temporary file beside `path`
    /// (fsynced when `sync`); the temporary file is removed when anything fails.
    private func stage(_ path: String, executable: Bool, sync: Bool, fill: (FileSink) throws -> Void) throws -> Staged {
        let target = absolute(path)
        try prepare(path)
        let temporary = temporaryName(for: target)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, executable ? 0o755 : 0o644)
        guard fd >= 0 else { throw GitError.posix("create '\(temporary)'", function: "Repository.publish") }
        do {
            try fill(FileSink(fd: fd, name: temporary))
            guard fchmod(fd, executable ? 0o755 : 0o644) == 0, !sync || fsync(fd) == 0 else {
                throw GitError.posix("write '\(temporary)'", function: "Repository.publish")
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        return Staged(temporary: temporary, target: target)
    }

    /// Makes `path` a symlink to `target` (bytes of the blob, checked by the caller with
    /// ``EntryName/symlinkTargetProblem(_:at:)``), through a temporary name.
    func symlink(_ path: String, target: [UInt8]) throws {
        let destination = absolute(path)
        try prepare(path)
        let temporary = temporaryName(for: destination)
        let made = (target + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { Glibc.symlink($0.baseAddress!, temporary) }
        }
        guard made == 0 else {
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
        try check(path)
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
        try check(path)
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

    /// Refuses a path with a component that ``EntryName`` refuses.
    private func check(_ path: String) throws {
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if let problem = EntryName.problem(component.utf8, kind: .file) {
                throw GitError(.invalid, "refusing to touch '\(path)' in the work tree: \(problem)", function: "Repository.publish")
            }
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

/// `syncfs(2)`, which Swift's Glibc module does not declare: looked up by name, with
/// `sync(2)` (every file system) where it is missing.
private nonisolated(unsafe) let syncfsFunction: (@convention(c) (Int32) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
}()

private func syncFileSystem(_ fd: Int32) -> Int32 {
    if let syncfsFunction { return syncfsFunction(fd) }
    sync()
    return 0
}
