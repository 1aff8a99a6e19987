/// The rules a status file must follow (DESIGN.md §3, §4: "status files are input too").
///
/// A status file is the controller's, but anyone who can push can edit it, so it is read as
/// strictly as a spec: an unknown field, a wrong type, a value out of its range or a file
/// past its size is an error naming the field, and the controller then treats the document
/// as having an invalid status (its desired indexes are built again; an orphan's indexes are
/// deleted from the last valid version of the file in git history).
///
/// | field | rule |
/// |---|---|
/// | the file | at most ``maxFileSize`` bytes of JSON, no key twice in one object |
/// | `apiVersion`, `kind` | `indexops/v1`, `DocumentIndexStatus` |
/// | `documentId` | an id (`[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?`) |
/// | `collection` | `null` or an id |
/// | `specFile` | `null` or a clean relative path (no `..`, `.`, empty part, `.git`, control character) ending in `.yaml` or `.yml`, at most ``maxPathLength`` bytes |
/// | `indexes` | an object whose keys are index type names (`[a-z][a-z0-9-]{0,62}`) |
/// | `actualState` | `absent`, `creating`, `present`, `deleting` or `failed` |
/// | `desiredState` | `present` or `absent` |
/// | `createdAt`, `nextRetryAt` | `null` or a time |
/// | `updatedAt`, `lastReconciledAt` | a time |
/// | `lastHandledRetryAt`, `lastHandledRecreateAt` | `null` or a time |
/// | `errorMessage` | `null` or text of at most ``maxErrorMessageLength`` bytes |
/// | `observedRevision` | `null` or text of 1 to ``maxRevisionLength`` bytes without control characters |
/// | `retryCount` | an integer from 0 to ``IndexStatus/maxRetryCount`` |
/// | `indexData` | an object |
/// | `terminalConfig` | missing, `null` or 1 to ``maxRevisionLength`` bytes without control characters |
/// | `source` | missing, `null`, `{"path"}` with a path a spec may hold, or `{"uri", "revision"}` |
/// | `owner` (of an entry) | missing, `null` or `{"shard": "I/N", "replica": name}`: a shard ``Shard/init(parsing:)`` reads and a name of 1 to ``IntentOwner/maxReplicaLength`` bytes of letters, digits, `.`, `-` and `_` |
///
/// A time is RFC 3339 and no earlier than 1970-01-01T00:00:00Z (years have four digits, so
/// none is later than 9999).
public enum StatusFileRules {
    /// The largest status file read, in bytes (16 MiB: an exec indexer's `indexData` is at most
    /// 1 MiB per index type).
    public static let maxFileSize = 16 << 20
    /// The longest `errorMessage` read, in bytes. The controller writes at most
    /// ``IndexStatus/maxErrorMessageLength``.
    public static let maxErrorMessageLength = 4_096
    /// The longest `observedRevision`, in bytes.
    public static let maxRevisionLength = 1_024
    /// The longest `specFile`, in bytes.
    public static let maxPathLength = 4_096

    private static let topFields: Set<String> = [
        "apiVersion", "kind", "documentId", "collection", "specFile", "indexes", "lastHandledRetryAt", "lastHandledRecreateAt",
        "source",
    ]
    private static let entryFields: Set<String> = [
        "actualState", "desiredState", "createdAt", "updatedAt", "lastReconciledAt", "errorMessage", "indexData",
        "observedRevision", "retryCount", "nextRetryAt", "terminalConfig", "owner",
    ]

