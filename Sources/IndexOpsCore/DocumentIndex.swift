import YAML

/// The desired state of one index of a document.
public enum DesiredState: String, Sendable, Hashable, Codable, CaseIterable {
    case present
    case absent

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let state = DesiredState(rawValue: text) else {
            throw DecodingProblem("invalid state \"\(text)\" (expected present or absent)")
        }
        self = state
    }
}

/// Where a document's content comes from.
public enum Source: Sendable, Hashable {
    /// A file in the repository, resolved in the git tree of the same commit.
    case path(String)
    /// Content outside the repository, named by a URI; `revision` changes when it does.
    case uri(String, revision: String?)
}

/// One `DocumentIndex` resource of a spec file: the indexes a document should have.
///
/// Decoding enforces every rule of DESIGN.md §2 that one document can break on its own; the
/// rules that need the whole repository are in ``SpecSetCheck``.
public struct DocumentIndex: Sendable, Hashable {
    /// The only API version there is.
    public static let apiVersion = "indexops/v1"
    /// The resource kind.
    public static let kind = "DocumentIndex"

    /// The resource's identity and annotations.
    public var metadata: Metadata
    /// What should exist.
    public var spec: Spec

    /// Creates a resource.
    public init(metadata: Metadata, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }

    /// The document id.
    public var id: String { metadata.name }

    /// A resource's identity.
    public struct Metadata: Sendable, Hashable {
        /// The annotation that asks for failed indexes to be retried.
        public static let retryAnnotation = "indexops/retry-requested-at"
        /// The annotation that asks for every index to be rebuilt.
        public static let recreateAnnotation = "indexops/recreate-requested-at"
        /// Annotations whose values indexops reads; any other `indexops/` key is a mistake.
        public static let knownAnnotations = [recreateAnnotation, retryAnnotation]

        /// The document id, unique across the repository.
        public var name: String
        /// An optional grouping.
        public var collection: String?
        /// Who asked for the document: an email or a name.
        public var createdBy: String
        /// Free-form annotations; the two of ``knownAnnotations`` are RFC 3339 times.
        public var annotations: [String: String]

        /// Creates metadata.
        public init(name: String, collection: String? = nil, createdBy: String, annotations: [String: String] = [:]) {
            self.name = name
            self.collection = collection
            self.createdBy = createdBy
            self.annotations = annotations
        }

        /// When a retry of failed indexes was last asked for.
        public var retryRequestedAt: Timestamp? { annotations[Self.retryAnnotation].flatMap(Timestamp.init) }
        /// When a rebuild of every index was last asked for.
        public var recreateRequestedAt: Timestamp? { annotations[Self.recreateAnnotation].flatMap(Timestamp.init) }
    }

    /// What a document should have.
    public struct Spec: Sendable, Hashable {
        /// Where the content comes from.
        public var source: Source
        /// The desired state per index type; `nil` means every configured type, present.
        public var indexes: [String: DesiredState]?

        /// Creates a spec.
        public init(source: Source, indexes: [String: DesiredState]? = nil) {
            self.source = source
            self.indexes = indexes
        }
    }
}

extension DocumentIndex: Decodable {
    private enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try checkTypeMeta(c, apiVersion: .apiVersion, kind: .kind, expected: Self.kind)
        metadata = try c.decode(Metadata.self, forKey: .metadata)
        spec = try c.decode(Spec.self, forKey: .spec)
    }
}

extension DocumentIndex.Metadata: Decodable {
    private enum CodingKeys: String, CodingKey { case name, collection, createdBy, annotations }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(ID.self, forKey: .name).value
        collection = try c.decodeIfPresent(ID.self, forKey: .collection)?.value
        createdBy = try c.decode(String.self, forKey: .createdBy)
        guard !createdBy.allSatisfy(\.isWhitespace) else {
            throw DecodingProblem("createdBy must name who asked for the document (an email or a name)", at: .value("createdBy"))
        }
        annotations = try c.decodeIfPresent(Annotations.self, forKey: .annotations)?.values ?? [:]
    }

    /// An id checked against the naming rule where it is written.
    private struct ID: Decodable {
        var value: String
        init(from decoder: any Decoder) throws {
            value = try decoder.singleValueContainer().decode(String.self)
            if let problem = Identifier.idProblem(value) { throw DecodingProblem(problem) }
        }
    }

    /// Annotations, with the known `indexops/` ones checked as times and unknown ones refused.
    private struct Annotations: Decodable {
        var values: [String: String] = [:]
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyCodingKey.self)
            for key in c.allKeys {
                let name = key.stringValue
                if Self.isKnown(name) {
                    values[name] = try c.decode(Timestamp.self, forKey: key).text
                } else if name.hasPrefix("indexops/") {
                    throw DecodingProblem(
                        "unknown annotation \"\(name)\" (indexops reads \(DocumentIndex.Metadata.knownAnnotations.joined(separator: " and ")))",
                        at: .key(name))
                } else {
                    values[name] = try c.decode(String.self, forKey: key)
                }
            }
        }
        private static func isKnown(_ name: String) -> Bool {
            DocumentIndex.Metadata.knownAnnotations.contains(name)
        }
    }
}

