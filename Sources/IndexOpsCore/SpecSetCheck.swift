/// What a source path names in the repository, as far as a spec may use it.
public enum SourceEntry: Sendable, Hashable {
    /// A regular (or executable) file: usable.
    case file
    /// Nothing is there.
    case missing
    /// A directory.
    case directory
    /// A symbolic link, never followed.
    case symlink
    /// A git submodule, never followed.
    case submodule
}

extension DocumentIndex {
    /// Whether the spec lists its indexes and declares each of them absent: such a document
    /// only has indexes deleted, and never reads its source.
    public var declaresEveryIndexAbsent: Bool {
        guard let indexes = spec.indexes, !indexes.isEmpty else { return false }
        return indexes.values.allSatisfy { $0 == .absent }
    }
}

/// The checks that need every spec file of a repository at once (DESIGN.md §2).
public enum SpecSetCheck {
    /// Checks a set of spec files together.
    ///
    /// - Parameters:
    ///   - files: every spec file of the repository (or of the paths validated).
    ///   - indexTypes: the index types the configuration defines; `nil` skips that check.
    ///   - sourceEntry: what a source path names in the repository, given the path and the spec
    ///     file that declares it; `nil` (for all, or for one file) skips that check.
    /// - Returns: the diagnostics, sorted.
    public static func check(
        _ files: [SpecFile],
        indexTypes: Set<String>?,
        sourceEntry: ((_ path: String, _ specFile: String) -> SourceEntry?)?
    ) -> [Diagnostic] {
        var byID: [String: [SpecResource]] = [:]
        for resource in files.flatMap(\.resources) { byID[resource.index.id, default: []].append(resource) }
        return byID.values.flatMap { check(declarations: $0, indexTypes: indexTypes, sourceEntry: sourceEntry) }.sorted()
    }

    /// Checks the declarations of one document id: the same checks as for a whole set, which
    /// are all per id, so that a pass can check only the ids that changed.
    public static func check(
        declarations: [SpecResource],
        indexTypes: Set<String>?,
        sourceEntry: ((_ path: String, _ specFile: String) -> SourceEntry?)?
    ) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        if declarations.count > 1, let id = declarations.first?.index.id {
            for resource in declarations {
                let others = declarations.filter { $0.file != resource.file || $0.nameMark != resource.nameMark }
                    .map { "\($0.file):\($0.nameMark)" }
                diagnostics.append(Diagnostic(
                    file: resource.file, line: resource.nameMark.line, column: resource.nameMark.column,
                    code: "duplicateId",
                    message: "document id \"\(id)\" is declared more than once; also at \(others.joined(separator: ", "))"))
            }
        }

        if let indexTypes {
            let known = indexTypes.sorted().joined(separator: ", ")
            for resource in declarations {
                for type in (resource.index.spec.indexes ?? [:]).keys.sorted() where !indexTypes.contains(type) {
                    let mark = resource.indexMarks[type] ?? resource.mark
                    diagnostics.append(Diagnostic(
                        file: resource.file, line: mark.line, column: mark.column, code: "unknownIndexType",
                        message: "index type \"\(type)\" is not configured (configured: \(known.isEmpty ? "none" : known))"))
                }
            }
        }

        if let sourceEntry {
            for resource in declarations {
                guard case .path(let path) = resource.index.spec.source else { continue }
                var problem: String
                var severity = Diagnostic.Severity.error
                switch sourceEntry(path, resource.file) {
                case .file, nil: continue
                case .missing:
                    problem = "source \"\(path)\" does not exist in the repository"
                    // Nothing is created, so nothing is read: deleting needs no source file.
                    if resource.index.declaresEveryIndexAbsent {
                        problem += "; every index is declared absent, so it is not read"
                        severity = .warning
                    }
                case .directory: problem = "source \"\(path)\" is a directory, not a file"
                case .symlink: problem = "source \"\(path)\" is a symbolic link; links are never followed"
                case .submodule: problem = "source \"\(path)\" is in a submodule; submodules are never followed"
                }
                diagnostics.append(Diagnostic(
                    file: resource.file, line: resource.sourceMark.line, column: resource.sourceMark.column,
                    severity: severity, code: "source", message: problem))
            }
        }
        return diagnostics.sorted()
    }
}
