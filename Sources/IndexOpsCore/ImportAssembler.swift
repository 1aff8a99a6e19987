/// What an import needs beside the rows: how the old names map to this repository's, and the
/// configuration the controller will reconcile with (so that a built index's revision is
/// the one the first pass computes, and nothing built is built again).
public struct ImportSettings: Sendable {
    /// The old index type names (`VECTOR`) and the configured types they become (`vector`).
    /// A name without a mapping that is itself a configured type name maps to itself.
    public var typeMap: [String: String]
    /// The source URI of each document, with `{document_id}`, `{collection}`,
    /// `{object_path}` and `{name}` in it; `nil`: `{object_path}` (the single table only).
    public var sourceTemplate: String?
    /// `createdBy` of a document whose row names nobody.
    public var user: String
    /// Each configured index type's revision fingerprint (``ControllerConfig/revisionFingerprints``).
    public var revisionFingerprints: [String: String]
    /// The controller's retry settings: a failed index's next retry is computed with them.
    public var planner: PlannerSettings
    /// The specs and status folders.
    public var specsDir: String
    public var statusDir: String
    /// The time written where a row has none.
    public var now: Timestamp
    /// Applied to every error message written into a status file.
    public var redactor: Redactor

    /// The default `--type-map`.
    public static let defaultTypeMap = ["VECTOR": "vector", "FULLTEXT": "fulltext", "GRAPH": "graph"]

    /// Creates settings.
    public init(
        typeMap: [String: String] = ImportSettings.defaultTypeMap, sourceTemplate: String?, user: String,
        revisionFingerprints: [String: String], planner: PlannerSettings, specsDir: String = "specs", statusDir: String = "status",
        now: Timestamp, redactor: Redactor = .none
    ) {
        self.typeMap = typeMap
        self.sourceTemplate = sourceTemplate
        self.user = user
        self.revisionFingerprints = revisionFingerprints
        self.planner = planner
        self.specsDir = specsDir
        self.statusDir = statusDir
        self.now = now
        self.redactor = redactor
    }

    /// Reads `--type-map VECTOR=vector,FULLTEXT=fulltext`.
    ///
    /// - Throws: ``ImportError`` for a pair without `=` or a target that is not a type name.
    public static func typeMap(parsing text: String) throws(ImportError) -> [String: String] {
        var map: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0.filter { !$0.isWhitespace }) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ImportError("--type-map: \"\(pair)\" is not OLD=new (like VECTOR=vector)")
            }
            if let problem = Identifier.indexTypeProblem(parts[1]) { throw ImportError("--type-map: \(problem)") }
            map[parts[0]] = parts[1]
        }
        return map
    }
}

/// What the import makes of one index, for the counts of the commit message and `--dry-run`.
public enum ImportCategory: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Built and wanted: adopted as it is.
    case present
    /// Wanted and not built yet: the first pass builds it.
    case pending
    /// Being built when the old system stopped: the first pass builds it again.
    case interrupted
    /// Failed: retried when its backoff is over (or held when its retries are spent).
    case failed
    /// Declared absent while it is built or being deleted: the first pass deletes it.
    case toDelete = "to delete"
    /// Declared absent and not there: nothing to do.
    case absent
    /// Of a soft-deleted document (or one without a `document` row): no spec; the first pass
    /// deletes what is built.
    case orphaned

    public static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// One document as the import writes it: its spec file (none for an orphan) and its status
/// file (none when nothing of it is built).
public struct ImportedDocument: Sendable, Hashable {
    /// The document id.
    public var id: String
    /// `specs/<collection or _>/<id>.yaml`, or `nil` for an orphan.
    public var specPath: String?
    /// The spec file's text.
    public var specText: String?
    /// `status/<ab>/<id>.json`.
    public var statusPath: String
    /// The status, or `nil` when no index of the document is built, failed or in flight.
    public var status: DocumentStatus?
    /// Each index type and what it was made.
    public var categories: [String: ImportCategory]

    /// Creates a document.
    public init(id: String, specPath: String?, specText: String?, statusPath: String, status: DocumentStatus?, categories: [String: ImportCategory]) {
        self.id = id
        self.specPath = specPath
        self.specText = specText
        self.statusPath = statusPath
        self.status = status
        self.categories = categories
    }
}

