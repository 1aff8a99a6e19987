import Foundation
import Git
import IndexOpsCore
import Logging
import YAML

/// A state change of one index, read from the history of its status file.
public struct HistoryItem: Sendable, Hashable {
    /// When the status commit was made.
    public var time: Date
    /// The status commit.
    public var commit: String
    /// Who made it (indexops itself, for status commits).
    public var author: String
    /// The index type.
    public var indexType: String
    /// The state before (`absent` when there was no entry).
    public var from: String
    /// The state after (`removed` when the entry went away).
    public var to: String
    /// The error recorded with the change.
    public var errorMessage: String?
    /// Why the change was made, when its commit says so: `imported from postgresql://…` for
    /// the commit of `indexops import`.
    public var reason: String?

    /// A spec change: the commit's summary line.
    public var summary: String?

    /// The index type of a change of the document's spec file (with a status branch): `from`
    /// is the spec file, `to` is `added`, `changed` or `removed`.
    public static let specChange = "(spec)"
}

/// The service API of DESIGN.md §7: what people and their tools call. Writing calls edit spec
/// files (never status files) and commit as the given user; with a remote configured they
/// fetch first and push after, never forcing. Reading calls read the status files of the
/// branch head. The reconciler does the rest.
public actor IndexService {
    /// Where the service works.
    public nonisolated let workspace: Workspace
    private let repository: Repository
    private let clock: @Sendable () -> Date
    private let logger: Logger

    /// Opens the repository of `--repo` (or of the configuration).
    ///
    /// - Parameter logger: where warnings go (a rewritten upstream); default: standard error.
    public init(
        repo: String, config: ControllerConfig, configured: Bool, clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "indexops") { StreamLogHandler.standardError(label: $0) }
    ) throws {
        let (workspace, repository) = try Workspace.open(repo: repo, config: config, configured: configured)
        self.workspace = workspace
        self.repository = repository
        self.clock = clock
        self.logger = logger
    }

    private var config: ControllerConfig { workspace.config }
    /// Where the writing calls push their commit: `nil`, the spec branch; else a new branch
    /// of this name, for a pull request (see ``proposeChanges(on:)``).
    private var pushBranch: String?

    /// Makes the writing calls commit their edit to a new branch `branch` (made at the spec
    /// branch's head) and push it, for a pull request, instead of pushing to the spec branch,
    /// which stays as it is (a protected one). `nil`: push to the spec branch.
    ///
    /// - Throws: ``IndexOpsError`` for a name that cannot be a branch, or the spec branch's.
    public func proposeChanges(on branch: String?) throws {
        if let branch {
            if let problem = RepositorySettings.branchNameProblem(branch) { throw IndexOpsError("--push-branch: \(problem)") }
            guard branch != workspace.branch, branch != workspace.statusBranch else {
                throw IndexOpsError("--push-branch: \(branch) is the spec or status branch; name a new branch")
            }
        }
        pushBranch = branch
    }

    // MARK: - Writing

    /// Declares a document: writes `specs/<id>.yaml` (or `specs/<collection>/<id>.yaml`).
    ///
    /// - Parameters:
    ///   - indexTypes: the types to create; `nil`: every configured type.
    ///   - source: a path in the repository (default `docs/<id>.md`), or a URI (`s3://…`).
    /// - Returns: the spec file written.
    @discardableResult
    public func createDocumentIndexes(
        documentId: String, user: String, indexTypes: [String]? = nil, collection: String? = nil,
        source: String? = nil, revision: String? = nil
    ) throws -> String {
        if let problem = Identifier.idProblem(documentId) { throw IndexOpsError("document id: \(problem)") }
        if let collection, let problem = Identifier.idProblem(collection) { throw IndexOpsError("collection: \(problem)") }
        let types = try checkedTypes(indexTypes)
        let source = source ?? "docs/\(documentId).md"
        let isURI = source.contains("://")
        if isURI, let problem = Source.uriProblem(source) { throw IndexOpsError(problem) }
        if !isURI, let problem = Source.pathProblem(source) { throw IndexOpsError(problem) }
        let folder = config.repository.specsDir + (collection.map { "/\($0)" } ?? "")
        let path = "\(folder)/\(documentId).yaml"
        try edit(user: user, message: "Declare \(documentId)") { head, documents in
            if let existing = documents[documentId] {
                throw IndexOpsError("document \(documentId) is already declared in \(existing.file):\(existing.nameMark.line)")
            }
            if !isURI {
                guard let entry = try self.repository.entry(at: source, in: head), entry.kind == .file || entry.kind == .executable else {
                    throw IndexOpsError("source \(source) is not a file in the repository; add it first, or pass --source")
                }
            }
            guard try self.repository.entry(at: path, in: head) == nil else {
                throw IndexOpsError("\(path) already exists; declare the document in it by hand")
            }
            return [.write(path, Data(Self.specText(
                id: documentId, user: user, collection: collection, source: source, isURI: isURI, revision: revision, types: types).utf8))]
        }
        return path
    }

    /// Declares indexes of a document absent (the reconciler deletes them); the spec stays.
    ///
    /// - Parameter indexTypes: the types to delete; `nil`: every type the document has.
    public func deleteDocumentIndexes(documentId: String, indexTypes: [String]? = nil, user: String) throws {
        let chosen = try checkedTypes(indexTypes)
        let configured = Array(config.indexTypes.keys)
        try editDocument(documentId, user: user, message: "Delete indexes of \(documentId)") { resource in
            // A document without `indexes` has every configured type present: written out,
            // so that declaring one absent does not make the others absent too.
            var states = Planner.desiredStates(resource.index, configured: configured)
            for type in chosen ?? Array(states.keys) { states[type] = .absent }
            return .setIndexStates(states)
        }
    }

    /// Asks for the document's failed indexes to be retried now (the retry annotation).
    ///
    /// A document with a status but no spec (its spec was removed and a delete failed) has
    /// nothing to annotate: it is declared again, in a spec of its own, with its failed
    /// indexes absent (so is every index it does not list), the source its status records,
    /// and the annotation. The controller then retries the deletes at once (DESIGN.md §4: an
    /// orphan and a document declared absent are deleted alike); the spec stays until the
    /// person removes it (`cleanupDocumentIndexes`), and with it the record of who asked.
    ///
    /// - Returns: the spec file written for a document that had none; `nil` when its spec
    ///   was annotated.
    /// - Throws: ``IndexOpsError`` for a document with neither spec nor status, or whose
    ///   status has no failed index.
    @discardableResult
    public func retryFailedIndexes(documentId: String, user: String) throws -> String? {
        let now = Timestamp(secondsSinceEpoch: clock().timeIntervalSince1970).text
        var written: String?
        try edit(user: user, message: "Retry the failed indexes of \(documentId)") { head, documents in
            guard let resource = documents[documentId] else {
                let (path, text) = try self.absentDeclaration(of: documentId, user: user, retryAt: now, head: head)
                written = path
                return [.write(path, Data(text.utf8))]
            }
            written = nil
            return try self.edits(resource, .setAnnotation(DocumentIndex.Metadata.retryAnnotation, now), head: head)
        }
        return written
    }

    /// Asks for every index of the document to be rebuilt (the recreate annotation).
    public func forceRecreateIndexes(documentId: String, user: String) throws {
        let now = Timestamp(secondsSinceEpoch: clock().timeIntervalSince1970).text
        try editDocument(documentId, user: user, message: "Recreate the indexes of \(documentId)") { _ in
            .setAnnotation(DocumentIndex.Metadata.recreateAnnotation, now)
        }
    }

    /// Removes the document's spec; the reconciler then deletes its indexes and its status.
    public func cleanupDocumentIndexes(documentId: String, user: String) throws {
        try editDocument(documentId, user: user, message: "Remove \(documentId)") { _ in .removeDocument }
    }

    // MARK: - Reading

    /// The status of one document, or `nil` when it has none: its one status file.
    public func documentIndexStatus(documentId: String) throws -> DocumentStatus? {
        guard let head = try syncedHead() else { return nil }
        return try query().status(of: documentId, at: head)
    }

    /// The statuses of a collection's documents, sorted by id.
    public func collectionIndexStatus(collection: String) throws -> [DocumentStatus] {
        guard let head = try syncedHead() else { return [] }
        return try query().statuses(collection: collection, at: head)
    }

    /// Every status, sorted by id.
    public func systemIndexStatus() throws -> [DocumentStatus] {
        guard let head = try syncedHead() else { return [] }
        return try query().allStatuses(at: head)
    }

    /// The counts of the whole system and its failed indexes: from the pass cache when the
    /// controller keeps one here, without reading every status file.
    public func systemIndexSummary() throws -> StatusSummary {
        guard let head = try syncedHead() else { return StatusSummary() }
        return try query().summary(at: head)
    }

    /// `Name <email>` from git's `user.name` and `user.email`, for a `--user` not given.
    public func defaultUser() throws -> String? {
        try Self.gitUser(repository)
    }

    static func gitUser(_ repository: Repository) throws -> String? {
        let name = try repository.configValue("user.name")
        let email = try repository.configValue("user.email")
        switch (name, email) {
        case let (name?, email?): return "\(name) <\(email)>"
        case let (name?, nil): return name
        case let (nil, email?): return email
        case (nil, nil): return nil
        }
    }

    /// Where a document is declared, if it is: the spec file and line.
    public func declaration(of documentId: String) throws -> (file: String, line: Int)? {
        guard let head = try repository.branchTip(workspace.branch) else { return nil }
        return try documents(at: head)[documentId].map { ($0.file, $0.nameMark.line) }
    }

    /// The state changes of a document's indexes, newest first, from the history of its
    /// status file. With a status branch, the changes of its spec file on the spec branch
    /// too (index type ``HistoryItem/specChange``), interleaved by time.
    public func history(documentId: String, limit: Int = 200) throws -> [HistoryItem] {
        guard let heads = try workspace.heads(repository) else { return [] }
        let head = heads.read
        let path = DocumentStatus.path(for: documentId, statusDir: config.repository.statusDir)
        let entries = try repository.history(of: path, from: head, limit: limit)
        var items: [HistoryItem] = []
        let statuses = entries.map { entry -> DocumentStatus? in
            guard let blob = entry.blob else { return nil }
            return try? DocumentStatus(fileText: String(decoding: try repository.readBlob(blob, limit: .statusFile(config.sizeLimits)), as: UTF8.self))
        }
        for (i, entry) in entries.enumerated() {
            let after = statuses[i]
            let before = i + 1 < statuses.count ? statuses[i + 1] : nil
            for change in StateChange.between(before, after) {
                items.append(HistoryItem(
                    time: entry.committer.time, commit: entry.commit.hex, author: entry.author.description, indexType: change.indexType,
                    from: change.from, to: change.to, errorMessage: change.to == "failed" ? after?.indexes[change.indexType]?.errorMessage : nil,
                    reason: Importer.source(ofMessage: entry.message).map { "imported from \($0)" }))
            }
        }
        guard workspace.hasStatusBranch else { return items }
        let specFile = try declaration(of: documentId)?.file ?? statuses.lazy.compactMap { $0?.specFile }.first
        guard let specFile else { return items }
        let specEntries = try repository.history(of: specFile, from: heads.spec, limit: limit)
        for (i, entry) in specEntries.enumerated() {
            let change = entry.blob == nil ? "removed" : (i + 1 < specEntries.count || specEntries.count == limit ? "changed" : "added")
            items.append(HistoryItem(
                time: entry.committer.time, commit: entry.commit.hex, author: entry.author.description, indexType: HistoryItem.specChange,
                from: specFile, to: change, errorMessage: nil, summary: entry.summary))
        }
        // Newest first; a status change after the spec change of the same second.
        items = items.enumerated().sorted { a, b in
            if a.element.time != b.element.time { return a.element.time > b.element.time }
            if (a.element.indexType == HistoryItem.specChange) != (b.element.indexType == HistoryItem.specChange) {
                return b.element.indexType == HistoryItem.specChange
            }
            return a.offset < b.offset
        }.map(\.element)
        return Array(items.prefix(limit))
    }

    // MARK: - Editing

    /// The branch head after a fetch (when a remote is configured).
    private func syncedHead() throws -> OID? {
        try workspace.syncAndPublish(repository, logger: logger)
        return try workspace.heads(repository)?.read
    }

    /// Status reads over the controller's pass cache, when this clone has a usable one.
    private func query() -> StatusQuery {
        StatusQuery(repository: repository, config: config, cache: PassCache(readingIn: workspace.stateDirectory))
    }

    private func checkedTypes(_ types: [String]?) throws -> [String]? {
        guard let types else { return nil }
        for type in types where config.indexTypes[type] == nil {
            throw IndexOpsError("index type \"\(type)\" is not configured (configured: \(config.indexTypes.keys.sorted().joined(separator: ", ")))")
        }
        return types
    }

    private func documents(at head: OID) throws -> [String: SpecResource] {
        var found: [String: SpecResource] = [:]
        for entry in try repository.files(in: config.repository.specsDir, at: head)
        where (entry.kind == .file || entry.kind == .executable) && SpecFile.isSpecPath(entry.path) {
            let file = try repository.specFile(entry, limits: config.limits)
            for resource in file.resources where found[resource.index.id] == nil { found[resource.index.id] = resource }
        }
        return found
    }

    /// Edits the one document `id` in whatever file declares it.
    private func editDocument(_ id: String, user: String, message: String, _ change: @escaping (SpecResource) throws -> SpecEdit) throws {
        try edit(user: user, message: message) { head, documents in
            guard let resource = documents[id] else {
                throw IndexOpsError("unknown document \(id): no spec under \(self.config.repository.specsDir)/ declares it")
            }
            return try self.edits(resource, change(resource), head: head)
        }
    }

    /// The file edit that applies `change` to the document `resource` in its spec file.
    private func edits(_ resource: SpecResource, _ change: SpecEdit, head: OID) throws -> [PathEdit] {
        let bytes = [UInt8](try repository.readFile(resource.file, at: head).contents)
        do {
            guard let result = try SpecEditor.apply(change, toDocument: resource.index.id, in: bytes, path: resource.file) else {
                return [.remove(resource.file)]
            }
            return [.write(resource.file, Data(result))]
        } catch {
            throw IndexOpsError(error.message)
        }
    }

    /// Fetches, computes the edits on the branch head, commits them as `user`, updates the
    /// work tree and pushes. When someone pushed meanwhile, the commit is taken back and the
    /// edit made again on the new head: never a force, never a person's change overwritten.
    private func edit(user: String, message: String, _ edits: (OID, [String: SpecResource]) throws -> [PathEdit]) throws {
        let signature = try Self.signature(user, time: clock())
        for attempt in 1...5 {
            try workspace.syncAndPublish(repository, logger: logger)
            guard let head = try repository.branchTip(workspace.branch) else {
                throw IndexOpsError("the branch \(workspace.branch) has no commit yet; commit something first")
            }
            let changes = try edits(head, try documents(at: head))
            if let pushBranch { return try propose(changes, on: pushBranch, head: head, message: message, author: signature) }
            try refuseLocalEdits(changes.map(\.path), head: head)
            let commit: OID?
            do {
                commit = try repository.commit(changes, on: workspace.branch, parent: head, message: message, author: signature)
            } catch let error as GitError where error.code == .modified && attempt < 5 {
                continue
            }
            guard let commit else { return }
            try repository.publish(to: commit)
            guard let remote = workspace.remote else { return }
            do {
                _ = try repository.push(remote, replaying: workspace.ownCommits, retry: RetryPolicy(maxAttempts: 1))
                return
            } catch let error as GitError {
                // Take our commit back, and only ours: a compare-and-swap from it. Someone who
                // committed on top of it meanwhile keeps their commit, and the person is told.
                do {
                    try repository.moveBranch(workspace.branch, from: commit, to: head)
                    try repository.publish(to: head)
                } catch {
                    throw IndexOpsError("could not push \(commit.short) (\(error)), and the branch moved on top of it; it stays local")
                }
                let rejected = error.code == .notReplayable || error.code == .pushRejected
                guard rejected, attempt < 5 else { throw IndexOpsError("could not push the change, so it was not made: \(error)") }
            }
        }
        throw IndexOpsError("the remote kept moving; the change was not made; try again")
    }

    /// Commits `changes` on a new branch at `head` and pushes it (never forcing: a branch of
    /// that name on the remote is not overwritten). The spec branch and the work tree stay as
    /// they are; a push that fails deletes the local branch again.
    private func propose(_ changes: [PathEdit], on branch: String, head: OID, message: String, author: Signature) throws {
        guard try repository.branchTip(branch) == nil else {
            throw IndexOpsError("a local branch \(branch) exists already; name another with --push-branch")
        }
        try repository.createBranch(branch, at: head)
        let commit: OID
        do {
            guard let made = try repository.commit(changes, on: branch, parent: head, message: message, author: author) else {
                try repository.deleteBranch(branch, expected: head)
                throw IndexOpsError("the change is already on \(workspace.branch); nothing to propose")
            }
            commit = made
        } catch let error as GitError {
            try? repository.deleteBranch(branch, expected: head)
            throw IndexOpsError("cannot commit to \(branch): \(error)")
        }
        guard var remote = workspace.remote else { return }
        remote.branch = branch
        do {
            _ = try repository.push(remote, replaying: workspace.ownCommits, retry: RetryPolicy(maxAttempts: 1))
        } catch let error as GitError {
            try? repository.deleteBranch(branch, expected: commit)
            throw IndexOpsError("could not push \(branch), so it was not proposed: \(error)")
        }
    }

    // MARK: - Moving the statuses

    /// What ``migrateStatuses(to:)`` did.
    public struct StatusMigration: Sendable {
        /// The branch the status files were copied to.
        public var branch: String
        /// The branch they were copied from.
        public var from: String
        /// The commit made, in hex (`nil`: the branch held them all already).
        public var commit: String?
        /// Status files copied.
        public var files: Int
    }

    /// Copies the current status files (those the configured status branch holds now) to
    /// `target` (`nil`: the spec branch) in one commit by the status author, with the spec
    /// commit's trailer, and pushes it; `target`'s status folder becomes exactly the copy.
    /// The old files stay where they are, for people to delete (through a pull request).
    /// Switch the configuration's `repository.statusBranch` after it.
    ///
    /// - Throws: ``IndexOpsError`` when `target` already is the status branch, the spec branch
    ///   has no commit, or the push fails.
    public func migrateStatuses(to target: String?) throws -> StatusMigration {
        let target = target ?? workspace.branch
        if let problem = RepositorySettings.branchNameProblem(target) { throw IndexOpsError(problem) }
        guard target != workspace.statusBranch else {
            throw IndexOpsError("the status files are on \(target) already (repository.statusBranch, --status-branch)")
        }
        try workspace.syncAndPublish(repository, logger: logger)
        guard let heads = try workspace.heads(repository) else {
            throw IndexOpsError("the branch \(workspace.branch) has no commit yet; commit something first")
        }
        var targetRemote = workspace.remote
        targetRemote?.branch = target
        if let targetRemote, target != workspace.branch {
            _ = try repository.sync(targetRemote, replaying: workspace.ownCommits)
        }
        let statusDir = config.repository.statusDir
        let source = try repository.files(in: statusDir, at: heads.read).filter { $0.kind == .file }
        let parent = try repository.branchTip(target)
        let existing = try parent.map { try repository.files(in: statusDir, at: $0) } ?? []
        let kept = Set(source.map(\.path))
        var edits: [PathEdit] = try source.map { .write($0.path, try repository.readBlob($0.id)) }
        edits += existing.filter { !kept.contains($0.path) && $0.kind != .folder }.map { .remove($0.path) }
        let message = "indexops: status files copied from \(workspace.statusBranch) to \(target)\n\n"
            + "\(source.count) status file(s), as of the status commit \(heads.status?.hex ?? "none").\n\n"
            + "\(StatusCommit.trailer): \(heads.spec.hex)\n"
        let author = Signature(name: config.repository.authorName, email: config.repository.authorEmail, time: clock())
        let commit: OID?
        do {
            commit = try repository.commit(edits, on: target, parent: parent, message: message, author: author)
        } catch let error as GitError {
            throw IndexOpsError("cannot commit the status files to \(target): \(error)")
        }
        if let commit, target == workspace.branch { try repository.publish(to: commit) }
        if let targetRemote {
            do {
                _ = try repository.push(targetRemote, replaying: workspace.ownCommits)
            } catch let error as GitError {
                throw IndexOpsError("the status files are committed to \(target) here but could not be pushed (run the command again): \(error)")
            }
        }
        return StatusMigration(branch: target, from: workspace.statusBranch, commit: commit?.hex, files: source.count)
    }

    /// The spec that declares a document known only by its status with every failed index
    /// absent and a retry annotation: where it goes (the spec file the status names, or
    /// `<specs>/[<collection>/]<id>.yaml`, whichever is free) and its text.
    private func absentDeclaration(of id: String, user: String, retryAt: String, head: OID) throws -> (path: String, text: String) {
        let statusPath = DocumentStatus.path(for: id, statusDir: config.repository.statusDir)
        let statusHead = try workspace.hasStatusBranch ? workspace.heads(spec: head, status: repository.branchTip(workspace.statusBranch), repository).read : head
        guard let file = try? repository.readFile(statusPath, at: statusHead).contents else {
            throw IndexOpsError("unknown document \(id): no spec under \(config.repository.specsDir)/ declares it and it has no status")
        }
        let status: DocumentStatus
        do {
            status = try DocumentStatus(fileText: String(decoding: file, as: UTF8.self))
        } catch {
            throw IndexOpsError("\(statusPath) cannot be read (\(error)); declare \(id) by hand")
        }
        // Every failed type of the status, configured here or not: the person's configuration
        // need not be the controller's.
        let types = status.indexes.filter { $0.value.actualState == .failed }.keys.sorted()
        guard !types.isEmpty else {
            throw IndexOpsError("\(id) has no spec and no failed index to retry; the reconciler goes on deleting its indexes by itself")
        }
        guard let source = try status.source ?? lastDeclaredSource(of: id, in: status.specFile, head: head) else {
            throw IndexOpsError("\(statusPath) does not record the source of \(id), and no earlier spec declares it; declare \(id) by hand with its indexes absent and the annotation \(DocumentIndex.Metadata.retryAnnotation)")
        }
        let specsDir = config.repository.specsDir
        var candidates = [specsDir + (status.collection.map { "/\($0)" } ?? "") + "/\(id).yaml"]
        if let specFile = status.specFile, specFile.hasPrefix(specsDir + "/") { candidates.insert(specFile, at: 0) }
        guard let path = try candidates.first(where: { try repository.entry(at: $0, in: head) == nil }) else {
            throw IndexOpsError("\(candidates.last!) already exists; declare \(id) there by hand with its indexes absent and the annotation \(DocumentIndex.Metadata.retryAnnotation)")
        }
        return (path, Self.absentSpecText(id: id, user: user, collection: status.collection, source: source, types: types, retryAt: retryAt))
    }

    /// The source of the last spec in `specFile`'s history that declared `id`, for a status
    /// written before statuses kept their source.
    private func lastDeclaredSource(of id: String, in specFile: String?, head: OID) throws -> Source? {
        guard let specFile else { return nil }
        for entry in try repository.history(of: specFile, from: head, limit: 50) {
            guard let blob = entry.blob else { continue }
            let file = SpecFile(path: specFile, bytes: [UInt8](try repository.readBlob(blob)), limits: config.limits)
            if let resource = file.resources.first(where: { $0.index.id == id }) { return resource.index.spec.source }
        }
        return nil
    }

    static func absentSpecText(id: String, user: String, collection: String?, source: Source, types: [String], retryAt: String) -> String {
        var text = "# Written by `indexops retry \(id)`: the document had no spec left, so its failed indexes\n"
            + "# are declared absent with a retry annotation. Once they are gone, `indexops cleanup \(id)`\n"
            + "# removes this file.\n"
        text += "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata:\n  name: \(quoted(id))\n"
        if let collection { text += "  collection: \(quoted(collection))\n" }
        text += "  createdBy: \(quoted(user))\n  annotations:\n    \(DocumentIndex.Metadata.retryAnnotation): \(quoted(retryAt))\nspec:\n"
        switch source {
        case .path(let path):
            text += "  source: \(quoted(path))\n"
        case .uri(let uri, let revision):
            text += "  source:\n    uri: \(quoted(uri))\n"
            if let revision { text += "    revision: \(quoted(revision))\n" }
        }
        text += "  indexes:\n"
        for type in types { text += "    \(type): absent\n" }
        return text
    }

    /// A path the person changed in the work tree and did not commit is not overwritten.
    private func refuseLocalEdits(_ paths: [String], head: OID) throws {
        guard let root = repository.workDirectory else { return }
        for path in paths {
            let onDisk = FileManager.default.contents(atPath: (root.hasSuffix("/") ? root : root + "/") + path)
            let committed = try? repository.readFile(path, at: head).contents
            if onDisk != committed {
                throw IndexOpsError("\(path) has changes that are not committed; commit or stash them first")
            }
        }
    }

    /// `Name <email>`, an email, or a name.
    static func signature(_ user: String, time: Date) throws -> Signature {
        let trimmed = user.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw IndexOpsError("--user must name who asks (an email, or \"Name <email>\")") }
        if let open = trimmed.firstIndex(of: "<"), trimmed.hasSuffix(">") {
            let name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            let email = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            return Signature(name: name.isEmpty ? email : name, email: email, time: time)
        }
        return Signature(name: trimmed, email: trimmed.contains("@") ? trimmed : "", time: time)
    }

    /// A YAML double-quoted scalar.
    private static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func specText(id: String, user: String, collection: String?, source: String, isURI: Bool, revision: String?, types: [String]?) -> String {
        SpecText.declaration(
            id: id, user: user, collection: collection, source: isURI ? .uri(source, revision: revision) : .path(source),
            indexes: types.map { Dictionary($0.map { ($0, DesiredState.present) }, uniquingKeysWith: { a, _ in a }) })
    }
}
