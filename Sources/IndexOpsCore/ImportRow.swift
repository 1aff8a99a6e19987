/// Which table layout a table-based index system keeps its state in (DESIGN.md §11).
public enum ImportLayout: String, Sendable, Hashable, CaseIterable {
    /// `document_index_specs` (desired) and `document_index_statuses` (actual), one row per
    /// document and index type in each.
    case specStatus = "spec-status"
    /// `document_index` (one row per document and index type, one `status`) joined with
    /// `document` (its name, owner, collection, object path and soft delete).
    case singleTable = "single-table"
}

/// One row of an import: a document's index of one type, as either layout's query (or a
/// `--from` dump line) gives it, in the layout's own words: a JSON object.
///
/// spec/status: `document_id`, `index_type`, `desired_state` (`null`: no spec row),
/// `created_by`, `actual_state` (`null`: no status row), `index_data` (JSON text),
/// `error_message`, `retry_count`, `gmt_created`, `gmt_updated`, `gmt_last_reconciled`.
///
/// single table: `document_id`, `index_type`, `status`, `version`, `observed_version`,
/// `index_data`, `error_message`, `gmt_created`, `gmt_updated`, `gmt_last_reconciled`, and
/// `document`: the joined `document` row (`id`, `name`, `user`, `collection_id`,
/// `object_path`, `gmt_deleted`), `null` when there is none.
public struct ImportRow: Sendable, Hashable {
    /// The document id as the old system wrote it.
    public var documentId: String
    /// The index type as the old system wrote it (`VECTOR`).
    public var indexType: String
    /// What the old system wanted; `nil` when it had no spec for this index.
    public var desired: DesiredState?
    /// What the old system had; `nil` when nothing was built (no status, or pending).
    public var actual: ActualState?
    /// Who declared it.
    public var createdBy: String?
    /// The document's name, collection and object path (single table).
    public var name: String?
    public var collection: String?
    public var objectPath: String?
    /// The document is soft-deleted, or has no `document` row: its indexes are orphans.
    public var orphaned = false
    /// The document's version, and the version the index was built from (single table).
    public var version: Int64?
    public var observedVersion: Int64?
    /// What the old indexer recorded about the index (`index_data`).
    public var indexData: JSONValue?
    /// The last failure.
    public var errorMessage: String?
    /// Failures so far (spec/status).
    public var retryCount: Int?
    /// `gmt_created`, `gmt_updated`, `gmt_last_reconciled`, to the second in UTC.
    public var created: Timestamp?
    public var updated: Timestamp?
    public var reconciled: Timestamp?

    /// Creates a row.
    public init(documentId: String, indexType: String) {
        self.documentId = documentId
        self.indexType = indexType
    }

    /// The layout a dump line's object is in: `status` names the single table,
    /// `desired_state` or `actual_state` the spec/status tables; `nil` when neither.
    public static func layout(of object: JSONValue) -> ImportLayout? {
        if object["status"] != nil { return .singleTable }
        if object["desired_state"] != nil || object["actual_state"] != nil { return .specStatus }
        return nil
    }

    /// Reads one row of `layout` from its JSON text.
    ///
    /// - Parameter location: where the row comes from (`rows.jsonl:12`), for messages.
    /// - Throws: ``ImportError`` for text that is not a JSON object, a missing id or type,
    ///   an unknown state, a value of the wrong type, `index_data` that is not JSON.
    public init(json text: String, layout: ImportLayout, location: String) throws(ImportError) {
        guard let object = JSONValue(parsing: text), case .object = object else {
            throw ImportError("\(location): the row is not a JSON object")
        }
        try self.init(object: object, layout: layout, location: location)
    }

