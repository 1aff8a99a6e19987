internal import CGit2
import Foundation

/// A pack's `.idx` file (version 1 or 2), read for its object count and object ids.
struct PackIndex {
    private let bytes: [UInt8]
    private let version: Int
    private let path: String

    /// Reads the index at `path`: only its header and fan-out table when `header` is true.
    init(path: String, header: Bool) throws {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw GitError.posix("open '\(path)'", function: "PackIndex")
        }
        defer { try? handle.close() }
        let data = try (header ? handle.read(upToCount: 8 + 256 * 4) : handle.readToEnd()) ?? Data()
        bytes = [UInt8](data)
        version = bytes.starts(with: [0xff, 0x74, 0x4f, 0x63]) ? Int(Self.uint32(bytes, at: 4)) : 1
        guard version == 1 || version == 2, bytes.count >= fanOutOffset + 256 * 4 else {
            throw GitError(.invalid, "'\(path)' is not a pack index of version 1 or 2", function: "PackIndex", errorClass: .odb)
        }
    }

    private var fanOutOffset: Int { version == 2 ? 8 : 0 }

    /// The number of objects: the last entry of the fan-out table.
    var objectCount: Int { Int(Self.uint32(bytes, at: fanOutOffset + 255 * 4)) }

    /// The object ids, in index (sorted) order.
    func ids() throws -> [git_oid] {
        let count = objectCount
        let (start, stride, skip) = version == 2 ? (8 + 256 * 4, 20, 0) : (256 * 4, 24, 4)
        guard bytes.count >= start + count * stride else {
            throw GitError(.invalid, "'\(path)' is cut short: \(count) objects do not fit", function: "PackIndex", errorClass: .odb)
        }
        return bytes.withUnsafeBufferPointer { buffer in
            (0..<count).map { index in
                var id = git_oid()
                _ = git_oid_fromraw(&id, buffer.baseAddress! + start + index * stride + skip)
                return id
            }
        }
    }

    private static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
