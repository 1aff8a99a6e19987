internal import CGit2
import Foundation

/// Fetches from and pushes to a remote that is a repository on this machine (a path or a
/// `file://` URL) without libgit2's local transport.
///
/// Its fetch and its push build the pack with `git_packbuilder_insert_walk`, which first
/// walks every tree of the commits the other side has: 0.2–1 s per fetch or push at
/// 100,000 documents, for one edited file. ``Repository/copyObjects(reachableFrom:hiding:to:)``
/// compares trees instead and costs what changed.
///
/// And libgit2 1.5's local transport (`local_push` in `src/libgit2/transports/local.c`) writes the
/// pack and then moves the remote's branch with `git_reference_create(..., force)`: it never
/// compares the branch with the id it read when it connected. Two processes pushing at the
/// same moment both pass the fast-forward check against the same old tip, and the second
/// overwrites the first one's commit. git's own `receive-pack` (behind smart HTTP and ssh)
/// moves the branch only from the old id the client sent, under the ref's lock; this does
/// the same for a local remote, so a lost race is an ordinary rejected push.
enum LocalRemote {
    /// The repository path that a remote URL names when libgit2 would take it as local:
    /// `file:///path` or `file://localhost/path` (percent-decoded), or a path without `:`
    /// (libgit2 reads `host:path` as ssh). `nil` for every other URL.
    static func repositoryPath(_ url: String) -> String? {
        if url.lowercased().hasPrefix("file://") {
            var rest = Substring(url.dropFirst("file://".count))
            if rest.lowercased().hasPrefix("localhost/") { rest = rest.dropFirst("localhost".count) }
            guard rest.hasPrefix("/") else { return nil }
            return String(rest).removingPercentEncoding
        }
        if url.contains(":") || url.isEmpty { return nil }
        return url
    }
}

extension Repository {
    /// Fetches `ref` of the repository at `path` into the remote-tracking reference
    /// `tracking`: copies the objects of its tip that this repository lacks (one pack,
    /// fsynced), then moves `tracking` (forced, as a fetch does, with a reflog entry). A
    /// branch missing from the remote leaves `tracking` alone, or deletes it when `prune`.
    ///
    /// - Throws: `GitError` `.notFound` when there is no repository at `path`; an error
    ///   when `ref` names something that is not a commit.
    /// - Returns: the objects copied and the trees of the remote read to find them.
    @discardableResult
    func fetchLocally(from path: String, ref: String, into tracking: String, prune: Bool) throws -> (objects: Int, treesRead: Int) {
        let source = try Repository.open(at: path)
        guard let tip = try source.referenceTarget(ref) else {
            if prune, let old = try referenceTarget(tracking) { try deleteReference(tracking, expected: old) }
            return (0, 0)
        }
        let copied = hasObject(tip) ? (0, 0) : try source.copyObjects(reachableFrom: tip, hiding: try referenceTips(), to: self)
        try setReference(tracking, to: tip, message: "indexops: fetch")
        return copied
    }

    /// The commits that this repository's references point at (what it surely holds whole).
    private func referenceTips() throws -> [OID] {
        var iterator: OpaquePointer?
        try call("git_reference_iterator_new") { git_reference_iterator_new(&iterator, pointer) }
        defer { git_reference_iterator_free(iterator) }
        var tips: [OID] = []
        var reference: OpaquePointer?
        while git_reference_next(&reference, iterator) == 0 {
            if let target = git_reference_target(reference) { tips.append(OID(target)) }
            git_reference_free(reference)
        }
        git_error_clear()
        return tips
    }

    /// Pushes `head` to `ref` of the bare repository at `path`, which must still point at
    /// `expected` (`nil`: must not exist).
    ///
    /// Reads the remote's branch and stops when it is not at `expected` (or `head` does not
    /// descend from it); writes the objects of `head` that `expected` lacks as one pack
    /// into the remote's pack folder (fsynced); then moves the branch with
    /// `git_reference_create_matching`, which compares it with `expected` under the branch's
    /// lock file. A branch moved meanwhile, or locked by another writer, is a rejected push;
    /// the pack stays in the remote unreferenced (as after any failed push), and the caller
    /// replays and tries again.
    ///
    /// - Throws: `GitError` `.pushRejected` (moved or locked meanwhile), `.nonFastForward`,
    ///   `.invalid` for a repository with a work tree, `.notFound` when there is none.
    func pushLocally(to path: String, ref: String, head: OID, expected: OID?) throws {
        let target = try Repository.open(at: path)
        guard target.workDirectory == nil else {
            throw GitError(.invalid, "the remote '\(path)' has a work tree; indexops pushes only to a bare repository on this machine",
                           function: "Repository.pushLocally")
        }
        let current = try target.referenceTarget(ref)
        guard current == expected else {
            throw GitError(
                .pushRejected,
                "the remote's \(ref) is at \((current ?? OID(git_oid())).short), not at \((expected ?? OID(git_oid())).short) as last fetched (someone pushed or rewrote it meanwhile)",
                function: "Repository.pushLocally", errorClass: .net)
        }
        if let expected, head != expected, try !isDescendant(head, of: expected) {
            throw GitError(.nonFastForward, "\(head.short) does not descend from the remote's \(ref) at \(expected.short)",
                           function: "Repository.pushLocally", errorClass: .reference)
        }
        try copyObjects(reachableFrom: head, hiding: expected.map { [$0] } ?? [], to: target)
        try whilePushing?()
        var newRaw = head.raw
        var oldRaw = expected?.raw ?? git_oid()
        var reference: OpaquePointer?
        let result = git_reference_create_matching(&reference, target.pointer, ref, &newRaw, 1, &oldRaw, "indexops: push")
        git_reference_free(reference)
        if result == GIT_EMODIFIED.rawValue || result == GIT_ELOCKED.rawValue {
            let reason = result == GIT_EMODIFIED.rawValue ? "moved while we pushed (another pusher won)" : "is being updated by another pusher"
            git_error_clear()
            throw GitError(.pushRejected, "the remote's \(ref) \(reason)", function: "git_reference_create_matching", errorClass: .net)
        }
        if result < 0 { throw GitError.last(result, function: "git_reference_create_matching") }
    }
}