/// Turns rows, which come grouped by document (both layouts' queries order them by
/// `document_id`), into documents, one at a time: memory holds one document's rows and the
/// set of ids already seen, never the table.
///
/// The mapping (DESIGN.md §11, issue 12):
///
/// | old | spec | status entry |
/// |---|---|---|
/// | ACTIVE / desired present, actual present | present | present, revision of the version built |
/// | PENDING / desired present, nothing built | present | none: the first pass creates it |
/// | CREATING / actual creating | present | creating: interrupted, run again |
/// | DELETING / desired absent, actual present | absent | present: the first pass deletes it |
/// | DELETION_IN_PROGRESS / actual deleting | absent | deleting: interrupted, run again |
/// | FAILED / actual failed | as declared | failed, its error, retry count and next retry |
/// | soft-deleted document | none | what is built, so the first pass deletes it as an orphan |
public struct ImportAssembler: Sendable {
    /// The settings rows are read with.
    public let settings: ImportSettings
    private var rows: [(row: ImportRow, location: String)] = []
    private var seen = Set<String>()

    /// Creates an assembler.
    public init(settings: ImportSettings) {
        self.settings = settings
    }

    /// Adds a row; returns the previous document when this row starts another one.
    ///
    /// - Throws: ``ImportError`` when the previous document cannot be imported, or this
    ///   row's document already came earlier (the rows of a document must be together).
    public mutating func add(_ row: ImportRow, location: String) throws(ImportError) -> ImportedDocument? {
        var finished: ImportedDocument?
        if let current = rows.first?.row.documentId, current != row.documentId {
            finished = try finish()
        }
        if rows.isEmpty, !seen.insert(row.documentId).inserted {
            throw ImportError("\(location): the rows of document \(row.documentId) are not together; order the rows by document_id")
        }
        rows.append((row, location))
        return finished
    }

    /// Ends the document being read; `nil` when there is none.
    public mutating func finish() throws(ImportError) -> ImportedDocument? {
        guard !rows.isEmpty else { return nil }
        defer { rows.removeAll(keepingCapacity: true) }
        return try document(rows)
    }

    private func document(_ rows: [(row: ImportRow, location: String)]) throws(ImportError) -> ImportedDocument {
        let first = rows[0]
        let id = first.row.documentId
        if let problem = Identifier.idProblem(id) { throw ImportError("\(first.location): document_id \(problem)") }
        var byType: [String: ImportRow] = [:]
        for (row, location) in rows {
            let type = try mappedType(row.indexType, location: location)
            guard byType[type] == nil else {
                throw ImportError("\(location): document \(id) has two rows for index type \(type)")
            }
            byType[type] = row
        }
        let collection = rows.lazy.compactMap(\.row.collection).first.flatMap { $0.isEmpty ? nil : $0 }
        if let collection, let problem = Identifier.idProblem(collection) {
            throw ImportError("\(first.location): collection_id of \(id) \(problem)")
        }
        let orphaned = rows.allSatisfy { $0.row.orphaned || $0.row.desired == nil }
        let revision = rows.compactMap(\.row.version).max().map(String.init)
        let uri = try self.uri(of: first.row, collection: collection, location: first.location)
        let source = Source.uri(uri, revision: revision)
        let specPath = orphaned ? nil : "\(settings.specsDir)/\(collection ?? "_")/\(id).yaml"

        var desired: [String: DesiredState] = [:]
        var entries: [String: IndexStatus] = [:]
        var categories: [String: ImportCategory] = [:]
        for (type, row) in byType {
            let want: DesiredState = orphaned ? .absent : row.desired ?? .absent
            if !orphaned, row.desired != nil { desired[type] = want }
            let built = revisionOf(type, uri: uri, version: row.observedVersion.map(String.init) ?? revision)
            let building = revisionOf(type, uri: uri, version: revision)
            let updated = row.updated ?? row.created ?? settings.now
            let reconciled = row.reconciled ?? updated
            var entry = IndexStatus(
                actualState: .present, desiredState: .present, updatedAt: updated, lastReconciledAt: reconciled,
                indexData: Self.object(row.indexData), retryCount: row.retryCount ?? 0)
            switch row.actual {
            case nil:
                categories[type] = orphaned ? .orphaned : want == .present ? .pending : .absent
                continue
            case .present?:
                entry.createdAt = row.created
                entry.observedRevision = built
            case .creating?:
                entry.actualState = .creating
                entry.observedRevision = building
            case .deleting?:
                entry.actualState = .deleting
                entry.desiredState = .absent
                entry.createdAt = row.created
                entry.observedRevision = built
            case .failed?:
                entry.actualState = .failed
                entry.desiredState = want
                entry.observedRevision = want == .present ? building : built
                entry.retryCount = max(entry.retryCount, 1)
                let message = settings.redactor.redact(row.errorMessage ?? "failed in the system imported from")
                entry.errorMessage = IndexStatus.capped(message)
                entry.nextRetryAt = reconciled.adding(settings.planner.backoff(afterFailures: entry.retryCount, jitter: 1))
            case .absent?:
                continue
            }
            entries[type] = entry
            if orphaned {
                categories[type] = .orphaned
            } else if row.actual == .failed {
                categories[type] = .failed
            } else if want == .absent {
                categories[type] = .toDelete
            } else {
                categories[type] = row.actual == .creating ? .interrupted : .present
            }
        }
        let user = rows.lazy.compactMap(\.row.createdBy).first { !$0.allSatisfy(\.isWhitespace) } ?? settings.user
        let specText = specPath.map { _ in
            SpecText.declaration(id: id, user: user, collection: collection, source: source, indexes: desired)
        }
        let status = entries.isEmpty
            ? nil : DocumentStatus(documentId: id, collection: collection, specFile: specPath, source: source, indexes: entries)
        return ImportedDocument(
            id: id, specPath: specPath, specText: specText, statusPath: DocumentStatus.path(for: id, statusDir: settings.statusDir),
            status: status, categories: categories)
    }

