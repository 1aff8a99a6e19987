internal import CGit2
import Foundation

/// How a repository stores its objects: what `git count-objects -v` reports as `packs`,
/// `in-pack` and `count`.
public struct ObjectStoreCounts: Sendable, Equatable, CustomStringConvertible {
    /// Packs in `objects/pack` (a `.pack` with its `.idx`).
    public var packs: Int
    /// Objects in those packs; an object in two packs counts twice.
    public var packedObjects: Int
    /// Loose objects: one file each in `objects/xx/`.
    public var looseObjects: Int

    /// Makes a value.
    public init(packs: Int, packedObjects: Int, looseObjects: Int) {
        self.packs = packs
        self.packedObjects = packedObjects
        self.looseObjects = looseObjects
    }

    /// `3 packs (120 objects), 0 loose objects`.
    public var description: String { "\(packs) packs (\(packedObjects) objects), \(looseObjects) loose objects" }
}

/// The object folder of a repository as files: its packs and its loose objects. Reads
/// only file names and pack index files; never an object.
struct PackFolder {
    /// The `objects` folder, without a trailing `/`.
    let objectsDirectory: String

    /// `objects/pack`.
    var path: String { objectsDirectory + "/pack" }

    /// One pack: `<name>.pack` and its index `<name>.idx`.
    struct Pack: Equatable {
        /// `pack-<hex>`.
        var name: String
        /// The objects it holds, from its index.
        var objectCount: Int
        /// Whether a `<name>.keep` file asks that it be left alone.
        var kept: Bool
    }

    /// The names in the pack folder (none when it does not exist yet).
    func fileNames() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
    }

    /// How many packs there are: one directory listing.
    func packCount() -> Int {
        let names = fileNames()
        return names.filter { $0.hasSuffix(".idx") && names.contains(String($0.dropLast(4)) + ".pack") }.count
    }

    /// Every pack with a readable index and a pack file, in name order.
    func packs() -> [Pack] {
        let names = fileNames()
        return names.filter { $0.hasSuffix(".idx") }.sorted().compactMap { file in
            let name = String(file.dropLast(4))
            guard names.contains(name + ".pack") else { return nil }  // being written, or left by a crash
            // Deleted meanwhile, or damaged (then git and libgit2 cannot use it either).
            guard let index = try? PackIndex(path: path + "/" + file, header: true) else { return nil }
            return Pack(name: name, objectCount: index.objectCount, kept: names.contains(name + ".keep"))
        }
    }

    /// The ids of the objects in `pack`, from its index.
    func objectIDs(of pack: Pack) throws -> [git_oid] {
        try PackIndex(path: path + "/" + pack.name + ".idx", header: false).ids()
    }

    /// The loose objects: their ids and files.
    func looseObjects() -> [(id: git_oid, path: String)] {
        var result: [(git_oid, String)] = []
        let manager = FileManager.default
        for byte in 0..<256 {
            let fanOut = String(format: "%02x", byte)
            let folder = objectsDirectory + "/" + fanOut
            for name in (try? manager.contentsOfDirectory(atPath: folder)) ?? [] where name.utf8.count == 38 {
                var id = git_oid()
                if git_oid_fromstrn(&id, fanOut + name, 40) == 0 {
                    result.append((id, folder + "/" + name))
                } else {
                    git_error_clear()
                }
            }
        }
        return result
    }
}

extension Repository {
    /// Counts the packs, the objects in them and the loose objects: one listing of the
    /// pack folder, each index's header, and a listing of the 256 loose-object folders.
    /// No object is read.
    public func objectStoreCounts() throws -> ObjectStoreCounts {
        let folder = try packFolder()
        let packs = folder.packs()
        return ObjectStoreCounts(packs: packs.count, packedObjects: packs.reduce(0) { $0 + $1.objectCount }, looseObjects: folder.looseObjects().count)
    }

    /// The repository's object folder (the common one of a linked work tree).
    func packFolder() throws -> PackFolder {
        var buffer = git_buf()
        try call("git_repository_item_path") { git_repository_item_path(&buffer, pointer, GIT_REPOSITORY_ITEM_OBJECTS) }
        defer { git_buf_dispose(&buffer) }
        var path = String(cString: buffer.ptr)
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return PackFolder(objectsDirectory: path)
    }
}
