internal import CGit2
import Foundation

extension Repository {
    /// Runs `body` with every object it writes held in memory (`StagedObjects`), then
    /// writes the new objects reachable from the commit that `body` returns into one pack:
    /// one `.pack` and its `.idx`, each fsynced, and the pack folder fsynced, before this
    /// returns. No loose object is written. Moves no reference: the caller moves the branch
    /// after this returns, so a crash leaves either nothing new or a durable pack that no
    /// reference names yet (which git accepts).
    ///
    /// First, when the pack folder holds more than `packLimit` packs, consolidates them
    /// (`consolidatePacks`).
    ///
    /// - Parameter body: makes the objects (through `writeBlob`, `apply`, `writeCommit`)
    ///   and returns the new tip, or `nil` when there is nothing to write.
    /// - Returns: what `body` returned.
    func writingOnePack(_ body: () throws -> OID?) throws -> OID? {
        guard staging == nil else {
            fatalError("Repository.writingOnePack: nested calls (one pack per commit is written at the outermost)")
        }
        let folder = try packFolder()
        if folder.packCount() > packLimit {
            try consolidatePacks(in: folder)
        }
        let staged = try StagedObjects(objectsDirectory: folder.objectsDirectory)
        var own: OpaquePointer?
        try call("git_repository_odb") { git_repository_odb(&own, pointer) }
        defer { git_odb_free(own) }
        try call("git_repository_set_odb") { git_repository_set_odb(pointer, staged.odb) }
        staging = staged
        defer {
            staging = nil
            // Cannot fail: it only swaps a pointer (and takes a reference).
            git_repository_set_odb(pointer, own)
        }
        guard let tip = try body() else { return nil }
        try writePack(reachableFrom: tip, staged: staged, in: folder)
        // Our own handle sees the new pack at once, not only on its next miss.
        try call("git_odb_refresh") { git_odb_refresh(own) }
        return tip
    }

    /// Writes the staged objects reachable from `tip` as one pack in `folder`.
    ///
    /// The walk enters only objects that are in memory: an object on disk is older than
    /// this commit and so is everything it refers to. libgit2's `git_mempack_dump` is not
    /// used: in 1.5 it inserts each commit with its whole tree, so every commit would
    /// re-pack every file of the repository.
    private func writePack(reachableFrom tip: OID, staged: StagedObjects, in folder: PackFolder) throws {
        var builder: OpaquePointer?
        try call("git_packbuilder_new") { git_packbuilder_new(&builder, pointer) }
        defer { git_packbuilder_free(builder) }
        if try insertStaged(from: tip, staged: staged, into: builder!) > 0 {
            _ = try writePack(builder!, in: folder)
        }
    }

    /// Writes the objects inserted into `builder` as one pack in `folder`; returns its name
    /// (`pack-<hex>`). When this returns, the `.pack`, its `.idx` and the folder are fsynced.
    ///
    /// The pack is made in memory and handed to the indexer in one piece:
    /// `git_packbuilder_write` feeds it object by object, and the indexer then maps and
    /// unmaps the growing file once per object (40,000 `mmap` and `munmap` calls for 20,000
    /// files, and 1.7 times the CPU time).
    func writePack(_ builder: OpaquePointer, in folder: PackFolder) throws -> String {
        var pack = git_buf()
        try call("git_packbuilder_write_buf") { git_packbuilder_write_buf(&pack, builder) }
        defer { git_buf_dispose(&pack) }
        mkdir(folder.path, 0o755)  // git and libgit2 make it with the repository; EEXIST is the rule
        var options = git_indexer_options()
        try call("git_indexer_options_init") { git_indexer_options_init(&options, UInt32(GIT_INDEXER_OPTIONS_VERSION)) }
        var indexer: OpaquePointer?
        try call("git_indexer_new") { git_indexer_new(&indexer, folder.path, 0, nil, &options) }
        defer { git_indexer_free(indexer) }
        var progress = git_indexer_progress()
        try call("git_indexer_append") { git_indexer_append(indexer, pack.ptr, pack.size, &progress) }
        // Writes and fsyncs `<name>.idx`, then fsyncs `<name>.pack` and renames it into
        // place, then fsyncs the folder: LibGit2.initialized turned on
        // GIT_OPT_ENABLE_FSYNC_GITDIR. Until the `.pack` is there, git and libgit2 ignore
        // the `.idx`.
        try call("git_indexer_commit") { git_indexer_commit(indexer, &progress) }
        return "pack-" + String(cString: git_indexer_name(indexer))
    }

    /// Inserts into `builder` the staged commits from `tip` down through its staged parents,
    /// their staged trees and blobs; returns how many objects it inserted.
    private func insertStaged(from tip: OID, staged: StagedObjects, into builder: OpaquePointer) throws -> Int {
        var count = 0
        var visitedTrees = Set<OID>()
        var commits = [tip]
        while let id = commits.popLast() {
            var raw = id.raw
            guard staged.contains(&raw) else { continue }
            try call("git_packbuilder_insert") { git_packbuilder_insert(builder, &raw, nil) }
            count += 1
            let commit = try lookupCommit(id)
            count += try insertStaged(tree: git_commit_tree_id(commit.pointer), name: nil, staged: staged, into: builder, visited: &visitedTrees)
            for index in 0..<git_commit_parentcount(commit.pointer) {
                commits.append(OID(git_commit_parent_id(commit.pointer, index)))
            }
        }
        return count
    }

    private func insertStaged(
        tree id: UnsafePointer<git_oid>, name: UnsafePointer<CChar>?, staged: StagedObjects,
        into builder: OpaquePointer, visited: inout Set<OID>
    ) throws -> Int {
        guard staged.contains(id), visited.insert(OID(id)).inserted else { return 0 }
        try call("git_packbuilder_insert") { git_packbuilder_insert(builder, id, name) }
        var count = 1
        var tree: OpaquePointer?
        try call("git_tree_lookup") { git_tree_lookup(&tree, pointer, id) }
        let handle = TreeHandle(tree!)
        for index in 0..<git_tree_entrycount(handle.pointer) {
            let entry = git_tree_entry_byindex(handle.pointer, index)
            let entryID = git_tree_entry_id(entry)!
            let entryName = git_tree_entry_name(entry)
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE:
                count += try insertStaged(tree: entryID, name: entryName, staged: staged, into: builder, visited: &visited)
            case GIT_OBJECT_BLOB where staged.contains(entryID):
                try call("git_packbuilder_insert") { git_packbuilder_insert(builder, entryID, entryName) }
                count += 1
            default:
                continue  // a blob on disk, or a submodule's commit (another repository's)
            }
        }
        return count
    }
}
