import Foundation
import Git
import IndexOpsCore
import Indexers
import Logging

/// How a pass runs.
public struct PassOptions: Sendable {
    /// Plan only: no commit, no operation.
    public var dryRun = false
    /// Let this pass delete past the mass-delete brake.
    public var allowMassDelete = false
    /// Run the pass even when nothing changed since the last one.
    public var force = false
    /// Called after each operation ends (from the reconciler's actor: keep it quick).
    public var progress: (@Sendable (PassProgress) -> Void)?

    /// Creates options.
    public init(dryRun: Bool = false, allowMassDelete: Bool = false, force: Bool = false) {
        self.dryRun = dryRun
        self.allowMassDelete = allowMassDelete
        self.force = force
    }
}

/// What a pass did.
public struct PassReport: Sendable {
    /// The spec commit the pass read.
    public var specCommit: OID?
    /// The pass ended at once: nothing changed and nothing was due.
    public var idle = false
    /// The plan.
    public var plan = ReconcilePlan()
    /// Spec and status problems.
    public var diagnostics: [Diagnostic] = []
    /// Spec files parsed (the others were cached by blob id).
    public var filesParsed = 0
    /// Each operation and how it ended.
    public var outcomes: [(operation: PlannedOperation, outcome: OperationOutcome)] = []
    /// Commits the pass made.
    public var commits: [OID] = []
    /// Whether the pass pushed.
    public var pushed = false
    /// The statuses after the pass (empty for an idle pass, which reads none).
    public var statuses: [String: DocumentStatus] = [:]
    /// Index entries that are failed after the pass.
    public var failedIndexes: [IndexKey] = []
    /// How long fetching and fast-forwarding took (`nil`: no remote, or a dry run).
    public var syncDuration: Duration?
    /// How long pushing took (`nil`: nothing was pushed).
    public var pushDuration: Duration?

    static func failed(_ statuses: [String: DocumentStatus]) -> [IndexKey] {
        statuses.values.flatMap { s in s.indexes.filter { $0.value.actualState == .failed }.map { IndexKey(s.documentId, $0.key) } }.sorted()
    }
}

