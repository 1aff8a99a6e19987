internal import CGit2
import Foundation

/// A commit that changed a path, as `indexops history` shows it.
public struct HistoryEntry: Sendable, Hashable {
    /// The commit.
    public var commit: OID
    /// Who wrote the change, and when.
    public var author: Signature
    /// Who committed it, and when.
    public var committer: Signature
    /// The full commit message.
    public var message: String
    /// The path's blob at this commit; `nil` when the commit removed it.
    public var blob: OID?

    /// The message's first line.
    public var summary: String {
        String(message.prefix { $0 != "\n" })
    }
}

extension Repository {
    /// The commits that changed `path`, newest first, walking from `commit` along first
    /// parents (a merge counts when it differs from its first parent, as in
    /// `git log --first-parent`). Reads trees only, never blobs.
    /// - Parameter limit: at most this many entries.
    public func history(of path: String, from commit: OID, limit: Int? = nil) throws -> [HistoryEntry] {
        let clean = try Self.normalized(path, allowRoot: false)
        releaseRemovedPacks()
        var walk: OpaquePointer?
        try call("git_revwalk_new") { git_revwalk_new(&walk, pointer) }
        let handle = RevwalkHandle(walk!)
        try call("git_revwalk_sorting") { git_revwalk_sorting(handle.pointer, GIT_SORT_TOPOLOGICAL.rawValue) }
        try call("git_revwalk_simplify_first_parent") { git_revwalk_simplify_first_parent(handle.pointer) }
        var raw = commit.raw
        try call("git_revwalk_push") { git_revwalk_push(handle.pointer, &raw) }

        var result: [HistoryEntry] = []
        var oid = git_oid()
        while limit.map({ result.count < $0 }) ?? true {
            let status = git_revwalk_next(&oid, handle.pointer)
            if status == GIT_ITEROVER.rawValue { break }
            if status < 0 { throw GitError.last(status, function: "git_revwalk_next") }
            let id = OID(oid)
            let current = try lookupCommit(id)
            let here = try entry(at: clean, in: tree(ofCommit: id))
            var before: TreeEntry?
            if git_commit_parentcount(current.pointer) > 0 {
                before = try entry(at: clean, in: tree(ofCommit: OID(git_commit_parent_id(current.pointer, 0))))
            }
            guard here != before else { continue }
            result.append(HistoryEntry(
                commit: id,
                author: Signature(git_commit_author(current.pointer)),
                committer: Signature(git_commit_committer(current.pointer)),
                message: String(cString: git_commit_message(current.pointer)),
                blob: here?.id
            ))
        }
        return result
    }
}
