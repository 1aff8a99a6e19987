import Foundation
import Git
import IndexOpsCore
import YAML

/// The desired state read from one commit: what the planner needs, and what went wrong.
public struct DesiredSnapshot: Sendable {
    /// The valid, unique documents, by id.
    public var desired: [String: DesiredDocument] = [:]
    /// Ids to leave alone: documents of a file that stopped parsing, invalid documents,
    /// duplicates, documents whose source cannot be used.
    public var held: Set<String> = []
    /// Every problem, sorted.
    public var diagnostics: [Diagnostic] = []
    /// Spec files parsed for this snapshot (the others came from the cache).
    public var filesParsed = 0
    /// Spec files in the specs folder.
    public var files = 0
    /// The blob of each desired document's source, when it is a file in the repository.
    public var sourceBlobs: [String: OID] = [:]
}

/// Reads spec files from git's tree of a commit (never from the work tree), parsing again
/// only the blobs it has not seen: an idle pass parses nothing.
final class DesiredStateReader {
    private var cache: [OID: SpecFile] = [:]
    private let config: ControllerConfig

    init(config: ControllerConfig) {
        self.config = config
    }

    /// Reads the specs of `commit`.
    ///
    /// - Parameter statusSpecFiles: for each document with a status, the spec file that
    ///   declared it, so that the documents of a file that stopped parsing are held.
    func read(_ repository: Repository, commit: OID, statusSpecFiles: [String: String]) throws -> DesiredSnapshot {
        var snapshot = DesiredSnapshot()
        let specsDir = config.repository.specsDir
        let entries = try repository.files(in: specsDir, at: commit).filter { $0.path.hasSuffix(".yaml") || $0.path.hasSuffix(".yml") }
        snapshot.files = entries.count
        var files: [SpecFile] = []
        var seen: [OID: SpecFile] = [:]
        for entry in entries {
            guard entry.kind == .file || entry.kind == .executable else {
                snapshot.diagnostics.append(Diagnostic(
                    file: entry.path, line: 1, column: 1, severity: .warning, code: "symlink",
                    message: "spec file is a \(entry.kind.rawValue); it is never followed (skipped, its documents held)"))
                snapshot.held.formUnion(statusSpecFiles.filter { $0.value == entry.path }.keys)
                continue
            }
            var file: SpecFile
            if let cached = cache[entry.id] {
                file = cached
            } else {
                file = try parse(repository, entry)
                snapshot.filesParsed += 1
            }
            seen[entry.id] = file
            file = Self.renamed(file, to: entry.path)
            files.append(file)
        }
        cache = seen

        let configured = Set(config.indexTypes.keys)
        let sources = try SourceListing(repository, commit: commit, paths: files.flatMap(\.resources).compactMap {
            if case .path(let path) = $0.index.spec.source { return path }
            return nil
        })
        let diagnostics = SpecSetCheck.check(files, indexTypes: configured) { path, _ in sources.entry(path) }
        snapshot.diagnostics += files.flatMap(\.diagnostics) + diagnostics
        snapshot.diagnostics.sort()

        var byID: [String: [SpecResource]] = [:]
        for file in files {
            snapshot.held.formUnion(file.heldIDs)
            if !file.isComplete {
                snapshot.held.formUnion(statusSpecFiles.filter { $0.value == file.path }.keys)
                snapshot.held.formUnion(file.resources.map(\.index.id))
            }
            for resource in file.resources { byID[resource.index.id, default: []].append(resource) }
        }
        let brokenSources = Set(diagnostics.filter { $0.code == "source" }.map { "\($0.file):\($0.line):\($0.column)" })
        for (id, resources) in byID {
            guard resources.count == 1, let resource = resources.first else {
                snapshot.held.insert(id)
                continue
            }
            if brokenSources.contains("\(resource.file):\(resource.sourceMark)") {
                snapshot.held.insert(id)
                continue
            }
            guard !snapshot.held.contains(id) else { continue }
            let base: String
            switch resource.index.spec.source {
            case .path(let path):
                guard let blob = sources.blob(path) else { snapshot.held.insert(id); continue }
                snapshot.sourceBlobs[id] = blob
                base = "blob:" + blob.hex
            case .uri(let uri, let revision):
                base = "uri:" + uri + "#" + (revision ?? "")
            }
            var revisions: [String: String] = [:]
            for (type, settings) in config.indexTypes {
                revisions[type] = String(SHA256.hex(base + "\n" + Self.fingerprint(settings)).prefix(40))
            }
            snapshot.desired[id] = DesiredDocument(index: resource.index, specFile: resource.file, revisions: revisions)
        }
        return snapshot
    }

    private func parse(_ repository: Repository, _ entry: TreeEntry) throws -> SpecFile {
        let bytes = [UInt8](try repository.readBlob(entry.id))
        if bytes.count > config.limits.maxFileSize {
            return SpecFile(path: entry.path, failure: YAMLError.fileTooLarge(file: entry.path, size: bytes.count, limits: config.limits))
        }
        return SpecFile(path: entry.path, bytes: bytes, limits: config.limits)
    }

    /// A cached file under the path it has now (the same blob may sit at another path).
    private static func renamed(_ file: SpecFile, to path: String) -> SpecFile {
        guard file.path != path else { return file }
        var copy = file
        copy.path = path
        copy.resources = file.resources.map { var r = $0; r.file = path; return r }
        copy.diagnostics = file.diagnostics.map { var d = $0; d.file = path; return d }
        return copy
    }


    /// What of an index type's settings changes what is indexed: a change rebuilds.
    static func fingerprint(_ settings: IndexTypeSettings) -> String {
        let env = settings.env.keys.sorted().map { "\($0)=\(settings.env[$0]!)" }.joined(separator: "\u{1}")
        // The postgres part is added only when there is one, so that the other drivers'
        // fingerprints (and so every built index's revision) stay what they were.
        return ([settings.driver.rawValue, settings.database ?? "", (settings.command ?? []).joined(separator: "\u{1}"), env]
            + (settings.postgres.map { [$0.fingerprint] } ?? []))
            .joined(separator: "\u{0}")
    }
}

/// The tree entries of the folders that sources live in, listed once per pass: looking each
/// source up by path would read the same large trees again for every document.
struct SourceListing {
    private var entries: [String: TreeEntry] = [:]
    private var folders: Set<String> = []

    init(_ repository: Repository, commit: OID, paths: [String]) throws {
        var listed = Set<String>()
        for path in paths {
            let parent = path.split(separator: "/").dropLast().joined(separator: "/")
            guard listed.insert(parent).inserted else { continue }
            // A folder a source names that is not a folder (or is missing) lists nothing.
            guard let files = try? repository.files(in: parent, at: commit) else { continue }
            for entry in files {
                entries[entry.path] = entry
                var folder = Substring(entry.path)
                while let slash = folder.lastIndex(of: "/") {
                    folder = folder[..<slash]
                    if !folders.insert(String(folder)).inserted { break }
                }
            }
        }
    }

    /// What a source path names.
    func entry(_ path: String) -> SourceEntry {
        guard let entry = entries[path] else { return folders.contains(path) ? .directory : .missing }
        switch entry.kind {
        case .file, .executable: return .file
        case .symlink: return .symlink
        case .submodule: return .submodule
        case .folder: return .directory
        }
    }

    /// The blob of a source that is a regular file.
    func blob(_ path: String) -> OID? {
        guard let entry = entries[path], entry.kind == .file || entry.kind == .executable else { return nil }
        return entry.id
    }
}
