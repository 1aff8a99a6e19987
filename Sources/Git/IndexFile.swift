import Crypto
import Foundation

/// The clone's git index (`.git/index`) as bytes, for a publish that changes a few of its
/// entries: read, patched and written by indexops, without libgit2's index.
///
/// Why: libgit2 1.5 parses every entry into its own structures to open an index and writes
/// every one back (0.25–0.35 s and 0.15–0.19 s for the 300,000 entries of 100,000 documents
/// × 2 files and their statuses), whatever a publish changes. Here the entries are only
/// located; unchanged ones are copied as they are, in runs.
///
/// Only what git's index format (`Documentation/gitformat-index.txt`) guarantees is relied
/// on, and only the plain case is taken: version 2 or 3, every entry at stage 0, a valid
/// cached tree (`TREE`) at the root, and no extension that must be understood (a name
/// starting with `A`–`Z` may be dropped, as git drops it; any other makes ``load(_:)``
/// return `nil`, and the caller uses libgit2). The trailing SHA-1 is checked on reading and
/// written on writing.
struct IndexFile {
    /// Where an entry is in ``bytes``: the whole entry (padding included) and its path.
    struct Entry {
        var range: Range<Int>
        var path: Range<Int>
    }

    /// A record of the cached trees: a folder, the index entries below it (-1: unknown),
    /// its tree's id when known, and its subfolders in the order git keeps them.
    final class CachedTree {
        var name: [UInt8]
        var entryCount: Int
        var id: [UInt8]?
        var children: [CachedTree]

        init(name: [UInt8], entryCount: Int, id: [UInt8]?, children: [CachedTree]) {
            self.name = name
            self.entryCount = entryCount
            self.id = id
            self.children = children
        }

        func child(_ name: [UInt8]) -> CachedTree? { children.first { $0.name == name } }

        /// This record and every one below it as git lays them out.
        func serialize(into out: inout [UInt8]) {
            out += name
            out.append(0)
            out += Array("\(entryCount) \(children.count)\n".utf8)
            if entryCount >= 0, let id { out += id }
            for child in children { child.serialize(into: &out) }
        }
    }

    let path: String
    let bytes: [UInt8]
    let version: UInt32
    let entries: [Entry]
    let root: CachedTree

    /// The tree the index holds, from the cached root record.
    var tree: OID? { root.id.map { OID(bytes: $0) } }

    /// Reads the index at `path`; `nil` when it is missing, damaged, or not the plain case
    /// (see the type's documentation).
    static func load(_ path: String) -> IndexFile? {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 32 else { return nil }
        let bytes = [UInt8](data)
        let body = bytes.count - 20
        guard Array(Insecure.SHA1.hash(data: bytes[0..<body])) == Array(bytes[body...]) else { return nil }
        guard bytes[0..<4].elementsEqual("DIRC".utf8) else { return nil }
        let version = bytes.bigEndian32(at: 4)
        guard version == 2 || version == 3 else { return nil }
        let count = Int(bytes.bigEndian32(at: 8))
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var offset = 12
        for _ in 0..<count {
            guard offset + 62 <= body else { return nil }
            let flags = Int(bytes[offset + 60]) << 8 | Int(bytes[offset + 61])
            guard flags & 0x3000 == 0 else { return nil }  // a stage other than 0: a merge in progress
            let extended = flags & 0x4000 != 0
            guard !extended || version == 3 else { return nil }
            let start = offset + 62 + (extended ? 2 : 0)
            guard start < body, let end = bytes[start..<body].firstIndex(of: 0) else { return nil }
            let size = (start - offset + (end - start) + 8) & ~7
            guard offset + size <= body else { return nil }
            entries.append(Entry(range: offset..<(offset + size), path: start..<end))
            offset += size
        }
        var root: CachedTree?
        while offset + 8 <= body {
            let signature = bytes[offset..<(offset + 4)]
            let size = Int(bytes.bigEndian32(at: offset + 4))
            let data = (offset + 8)..<(offset + 8 + size)
            guard data.upperBound <= body else { return nil }
            if signature.elementsEqual("TREE".utf8) {
                var at = data.lowerBound
                root = CachedTree.parse(bytes, at: &at, end: data.upperBound)
                guard root != nil, at == data.upperBound else { return nil }
            } else if !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(signature.first!) {
                return nil  // an extension git requires to be understood (a split index, …)
            }
            offset = data.upperBound
        }
        guard offset == body, let root, root.entryCount == count, root.id != nil else { return nil }
        return IndexFile(path: path, bytes: bytes, version: version, entries: entries, root: root)
    }

