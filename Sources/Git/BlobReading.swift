internal import CGit2
import Foundation

/// A size limit for reading blobs, with the name of the setting that sets it, so that the
/// error says what to raise.
public struct BlobSizeLimit: Sendable, Hashable {
    /// The largest blob read, in bytes.
    public var bytes: Int
    /// The setting's name as the operator writes it, e.g. `limits.maxFileSize`.
    public var setting: String

    /// Makes a limit.
    public init(bytes: Int, setting: String) {
        self.bytes = bytes
        self.setting = setting
    }

    /// `Size is over the limit`, in words, for the object of `id` that is `size` bytes.
    func message(_ what: String, size: Int) -> String {
        "\(what) is \(Self.describe(size)), over \(setting) (\(Self.describe(bytes))); it was not read"
    }

    /// `1 MiB`, `200.0 MiB`, `12 KiB`, `300 bytes`.
    public static func describe(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 20 { return "\(bytes * 10 / (1 << 20) / 10).\(bytes * 10 / (1 << 20) % 10) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}

extension Repository {
    /// The size in bytes of object `id`, from its header: the object is not read (a packed
    /// delta's size comes from the delta's header).
    /// - Throws: `GitError` `.notFound` when there is no such object.
    public func objectSize(_ id: OID) throws -> Int {
        var odb: OpaquePointer?
        try call("git_repository_odb") { git_repository_odb(&odb, pointer) }
        let owned = ODBHandle(odb!)
        var raw = id.raw
        var size = 0
        var type = GIT_OBJECT_INVALID
        try call("git_odb_read_header") { git_odb_read_header(&size, &type, owned.pointer, &raw) }
        return size
    }

    /// The bytes of blob `id`, read only when its header says it is at most `limit`.
    /// - Throws: `GitError` `.tooLarge` (naming the size and the setting) without reading
    ///   the blob; `.notFound` when there is no blob with that id.
    public func readBlob(_ id: OID, limit: BlobSizeLimit) throws -> Data {
        let size = try objectSize(id)
        guard size <= limit.bytes else {
            throw GitError(.tooLarge, limit.message("blob \(id.short)", size: size), function: "Repository.readBlob")
        }
        return try readBlob(id)
    }

    /// Runs `body` with the bytes of blob `id`, in libgit2's own buffer (no copy), valid only
    /// inside `body`.
    func withBlob<R>(_ id: OID, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        counters.blobsRead += 1
        var raw = id.raw
        var blob: OpaquePointer?
        try call("git_blob_lookup") { git_blob_lookup(&blob, pointer, &raw) }
        let owned = BlobHandle(blob!)
        let size = Int(git_blob_rawsize(owned.pointer))
        return try withExtendedLifetime(owned) {
            try body(UnsafeRawBufferPointer(start: git_blob_rawcontent(owned.pointer), count: size))
        }
    }
}