    /// Reads and checks a status file.
    ///
    /// - Throws: ``StatusFileError`` for the first rule broken, naming the field.
    public static func read(_ text: String) throws(StatusFileError) -> DocumentStatus {
        guard text.utf8.count <= maxFileSize else {
            throw StatusFileError("the file has \(text.utf8.count) bytes, more than the \(maxFileSize) a status file may have")
        }
        guard let json = JSONValue(parsing: text) else { throw StatusFileError("not valid JSON") }
        if let key = JSONValue.duplicateKey(in: text) { throw StatusFileError("the key \"\(printable(key))\" appears twice in one object") }
        guard case .object(let top) = json else { throw StatusFileError("not a JSON object") }
        try unknown(top, allowed: topFields, prefix: "")
        guard case .string(let api)? = top["apiVersion"], api == DocumentIndex.apiVersion else {
            throw StatusFileError("must be \"\(DocumentIndex.apiVersion)\"", field: "apiVersion")
        }
        guard case .string(let kind)? = top["kind"], kind == DocumentStatus.kind else {
            throw StatusFileError("must be \"\(DocumentStatus.kind)\"", field: "kind")
        }
        guard case .string(let id)? = top["documentId"] else { throw StatusFileError("must be a string", field: "documentId") }
        if let problem = Identifier.idProblem(id) { throw StatusFileError(problem, field: "documentId") }
        let collection = try optionalString(top["collection"], "collection")
        if let collection, let problem = Identifier.idProblem(collection) { throw StatusFileError(problem, field: "collection") }
        let specFile = try optionalString(top["specFile"], "specFile")
        if let specFile { try checkSpecFile(specFile) }
        guard case .object(let entries)? = top["indexes"] else { throw StatusFileError("must be an object", field: "indexes") }
        var indexes: [String: IndexStatus] = [:]
        for (type, value) in entries {
            guard Identifier.isValidIndexType(type) else {
                throw StatusFileError(
                    "is not a valid index type name (lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
                    field: "indexes.\(printable(type))")
            }
            indexes[type] = try entry(value, prefix: "indexes.\(type).")
        }
        var source: Source?
        if let value = top["source"], value != .null {
            guard case .object(let members) = value, members.keys.allSatisfy(["path", "uri", "revision"].contains) else {
                throw StatusFileError("must be {\"path\"} or {\"uri\", \"revision\"}", field: "source")
            }
            source = try Source(json: value)
        }
        return DocumentStatus(
            documentId: id, collection: collection, specFile: specFile, source: source, indexes: indexes,
            lastHandledRetryAt: try time(top["lastHandledRetryAt"], "lastHandledRetryAt"),
            lastHandledRecreateAt: try time(top["lastHandledRecreateAt"], "lastHandledRecreateAt"))
    }

    private static func entry(_ value: JSONValue, prefix: String) throws(StatusFileError) -> IndexStatus {
        guard case .object(let e) = value else { throw StatusFileError("must be an object", field: String(prefix.dropLast())) }
        try unknown(e, allowed: entryFields, prefix: prefix)
        guard case .string(let actualText)? = e["actualState"], let actual = ActualState(rawValue: actualText) else {
            throw StatusFileError("must be one of \(ActualState.allCases.map(\.rawValue).joined(separator: ", "))", field: prefix + "actualState")
        }
        guard case .string(let desiredText)? = e["desiredState"], let desired = DesiredState(rawValue: desiredText) else {
            throw StatusFileError("must be present or absent", field: prefix + "desiredState")
        }
        guard let updated = try time(e["updatedAt"], prefix + "updatedAt") else {
            throw StatusFileError("must be a time", field: prefix + "updatedAt")
        }
        guard let reconciled = try time(e["lastReconciledAt"], prefix + "lastReconciledAt") else {
            throw StatusFileError("must be a time", field: prefix + "lastReconciledAt")
        }
        let message = try optionalString(e["errorMessage"], prefix + "errorMessage")
        if let message, message.utf8.count > maxErrorMessageLength {
            throw StatusFileError("is longer than \(maxErrorMessageLength) bytes", field: prefix + "errorMessage")
        }
        let revision = try optionalString(e["observedRevision"], prefix + "observedRevision")
        if let revision {
            guard (1...maxRevisionLength).contains(revision.utf8.count), !revision.unicodeScalars.contains(where: isControl) else {
                throw StatusFileError("must be 1 to \(maxRevisionLength) bytes without control characters", field: prefix + "observedRevision")
            }
        }
        guard case .int(let count)? = e["retryCount"] else { throw StatusFileError("must be an integer", field: prefix + "retryCount") }
        guard count >= 0, count <= Int64(IndexStatus.maxRetryCount) else {
            throw StatusFileError("\(count) is out of range (0 to \(IndexStatus.maxRetryCount))", field: prefix + "retryCount")
        }
        let data = e["indexData"] ?? .null
        guard case .object = data else { throw StatusFileError("must be an object", field: prefix + "indexData") }
        let terminal = try optionalString(e["terminalConfig"], prefix + "terminalConfig")
        if let terminal {
            guard (1...maxRevisionLength).contains(terminal.utf8.count), !terminal.unicodeScalars.contains(where: isControl) else {
                throw StatusFileError("must be 1 to \(maxRevisionLength) bytes without control characters", field: prefix + "terminalConfig")
            }
        }
        return IndexStatus(
            actualState: actual, desiredState: desired, createdAt: try time(e["createdAt"], prefix + "createdAt"),
            updatedAt: updated, lastReconciledAt: reconciled, errorMessage: message, indexData: data,
            observedRevision: revision, retryCount: Int(count), nextRetryAt: try time(e["nextRetryAt"], prefix + "nextRetryAt"),
            terminalConfig: terminal, owner: try owner(e["owner"], prefix + "owner"))
    }