/// The level-triggered reconciler: one pass reads the specs and statuses of the branch head,
/// plans, commits the intents, runs the operations, commits their results and pushes
/// (DESIGN.md §5). A pass after a crash heals: `creating` and `deleting` entries with no live
/// operation run again.
///
/// The actor owns the repository; operations run on a bounded task group and report back to it.
public actor Reconciler {
    /// Where the controller works.
    public nonisolated let workspace: Workspace
    private let repository: Repository
    private let indexers: [String: any Indexer]
    private let specs: DesiredStateReader
    private let statusReader: StatusReader
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let lock: ControllerLock
    private var draining = false
    /// A pass is running: passes never overlap, even if a caller asks twice.
    private var passing = false
    /// Someone else's commit came in after this pass read the head (a commit on a moved
    /// branch, a replayed push): the pass did not plan against it.
    private var sawForeignCommits = false

    /// Opens the workspace and builds the indexers.
    ///
    /// - Parameters:
    ///   - repo: the `--repo` folder.
    ///   - config: the effective configuration.
    ///   - configured: whether it came from a file (else the branch checked out is used).
    ///   - makeIndexer: builds the indexer of an index type, given its default database.
    ///   - clock: the time of day; tests move it.
    public init(
        repo: String, config: ControllerConfig, configured: Bool, logger: Logger,
        makeIndexer: (String, IndexTypeSettings, String) throws -> any Indexer,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        let (workspace, repository) = try Workspace.open(repo: repo, config: config, configured: configured)
        self.lock = try ControllerLock(directory: workspace.stateDirectory)
        self.workspace = workspace
        self.repository = repository
        var indexers: [String: any Indexer] = [:]
        for (name, settings) in config.indexTypes {
            indexers[name] = try makeIndexer(name, settings, workspace.defaultDatabase)
        }
        self.indexers = indexers
        self.specs = DesiredStateReader(config: config)
        self.statusReader = StatusReader(statusDir: config.repository.statusDir)
        self.logger = logger
        self.clock = clock
    }

    private nonisolated var config: ControllerConfig { workspace.config }
    private var statusDir: String { config.repository.statusDir }
    private var now: Timestamp { Timestamp(secondsSinceEpoch: clock().timeIntervalSince1970) }

    // MARK: - The pass

    /// Runs one pass: sync, read, plan, execute, publish.
    public func pass(_ options: PassOptions = PassOptions()) async throws -> PassReport {
        guard !passing else { throw IndexOpsError("a pass is already running") }
        passing = true
        sawForeignCommits = false
        defer { passing = false }
        var report = PassReport()
        // No other indexops holds this clone (the controller lock), so a git lock that no
        // process has open and that is older than a moment was left by a killed one.
        let removed = try repository.removeStaleLocks(minimumAge: .seconds(2))
        for lock in removed { logger.warning("Removed a stale lock", metadata: ["path": "\(lock.path)"]) }

        // 1. Sync.
        if let remote = workspace.remote, !options.dryRun {
            let started = ContinuousClock.now
            let result = try repository.sync(remote, replaying: statusDir)
            report.syncDuration = ContinuousClock.now - started
            if result.moved, let head = result.head { try repository.publish(to: head) }
        }
        guard let head = try repository.branchTip(workspace.branch) else {
            logger.info("The branch has no commit yet; nothing to reconcile", metadata: ["branch": "\(workspace.branch)"])
            report.idle = true
            return report
        }
        report.specCommit = head

        // 2. The idle check: nothing changed, nothing due.
        let state = PassState.load(workspace.stateDirectory)
        let fingerprint = configFingerprint()
        if !options.force, !options.dryRun, !options.allowMassDelete, let state, state.head == head.hex,
           state.config == fingerprint, state.nextDueAt.map({ now < $0 }) ?? true, try !needsPush()
        {
            report.idle = true
            report.diagnostics = state.diagnostics
            report.plan.brake = state.brake
            report.failedIndexes = state.failed
            return report
        }

        // 3. Read actual, then desired state.
        let (actual, statusProblems) = try statusReader.read(repository, commit: head)
        let snapshot = try specs.read(repository, commit: head, statusSpecFiles: actual.compactMapValues(\.specFile))
        report.filesParsed = snapshot.filesParsed
        report.diagnostics = (snapshot.diagnostics + statusProblems).sorted()
        for d in report.diagnostics where d.severity == .error { logger.error("Invalid spec: \(d)") }

        // 4. Plan.
        let plan = Planner.plan(
            desired: snapshot.desired, held: snapshot.held, actual: actual, now: now,
            settings: PlannerSettings(config, allowMassDelete: options.allowMassDelete))
        report.plan = plan
        if let brake = plan.brake { logger.error("\(brake)") }
        guard !options.dryRun else {
            report.statuses = actual
            report.failedIndexes = PassReport.failed(actual)
            return report
        }

        // 5. Execute: intents first, durably; then the operations; then their results.
        var current = actual
        var writer = StatusWriter(statusDir: statusDir, specCommit: head)
        for (id, intent) in plan.intents.sorted(by: { $0.key < $1.key }) {
            writer.record(id: id, from: current[id], to: intent)
            current[id] = intent
            if actual[id] != nil, snapshot.desired[id] == nil {
                logger.info("Cleaning up orphaned status", metadata: ["document_id": "\(id)"])
            }
        }
        let diagnosticsText = Self.diagnosticsFileText(report.diagnostics, brake: plan.brake)
        let diagnosticsPath = statusDir + "/" + StatusReader.diagnosticsFile
        let existing = try? repository.readFile(diagnosticsPath, at: head).contents
        if existing.map({ String(decoding: $0, as: UTF8.self) }) != diagnosticsText {
            writer.extra[diagnosticsPath] = diagnosticsText
        }
        try commit(&writer, kind: .intents, report: &report)

        report.outcomes = await execute(
            plan.operations, snapshot: snapshot, statuses: &current, writer: &writer, report: &report, progress: options.progress)
        try commit(&writer, kind: .results, report: &report)

        // 6. Push and publish.
        if let remote = workspace.remote, try needsPush() {
            let started = ContinuousClock.now
            let result = try repository.push(remote, replaying: statusDir)
            report.pushDuration = ContinuousClock.now - started
            report.pushed = result.pushed
            if let newHead = result.head, result.replayedCommits > 0 {
                sawForeignCommits = true
                try repository.publish(to: newHead)
            }
        }
        report.statuses = current
        report.failedIndexes = PassReport.failed(current)
        let newHead = try repository.branchTip(workspace.branch)
        PassState(
            // The next pass may end at once only if every commit since the head this pass
            // read is its own.
            head: sawForeignCommits ? head.hex : newHead?.hex ?? head.hex, config: fingerprint, nextDueAt: Self.nextDue(current, plan: plan, settings: config),
            diagnostics: report.diagnostics, brake: plan.brake, failed: report.failedIndexes
        ).save(workspace.stateDirectory)
        return report
    }

    /// Makes the running pass, and every later one, start no new operation: the operations
    /// running end, their results are committed and pushed, and the operations not started keep
    /// their committed `creating`/`deleting` intent, which the next start runs. For a graceful
    /// shutdown.
    public func drain() {
        draining = true
    }

    /// The statuses of the branch head, for the status commands.
    public func statuses() throws -> [String: DocumentStatus] {
        guard let head = try repository.branchTip(workspace.branch) else { return [:] }
        return try statusReader.read(repository, commit: head).statuses
    }

    // MARK: - Operations

    private func execute(
        _ operations: [PlannedOperation], snapshot: DesiredSnapshot, statuses: inout [String: DocumentStatus],
        writer: inout StatusWriter, report: inout PassReport, progress: (@Sendable (PassProgress) -> Void)? = nil
    ) async -> [(operation: PlannedOperation, outcome: OperationOutcome)] {
        var outcomes: [(operation: PlannedOperation, outcome: OperationOutcome)] = []
        var pending = operations[...]
        var lastCommit = ContinuousClock.now
        let settings = PlannerSettings(config)
        await withTaskGroup(of: (PlannedOperation, OperationOutcome).self) { group in
            func startNext() {
                guard !draining, let operation = pending.popFirst() else { return }
                let key = operation.key
                logger.info("Reconciling \(key.documentId):\(key.indexType)", metadata: [
                    "document_id": "\(key.documentId)", "index_type": "\(key.indexType)",
                    "action": "\(operation.action.rawValue)", "reason": "\(operation.reason.rawValue)",
                ])
                let prepared = prepare(operation, snapshot: snapshot, statuses: statuses)
                let timeout = config.indexTypes[key.indexType]?.timeout ?? config.reconcile.operationTimeout
                group.addTask {
                    switch prepared {
                    case .failure(let error): return (operation, .failed(error.message))
                    case .success(let (indexer, request)): return (operation, await Self.run(request, on: indexer, timeout: timeout))
                    }
                }
            }
            for _ in 0..<config.reconcile.concurrency { startNext() }
            while let (operation, outcome) = await group.next() {
                log(operation, outcome)
                outcomes.append((operation, outcome))
                progress?(PassProgress(done: outcomes.count, total: operations.count, operation: operation, outcome: outcome))
                let id = operation.key.documentId
                let before = statuses[id]
                let after = (before ?? DocumentStatus(documentId: id))
                    .recording(outcome, of: operation, now: now, settings: settings, jitter: Double.random(in: 0.9...1.1))
                writer.record(id: id, from: before, to: after, operation: operation, outcome: outcome)
                statuses[id] = after
                if ContinuousClock.now - lastCommit >= config.reconcile.commitInterval {
                    do {
                        try commit(&writer, kind: .results, report: &report)
                    } catch {
                        logger.error("Cannot commit statuses yet: \(error)")
                    }
                    lastCommit = ContinuousClock.now
                }
                startNext()
            }
        }
        return outcomes
    }

    private func prepare(
        _ operation: PlannedOperation, snapshot: DesiredSnapshot, statuses: [String: DocumentStatus]
    ) -> Result<(any Indexer, IndexRequest), IndexerError> {
        let key = operation.key
        guard let indexer = indexers[key.indexType] else { return .failure(IndexerError("index type \"\(key.indexType)\" is not configured")) }
        let desired = snapshot.desired[key.documentId]
        let source = desired?.index.spec.source ?? .path("")
        var content: [UInt8]?
        if operation.action == .create, case .path(let path) = source {
            guard let blob = snapshot.sourceBlobs[key.documentId] else {
                return .failure(IndexerError("the source \(path) is not in the repository"))
            }
            do {
                content = [UInt8](try repository.readBlob(blob))
            } catch {
                return .failure(IndexerError("cannot read the source \(path): \(error)"))
            }
        }
        return .success((indexer, IndexRequest(
            action: operation.action == .create ? .create : .delete, documentId: key.documentId, indexType: key.indexType,
            collection: desired?.index.metadata.collection ?? statuses[key.documentId]?.collection,
            revision: operation.revision, source: source, content: content)))
    }

    /// Runs one operation, cancelling it past its timeout.
    private static func run(_ request: IndexRequest, on indexer: any Indexer, timeout: Duration) async -> OperationOutcome {
        do {
            let data = try await withThrowingTaskGroup(of: JSONValue?.self) { group in
                group.addTask {
                    try await OperationBudget.$deadline.withValue(ContinuousClock.now + timeout) { () async throws -> JSONValue? in
                        if request.action == .create { return try await indexer.create(request) }
                        try await indexer.delete(request)
                        return .null
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let data else { return .failed("timed out after \(DurationText.format(timeout)) (operationTimeout)") }
            return .succeeded(data)
        } catch let error as IndexerError {
            return .failed(error.message)
        } catch is CancellationError {
            return .failed("cancelled: indexops was stopping")
        } catch {
            return .failed(String(describing: error))
        }
    }

    private func log(_ operation: PlannedOperation, _ outcome: OperationOutcome) {
        let metadata: Logger.Metadata = ["document_id": "\(operation.key.documentId)", "index_type": "\(operation.key.indexType)"]
        switch (operation.action, outcome) {
        case (.create, .succeeded): logger.info("Successfully created index", metadata: metadata)
        case (.delete, .succeeded): logger.info("Successfully deleted index", metadata: metadata)
        case (.create, .failed(let message)): logger.error("Failed to create index: \(message)", metadata: metadata)
        case (.delete, .failed(let message)): logger.error("Failed to delete index: \(message)", metadata: metadata)
        }
    }

    // MARK: - Commits

    /// Commits what the writer holds on top of the branch head, again on a newer head when a
    /// person committed meanwhile (our files are ours alone, so writing them again is safe),
    /// then publishes the work tree.
    private func commit(_ writer: inout StatusWriter, kind: StatusWriter.Kind, report: inout PassReport) throws {
        guard !writer.isEmpty else { return }
        let edits = writer.edits()
        let message = writer.message(kind)
        var attempts = 0
        while true {
            attempts += 1
            let parent = try repository.branchTip(workspace.branch)
            if parent != (report.commits.last ?? report.specCommit) { sawForeignCommits = true }
            let signature = Signature(name: config.repository.authorName, email: config.repository.authorEmail, time: clock())
            do {
                if let id = try repository.commit(edits, on: workspace.branch, parent: parent, message: message, author: signature) {
                    report.commits.append(id)
                    try repository.publish(to: id)
                }
                writer.reset()
                return
            } catch let error as GitError where error.code == .modified && attempts < 5 {
                sawForeignCommits = true
                logger.info("The branch moved while committing; committing again on the new head")
            }
        }
    }

    private func needsPush() throws -> Bool {
        guard let remote = workspace.remote else { return false }
        return try repository.branchTip(workspace.branch) != repository.trackingTip(remote)
    }

    private func configFingerprint() -> String {
        var parts = config.indexTypes.keys.sorted().map { "\($0)=\(DesiredStateReader.fingerprint(config.indexTypes[$0]!))" }
        parts.append("\(config.reconcile.maxRetries)/\(config.reconcile.maxDeletePercent)/\(config.repository.specsDir)/\(statusDir)")
        return Digests.sha256Hex(parts.joined(separator: "\n"))
    }

    private static func nextDue(_ statuses: [String: DocumentStatus], plan: ReconcilePlan, settings: ControllerConfig) -> Timestamp? {
        var due = plan.nextRetryAt
        for status in statuses.values {
            for entry in status.indexes.values where entry.actualState == .failed && entry.retryCount < settings.reconcile.maxRetries {
                if let at = entry.nextRetryAt { due = min(due ?? at, at) }
            }
        }
        return due
    }

    static func diagnosticsFileText(_ diagnostics: [Diagnostic], brake: MassDeleteBrake?) -> String {
        let items: [JSONValue] = diagnostics.map { d in
            .object([
                "file": .string(d.file), "line": .int(Int64(d.line)), "column": .int(Int64(d.column)),
                "severity": .string(d.severity.rawValue), "code": .string(d.code), "message": .string(d.message),
            ])
        }
        return JSONValue.object([
            "apiVersion": .string(DocumentIndex.apiVersion),
            "kind": .string("Diagnostics"),
            "diagnostics": .array(items),
            "massDeleteBrake": brake.map { .string($0.description) } ?? .null,
        ]).canonicalText + "\n"
    }
}
