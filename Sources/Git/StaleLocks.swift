import Foundation

/// A `*.lock` file that `removeStaleLocks` deleted: the log says so.
public struct RemovedLock: Sendable, Equatable, CustomStringConvertible {
    /// The lock file's path.
    public var path: String
    /// When it was last modified (about when the process that left it took the lock).
    public var modified: Date

    /// The log line.
    public var description: String { "removed stale lock '\(path)' (last modified \(modified))" }
}

extension Repository {
    /// Removes the `*.lock` files in the git directory (`index.lock`, `HEAD.lock`,
    /// `refs/heads/main.lock`, `packed-refs.lock`, reflog locks, …) that a killed process left,
    /// and the pack temporaries of `objects/pack` (libgit2's `pack_git2_*`, git's `tmp_pack_*`
    /// and `tmp_idx_*`) that a kill -9 in the middle of a pack write leaves.
    ///
    /// A lock is stale only when both hold: no live process has it open (every
    /// `/proc/<pid>/fd/*` is compared by device and inode), and it was last modified at
    /// least `minimumAge` before `now`. The age covers the instant when git has closed a
    /// lock file but not yet renamed it, and processes whose descriptors this user cannot
    /// see. Call it before a pass, not during one of ours.
    ///
    /// - Returns: the locks removed, for the log.
    /// - Throws: `GitError` `.os` when a stale lock cannot be removed.
    public func removeStaleLocks(minimumAge: Duration = .seconds(60), now: Date = Date()) throws -> [RemovedLock] {
        let gitDirectory = self.gitDirectory
        var candidates: [(path: String, modified: Date, dev: UInt64, ino: UInt64)] = []
        func consider(_ path: String, packTemporary: Bool = false) {
            var info = stat()
            guard path.hasSuffix(".lock") || packTemporary, lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return }
            let modified = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
            guard now.timeIntervalSince(modified) >= minimumAge.seconds else { return }
            candidates.append((path, modified, UInt64(info.st_dev), UInt64(info.st_ino)))
        }
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: gitDirectory)) ?? [] {
            consider(gitDirectory + name)
        }
        for folder in ["refs", "logs"] {
            let base = gitDirectory + folder
            guard let walker = manager.enumerator(atPath: base) else { continue }
            while let relative = walker.nextObject() as? String {
                consider(base + "/" + relative)
            }
        }
        let packs = gitDirectory + "objects/pack"
        for name in (try? manager.contentsOfDirectory(atPath: packs)) ?? [] {
            consider(packs + "/" + name, packTemporary: ["pack_git2_", "tmp_pack_", "tmp_idx_"].contains { name.hasPrefix($0) })
        }
        if candidates.isEmpty { return [] }
        let open = Self.openFiles()
        var removed: [RemovedLock] = []
        for candidate in candidates where !open.contains(FileIdentity(dev: candidate.dev, ino: candidate.ino)) {
            guard unlink(candidate.path) == 0 || errno == ENOENT else {
                throw GitError.posix("remove stale lock '\(candidate.path)'", function: "Repository.removeStaleLocks")
            }
            removed.append(RemovedLock(path: candidate.path, modified: candidate.modified))
        }
        return removed.sorted { $0.path < $1.path }
    }

    struct FileIdentity: Hashable {
        var dev: UInt64
        var ino: UInt64
    }

    /// The device and inode of every file that a visible process has open.
    static func openFiles() -> Set<FileIdentity> {
        var result = Set<FileIdentity>()
        let manager = FileManager.default
        for pid in (try? manager.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
            let folder = "/proc/\(pid)/fd"
            for fd in (try? manager.contentsOfDirectory(atPath: folder)) ?? [] {
                var info = stat()
                if stat(folder + "/" + fd, &info) == 0 {
                    result.insert(FileIdentity(dev: UInt64(info.st_dev), ino: UInt64(info.st_ino)))
                }
            }
        }
        return result
    }
}
