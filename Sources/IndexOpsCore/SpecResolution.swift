/// What the declarations of one document id come to (DESIGN.md §2): a document to reconcile,
/// one to hold exactly as it is, or none (its spec is gone: an orphan).
///
/// A pure function of the declarations, so that a pass that reads every spec file and one
/// that reads only the files that changed decide alike.
public enum SpecResolution: Sendable, Hashable {
    /// One valid declaration with a usable source.
    case desired(DesiredDocument)
    /// Declared more than once, in a file that could not be read whole, as a document that
    /// did not decode, or with a source that cannot be used: left exactly as it is.
    case held
    /// Declared nowhere.
    case undeclared

    /// What a source path names in the tree being reconciled, and its blob when it is a file.
    public struct SourceLookup: Sendable, Hashable {
        /// What the path names.
        public var entry: SourceEntry
        /// The blob id (hex) of a regular file.
        public var blob: String?

        /// Creates a lookup result.
        public init(entry: SourceEntry, blob: String? = nil) {
            self.entry = entry
            self.blob = blob
        }
    }

    /// Resolves one id.
    ///
    /// - Parameters:
    ///   - declarations: every valid declaration of the id, in every spec file.
    ///   - heldByFile: a spec file that may declare it could not be read (a broken file, a
    ///     document that did not decode but names it, a symlinked spec file).
    ///   - source: what a source path names.
    ///   - revisionBases: for each configured index type, the fingerprint of its settings.
    /// - Returns: the resolution and the id's problems (duplicates, unknown index types,
    ///   unusable sources), sorted.
    public static func resolve(
        declarations: [SpecResource], heldByFile: Bool, source: (String) -> SourceLookup,
        indexTypes: [String: String]
    ) -> (SpecResolution, [Diagnostic]) {
        var lookups: [String: SourceLookup] = [:]
        for resource in declarations {
            if case .path(let path) = resource.index.spec.source, lookups[path] == nil { lookups[path] = source(path) }
        }
        let diagnostics = SpecSetCheck.check(
            declarations: declarations, indexTypes: Set(indexTypes.keys), sourceEntry: { [lookups] path, _ in lookups[path]?.entry })
        guard declarations.count == 1, let resource = declarations.first else {
            return (declarations.isEmpty && !heldByFile ? .undeclared : .held, diagnostics)
        }
        guard !heldByFile else { return (.held, diagnostics) }
        let base: String
        var blob: String?
        switch resource.index.spec.source {
        case .path(let path):
            if let found = lookups[path], found.entry == .file, let id = found.blob {
                blob = id
                base = "blob:" + id
            } else if resource.index.declaresEveryIndexAbsent, lookups[path]?.entry == .missing {
                base = "missing:" + path  // only deletes: the source is never read
            } else {
                return (.held, diagnostics)
            }
        case .uri(let uri, let revision):
            base = uriBase(uri, revision: revision)
        }
        var revisions: [String: String] = [:]
        for (type, fingerprint) in indexTypes { revisions[type] = revision(base: base, fingerprint: fingerprint) }
        return (.desired(DesiredDocument(index: resource.index, specFile: resource.file, revisions: revisions, sourceBlob: blob)), diagnostics)
    }
}

extension SpecResolution {
    /// The revision an index of a URI source gets: what `observedRevision` holds once it is
    /// built (an importer writes it for the indexes it adopts).
    public static func revision(uri: String, revision: String?, fingerprint: String) -> String {
        self.revision(base: uriBase(uri, revision: revision), fingerprint: fingerprint)
    }

    private static func uriBase(_ uri: String, revision: String?) -> String { "uri:" + uri + "#" + (revision ?? "") }

    private static func revision(base: String, fingerprint: String) -> String {
        String(Digests.sha256Hex(base + "\n" + fingerprint).prefix(40))
    }
}

extension IndexTypeSettings {
    /// What of the settings changes what is indexed: a change rebuilds every index of the type.
    /// An embedder adds its model and dimensions (without one, the text is what it always was,
    /// so that no index is rebuilt by an upgrade).
    public var revisionFingerprint: String {
        let variables = env.keys.sorted().map { "\($0)=\(env[$0]!)" }.joined(separator: "\u{1}")
        var parts = [driver.rawValue, database ?? "", (command ?? []).joined(separator: "\u{1}"), variables]
        if let embedder { parts.append(embedder.fingerprint) }
        // The postgres part is added only when there is one, so that the other drivers'
        // fingerprints (and so every built index's revision) stay what they were.
        if let postgres { parts.append(postgres.fingerprint) }
        return parts.joined(separator: "\u{0}")
    }
}

extension ControllerConfig {
    /// Each index type's ``IndexTypeSettings/revisionFingerprint``.
    public var revisionFingerprints: [String: String] { indexTypes.mapValues(\.revisionFingerprint) }
}
