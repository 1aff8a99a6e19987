import YAML

/// One `DocumentIndex` read from a spec file, with the positions later checks point at.
public struct SpecResource: Sendable {
    /// The resource.
    public var index: DocumentIndex
    /// The file it was read from.
    public var file: String
    /// Where its document starts.
    public var mark: Mark
    /// Where `metadata.name`'s value is written.
    public var nameMark: Mark
    /// Where `spec.source` is written.
    public var sourceMark: Mark
    /// Where each key of `spec.indexes` is written.
    public var indexMarks: [String: Mark]

    /// Creates a resource read from `file`.
    public init(index: DocumentIndex, file: String, mark: Mark, nameMark: Mark, sourceMark: Mark, indexMarks: [String: Mark]) {
        self.index = index
        self.file = file
        self.mark = mark
        self.nameMark = nameMark
        self.sourceMark = sourceMark
        self.indexMarks = indexMarks
    }
}

/// What one spec file holds: its resources, its problems, and what must be held because of them.
///
/// A file that did not parse to the end, or has a document whose name cannot be read
/// (``isComplete`` is false), may declare documents that were never read: the reconciler holds
/// every document it last saw in that file, never treating them as removed. A document that
/// parsed but broke the schema, or has another kind, is held by id when its `metadata.name`
/// can still be read (``heldIDs``).
public struct SpecFile: Sendable {
    /// The file's path.
    public var path: String
    /// The valid resources, in order.
    public var resources: [SpecResource]
    /// The problems, errors and warnings.
    public var diagnostics: [Diagnostic]
    /// Whether every document of the file was read.
    public var isComplete: Bool
    /// Ids of documents that are declared here but could not be decoded.
    public var heldIDs: Set<String>

    /// Reads a spec file. Never throws: every problem becomes a diagnostic.
    ///
    /// - Parameters:
    ///   - path: the name to use in diagnostics (repository-relative where possible).
    ///   - bytes: the file's content.
    ///   - limits: the YAML limits.
    public init(path: String, bytes: [UInt8], limits: YAMLLimits = .default) {
        self.path = path
        resources = []
        diagnostics = []
        heldIDs = []
        let stream = YAMLStream(parsing: bytes, file: path, limits: limits)
        isComplete = stream.error == nil
        if let error = stream.error { diagnostics.append(Diagnostic(error)) }
        let decoder = YAMLDecoder()
        for document in stream.documents where !document.isEmpty {
            let root = document.root
            guard root.pairs != nil else {
                diagnostics.append(Diagnostic(YAMLError(
                    .typeMismatch, file: path, mark: root.mark,
                    message: "a resource is a mapping with apiVersion and kind, not \(root.scalar == nil ? "a sequence" : "a scalar")")))
                isComplete = false
                continue
            }
            let name = root["metadata"]?["name"]?.scalar?.value
            let kind = root["kind"]?.scalar?.value
            guard kind == DocumentIndex.kind else {
                let mark = root["kind"]?.mark ?? root.mark
                let message = switch kind {
                case nil: "missing required field \"kind\""
                case ControllerConfig.kind?: "a \(ControllerConfig.kind) configures the controller; pass it with --config, not in the specs (skipped)"
                case let other?: "unknown kind \"\(other)\"; only \(DocumentIndex.kind) is read from specs (skipped)"
                }
                diagnostics.append(Diagnostic(
                    file: path, line: mark.line, column: mark.column, severity: kind == nil ? .error : .warning,
                    code: kind == nil ? YAMLError.Code.missingField.rawValue : "unknownKind", message: message))
                // A misspelt kind may hide a DocumentIndex: hold what it names, or the file.
                if let name { heldIDs.insert(name) } else { isComplete = false }
                continue
            }
            do {
                let index = try decoder.decode(DocumentIndex.self, from: document)
                let indexes = root["spec"]?["indexes"]?.pairs ?? []
                resources.append(SpecResource(
                    index: index, file: path, mark: document.mark,
                    nameMark: root["metadata"]?["name"]?.mark ?? document.mark,
                    sourceMark: root["spec"]?["source"]?.mark ?? document.mark,
                    indexMarks: Dictionary(indexes.map { ($0.key.scalar?.value ?? "", $0.key.mark) }, uniquingKeysWith: { a, _ in a })))
            } catch {
                diagnostics.append(Diagnostic(error))
                if let name { heldIDs.insert(name) } else { isComplete = false }
            }
        }
    }