    /// Reads one row of `layout` from its JSON object.
    public init(object: JSONValue, layout: ImportLayout, location: String) throws(ImportError) {
        func text(_ key: String, in value: JSONValue = object) throws(ImportError) -> String? {
            switch value[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            case .int(let i)?: return String(i)
            default: throw ImportError("\(location): \(key) must be text")
            }
        }
        func integer(_ key: String) throws(ImportError) -> Int64? {
            switch object[key] {
            case nil, .null?: return nil
            case let value?:
                if let i = value.intValue { return i }
                if let s = value.stringValue, let i = Int64(s) { return i }
                throw ImportError("\(location): \(key) must be an integer")
            }
        }
        func time(_ key: String, in value: JSONValue = object) throws(ImportError) -> Timestamp? {
            guard let raw = try text(key, in: value) else { return nil }
            guard let parsed = Self.timestamp(raw) else {
                throw ImportError("\(location): \(key) \"\(raw.prefix(40))\" is not a time (YYYY-MM-DDTHH:MM:SS[.frac][zone])")
            }
            return parsed
        }
        guard let id = try text("document_id"), !id.isEmpty else { throw ImportError("\(location): document_id is missing") }
        guard let type = try text("index_type"), !type.isEmpty else { throw ImportError("\(location): index_type is missing") }
        self.init(documentId: id, indexType: type)
        if let data = try text("index_data") {
            guard let parsed = JSONValue(parsing: data) else {
                throw ImportError("\(location): index_data of \(id)/\(type) is not valid JSON")
            }
            indexData = parsed
        }
        errorMessage = try text("error_message")
        created = try time("gmt_created")
        updated = try time("gmt_updated")
        reconciled = try time("gmt_last_reconciled")
        switch layout {
        case .specStatus:
            if let state = try text("desired_state") {
                guard let value = DesiredState(rawValue: state.lowercased()) else {
                    throw ImportError("\(location): desired_state \"\(state)\" of \(id)/\(type) is not present or absent")
                }
                desired = value
            }
            if let state = try text("actual_state") {
                guard let value = ActualState(rawValue: state.lowercased()) else {
                    throw ImportError("\(location): actual_state \"\(state)\" of \(id)/\(type) is not one of absent, creating, present, deleting, failed")
                }
                actual = value == .absent ? nil : value
            }
            createdBy = try text("created_by")
            if let count = try integer("retry_count") {
                guard count >= 0 else { throw ImportError("\(location): retry_count of \(id)/\(type) is negative") }
                retryCount = Int(min(count, Int64(IndexStatus.maxRetryCount)))
            }
        case .singleTable:
            guard let status = try text("status") else { throw ImportError("\(location): status of \(id)/\(type) is missing") }
            switch status.uppercased() {
            case "ACTIVE": (desired, actual) = (.present, .present)
            case "PENDING": (desired, actual) = (.present, nil)
            case "CREATING": (desired, actual) = (.present, .creating)
            case "DELETING": (desired, actual) = (.absent, .present)
            case "DELETION_IN_PROGRESS": (desired, actual) = (.absent, .deleting)
            case "FAILED": (desired, actual) = (.present, .failed)
            default:
                throw ImportError("\(location): status \"\(status)\" of \(id)/\(type) is not one of ACTIVE, PENDING, CREATING, DELETING, DELETION_IN_PROGRESS, FAILED")
            }
            version = try integer("version")
            observedVersion = try integer("observed_version")
            switch object["document"] {
            case nil, .null?:
                orphaned = true
            case let document? where document.isObject:
                name = try text("name", in: document)
                createdBy = try text("user", in: document)
                collection = try text("collection_id", in: document)
                objectPath = try text("object_path", in: document)
                orphaned = try time("gmt_deleted", in: document) != nil
            default:
                throw ImportError("\(location): document must be an object or null")
            }
        }
    }

    /// A time as PostgreSQL writes it in JSON (`2026-11-29T10:00:00.123456`, with or without
    /// a zone; a time without one is UTC), to the second in UTC.
    static func timestamp(_ raw: String) -> Timestamp? {
        var text = String(raw.map { $0 == " " ? "T" : $0 })
        // `+00` (psql's text form) becomes `+00:00`.
        if let sign = text.lastIndex(where: { $0 == "+" || $0 == "-" }), text.distance(from: text.startIndex, to: sign) > 18,
           text.distance(from: sign, to: text.endIndex) == 3 {
            text += ":00"
        }
        let parsed = Timestamp(text) ?? Timestamp(text + "Z")
        return parsed.map { Timestamp(secondsSinceEpoch: $0.secondsSinceEpoch) }
    }
}

extension JSONValue {
    fileprivate var isObject: Bool {
        if case .object = self { return true }
        return false
    }
}

/// Input an import cannot use: a row that cannot be read, an index type without a mapping,
/// an id that is not an id, a database with neither layout. One line; nothing is written.
public struct ImportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One line: where, and what is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