    /// `null` (or missing) is `nil`; else `{"shard": "I/N", "replica": name}`.
    private static func owner(_ value: JSONValue?, _ field: String) throws(StatusFileError) -> IntentOwner? {
        guard let value, value != .null else { return nil }
        guard case .object(let members) = value else { throw StatusFileError("must be {\"shard\", \"replica\"} or null", field: field) }
        try unknown(members, allowed: ["shard", "replica"], prefix: field + ".")
        guard case .string(let text)? = members["shard"] else { throw StatusFileError("must be a string like 1/4", field: field + ".shard") }
        let shard: Shard
        do { shard = try Shard(parsing: text) } catch { throw StatusFileError(error.message, field: field + ".shard") }
        guard case .string(let replica)? = members["replica"], (1...IntentOwner.maxReplicaLength).contains(replica.utf8.count),
              replica.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0)) })
        else {
            throw StatusFileError(
                "must be 1 to \(IntentOwner.maxReplicaLength) letters, digits, '.', '-' or '_' (a host name)", field: field + ".replica")
        }
        return IntentOwner(shard: shard, replica: replica)
    }

    private static func unknown(_ object: [String: JSONValue], allowed: Set<String>, prefix: String) throws(StatusFileError) {
        if let key = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw StatusFileError("unknown field", field: prefix + printable(key))
        }
    }

    private static func optionalString(_ value: JSONValue?, _ field: String) throws(StatusFileError) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw StatusFileError("must be a string or null", field: field)
        }
    }

    /// `null` (or missing) is `nil`; anything else must be a time from 1970 on.
    private static func time(_ value: JSONValue?, _ field: String) throws(StatusFileError) -> Timestamp? {
        guard let value, value != .null else { return nil }
        guard case .string(let text) = value, text.utf8.count <= 64, let t = Timestamp(text) else {
            throw StatusFileError("must be an RFC 3339 time, like 2026-11-29T10:00:00Z", field: field)
        }
        guard t.secondsSinceEpoch >= 0 else { throw StatusFileError("\(text) is before 1970", field: field) }
        return t
    }

    private static func checkSpecFile(_ path: String) throws(StatusFileError) {
        guard path.utf8.count <= maxPathLength else { throw StatusFileError("is longer than \(maxPathLength) bytes", field: "specFile") }
        if let problem = Source.pathProblem(path, label: "spec file") { throw StatusFileError(problem, field: "specFile") }
        guard path.hasSuffix(".yaml") || path.hasSuffix(".yml") else {
            throw StatusFileError("\"\(path)\" is not a .yaml or .yml file", field: "specFile")
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// A key as it may be shown in a field path: at most 64 characters, control characters
    /// escaped (the path ends up in logs and diagnostics).
    private static func printable(_ key: String) -> String {
        let shown = DisplayText.line(String(key.unicodeScalars.prefix(64)))
        return key.unicodeScalars.count > 64 ? shown + "…" : shown
    }
}
