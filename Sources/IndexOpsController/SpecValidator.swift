import Foundation
import IndexOpsCore
import YAML

/// The outcome of validating spec files.
public struct ValidationReport: Sendable, Encodable {
    /// The files read, as shown in diagnostics, sorted.
    public var files: [String]
    /// The number of valid `DocumentIndex` resources.
    public var documents: Int
    /// Every problem, sorted.
    public var diagnostics: [Diagnostic]

    /// The number of errors.
    public var errors: Int { diagnostics.count { $0.severity == .error } }
    /// The number of warnings.
    public var warnings: Int { diagnostics.count { $0.severity == .warning } }

    private enum CodingKeys: String, CodingKey { case files, documents, errors, warnings, diagnostics }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(files, forKey: .files)
        try c.encode(documents, forKey: .documents)
        try c.encode(errors, forKey: .errors)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(diagnostics, forKey: .diagnostics)
    }
}

/// Validates spec files in a folder on disk, as `indexops validate` does: each file on its
/// own, then the checks across files (duplicate ids, configured index types, sources).
///
/// It reads the work tree, so that it can check what is about to be committed; the
/// controller itself reads specs from git's tree of HEAD.
public struct SpecValidator: Sendable {
    /// The repository root; source paths are checked against it.
    public var root: String
    /// The configuration: spec folder and YAML limits.
    public var config: ControllerConfig
    /// The index types spec files may name; `nil` skips that check.
    public var indexTypes: Set<String>?

    /// Creates a validator.
    public init(root: String, config: ControllerConfig, indexTypes: Set<String>?) {
        let absolute = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        self.root = (absolute as NSString).standardizingPath
        self.config = config
        self.indexTypes = indexTypes
    }

    /// Validates the given files and folders, or the repository's spec folder when `paths` is
    /// empty. Folders are searched for `*.yaml` and `*.yml`; links are reported, not followed.
    /// Source paths are checked for the files that lie inside the repository.
    ///
    /// - Throws: ``IndexOpsError`` when a path does not exist.
    public func validate(paths: [String]) throws -> ValidationReport {
        var diagnostics: [Diagnostic] = []
        var files: [(shown: String, absolute: String)] = []
        let targets = paths.isEmpty ? [root + "/" + config.repository.specsDir] : paths.map(absolute)
        for target in targets {
            switch FileSystem.kind(target) {
            case .missing:
                if paths.isEmpty {
                    throw IndexOpsError("no spec folder at \(target); run in a repository with a \(config.repository.specsDir)/ folder, or pass --repo or paths")
                }
                throw IndexOpsError("\(target): no such file or directory")
            case .directory:
                let (found, links) = specFiles(in: target)
                files += found.map { (shown($0), $0) }
                diagnostics += links.map {
                    Diagnostic(file: shown($0), line: 1, column: 1, severity: .warning, code: "symlink",
                               message: "spec file is a symbolic link; links are never followed (skipped)")
                }
            default:
                files.append((shown(target), target))
            }
        }
        var seen = Set<String>()
        files = files.filter { seen.insert($0.absolute).inserted }.sorted { $0.shown < $1.shown }

        var contents: [String: [UInt8]] = [:]
        let specFiles = files.map { file in
            let (spec, bytes) = read(file.absolute, shown: file.shown)
            contents[file.shown] = bytes
            return spec
        }
        diagnostics += specFiles.flatMap(\.diagnostics)
        let inRepository = Set(files.filter { $0.absolute.hasPrefix(root + "/") }.map(\.shown))
        let checks = SpecSetCheck.check(specFiles, indexTypes: indexTypes) { path, specFile in
            inRepository.contains(specFile) ? FileSystem.sourceEntry(path, root: root) : nil
        }
        diagnostics += checks.map { diagnostic in
            var d = diagnostic
            if let bytes = contents[d.file] { d.snippet = YAMLError.snippet(at: Mark(line: d.line, column: d.column), in: bytes) }
            return d
        }
        return ValidationReport(
            files: files.map(\.shown),
            documents: specFiles.reduce(0) { $0 + $1.resources.count },
            diagnostics: diagnostics.sorted())
    }

    /// A spec file and its bytes (empty when it was not read).
    private func read(_ path: String, shown: String) -> (SpecFile, [UInt8]) {
        let limits = config.limits
        if let size = FileSystem.size(path), size > limits.maxFileSize {
            return (SpecFile(path: shown, failure: YAMLError.fileTooLarge(file: shown, size: size, limits: limits)), [])
        }
        do {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            return (SpecFile(path: shown, bytes: bytes, limits: limits), bytes)
        } catch {
            let failure = YAMLError(.syntax, file: shown, mark: .start, message: "cannot read the file: \(FileSystem.reason(error))")
            return (SpecFile(path: shown, failure: failure), [])
        }
    }

    /// The `*.yaml` and `*.yml` files below a folder, and the links among them.
    private func specFiles(in folder: String) -> (files: [String], links: [String]) {
        var files: [String] = []
        var links: [String] = []
        var pending = [folder]
        while let current = pending.popLast() {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: current) else { continue }
            for name in names.sorted() where !name.hasPrefix(".") {
                let path = current + "/" + name
                let isSpec = SpecFile.isSpecPath(name)
                switch FileSystem.kind(path) {
                case .directory: pending.append(path)
                case .file where isSpec: files.append(path)
                case .symlink where isSpec: links.append(path)
                default: break
                }
            }
        }
        return (files, links)
    }

    private func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (full as NSString).standardizingPath
    }

    /// A path as shown in diagnostics: relative to the repository root when inside it.
    private func shown(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