extension DocumentIndex.Spec: Decodable {
    private enum CodingKeys: String, CodingKey { case source, indexes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(Source.self, forKey: .source)
        indexes = try c.decodeIfPresent(IndexSelection.self, forKey: .indexes)?.states
    }

    /// Index type names checked where they are written.
    private struct IndexSelection: Decodable {
        var states: [String: DesiredState] = [:]
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyCodingKey.self)
            for key in c.allKeys {
                if let problem = Identifier.indexTypeProblem(key.stringValue) {
                    throw DecodingProblem(problem, at: .key(key.stringValue))
                }
                states[key.stringValue] = try c.decode(DesiredState.self, forKey: key)
            }
        }
    }
}

extension Source: Decodable {
    private enum CodingKeys: String, CodingKey { case path, uri, revision }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let path = try? single.decode(String.self) {
            if let problem = Source.pathProblem(path) { throw DecodingProblem(problem) }
            self = .path(path)
            return
        }
        let c: KeyedDecodingContainer<CodingKeys>
        do {
            c = try decoder.container(keyedBy: CodingKeys.self)
        } catch {
            throw DecodingProblem("a source is a path in the repository or a mapping with uri and revision", code: .typeMismatch)
        }
        if let path = try c.decodeIfPresent(String.self, forKey: .path) {
            guard !c.contains(.uri), !c.contains(.revision) else {
                throw DecodingProblem("a source has either a path or a uri, not both", at: .key("uri"))
            }
            if let problem = Source.pathProblem(path) { throw DecodingProblem(problem, at: .value("path")) }
            self = .path(path)
            return
        }
        let uri = try c.decode(String.self, forKey: .uri)
        if let problem = Source.uriProblem(uri) { throw DecodingProblem(problem, at: .value("uri")) }
        let revision = try c.decodeIfPresent(String.self, forKey: .revision)
        if let revision, revision.isEmpty { throw DecodingProblem("revision must not be empty", at: .value("revision")) }
        self = .uri(uri, revision: revision)
    }

    /// Why a source path cannot be used; `nil` when it can. Paths are relative to the
    /// repository root, in git's form: no `..`, no `.`, no empty part, no absolute path.
    public static func pathProblem(_ path: String, label: String = "source path") -> String? {
        if path.isEmpty { return "\(label) must not be empty" }
        if path.hasPrefix("/") { return "\(label) \"\(path)\" is absolute; use a path relative to the repository root" }
        if path.contains("\\") || path.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            return "\(label) \"\(path)\" has a backslash or a control character"
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains("..") { return "\(label) \"\(path)\" leaves the repository (\"..\" is not allowed)" }
        if parts.contains(".") || parts.contains("") {
            return "\(label) \"\(path)\" is not in canonical form (no \".\" and no empty parts)"
        }
        if parts.contains(where: { $0.lowercased() == ".git" }) { return "\(label) \"\(path)\" points into .git" }
        return nil
    }

    /// Why a source URI cannot be used; `nil` when it can: `scheme://rest`, no white space.
    public static func uriProblem(_ uri: String) -> String? {
        guard let range = uri.firstRange(of: "://"), range.lowerBound > uri.startIndex else {
            return "source uri \"\(uri)\" has no scheme (like s3://bucket/key)"
        }
        let scheme = uri[..<range.lowerBound]
        let schemeOK = scheme.first!.isLetter && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }
        guard schemeOK, range.upperBound < uri.endIndex, !uri.contains(where: \.isWhitespace) else {
            return "source uri \"\(uri)\" is not a valid URI"
        }
        return nil
    }
}

/// Checks the `apiVersion` and `kind` every resource starts with.
func checkTypeMeta<Key: CodingKey>(_ c: KeyedDecodingContainer<Key>, apiVersion: Key, kind: Key, expected: String) throws {
    let version = try c.decode(String.self, forKey: apiVersion)
    guard version == DocumentIndex.apiVersion else {
        throw DecodingProblem("unsupported apiVersion \"\(version)\" (expected \(DocumentIndex.apiVersion))", at: .value("apiVersion"))
    }
    let actual = try c.decode(String.self, forKey: kind)
    guard actual == expected else { throw DecodingProblem("kind \"\(actual)\" is not \(expected)", at: .value("kind")) }
}

/// A coding key for mappings whose keys are data (annotations, index types).
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
