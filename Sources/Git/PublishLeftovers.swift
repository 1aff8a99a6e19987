import Foundation

extension Repository {
    /// Removes the temporary files a killed ``publish(to:known:)`` left in the work tree
    /// (`.<name>.indexops-<pid>-<n>`, written before their renames) and returns their paths,
    /// relative to the work tree. A publish stages every file of a commit before renaming
    /// any, so a kill -9 between the two leaves them, untracked, until removed here.
    ///
    /// Call it only while no other process publishes to this work tree (the controller holds
    /// its lock): every such file is then a leftover. Temporaries of this process are kept.
    /// Walks the whole work tree (not `.git`), never following a symlink: once per start.
    ///
    /// - Throws: `GitError` `.os` when a leftover cannot be removed.
    public func removeLeftoverPublishFiles() throws -> [String] {
        guard let workDirectory else { return [] }
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
        return removed.sorted()
    }

    /// Whether `name` is a publish temporary: `.<name>.indexops-<digits>-<digits>`.
    static func isPublishTemporary(_ name: String) -> Bool {
        guard name.hasPrefix("."), let marker = name.range(of: ".indexops-", options: .backwards), marker.lowerBound > name.index(after: name.startIndex)
        else { return false }
        let numbers = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        return numbers.count == 2 && numbers.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }
}
