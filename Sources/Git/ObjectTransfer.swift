internal import CGit2
import Foundation

extension Repository {
    /// Copies into `target` (a repository on this machine) the objects reachable from `tip`
    /// that are not reachable from `hidden` and that `target` lacks, as one pack (fsynced,
    /// see `writePack`), and makes `target`'s handle see it. Returns how many objects it
    /// copied. `hidden` are commits whose every object `target` holds (its branches); those
    /// this repository does not have are ignored.
    ///
    /// - Returns: the objects copied, and the trees of this repository read to find them.
    ///
    /// Finds the objects by comparing trees, not by walking them: each commit that `tip`
    /// brings is compared with its first parent's tree, and a subtree with the same id at
    /// the same path is not entered. So one edited file in a repository of 300,000 costs
    /// the few trees on its path. libgit2's `git_packbuilder_insert_walk` (which its local
    /// transport uses for a fetch, and a push used before) first marks every tree and blob
    /// of each hidden commit as uninteresting: a walk of the whole tree, 0.2–1 s at
    /// 100,000 documents whatever the change.
    ///
    /// Why the comparison finds them all: an object of a new commit's tree is either where
    /// its parent's tree has it (and the parent is hidden, so `target` holds it, or is new
    /// and compared in turn) or it is reached through a subtree that differs and is entered.
    /// Every entry is copied whatever its name: checking names is for whoever reads the
    /// tree, and a tree whose entries were left out would leave `target` incomplete.
    @discardableResult
    func copyObjects(reachableFrom tip: OID, hiding hidden: [OID], to target: Repository) throws -> (objects: Int, treesRead: Int) {
        releaseRemovedPacks()
        target.releaseRemovedPacks()
        var targetODB: OpaquePointer?
        try call("git_repository_odb") { git_repository_odb(&targetODB, target.pointer) }
        let odb = ODBHandle(targetODB!)
        var builder: OpaquePointer?
        try call("git_packbuilder_new") { git_packbuilder_new(&builder, pointer) }
        defer { git_packbuilder_free(builder) }
        var copy = ObjectCopy(builder: builder!, target: odb)
        for commit in try commits(from: tip, hiding: [], alsoHiding: hidden.filter(hasObject), oldestFirst: false) {
            try copy.insert(commit, name: nil)
            let handle = try lookupCommit(commit)
            var base: OID?
            if git_commit_parentcount(handle.pointer) > 0 {
                base = OID(git_commit_tree_id(try lookupCommit(OID(git_commit_parent_id(handle.pointer, 0))).pointer))
            }
            try copy.insertTree(OID(git_commit_tree_id(handle.pointer)), base: base, name: nil, in: self)
        }
        guard copy.count > 0 else { return (0, copy.treesRead) }
        _ = try writePack(builder!, in: target.packFolder())
        try call("git_odb_refresh") { git_odb_refresh(odb.pointer) }
        return (copy.count, copy.treesRead)
    }
}

/// The objects chosen for one copy, inserted into a pack builder of the source repository.
private struct ObjectCopy {
    let builder: OpaquePointer
    let target: ODBHandle
    private var seen = Set<OID>()
    private(set) var count = 0
    private(set) var treesRead = 0

    init(builder: OpaquePointer, target: ODBHandle) {
        self.builder = builder
        self.target = target
    }

    /// Inserts `id` unless it was inserted already or the target has it; returns whether
    /// it was new to this copy.
    @discardableResult
    mutating func insert(_ id: OID, name: UnsafePointer<CChar>?) throws -> Bool {
        guard seen.insert(id).inserted else { return false }
        var raw = id.raw
        if git_odb_exists(target.pointer, &raw) == 1 { return true }
        try call("git_packbuilder_insert") { git_packbuilder_insert(builder, &raw, name) }
        count += 1
        return true
    }

    /// Inserts tree `id` and what it holds that `base` (the tree at the same path in the
    /// parent commit; `nil`: none) does not hold at the same path.
    mutating func insertTree(_ id: OID, base: OID?, name: UnsafePointer<CChar>?, in repository: Repository) throws {
        guard id != base, try insert(id, name: name) else { return }
        let tree = try lookUp(id, in: repository)
        let baseTree = try base.map { try lookUp($0, in: repository) }
        // The handles own the entries the walk hands out: alive until it ends.
        try withExtendedLifetime((tree, baseTree)) {
            try forEachEntry(of: tree.pointer, differingFrom: baseTree?.pointer) { entry, old in
                // Only the mode changed: the object is had. (An `OID` is made only for what
                // differs: it holds hex text.)
                if let old, git_oid_equal(git_tree_entry_id(old), git_tree_entry_id(entry)) != 0 { return }
                let entryID = OID(git_tree_entry_id(entry))
                let entryName = git_tree_entry_name(entry)
                switch git_tree_entry_type(entry) {
                case GIT_OBJECT_TREE:
                    let oldTree = old.flatMap { git_tree_entry_type($0) == GIT_OBJECT_TREE ? OID(git_tree_entry_id($0)) : nil }
                    try insertTree(entryID, base: oldTree, name: entryName, in: repository)
                case GIT_OBJECT_BLOB:
                    try insert(entryID, name: entryName)
                default:
                    return  // a submodule's commit lives in another repository
                }
            }
        }
    }

    /// Looks a tree up, counted here and not in `Repository.counters`: a copy is not a
    /// read of the pass.
    private mutating func lookUp(_ id: OID, in repository: Repository) throws -> TreeHandle {
        var raw = id.raw
        var tree: OpaquePointer?
        try call("git_tree_lookup") { git_tree_lookup(&tree, repository.pointer, &raw) }
        treesRead += 1
        return TreeHandle(tree!)
    }
}