    /// The configured type an old type name becomes.
    private func mappedType(_ old: String, location: String) throws(ImportError) -> String {
        let type: String
        if let mapped = settings.typeMap[old] {
            type = mapped
        } else if settings.revisionFingerprints[old] != nil {
            type = old
        } else {
            throw ImportError("\(location): index type \"\(old)\" has no mapping; add --type-map \(old)=<type>")
        }
        guard settings.revisionFingerprints[type] != nil else {
            let configured = settings.revisionFingerprints.keys.sorted().joined(separator: ", ")
            throw ImportError("\(location): index type \(type) (from \(old)) is not configured (configured: \(configured)); pass the controller's --config, or map \(old) with --type-map")
        }
        return type
    }

    /// The source URI of a document: the template with the row's values.
    private func uri(of row: ImportRow, collection: String?, location: String) throws(ImportError) -> String {
        guard let template = settings.sourceTemplate ?? (row.objectPath != nil || row.name != nil ? "{object_path}" : nil) else {
            throw ImportError("\(location): the rows do not say where document \(row.documentId) is; pass --source-template 's3://bucket/{document_id}'")
        }
        var uri = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            uri += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { uri += rest[open...]; rest = ""; break }
            let name = rest[rest.index(after: open)..<close]
            let value: String?
            switch name {
            case "document_id": value = row.documentId
            case "collection": value = collection
            case "object_path": value = row.objectPath
            case "name": value = row.name
            default: throw ImportError("--source-template: unknown placeholder {\(name)} (use {document_id}, {collection}, {object_path}, {name})")
            }
            guard let value, !value.isEmpty else {
                throw ImportError("\(location): document \(row.documentId) has no \(name) for the source template \(template)")
            }
            uri += value
            rest = rest[rest.index(after: close)...]
        }
        uri += rest
        if let problem = Source.uriProblem(uri) { throw ImportError("\(location): \(problem) (from the source template \(template))") }
        return uri
    }

    /// The revision the controller computes for `type` of a URI source at `version`.
    private func revisionOf(_ type: String, uri: String, version: String?) -> String {
         SpecResolution.revision(uri: uri, revision: version, fingerprint: settings.revisionFingerprints[type]!)
    }

    /// `index_data` as a status file's `indexData`: an object as it is, anything else under
    /// `value`, nothing as `{}`.
    private static func object(_ value: JSONValue?) -> JSONValue {
        switch value {
        case nil, .null?: return .object([:])
        case .object?: return value!
        case let other?: return .object(["value": other])
        }
    }
}
