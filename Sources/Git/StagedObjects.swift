internal import CGit2
import Foundation

/// The objects of one commit (or of one replay) while they are made: held in memory, then
/// written to disk as one pack.
///
/// An object database over the repository's own object folder (loose objects, packs,
/// alternates) with libgit2's mempack backend in front at the highest priority: every object
/// that libgit2 writes through it (the trees of `git_tree_create_updated`, the commits of
/// `git_commit_create`) lands in memory, and every read sees memory first, then the disk.
/// libgit2 writes to the first backend that can write, and checks first that no backend
/// already holds the object, so memory holds exactly the objects that are new.
///
/// Ownership: owns the odb, which owns the mempack backend; `deinit` frees both, dropping
/// whatever was not written out.
final class StagedObjects {
    /// The odb to install as the repository's while the objects are made.
    let odb: OpaquePointer
    private let mempack: UnsafeMutablePointer<git_odb_backend>

    /// Above libgit2's own backends (loose objects 1, packs 2).
    private static let priority: Int32 = 1000

    /// Opens an odb over `objectsDirectory` with an empty mempack in front.
    init(objectsDirectory: String) throws {
        var odb: OpaquePointer?
        try call("git_odb_open") { git_odb_open(&odb, objectsDirectory) }
        var backend: UnsafeMutablePointer<git_odb_backend>?
        let created = git_mempack_new(&backend)
        if created < 0 {
            let error = GitError.last(created, function: "git_mempack_new")
            git_odb_free(odb)
            throw error
        }
        let added = git_odb_add_backend(odb, backend, Self.priority)
        if added < 0 {
            let error = GitError.last(added, function: "git_odb_add_backend")
            cgit2_backend_free(backend)
            git_odb_free(odb)
            throw error
        }
        self.odb = odb!
        self.mempack = backend!
    }

    deinit { git_odb_free(odb) }

    /// Whether `id` was written in memory (a new object), not found on disk.
    func contains(_ id: UnsafePointer<git_oid>) -> Bool {
        cgit2_backend_exists(mempack, id) != 0
    }

    /// Writes `contents` as a blob into memory, unless an object with its id exists.
    ///
    /// Straight into the mempack: `git_blob_create_from_buffer` would, for every new blob,
    /// look for it on disk, re-read the pack folder (the odb's refresh on a miss) and look
    /// again. Here the lookup is one pass over memory, loose objects and the packs as they
    /// were when this odb was opened; a pack that a fetch added since may make the blob a
    /// duplicate, which git allows.
    func writeBlob(_ contents: Data) throws -> OID {
        if contents.isEmpty {
            // A non-null address for empty contents: mempack copies `count` bytes from it.
            var zero: UInt8 = 0
            return try withUnsafeBytes(of: &zero) { try writeBlob(bytes: $0.baseAddress!, count: 0) }
        }
        return try contents.withUnsafeBytes { try writeBlob(bytes: $0.baseAddress!, count: $0.count) }
    }

    private func writeBlob(bytes: UnsafeRawPointer, count: Int) throws -> OID {
        var oid = git_oid()
        try call("git_odb_hash") { git_odb_hash(&oid, bytes, count, GIT_OBJECT_BLOB) }
        if git_odb_exists_ext(odb, &oid, GIT_ODB_LOOKUP_NO_REFRESH.rawValue) != 1 {
            try call("git_mempack write") { cgit2_backend_write(mempack, &oid, bytes, count, GIT_OBJECT_BLOB) }
        }
        return OID(oid)
    }
}