    /// A file that could not be read at all (too large, unreadable): nothing of it is known,
    /// so everything it declared is held.
    public init(path: String, failure: YAMLError) {
        self.path = path
        resources = []
        diagnostics = [Diagnostic(failure)]
        isComplete = false
        heldIDs = []
    }

    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

extension SpecResource {
    /// The resource as JSON, positions included: what the pass cache keeps of a spec file, so
    /// that a later pass needs no parse of a file that did not change.
    public var cacheJSON: JSONValue {
        func position(_ m: Mark) -> JSONValue { .array([.int(Int64(m.line)), .int(Int64(m.column))]) }
        let metadata = index.metadata
        return .object([
            "file": .string(file),
            "mark": position(mark),
            "nameMark": position(nameMark),
            "sourceMark": position(sourceMark),
            "indexMarks": .object(indexMarks.mapValues(position)),
            "name": .string(metadata.name),
            "collection": metadata.collection.map(JSONValue.string) ?? .null,
            "createdBy": .string(metadata.createdBy),
            "annotations": .object(metadata.annotations.mapValues(JSONValue.string)),
            "source": index.spec.source.json,
            "indexes": index.spec.indexes.map { .object($0.mapValues { .string($0.rawValue) }) } ?? .null,
        ])
    }

    /// Reads ``cacheJSON``; `nil` when it is not one (a damaged cache is rebuilt).
    public init?(cacheJSON json: JSONValue) {
        func mark(_ value: JSONValue?) -> Mark? {
            guard case .array(let parts)? = value, parts.count == 2, let line = parts[0].intValue, let column = parts[1].intValue else { return nil }
            return Mark(line: Int(line), column: Int(column))
        }
        guard let file = json["file"]?.stringValue, let start = mark(json["mark"]), let nameMark = mark(json["nameMark"]),
              let sourceMark = mark(json["sourceMark"]), case .object(let marks)? = json["indexMarks"],
              let name = json["name"]?.stringValue, let createdBy = json["createdBy"]?.stringValue,
              case .object(let annotations)? = json["annotations"], let sourceJSON = json["source"],
              let source = try? Source(json: sourceJSON)
        else { return nil }
        var indexMarks: [String: Mark] = [:]
        for (type, value) in marks {
            guard let m = mark(value) else { return nil }
            indexMarks[type] = m
        }
        var indexes: [String: DesiredState]?
        if case .object(let states)? = json["indexes"] {
            var decoded: [String: DesiredState] = [:]
            for (type, value) in states {
                guard let state = value.stringValue.flatMap(DesiredState.init(rawValue:)) else { return nil }
                decoded[type] = state
            }
            indexes = decoded
        }
        self.init(
            index: DocumentIndex(
                metadata: .init(name: name, collection: json["collection"]?.stringValue, createdBy: createdBy,
                                annotations: annotations.compactMapValues(\.stringValue)),
                spec: .init(source: source, indexes: indexes)),
            file: file, mark: start, nameMark: nameMark, sourceMark: sourceMark, indexMarks: indexMarks)
    }
}

extension SpecFile {
    /// Whether a path in the specs folder is a spec file: `*.yaml` or `*.yml`.
    public static func isSpecPath(_ path: String) -> Bool {
        path.hasSuffix(".yaml") || path.hasSuffix(".yml")
    }
}