    /// The path of entry `index`.
    func path(of index: Int) -> ArraySlice<UInt8> { bytes[entries[index].path] }

    /// Where `path` is, or would go, among the entries (git sorts them by the bytes of
    /// their paths).
    func position(of path: [UInt8]) -> (index: Int, found: Bool) {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if self.path(of: middle).lexicographicallyPrecedes(path) { low = middle + 1 } else { high = middle }
        }
        return (low, low < entries.count && self.path(of: low).elementsEqual(path))
    }
}

extension IndexFile {
    /// One entry to write: its path, mode, object, and the file's `lstat` as written.
    struct NewEntry {
        var path: [UInt8]
        var mode: UInt32
        var id: OID
        var info: stat
        var isSubmodule: Bool

        /// The entry as git lays it out (no extended flags), padded with NULs.
        func serialized() -> [UInt8] {
            var out: [UInt8] = []
            for field in [
                Int(info.st_ctim.tv_sec), info.st_ctim.tv_nsec, Int(info.st_mtim.tv_sec), info.st_mtim.tv_nsec,
                Int(info.st_dev), Int(info.st_ino), Int(mode), Int(info.st_uid), Int(info.st_gid), isSubmodule ? 0 : Int(info.st_size),
            ] {
                out.appendBigEndian32(UInt32(truncatingIfNeeded: field))
            }
            out += id.bytes
            let length = min(path.count, 0xfff)
            out += [UInt8(length >> 8), UInt8(length & 0xff)]
            out += path
            let size = (62 + path.count + 8) & ~7
            out += [UInt8](repeating: 0, count: size - out.count)
            return out
        }
    }

    /// Writes this index with `removed` paths gone and `written` entries added or replaced,
    /// its cached trees brought to `commit`'s along every changed path (the index then holds
    /// that commit's tree, as a publish with nothing left out makes it), through
    /// `index.lock` and a rename, as git does. Unchanged entries are copied in runs.
    ///
    /// - Parameter subtree: the id of the folder at a path of the published commit (`nil`:
    ///   none there).
    /// - Throws: `GitError` `.locked` when `index.lock` exists; `.os` when it cannot be written.
    func write(removing removed: [[UInt8]], writing written: [NewEntry], subtree: ([UInt8]) throws -> OID?) throws {
        var changes: [(index: Int, replaces: Bool, path: [UInt8], bytes: [UInt8])] = []
        var counted: [(path: [UInt8], delta: Int)] = []
        for path in removed {
            let (index, found) = position(of: path)
            if found {
                changes.append((index, true, path, []))
                counted.append((path, -1))
            }
        }
        for entry in written {
            let (index, found) = position(of: entry.path)
            changes.append((index, found, entry.path, entry.serialized()))
            counted.append((entry.path, found ? 0 : 1))
        }
        // By place; at one place, the new paths in order, then what becomes of the entry there.
        changes.sort {
            if $0.index != $1.index { return $0.index < $1.index }
            if $0.replaces != $1.replaces { return !$0.replaces }
            return $0.path.lexicographicallyPrecedes($1.path)
        }
        let added = counted.filter { $0.delta > 0 }.count, dropped = counted.filter { $0.delta < 0 }.count
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + written.count * 128)
        out += bytes[0..<8]
        out.appendBigEndian32(UInt32(entries.count + added - dropped))
        var next = 0  // the first entry not yet copied
        for change in changes {
            if change.index > next {
                out += bytes[entries[next].range.lowerBound..<entries[change.index - 1].range.upperBound]
                next = change.index
            }
            out += change.bytes
            if change.replaces { next = change.index + 1 }
        }
        if next < entries.count { out += bytes[entries[next].range.lowerBound..<entries[entries.count - 1].range.upperBound] }

