internal import CGit2
import Foundation
import Synchronization

/// Counts the consolidations in this process that deleted packs. libgit2 keeps every pack
/// that an object database has loaded, with its index mapped and its file open, until the
/// database is freed, even after the files are deleted; so each handle compares this with
/// what it saw, and on a change opens a fresh object database before its next read
/// (`releaseRemovedPacks`). Without it, a long-running process would keep every deleted
/// pack on disk and in its address space.
enum PackRemovals {
    static let generation = Atomic<Int>(0)
}

extension Repository {
    /// The default of `packLimit`: git's `gc.autoPackLimit` is 50; fewer packs keep a
    /// lookup of a missing object (which searches every pack's index) cheap.
    public static let defaultPackLimit = 32

    /// Files in `objects/pack` that a killed writer can leave (libgit2's `pack_git2_*`
    /// temporaries and their locks, git's `tmp_pack_*`, an `.idx` without its `.pack` or
    /// the other way round) are removed by a consolidation once they are this old: a live
    /// writer's files are seconds old.
    static let staleTemporaryAge: TimeInterval = 3600

    /// What `consolidatePacks` did.
    struct PackConsolidation: Equatable {
        /// Packs rolled into the new one (and deleted).
        var packs: Int
        /// Loose objects rolled into the new one (and deleted).
        var looseObjects: Int
        /// Objects in the new pack.
        var objects: Int
    }

    /// Rolls the smaller packs and every loose object into one new pack, then deletes them,
    /// so that the remaining packs grow geometrically (each at least twice the size of all
    /// the smaller ones together, as `git repack --geometric=2`) and at most `packLimit`
    /// are left. The big pack of a clone is rewritten only when the small ones together
    /// reach half its size, so the work stays proportional to what was added.
    ///
    /// Safe under concurrent readers and a crash at any point: nothing is deleted before the
    /// new pack and its index are durable (fsynced), and every deleted object is in it. A
    /// reader that had an old pack open keeps reading it (a deleted file stays readable
    /// while open); one that misses an object re-reads the pack folder (git and libgit2
    /// both do). Packs with a `.keep` file are left alone. A `multi-pack-index` (which
    /// would name deleted packs) is removed; git works without one.
    ///
    /// - Returns: what was rolled up, or `nil` when there was nothing to do.
    @discardableResult
    func consolidatePacks(in folder: PackFolder) throws -> PackConsolidation? {
        removeStaleTemporaries(in: folder)
        let packs = folder.packs().filter { !$0.kept }.sorted { ($0.objectCount, $0.name) < ($1.objectCount, $1.name) }
        let loose = folder.looseObjects()
        let rolled = Array(packs.prefix(Self.rollUpCount(objectCounts: packs.map(\.objectCount), looseObjects: loose.count, limit: packLimit)))
        if rolled.count + (loose.isEmpty ? 0 : 1) < 2 { return nil }  // one pack is already one

        var builder: OpaquePointer?
        try call("git_packbuilder_new") { git_packbuilder_new(&builder, pointer) }
        defer { git_packbuilder_free(builder) }
        /// Inserts `id`; false when no object has it any more (a person's `git gc` removed it).
        func insert(_ id: inout git_oid) throws -> Bool {
            let result = git_packbuilder_insert(builder, &id, nil)
            if result == GIT_ENOTFOUND.rawValue {
                git_error_clear()
                return false
            }
            if result < 0 { throw GitError.last(result, function: "git_packbuilder_insert") }
            return true
        }
        var rolledPacks: [PackFolder.Pack] = []
        for pack in rolled {
            guard let ids = try? folder.objectIDs(of: pack) else { continue }  // gone, or unreadable: left as it is
            for var id in ids { _ = try insert(&id) }
            rolledPacks.append(pack)
        }
        var rolledLoose: [String] = []
        for var object in loose where try insert(&object.id) {
            rolledLoose.append(object.path)
        }
        let objects = git_packbuilder_object_count(builder)
        if objects == 0 { return nil }
        let written = try writePack(builder!, in: folder)

        // The new pack is durable; from here on every deletion is of a copy.
        unlink(folder.path + "/multi-pack-index")
        for pack in rolledPacks where pack.name != written {
            for suffix in [".idx", ".pack", ".rev", ".bitmap", ".promisor", ".mtimes"] {
                unlink(folder.path + "/" + pack.name + suffix)
            }
        }
        for path in rolledLoose {
            unlink(path)
        }
        PackRemovals.generation.add(1, ordering: .releasing)
        releaseRemovedPacks()
        return PackConsolidation(packs: rolledPacks.count, looseObjects: rolledLoose.count, objects: objects)
    }

    /// Opens a fresh object database for this handle when a consolidation in this process
    /// deleted packs since it last looked (see `PackRemovals`); the old one, and the deleted
    /// packs it held, are freed. Not while a commit is being made (the staged objects live
    /// in the odb then; the commit consolidates before it starts). Best effort: when the
    /// fresh database cannot be opened, the old one stays, and reads work as before.
    func releaseRemovedPacks() {
        let current = PackRemovals.generation.load(ordering: .acquiring)
        guard current != seenPackRemovals, staging == nil, let objects = try? packFolder().objectsDirectory else { return }
        var fresh: OpaquePointer?
        guard git_odb_open(&fresh, objects) == 0 else {
            git_error_clear()
            return
        }
        git_repository_set_odb(pointer, fresh)
        git_odb_free(fresh)  // the repository holds its own reference
        seenPackRemovals = current
    }

    /// How many of the packs (object counts in ascending order) to roll up, with
    /// `looseObjects` loose objects, so that the packs left, with the new one, grow by at
    /// least a factor of two from each to the next, and no more than `limit` packs remain.
    static func rollUpCount(objectCounts: [Int], looseObjects: Int, limit: Int) -> Int {
        let factor = 2
        guard !objectCounts.isEmpty else { return 0 }
        // From the biggest down: the packs that already form the progression stay.
        var split = objectCounts.count - 1
        while split > 0 && objectCounts[split] >= factor * objectCounts[split - 1] {
            split -= 1
        }
        if split > 0 { split += 1 }
        // The new pack may be too big for the packs above it: roll those in as well.
        var total = looseObjects + objectCounts[..<split].reduce(0, +)
        while split < objectCounts.count && objectCounts[split] < factor * total {
            total += objectCounts[split]
            split += 1
        }
        return min(objectCounts.count, max(split, objectCounts.count - max(1, limit) + 1))
    }

    /// Removes what killed writers left in the pack folder, once it is `staleTemporaryAge` old.
    private func removeStaleTemporaries(in folder: PackFolder) {
        let names = folder.fileNames()
        let now = Date()
        for name in names {
            // libgit2 writes `pack_git2_<random>` and a lock beside it, git `tmp_pack_*`,
            // `tmp_idx_*`, …; a finished pack is `pack-<hex>.*`.
            let temporary = name.hasPrefix("pack_") || name.hasPrefix("tmp_")
            // Half a pack: libgit2 renames the `.pack` after the `.idx`, git the other way
            // round, and a consolidation deletes the `.idx` first.
            let half = (name.hasSuffix(".idx") && !names.contains(String(name.dropLast(4)) + ".pack"))
                || (name.hasSuffix(".pack") && !names.contains(String(name.dropLast(5)) + ".idx"))
            guard temporary || half else { continue }
            var info = stat()
            let path = folder.path + "/" + name
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            let modified = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec))
            if now.timeIntervalSince(modified) >= Self.staleTemporaryAge {
                unlink(path)
            }
        }
    }
}
