internal import CGit2
import Foundation

/// What a tree entry is. Only `.file` and `.executable` are read as files; a symlink or
/// a submodule is reported as what it is and never followed.
public enum EntryKind: String, Sendable, Hashable {
    /// A regular file (mode 100644).
    case file
    /// An executable file (mode 100755).
    case executable
    /// A symbolic link (mode 120000): its blob is the target path.
    case symlink
    /// A submodule (mode 160000): its id is a commit of another repository.
    case submodule
    /// A folder (mode 040000).
    case folder

    init(mode: UInt32) {
        switch mode {
        case 0o100755: self = .executable
        case 0o120000: self = .symlink
        case 0o160000: self = .submodule
        case 0o040000: self = .folder
        default: self = .file
        }
    }

    /// The git file mode of the kind (`0o100644` for a file).
    public var mode: UInt32 {
        switch self {
        case .file: 0o100644
        case .executable: 0o100755
        case .symlink: 0o120000
        case .submodule: 0o160000
        case .folder: 0o040000
        }
    }
}

/// One entry of a commit's tree, by its full path from the root.
public struct TreeEntry: Hashable, Sendable, CustomStringConvertible {
    /// The path from the root of the tree, `/`-separated.
    public var path: String
    /// The blob id (a file or symlink), commit id (a submodule) or tree id (a folder).
    public var id: OID
    /// What the entry is.
    public var kind: EntryKind

    /// Makes an entry.
    public init(path: String, id: OID, kind: EntryKind) {
        self.path = path
        self.id = id
        self.kind = kind
    }

    /// The git file mode, e.g. `0o100644`.
    public var mode: UInt32 { kind.mode }

    /// `mode id path`, as `git ls-tree` shows it (with a short id).
    public var description: String { "\(String(mode, radix: 8)) \(id.short) \(path)" }
}

/// A path whose entry differs between two trees.
public struct PathChange: Hashable, Sendable, CustomStringConvertible {
    /// The path from the root.
    public var path: String
    /// The entry before, `nil` when the path was added.
    public var old: TreeEntry?
    /// The entry after, `nil` when the path was removed.
    public var new: TreeEntry?

    /// How the path changed.
    public enum Kind: String, Sendable {
        /// The path is new.
        case added
        /// The path's id or kind changed.
        case modified
        /// The path is gone.
        case removed
    }

    /// Added, modified or removed.
    public var kind: Kind {
        old == nil ? .added : (new == nil ? .removed : .modified)
    }

    /// `added path`, `modified path` or `removed path`.
    public var description: String { "\(kind) \(path)" }
}

/// A tree entry that is not read as a path or written to the work tree, and why: a name git
/// refuses (see ``EntryName``), a symlink that would point out of the work tree, a file over
/// the work tree's size limit.
public struct SkippedEntry: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Kind: String, Sendable, Hashable {
        /// A name that ``EntryName`` refuses: the entry, and all below it, is skipped.
        case unsafeName
        /// A symlink whose target leaves the work tree (or cannot be checked).
        case unsafeSymlink
        /// A file over the work tree's size limit.
        case tooLarge
    }

    /// The entry's path from the root, as a person can read it (an unsafe name is shown with
    /// ``EntryName/display(_:)``); it is never used to reach a file.
    public var path: String
    /// What kind of problem it is.
    public var kind: Kind
    /// Why it was skipped.
    public var reason: String

    /// Makes a report.
    public init(path: String, kind: Kind, reason: String) {
        self.path = path
        self.kind = kind
        self.reason = reason
    }

    /// `path: reason`.
    public var description: String { "\(path): \(reason)" }

    public static func < (a: SkippedEntry, b: SkippedEntry) -> Bool { (a.path, a.reason) < (b.path, b.reason) }
}

extension Repository {
    /// Lists every file below `folder` (recursively) in the tree of `commit`, without a
    /// checkout, sorted by path. Symlinks and submodules are listed with their kind so
    /// that the caller can report them; folders are not listed. An entry whose name
    /// ``EntryName`` refuses is left out (with everything below it), never turned into a path.
    /// `folder` is `""` for the whole tree. A missing folder lists nothing.
    /// - Throws: `GitError` `.invalid` when `folder` is not a folder or not a clean path.
    public func files(in folder: String, at commit: OID) throws -> [TreeEntry] {
        var skipped: [SkippedEntry] = []
        return try files(in: folder, at: commit, skipped: &skipped)
    }