        try updateCachedTrees(changed: counted, subtree: subtree)
        var tree: [UInt8] = []
        root.serialize(into: &tree)
        out += Array("TREE".utf8)
        out.appendBigEndian32(UInt32(tree.count))
        out += tree
        out += Array(Insecure.SHA1.hash(data: out))
        try Self.replace(path, with: out)
    }

    /// Counts each change (+1 added, -1 removed, 0 replaced) in the records of the folders
    /// above it and gives those records `commit`'s ids; a new folder gets a record, and the
    /// record of a folder whose last file was removed goes. A change below a folder with no
    /// record that is not an addition makes the records above it unknown: git and libgit2
    /// hash them again when they need them (and the next publish reads the index through
    /// libgit2, which records them again).
    private func updateCachedTrees(changed: [(path: [UInt8], delta: Int)], subtree: ([UInt8]) throws -> OID?) throws {
        var touched: [(path: [UInt8], record: CachedTree)] = [([], root)]
        var seen = Set<[UInt8]>([[]])
        for (path, delta) in changed {
            let folders = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropLast()
            var records = [root]
            var prefix: [UInt8] = []
            var known = true
            for name in folders {
                prefix += (prefix.isEmpty ? [] : [UInt8(ascii: "/")]) + name
                var record = records.last!.child(Array(name))
                if record == nil, delta > 0 {
                    // A new folder: its record is made here (git finds records by name, in any order).
                    record = CachedTree(name: Array(name), entryCount: 0, id: nil, children: [])
                    records.last!.children.append(record!)
                }
                guard let record else { known = false; break }
                records.append(record)
                if seen.insert(prefix).inserted { touched.append((prefix, record)) }
            }
            for record in records where record.entryCount >= 0 {
                record.entryCount = known ? record.entryCount + delta : -1
            }
        }
        var gone: [[UInt8]] = []
        for (path, record) in touched where record.entryCount >= 0 {
            if let id = try subtree(path) {
                record.id = id.bytes
            } else if record.entryCount == 0 {
                gone.append(path)  // its last file was removed: the folder is gone, and so is its record
            } else {
                record.entryCount = -1
            }
        }
        for path in gone.sorted(by: { $0.count > $1.count }) {
            let names = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
            var parent: CachedTree? = root
            for name in names.dropLast() { parent = parent?.child(name) }
            parent?.children.removeAll { $0.name == names.last! }
        }
        // A record under an unknown one is fine; an unknown one under a known one is not.
        func settle(_ record: CachedTree) -> Bool {
            var valid = record.entryCount >= 0
            for child in record.children where !settle(child) { valid = false }
            if !valid { record.entryCount = -1; record.id = nil }
            return valid
        }
        _ = settle(root)
    }

    /// Writes `bytes` to `<path>.lock` (created exclusively) and renames it over `path`.
    private static func replace(_ path: String, with bytes: [UInt8]) throws {
        let lock = path + ".lock"
        let fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw GitError(.locked, "'\(lock)' exists: another git process is writing the index (or was killed doing it)", function: "Repository.publish")
            }
            throw GitError.posix("create '\(lock)'", function: "Repository.publish")
        }
        let written = bytes.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 { if errno == EINTR { continue } else { return false } }
                offset += count
            }
            return true
        }
        close(fd)
        guard written, rename(lock, path) == 0 else {
            let error = GitError.posix("write '\(path)'", function: "Repository.publish")
            unlink(lock)
            throw error
        }
    }
}

extension IndexFile.CachedTree {
    /// Parses one record and those below it; `nil` when the bytes are not one.
    static func parse(_ bytes: [UInt8], at offset: inout Int, end: Int) -> IndexFile.CachedTree? {
        guard let nul = bytes[offset..<end].firstIndex(of: 0) else { return nil }
        let name = Array(bytes[offset..<nul])
        guard let space = bytes[(nul + 1)..<end].firstIndex(of: UInt8(ascii: " ")),
              let newline = bytes[(space + 1)..<end].firstIndex(of: UInt8(ascii: "\n")),
              let entryCount = Int(String(decoding: bytes[(nul + 1)..<space], as: UTF8.self)),
              let subtrees = Int(String(decoding: bytes[(space + 1)..<newline], as: UTF8.self)), subtrees >= 0
        else { return nil }
        offset = newline + 1
        var id: [UInt8]?
        if entryCount >= 0 {
            guard offset + 20 <= end else { return nil }
            id = Array(bytes[offset..<(offset + 20)])
            offset += 20
        }
        var children: [IndexFile.CachedTree] = []
        for _ in 0..<subtrees {
            guard let child = parse(bytes, at: &offset, end: end) else { return nil }
            children.append(child)
        }
        return IndexFile.CachedTree(name: name, entryCount: entryCount, id: id, children: children)
    }
}

private extension Array where Element == UInt8 {
    /// The 32-bit big-endian number at `offset` (git's index stores all its numbers so).
    func bigEndian32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    /// Appends `value` as 4 bytes, big-endian.
    mutating func appendBigEndian32(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)])
    }
}
