import Foundation
import IndexOpsCore

/// The documents an import read, kept in a temporary file between reading the rows (all of
/// them, checked, before anything is written) and committing: memory holds one buffer, not
/// the documents. Removed when it goes.
///
/// A record is six length-prefixed UTF-8 fields: id, spec path, spec text, status path,
/// status text, categories (`type=category` lines); an empty field is "none".
///
/// Unchecked `Sendable`: it is used under the row reader's lock while rows are read, then by
/// the one task that commits.
final class ImportSpool: @unchecked Sendable {
    let path: String
    private let output: FileHandle
    private var buffer = Data()
    /// Documents written so far.
    private(set) var count = 0

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("indexops-import-\(getpid())-\(UInt64.random(in: 0 ... .max))").path
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw IndexOpsError("cannot write a temporary file in \(FileManager.default.temporaryDirectory.path)") }
        output = handle
    }

    deinit {
        try? output.close()
        unlink(path)
    }

    /// Appends a document.
    func append(_ document: ImportedDocument) throws {
        let categories = document.categories.keys.sorted().map { "\($0)=\(document.categories[$0]!.rawValue)" }.joined(separator: "\n")
        for field in [document.id, document.specPath ?? "", document.specText ?? "", document.statusPath, document.status?.fileText ?? "", categories] {
            var length = UInt32(field.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { buffer.append(contentsOf: $0) }
            buffer.append(contentsOf: field.utf8)
        }
        count += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes what is buffered.
    func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try output.write(contentsOf: buffer)
        } catch {
            throw IndexOpsError("cannot write the temporary file \(path): \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// One document read back.
    struct Record {
        var id: String
        var specPath: String?
        var specText: String?
        var statusPath: String
        var statusText: String?
        var categories: [(type: String, category: ImportCategory)]
    }

    /// Calls `body` with every document, in the order they were appended.
    func forEach(_ body: (Record) throws -> Void) throws {
        try flush()
        guard let input = FileHandle(forReadingAtPath: path) else { throw IndexOpsError("cannot read the temporary file \(path)") }
        defer { try? input.close() }
        var data = Data()
        var offset = 0
        var finished = false
        func field() throws -> String? {
            func ensure(_ n: Int) throws -> Bool {
                while data.count - offset < n {
                    if finished { return false }
                    if offset > 0 {
                        data.removeSubrange(data.startIndex..<data.startIndex + offset)
                        offset = 0
                    }
                    guard let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty else {
                        finished = true
                        return false
                    }
                    data.append(chunk)
                }
                return true
            }
            guard try ensure(4) else { return nil }
            let start = data.startIndex + offset
            let length = Int(UInt32(data[start]) | UInt32(data[start + 1]) << 8 | UInt32(data[start + 2]) << 16 | UInt32(data[start + 3]) << 24)
            offset += 4
            guard try ensure(length) else { throw IndexOpsError("the temporary file \(path) is cut short") }
            let text = String(decoding: data[(data.startIndex + offset)..<(data.startIndex + offset + length)], as: UTF8.self)
            offset += length
            return text
        }
        while let id = try field() {
            guard let specPath = try field(), let specText = try field(), let statusPath = try field(), let statusText = try field(),
                  let categories = try field()
            else { throw IndexOpsError("the temporary file \(path) is cut short") }
            let pairs = categories.split(separator: "\n").compactMap { line -> (String, ImportCategory)? in
                let parts = line.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let category = ImportCategory(rawValue: String(parts[1])) else { return nil }
                return (String(parts[0]), category)
            }
            try body(Record(
                id: id, specPath: specPath.isEmpty ? nil : specPath, specText: specText.isEmpty ? nil : specText,
                statusPath: statusPath, statusText: statusText.isEmpty ? nil : statusText, categories: pairs))
        }
    }
}
