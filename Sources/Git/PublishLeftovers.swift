import Foundation

extension Repository {
    /// Removes the temporary files a killed ``publish(to:known:)`` or ``mirror(folder:of:previous:)``
    /// left in the work tree (`.<name>.indexops-<pid>-<n>`, written before their renames)
    /// and returns their paths, relative to the work tree. A publish stages every file of a
    /// commit before renaming any, so a kill -9 between the two leaves them, untracked,
    /// until removed here.
    ///
    /// Walks the work tree only when a publish did not finish: each one makes the marker
    /// `<git dir>/indexops-publishing` before it writes into the work tree and removes it
    /// when it is done. Otherwise this costs one `lstat`, where the walk took 0.7 s of each
    /// start at 100,000 documents. The marker is made before any temporary, so a kill that
    /// leaves a temporary leaves the marker; the publish's `syncfs` makes both durable
    /// before any rename. The walk never enters `.git` nor follows a symlink; the marker is
    /// removed after it.
    ///
    /// Call it only while no other process publishes to this work tree (the controller holds
    /// its lock): every such file is then a leftover. Temporaries of this process are kept.
    ///
    /// - Throws: `GitError` `.os` when a leftover cannot be removed.
    public func removeLeftoverPublishFiles() throws -> [String] {
        guard let workDirectory else { return [] }
        var marker = stat()
        guard lstat(publishMarker, &marker) == 0 else { return [] }
        let own = ".indexops-\(getpid())-"
        var removed: [String] = []
        var folders = [""]
        while let folder = folders.popLast() {
            let absolute = folder.isEmpty ? workDirectory : workDirectory + "/" + folder
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: absolute) else { continue }
            for name in names where !(folder.isEmpty && name == ".git") {
                let path = folder.isEmpty ? name : folder + "/" + name
                var info = stat()
                guard lstat(absolute + "/" + name, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFDIR {
                    folders.append(path)
                } else if Self.isPublishTemporary(name), !name.contains(own) {
                    guard unlink(absolute + "/" + name) == 0 || errno == ENOENT else {
                        throw GitError.posix("remove '\(path)'", function: "Repository.removeLeftoverPublishFiles")
                    }
                    removed.append(path)
                }
            }
        }
        unlink(publishMarker)
        return removed.sorted()
    }

    /// The marker of a publish in progress (see ``removeLeftoverPublishFiles()``).
    var publishMarker: String { gitDirectory + "indexops-publishing" }

    /// Runs `body`, which writes into the work tree, with the publish marker in place; the
    /// marker stays when `body` throws (its temporaries are removed, but the next start
    /// looks all the same).
    func markingPublish<T>(_ body: () throws -> T) throws -> T {
        let fd = Glibc.open(publishMarker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw GitError.posix("create '\(publishMarker)'", function: "Repository.publish") }
        close(fd)
        let result = try body()
        unlink(publishMarker)
        return result
    }

    /// Whether `name` is a publish temporary: `.<name>.indexops-<digits>-<digits>`.
    static func isPublishTemporary(_ name: String) -> Bool {
        guard name.hasPrefix("."), let marker = name.range(of: ".indexops-", options: .backwards), marker.lowerBound > name.index(after: name.startIndex)
        else { return false }
        let numbers = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        return numbers.count == 2 && numbers.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }
}