    /// ``files(in:at:)``, and the entries left out for their names, in `skipped`.
    public func files(in folder: String, at commit: OID, skipped: inout [SkippedEntry]) throws -> [TreeEntry] {
        let root = try tree(ofCommit: commit)
        let prefix = try Self.normalized(folder, allowRoot: true)
        let start: TreeHandle
        if prefix.isEmpty {
            start = root
        } else {
            guard let entry = try entry(at: prefix, in: root) else { return [] }
            guard entry.kind == .folder else {
                throw GitError(.invalid, "'\(prefix)' is a \(entry.kind), not a folder", function: "Repository.files")
            }
            start = try lookupTree(entry.id)
        }
        var result: [TreeEntry] = []
        try collect(start, prefix: prefix, into: &result, skipped: &skipped)
        return result.sorted { $0.path < $1.path }
    }

    private func collect(_ tree: TreeHandle, prefix: String, into result: inout [TreeEntry], skipped: inout [SkippedEntry]) throws {
        for entry in entries(of: tree, prefix: prefix, skipped: &skipped) {
            if entry.kind == .folder {
                try collect(try lookupTree(entry.id), prefix: entry.path, into: &result, skipped: &skipped)
            } else {
                result.append(entry)
            }
        }
    }

    /// The entries directly inside `tree`, their paths prefixed with `prefix/`. An entry
    /// whose name ``EntryName`` refuses is not listed: it goes to `skipped`.
    func entries(of tree: TreeHandle, prefix: String, skipped: inout [SkippedEntry]) -> [TreeEntry] {
        let count = git_tree_entrycount(tree.pointer)
        var result: [TreeEntry] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            if let entry = treeEntry(git_tree_entry_byindex(tree.pointer, index)!, prefix: prefix, skipped: &skipped) { result.append(entry) }
        }
        return result
    }

    /// One entry of a tree as a ``TreeEntry`` below `prefix`; `nil` (and a report in
    /// `skipped`) when ``EntryName`` refuses its name.
    private func treeEntry(_ entry: OpaquePointer, prefix: String, skipped: inout [SkippedEntry]) -> TreeEntry? {
        let cName = git_tree_entry_name(entry)!
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(cName).assumingMemoryBound(to: UInt8.self), count: strlen(cName))
        let kind = EntryKind(mode: git_tree_entry_filemode(entry).rawValue)
        if let problem = EntryName.problem(bytes, kind: kind) {
            let shown = EntryName.display(bytes)
            skipped.append(SkippedEntry(path: prefix.isEmpty ? shown : prefix + "/" + shown, kind: .unsafeName, reason: problem))
            return nil
        }
        let name = String(decoding: bytes, as: UTF8.self)
        return TreeEntry(path: prefix.isEmpty ? name : prefix + "/" + name, id: OID(git_tree_entry_id(entry)), kind: kind)
    }

    /// The entries of `tree` that `other` does not hold as they are (the same name, mode and
    /// id), as ``treeEntry(_:prefix:skipped:)`` makes them. Entries found unchanged make no
    /// `String`: in a folder of 1,000 files where one changed, one entry becomes a path,
    /// not 2,000.
    private func entries(of tree: TreeHandle, notIn other: TreeHandle?, prefix: String, skipped: inout [SkippedEntry]) -> [String: TreeEntry] {
        var result: [String: TreeEntry] = [:]
        forEachEntry(of: tree.pointer, differingFrom: other?.pointer) { entry, _ in
            if let made = treeEntry(entry, prefix: prefix, skipped: &skipped) { result[made.path] = made }
        }
        return result
    }

    /// The entry at `path` in the tree of `commit`, or `nil` when there is none.
    public func entry(at path: String, in commit: OID) throws -> TreeEntry? {
        try entry(at: Self.normalized(path, allowRoot: false), in: tree(ofCommit: commit))
    }

    func entry(at path: String, in tree: TreeHandle) throws -> TreeEntry? {
        var entry: OpaquePointer?
        let result = git_tree_entry_bypath(&entry, tree.pointer, path)
        if result == GIT_ENOTFOUND.rawValue {
            git_error_clear()
            return nil
        }
        if result < 0 { throw GitError.last(result, function: "git_tree_entry_bypath") }
        let owned = TreeEntryHandle(entry!)
        return TreeEntry(path: path, id: OID(git_tree_entry_id(owned.pointer)), kind: EntryKind(mode: git_tree_entry_filemode(owned.pointer).rawValue))
    }

    /// The bytes of blob `id`.
    /// - Throws: `GitError` `.notFound` when there is no blob with that id.
    public func readBlob(_ id: OID) throws -> Data {
        counters.blobsRead += 1
        releaseRemovedPacks()
        var raw = id.raw
        var blob: OpaquePointer?
        try call("git_blob_lookup") { git_blob_lookup(&blob, pointer, &raw) }
        let owned = BlobHandle(blob!)
        let size = Int(git_blob_rawsize(owned.pointer))
        guard size > 0, let bytes = git_blob_rawcontent(owned.pointer) else { return Data() }
        return Data(bytes: bytes, count: size)
    }

    /// Reads the regular file at `path` in the tree of `commit`, when its blob is at most
    /// `limit` (read from the object header first).
    /// - Throws: as ``readFile(_:at:)``, and `.tooLarge` without reading it.
    public func readFile(_ path: String, at commit: OID, limit: BlobSizeLimit) throws -> (entry: TreeEntry, contents: Data) {
        let clean = try Self.normalized(path, allowRoot: false)
        guard let entry = try entry(at: clean, in: tree(ofCommit: commit)) else {
            throw GitError(.notFound, "'\(clean)' does not exist in commit \(commit.short)", function: "Repository.readFile")
        }
        guard entry.kind == .file || entry.kind == .executable else {
            throw GitError(.notAFile, "'\(clean)' is a \(entry.kind) in commit \(commit.short), not a regular file; it is not followed", function: "Repository.readFile")
        }
        return (entry, try readBlob(entry.id, limit: limit))
    }

    /// Reads the regular file at `path` in the tree of `commit`.
    /// - Throws: `GitError` `.notFound` when there is nothing at `path`; `.notAFile` when
    ///   it is a symlink, a submodule or a folder (never followed); `.invalid` for a path
    ///   with `..`, `.` or empty components, or an absolute one.
    public func readFile(_ path: String, at commit: OID) throws -> (entry: TreeEntry, contents: Data) {
        let clean = try Self.normalized(path, allowRoot: false)
        guard let entry = try entry(at: clean, in: tree(ofCommit: commit)) else {
            throw GitError(.notFound, "'\(clean)' does not exist in commit \(commit.short)", function: "Repository.readFile")
        }
        guard entry.kind == .file || entry.kind == .executable else {
            throw GitError(.notAFile, "'\(clean)' is a \(entry.kind) in commit \(commit.short), not a regular file; it is not followed", function: "Repository.readFile")
        }
        return (entry, try readBlob(entry.id))
    }

    /// The paths whose entries differ between the trees of commits `old` (`nil`: the empty
    /// tree) and `new`, limited to `folder` (`""`: everywhere), sorted by path.
    ///
    /// Compares ids only: a subtree with the same id on both sides is skipped whole, and no
    /// blob is read. A folder replaced by a file shows as its files removed and the file added.
    ///
    /// An entry whose name ``EntryName`` refuses is left out on both sides (with everything
    /// below it): it never becomes a path.
    public func changes(from old: OID?, to new: OID, in folder: String = "") throws -> [PathChange] {
        let prefix = try Self.normalized(folder, allowRoot: true)
        let oldRoot = try old.map { try tree(ofCommit: $0) }
        let newRoot = try tree(ofCommit: new)
        var skipped: [SkippedEntry] = []
        return try changes(from: oldRoot, to: newRoot, in: prefix, skipped: &skipped)
    }

    /// The paths whose entries differ between the tree `old` (`nil`: the empty tree) and the
    /// tree of commit `new`, limited to `folder` (`""`: everywhere), sorted by path: what
    /// changed since a tree was last read, whatever the history between them (a rewritten
    /// branch included). Reads only the subtrees that differ.
    ///
    /// Entries left out for their names go to `skipped` when `new` adds or changes them, and
    /// to `skippedBefore` when it removes or changes them: an entry in both changed, one in
    /// `skippedBefore` only is gone, and one that did not change is in neither.
    public func changes(
        fromTree old: OID?, to new: OID, in folder: String = "", skipped: inout [SkippedEntry], skippedBefore: inout [SkippedEntry]
    ) throws -> [PathChange] {
        let prefix = try Self.normalized(folder, allowRoot: true)
        return try changes(from: old.map { try lookupTree($0) }, to: tree(ofCommit: new), in: prefix, skipped: &skipped, skippedBefore: &skippedBefore)
    }

    /// ``changes(fromTree:to:in:skipped:skippedBefore:)`` without the entries left out.
    public func changes(fromTree old: OID?, to new: OID, in folder: String = "") throws -> [PathChange] {
        var skipped: [SkippedEntry] = [], before: [SkippedEntry] = []
        return try changes(fromTree: old, to: new, in: folder, skipped: &skipped, skippedBefore: &before)
    }

    /// The id of the root tree of commit `id`.
    public func treeID(ofCommit id: OID) throws -> OID {
        try tree(ofCommit: id).id
    }

    /// Whether the object database holds the object `id`.
    public func hasObject(_ id: OID) -> Bool {
        var odb: OpaquePointer?
        guard git_repository_odb(&odb, pointer) == 0 else {
            git_error_clear()
            return false
        }
        defer { git_odb_free(odb) }
        var raw = id.raw
        return git_odb_exists(odb, &raw) == 1
    }

    /// The changes between two trees; entries of `newRoot` left out for their names go to
    /// `skipped` (those of `oldRoot` are dropped silently: they were never written).
    func changes(from oldRoot: TreeHandle?, to newRoot: TreeHandle?, in prefix: String, skipped: inout [SkippedEntry]) throws -> [PathChange] {
        var before: [SkippedEntry] = []
        return try changes(from: oldRoot, to: newRoot, in: prefix, skipped: &skipped, skippedBefore: &before)
    }

    private func changes(
        from oldRoot: TreeHandle?, to newRoot: TreeHandle?, in prefix: String, skipped: inout [SkippedEntry], skippedBefore: inout [SkippedEntry]
    ) throws -> [PathChange] {
        var result: [PathChange] = []
        if prefix.isEmpty {
            try compare(oldRoot, newRoot, prefix: prefix, into: &result, skipped: &skipped, skippedBefore: &skippedBefore)
        } else {
            // Compare the folder's ids first: an unchanged folder is not even looked up.
            func folder(_ root: TreeHandle?) throws -> TreeEntry? {
                guard let root, let entry = try entry(at: prefix, in: root), entry.kind == .folder else { return nil }
                return entry
            }
            let old = try folder(oldRoot), new = try folder(newRoot)
            if old?.id == new?.id { return [] }
            try compare(try old.map { try lookupTree($0.id) }, try new.map { try lookupTree($0.id) }, prefix: prefix, into: &result,
                        skipped: &skipped, skippedBefore: &skippedBefore)
        }
        return result.sorted { $0.path < $1.path }
    }

    private func compare(
        _ old: TreeHandle?, _ new: TreeHandle?, prefix: String, into result: inout [PathChange], skipped: inout [SkippedEntry],
        skippedBefore: inout [SkippedEntry]
    ) throws {
        if let old, let new, old.id == new.id { return }
        let before = old.map { entries(of: $0, notIn: new, prefix: prefix, skipped: &skippedBefore) } ?? [:]
        let after = new.map { entries(of: $0, notIn: old, prefix: prefix, skipped: &skipped) } ?? [:]
        for path in Set(before.keys).union(after.keys) {
            let a = before[path], b = after[path]
            if a == b { continue }
            let aTree = a?.kind == .folder ? try lookupTree(a!.id) : nil
            let bTree = b?.kind == .folder ? try lookupTree(b!.id) : nil
            if aTree != nil || bTree != nil {
                try compare(aTree, bTree, prefix: path, into: &result, skipped: &skipped, skippedBefore: &skippedBefore)
            }
            let aLeaf = a?.kind == .folder ? nil : a
            let bLeaf = b?.kind == .folder ? nil : b
            if aLeaf != nil || bLeaf != nil {
                result.append(PathChange(path: path, old: aLeaf, new: bLeaf))
            }
        }
    }

    /// Checks a repository path: relative, `/`-separated, every component a name that
    /// ``EntryName`` accepts (so no `.`, `..`, empty or `.git` component in any spelling).
    /// Trailing `/` is dropped.
    static func normalized(_ path: String, allowRoot: Bool) throws -> String {
        var trimmed = Substring(path)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty {
            if allowRoot { return "" }
            throw GitError(.invalid, "an empty path names no file", function: "Repository.normalized")
        }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts where EntryName.problem(part.utf8, kind: .file) != nil {
            throw GitError(.invalid, "'\(path)' is not a clean relative path inside the repository", function: "Repository.normalized")
        }
        return String(trimmed)
    }
}

/// Calls `body` with each entry of `tree` that `base` does not hold as it is (the same name,
/// kind, mode and id), and with the entry of `base` of the same name and kind when there is
/// one (`nil`: none, or no `base`). Both trees are in git's order, so `base` is walked along
/// with `tree` (`git_tree_entry_cmp`): one comparison or two an entry, no lookup. A tree out
/// of that order (written by hand) can only make more entries differ, never fewer.
func forEachEntry(of tree: OpaquePointer, differingFrom base: OpaquePointer?, _ body: (OpaquePointer, OpaquePointer?) throws -> Void) rethrows {
    let baseCount = base.map { git_tree_entrycount($0) } ?? 0
    var next = 0  // the first entry of the base not before the current one
    for index in 0..<git_tree_entrycount(tree) {
        guard let entry = git_tree_entry_byindex(tree, index) else { continue }
        var counterpart: OpaquePointer?
        if let base {
            while next < baseCount, let candidate = git_tree_entry_byindex(base, next), git_tree_entry_cmp(candidate, entry) < 0 { next += 1 }
            if next < baseCount, let candidate = git_tree_entry_byindex(base, next), git_tree_entry_cmp(candidate, entry) == 0 { counterpart = candidate }
        }
        if let counterpart, git_tree_entry_filemode(counterpart) == git_tree_entry_filemode(entry),
           git_oid_equal(git_tree_entry_id(counterpart), git_tree_entry_id(entry)) != 0 {
            continue
        }
        try body(entry, counterpart)
    }
}
