import Foundation
import Git
import IndexOpsCore
import Indexers
import Logging
internal import FaultInjection

/// The level-triggered reconciler (DESIGN.md §5): a pass is an ordered pipeline of small
/// steps, each documented where it is defined —
///
/// 1. **sync**: fetch the remote and bring the branch up to date (what came in reaches the
///    work tree with the pass's publish);
/// 2. **idle check**: the same head and configuration as the last pass, nothing due:
///    publish what waits to be, and stop;
/// 3. **diff, read specs, read statuses**: what changed since the tree the pass cache
///    describes, into the cache (``PassReader``);
/// 4. **plan**: the documents that changed or are due, through the pure ``Planner``;
/// 5. **commit intents**: `creating`/`deleting`, durably, before any side effect;
/// 6. **run operations** on a bounded worker pool, committing results every
///    `commitInterval`;
/// 7. **commit results**;
/// 8. **push**, replaying our status commits when someone pushed meanwhile;
/// 9. **publish** the work tree after the last results commit (with what the sync brought
///    in), and after the interim ones
///    while publishing has taken at most a tenth of the operations' time (an intent is a
///    record for the controller, and its publish would write every file twice);
/// 10. **remember**: the statuses written and when each document is due, in the cache.
///
/// A pass after a crash heals: `creating` and `deleting` entries with no live operation run
/// again. The actor owns the repository; operations run on a task group and report back to it.
public actor Reconciler {
    /// Where the controller works.
    public nonisolated let workspace: Workspace
    private let repository: Repository
    private let indexers: [String: any Indexer]
    private let reader: PassReader
    private let logger: Logger
    /// Redacts the configured secrets from what the pass records (DESIGN.md §10).
    private let redactor: Redactor
    private let clock: PassClock
    private let lock: ControllerLock
    /// The fingerprint of the whole effective configuration.
    private let fingerprint: String
    private var draining = false
    /// A pass is running: passes never overlap, even if a caller asks twice.
    private var passing = false
    /// Someone else's commit came in after this pass read the head (a commit on a moved
    /// branch, a replayed push): the pass did not plan against it.
    private var sawForeignCommits = false
    /// The source read last, by blob id: the index types of one document, which run one after
    /// the other, read it once.
    private var lastSource: (blob: OID, content: [UInt8])?
    /// This replica's name, written with its shard in its intents.
    private let replica: String
    /// How long operations may take to end at a shutdown: with the operation timeout, how long
    /// an intent of another shard layout may still be running (DESIGN.md §9).
    private let shutdownGrace: Duration
    /// The heads this pass read (the status branch's tip among them).
    private var heads: Workspace.Heads?
    /// Files this pass wrote to the work tree (``PassReport/Work/filesPublished``).
    private var filesPublished = 0
    /// Publishes this pass made; and, while its operations run, the time publishing took
    /// (set anew before they start).
    private var publishes = 0
    private var publishing = PublishBudget()

    /// Opens the workspace and builds the indexers.
    ///
    /// - Parameters:
    ///   - repo: the `--repo` folder.
    ///   - config: the effective configuration.
    ///   - configured: whether it came from a file (else the branch checked out is used).
    ///   - makeIndexer: builds the indexer of an index type in a workspace; by default the
    ///     configured driver (``Workspace/makeIndexer(_:settings:)``).
    ///   - clock: the time; tests move it.
    ///   - replica: this replica's name in its intents (by default its host name).
    ///   - shutdownGrace: how long operations may take to end at a shutdown.
    public init(
        repo: String, config: ControllerConfig, configured: Bool, logger: Logger,
        makeIndexer: (String, IndexTypeSettings, Workspace) throws -> any Indexer = { try $2.makeIndexer($0, settings: $1) },
        clock: PassClock = .system, replica: String = ReplicaIdentity.name(), shutdownGrace: Duration = .seconds(30)
    ) throws {
        let (workspace, repository) = try Workspace.open(repo: repo, config: config, configured: configured)
        self.lock = try ControllerLock(directory: workspace.stateDirectory)
        // This clone's lock is held: content files with its prefix were left by a killed run.
        for path in ExecIndexer.removeContentFiles(prefix: workspace.contentFilePrefix) {
            logger.notice("Removed a content file left by a stopped run", metadata: ["path": "\(path)"])
        }
        for path in try repository.removeLeftoverPublishFiles() {
            logger.notice("Removed a temporary file a stopped publish left in the work tree", metadata: ["path": "\(path)"])
        }
        self.workspace = workspace
        self.repository = repository
        var indexers: [String: any Indexer] = [:]
        for (name, settings) in config.indexTypes {
            indexers[name] = try makeIndexer(name, settings, workspace)
        }
        self.indexers = indexers
        self.fingerprint = config.fingerprint
        self.reader = PassReader(cache: try PassCache(directory: workspace.stateDirectory, configFingerprint: fingerprint), config: config)
        // Whose documents the cache holds: the status views use it only when it holds them all.
        try reader.cache.setMeta("shard", config.shard.description)
        self.logger = logger
        self.redactor = Redactor(loading: config)
        self.clock = clock
        self.replica = replica
        self.shutdownGrace = shutdownGrace
    }

    private nonisolated var config: ControllerConfig { workspace.config }
    private var statusDir: String { config.repository.statusDir }
    private var cache: PassCache { reader.cache }
    private var now: Timestamp { Timestamp(secondsSinceEpoch: clock.now().timeIntervalSince1970) }

    // MARK: - The pass

    /// Runs one pass (see the type's documentation for its steps).
    public func pass(_ options: PassOptions = PassOptions()) async throws -> PassReport {
        guard !passing else { throw IndexOpsError("a pass is already running") }
        passing = true
        sawForeignCommits = false
        filesPublished = 0
        publishes = 0
        defer { passing = false }
        var report = PassReport()
        var steps: [(step: String, duration: Duration)] = []
        let counted = repository.counters
        func finish() -> PassReport {
            report.steps = steps
            report.work.blobsRead = repository.counters.blobsRead - counted.blobsRead
            report.work.treesRead = repository.counters.treesRead - counted.treesRead
            report.work.filesPublished = filesPublished
            report.work.publishes = publishes
            return report
        }

        guard let heads = try timed("sync", &steps, { try sync(options, &report) }) else {
            logger.info("The branch has no commit yet; nothing to reconcile", metadata: ["branch": "\(workspace.branch)"])
            report.idle = true
            return finish()
        }
        self.heads = heads
        defer { self.heads = nil }
        // What the pass reads: the spec commit, or the view of it with the status branch's statuses.
        let head = heads.read
        report.specCommit = heads.spec
        if try timed("idle check", &steps, { try idleCheck(head, options, &report) }) {
            try publishIfBehind()
            return finish()
        }

        let changes = try timed("diff", &steps) { try reader.refresh(repository, head: head) }
        report.work.fullRead = changes.full
        report.work.changedPaths = changes.changedPaths
        report.work.specFilesParsed = changes.specFilesParsed
        report.work.statusFilesRead = changes.statusFilesRead

        // The intents are stamped with the time of the plan.
        let planned = clock.elapsed()
        let (plan, input) = try timed("plan", &steps) { try self.plan(changes, head: head, options, &report) }
        report.plan = plan
        guard !options.dryRun else {
            report.failedIndexes = try cache.failedIndexes()
            return finish()
        }

        var statuses = input.actual
        var commit = StatusCommit(statusDir: statusDir, specCommit: heads.spec.hex)
        let diagnosticsText = try timed("commit intents", &steps) {
            try commitIntents(plan, input: input, statuses: &statuses, commit: &commit, &report)
        }
        if config.shard.count > 1, !plan.operations.isEmpty, !(try timed("push intents", &steps) { try pushIntents(&report) }) {
            // Another replica cannot see these intents: starting them could run an operation twice.
            logger.error("The intents are not pushed; no operation starts in this pass (the next pass runs them)")
            try publishIfBehind()
            try timed("push", &steps) { try push(&report) }
            return finish()
        }
        // Until a publish has run, committing the intents is what one is expected to cost.
        publishing = PublishBudget(firstPublish: steps.last(where: { $0.step == "commit intents" })?.duration ?? .zero)
        let started = clock.elapsed()
        report.outcomes = await runOperations(
            plan.operations, desired: input.desired, statuses: &statuses, commit: &commit, intentsStamped: planned,
            progress: options.progress, &report)
        lastSource = nil
        steps.append(("run operations", clock.elapsed() - started))
        let written = try timed("commit results", &steps) { try self.commit(&commit, .results, publish: false, &report) }
        try timed("publish", &steps) { try publishIfBehind(known: written) }
        try timed("push", &steps) { try push(&report) }
        try timed("remember", &steps) {
            try remember(plan: plan, input: input, statuses: statuses, diagnosticsText: diagnosticsText, &report)
        }
        return finish()
    }

    /// Runs one step and adds its duration to `steps`.
    private func timed<T>(_ name: String, _ steps: inout [(step: String, duration: Duration)], _ body: () throws -> T) rethrows -> T {
        let started = clock.elapsed()
        defer { steps.append((name, clock.elapsed() - started)) }
        return try body()
    }

    /// Makes the running pass, and every later one, start no new operation: the operations
    /// running end, their results are committed and pushed, and the operations not started keep
    /// their committed `creating`/`deleting` intent, which the next start runs. For a graceful
    /// shutdown.
    public func drain() {
        draining = true
    }

    // MARK: 1. Sync

    /// Removes the git locks a killed process left, fetches the remote and fast-forwards (or
    /// replays our status commits onto a new upstream), and notes that what came in is not
    /// in the work tree yet (`unpublished`): the pass's publish step (or, for an idle pass,
    /// the idle check's) writes it with the pass's own statuses. Returns the commit to
    /// reconcile, `nil` when the branch has no commit.
    ///
    /// A dry run fetches only, as `git fetch` does: the local branch, the work tree and the
    /// status files stay as they are, and it plans against what the next pass would read
    /// (``DryRunSync``; where both moved, the upstream's tree, statuses included).
    private func sync(_ options: PassOptions, _ report: inout PassReport) throws -> Workspace.Heads? {
        // No other indexops holds this clone (the controller lock), so a git lock that no
        // process has open and that is older than a moment was left by a killed one.
        for lock in try repository.removeStaleLocks(minimumAge: .seconds(2)) {
            logger.warning("Removed a stale lock", metadata: ["path": "\(lock.path)"])
        }
        guard let remote = workspace.remote else {
            try workspace.syncAndPublish(repository, logger: logger)
            return try workspace.heads(repository)
        }
        let started = clock.elapsed()
        defer { report.syncDuration = clock.elapsed() - started }
        if options.dryRun {
            return try DryRunSync.heads(repository, workspace: workspace, remote: remote)
        }
        // The pass reads git, not the work tree: what came in is published with the pass's
        // own statuses, in one write of the git index instead of two.
        if try workspace.syncAndPublish(repository, logger: logger, publishingSpecs: false)?.moved == true, repository.workDirectory != nil {
            try cache.setMeta("unpublished", "yes")
        }
        return try workspace.heads(repository)
    }

    // MARK: 2. Idle check

    /// Whether the pass can end at once: the head and the configuration are those the last
    /// pass left, nothing it planned is unfinished, nothing is due, nothing waits to be pushed.
    /// An idle pass reads the cache's few rows and no git object.
    private func idleCheck(_ head: OID, _ options: PassOptions, _ report: inout PassReport) throws -> Bool {
        guard !options.force, !options.dryRun, !options.allowMassDelete,
              try cache.meta("head") == head.hex, try cache.pendingIDs().isEmpty, try cache.unsettledIDs().isEmpty,
              try cache.nextDue().map({ now < $0 }) ?? true, try !needsPush()
        else { return false }
        report.idle = true
        report.diagnostics = try cache.allDiagnostics()
        report.plan.brake = try cache.meta("brake").flatMap { try? JSONDecoder().decode(MassDeleteBrake.self, from: Data($0.utf8)) }
        report.failedIndexes = try cache.failedIndexes()
        return true
    }

    // MARK: 4. Plan

    /// The input of the plan: the documents the diff touched, those a pass planned and did not
    /// finish, those due now, and those with an intent and no live operation; their desired
    /// state and status come from the cache.
    private func plan(
        _ changes: PassReader.Changes, head: OID, _ options: PassOptions, _ report: inout PassReport
    ) throws -> (ReconcilePlan, PlanInput) {
        let ids = changes.dirty.union(try cache.pendingIDs()).union(try cache.dueIDs(at: now)).union(try cache.unsettledIDs())
            .union(try cache.brakedIDs())
        // The reader keeps only this shard's documents; an id of another one is never planned.
        let sorted = ids.filter(config.shard.owns).sorted()
        let (desired, held, actual, rebuilding) = try reader.planInput(sorted, repository, head: head)
        report.work.documentsPlanned = sorted.count
        report.diagnostics = try cache.allDiagnostics()
        for d in report.diagnostics where d.severity == .error { logger.error("Invalid spec: \(d)") }
        let plan = try Planner.plan(
            ids: sorted, desired: desired, held: held, actual: actual, rebuilding: rebuilding, presentIndexes: { try cache.presentCount() },
            now: now, settings: settings(allowMassDelete: options.allowMassDelete))
        if let brake = plan.brake { logger.error("\(brake)") }
        return (plan, PlanInput(ids: sorted, desired: desired, held: held, actual: actual, rebuilding: rebuilding))
    }

    private func settings(allowMassDelete: Bool = false) -> PlannerSettings {
        var settings = PlannerSettings(config, allowMassDelete: allowMassDelete, configFingerprint: fingerprint)
        settings.shard = config.shard
        settings.replica = replica
        settings.reshardFence = reshardFence
        return settings
    }

    /// How long after its intent an operation of another shard layout may still run: the
    /// longest operation timeout plus the shutdown grace. This replica starts an operation
    /// only while its committed intent is younger than half the grace (``runOperations``).
    private var reshardFence: Duration {
        config.indexTypes.values.compactMap(\.timeout).reduce(config.reconcile.operationTimeout, max) + shutdownGrace
    }

    // MARK: 5. Commit intents

    /// Commits the intents of the plan, and the diagnostics file when the set of problems
    /// changed, before any operation runs. Returns the diagnostics file's text.
    private func commitIntents(
        _ plan: ReconcilePlan, input: PlanInput, statuses: inout [String: DocumentStatus], commit: inout StatusCommit,
        _ report: inout PassReport
    ) throws -> String {
        for (id, intent) in plan.intents.sorted(by: { $0.key < $1.key }) {
            commit.record(id: id, from: statuses[id], to: intent)
            statuses[id] = intent
            if input.actual[id] != nil, input.desired[id] == nil, !input.held.contains(id) {
                logger.info("Cleaning up orphaned status", metadata: ["document_id": "\(id)"])
            }
        }
        // What stays true after this pass: not the problems of the status files it writes anew.
        let lasting = PassReader.lasting(report.diagnostics, rewritten: plan.intents.keys, statusDir: statusDir)
        let text = DiagnosticsFile.text(lasting, brake: plan.brake)
        if try cache.meta("diagnosticsText") != text {
            commit.extra[statusDir + "/" + DiagnosticsFile.name(shard: config.shard)] = text
        }
        try self.commit(&commit, .intents, publish: false, &report)
        return text
    }

    // MARK: 6. Run operations

    private func runOperations(
        _ operations: [PlannedOperation], desired: [String: DesiredDocument], statuses: inout [String: DocumentStatus],
        commit: inout StatusCommit, intentsStamped: Duration, progress: (@Sendable (PassProgress) -> Void)?,
        _ report: inout PassReport
    ) async -> [(operation: PlannedOperation, outcome: OperationOutcome)] {
        var outcomes: [(operation: PlannedOperation, outcome: OperationOutcome)] = []
        var pending = operations[...]
        var lastCommit = clock.elapsed()
        let operationsStarted = lastCommit
        let settings = settings()
        // Intents younger than this may start; older ones are written again first, so that an
        // operation never starts later than half the shutdown grace after its committed
        // intent, and a new owner after a reshard can wait for it to end.
        let freshFor = shutdownGrace / 2
        var renewedAt = intentsStamped
        var renewedUpTo = pending.endIndex
        var startedSinceRenewal = 0
        await withTaskGroup(of: (PlannedOperation, OperationOutcome).self) { group in
            func startNext() {
                guard !draining, let operation = pending.first else { return }
                if pending.startIndex >= renewedUpTo || clock.elapsed() - renewedAt >= freshFor {
                    // Twice what started in the last window: most of the batch starts while fresh.
                    let batch = max(config.reconcile.concurrency * 8, 2 * startedSinceRenewal)
                    guard renewIntents(pending.prefix(batch), statuses: &statuses, commit: &commit, &report) else { return }
                    renewedAt = clock.elapsed()
                    renewedUpTo = pending.startIndex + min(batch, pending.count)
                    startedSinceRenewal = 0
                }
                pending.removeFirst()
                startedSinceRenewal += 1
                let key = operation.key
                logger.info("Reconciling \(key.documentId):\(key.indexType)", metadata: [
                    "document_id": "\(key.documentId)", "index_type": "\(key.indexType)",
                    "action": "\(operation.action.rawValue)", "reason": "\(operation.reason.rawValue)",
                ])
                let prepared = prepare(operation, desired: desired[key.documentId], status: statuses[key.documentId], &report)
                let timeout = config.indexTypes[key.indexType]?.timeout ?? config.reconcile.operationTimeout
                group.addTask {
                    switch prepared {
                    case .failure(let error): return (operation, .failed(OperationFailure(error.message, terminal: error.isTerminal)))
                    case .success(let (indexer, request)): return (operation, await OperationRunner.run(request, on: indexer, timeout: timeout))
                    }
                }
            }
            for _ in 0..<config.reconcile.concurrency { startNext() }
            while let (operation, result) = await group.next() {
                let outcome = redactor.redact(result)
                log(operation, outcome)
                outcomes.append((operation, outcome))
                progress?(PassProgress(done: outcomes.count, total: operations.count, operation: operation, outcome: outcome))
                let id = operation.key.documentId
                let before = statuses[id]
                let after = (before ?? DocumentStatus(documentId: id))
                    .recording(outcome, of: operation, now: now, settings: settings, jitter: clock.jitter())
                commit.record(id: id, from: before, to: after, operation: operation, outcome: outcome)
                statuses[id] = after
                if clock.elapsed() - lastCommit >= config.reconcile.commitInterval {
                    do {
                        let publish = publishing.allows(elapsed: clock.elapsed() - operationsStarted)
                        try self.commit(&commit, .results, publish: publish, &report)
                    } catch {
                        logger.error("Cannot commit statuses yet: \(error)")
                    }
                    lastCommit = clock.elapsed()
                }
                startNext()
            }
        }
        return outcomes
    }

    /// Writes the intents of `operations` again with the time of now and commits them, with
    /// the results recorded so far. Returns whether they are committed: if not, no operation
    /// starts (the next pass runs them).
    private func renewIntents(
        _ operations: ArraySlice<PlannedOperation>, statuses: inout [String: DocumentStatus], commit: inout StatusCommit,
        _ report: inout PassReport
    ) -> Bool {
        let now = self.now
        for operation in operations {
            let id = operation.key.documentId, type = operation.key.indexType
            guard let before = statuses[id], var entry = before.indexes[type],
                  entry.actualState == .creating || entry.actualState == .deleting, entry.lastReconciledAt < now
            else { continue }
            entry.lastReconciledAt = now
            var after = before
            after.indexes[type] = entry
            commit.record(id: id, from: before, to: after)
            statuses[id] = after
        }
        do {
            try self.commit(&commit, .results, publish: false, &report)
            return config.shard.count > 1 ? try pushIntents(&report) : true
        } catch {
            logger.error("Cannot renew the intents of the next operations; the next pass runs them: \(error)")
            return false
        }
    }

    /// The indexer and request of an operation: a create of a source in the repository reads
    /// its blob; a delete gets the source and collection its create got (from the status).
    private func prepare(
        _ operation: PlannedOperation, desired: DesiredDocument?, status: DocumentStatus?, _ report: inout PassReport
    ) -> Result<(any Indexer, IndexRequest), IndexerError> {
        let key = operation.key
        guard let indexer = indexers[key.indexType] else {
            return .failure(IndexerError("index type \"\(key.indexType)\" is not configured", terminal: true))
        }
        let source = desired?.index.spec.source ?? status?.source ?? .path("")
        var content: [UInt8]?
        if operation.action == .create, case .path(let path) = source {
            guard let blob = desired?.sourceBlob.flatMap(OID.init(hex:)) else {
                return .failure(IndexerError("the source \(path) is not in the repository", terminal: true))
            }
            do throws(IndexerError) {
                if let last = lastSource, last.blob == blob {
                    content = last.content
                } else {
                    content = try repository.readSource(blob, path: path, limits: config.sizeLimits)
                    lastSource = (blob, content!)
                    report.work.sourcesRead += 1
                }
            } catch {
                return .failure(error)
            }
        }
        return .success((indexer, IndexRequest(
            action: operation.action, documentId: key.documentId, indexType: key.indexType,
            collection: desired?.index.metadata.collection ?? status?.collection,
            revision: operation.revision, source: source, content: content)))
    }

    private func log(_ operation: PlannedOperation, _ outcome: OperationOutcome) {
        let metadata: Logger.Metadata = ["document_id": "\(operation.key.documentId)", "index_type": "\(operation.key.indexType)"]
        switch (operation.action, outcome) {
        case (.create, .succeeded): logger.info("Successfully created index", metadata: metadata)
        case (.delete, .succeeded): logger.info("Successfully deleted index", metadata: metadata)
        case (.create, .failed(let failure)): logger.error("Failed to create index: \(failure.message)", metadata: metadata)
        case (.delete, .failed(let failure)): logger.error("Failed to delete index: \(failure.message)", metadata: metadata)
        }
    }

    // MARK: 5, 7, 9. Commits and publishing

    /// Commits what `commit` holds on the status branch's head, again on a newer head when a
    /// person committed meanwhile (our files are ours alone, so writing them again is safe),
    /// and publishes the work tree when `publish` is true (else ``publishIfBehind()`` does it
    /// later, with the files of the commits after).
    /// Returns the bytes of the files it wrote, by path (none when there was nothing to commit).
    @discardableResult
    private func commit(_ commit: inout StatusCommit, _ kind: StatusCommit.Kind, publish: Bool = true, _ report: inout PassReport) throws -> [String: Data] {
        guard !commit.isEmpty else { return [:] }
        let files = commit.files
        var written: [String: Data] = [:]
        let edits: [PathEdit] = files.map { file in
            guard let text = file.text else { return .remove(file.path) }
            let data = Data(redactor.redact(text).utf8)
            written[file.path] = data
            return .write(file.path, data)
        }
        var message = redactor.redact(commit.message(kind))
        if config.shard.count > 1 { message += "\(StatusCommit.shardTrailer): \(config.shard) \(replica)\n" }
        var attempts = 0
        while true {
            attempts += 1
            let parent = try repository.branchTip(workspace.statusBranch)
            if parent != (report.commits.last ?? heads?.status) { sawForeignCommits = true }
            let signature = Signature(name: config.repository.authorName, email: config.repository.authorEmail, time: clock.now())
            do {
                if !workspace.hasStatusBranch { try cache.setMeta("unpublished", "yes") }
                if let id = try repository.commit(edits, on: workspace.statusBranch, parent: parent, message: message, author: signature) {
                    report.commits.append(id)
                    report.work.statusFilesWritten += files.count
                    try Failpoints.hit(.commitBeforePublish, IndexOpsError.init)
                    if publish { try publishIfBehind(known: written) }
                }
                commit = StatusCommit(statusDir: statusDir, specCommit: commit.specCommit)
                return written
            } catch let error as GitError where error.code == .modified && attempts < 5 {
                sawForeignCommits = true
                logger.info("The branch moved while committing; committing again on the new head")
            } catch let error as GitError {
                // A full disk, say: what is committed stays consistent, and the next pass does the rest again.
                throw IndexOpsError("cannot commit the status files (the next pass does their work again): \(error)")
            }
        }
    }

    // MARK: 8. Push

    /// Pushes the pass's commits. A push that fails (the remote went away, rejected every
    /// attempt) loses nothing: the work is committed here, the pass reports the error, and the
    /// next pass, which is not idle while the branch is ahead of the remote, pushes.
    private func push(_ report: inout PassReport) throws {
        guard let remote = workspace.statusRemote, try needsPush() else { return }
        let started = clock.elapsed()
        let result: PushResult
        do {
            result = try repository.push(remote, replaying: workspace.ownCommits, takingDeletion: workspace.hasStatusBranch)
        } catch let error as GitError {
            report.pushError = "\(error)"
            logger.error("Cannot push the status commits; the next pass pushes them: \(error)")
            return
        }
        report.pushDuration = clock.elapsed() - started
        report.pushed = result.pushed
        for rewrite in result.rewrites { logger.warning("\(rewrite)") }
        if workspace.hasStatusBranch, result.replayedCommits > 0 || !result.rewrites.isEmpty || result.head == nil {
            sawForeignCommits = true
            try workspace.publishStatuses(repository)
        } else if let newHead = result.head, result.replayedCommits > 0 || !result.rewrites.isEmpty {
            sawForeignCommits = true
            try publish(newHead)
        }
    }

    /// Writes the status files of `commit` (the branch's tip) to the work tree, and notes that
    /// none of ours waits to be written.
    private func publish(_ commit: OID, known: [String: Data] = [:]) throws {
        filesPublished += try spendingPublishBudget { try repository.publish(to: commit, known: known) }.written.count
        publishes += 1
        try cache.setMeta("unpublished", nil)
    }

    /// Runs `body`, a write into the work tree, and counts its time against ``PublishBudget``.
    private func spendingPublishBudget<T>(_ body: () throws -> T) rethrows -> T {
        let started = clock.elapsed()
        defer { publishing.spend(clock.elapsed() - started) }
        return try body()
    }

    /// Brings the work tree to the branch's tip when a commit is not written out yet: one
    /// that the sync brought in, commits of ours made without a publish (intents, renewed
    /// intents), or a run killed between a commit and its publish. One row of the cache when
    /// there is none (`unpublished`, set by the sync and before each commit); with a status
    /// branch, the statuses by the mirror's own record (``Workspace/publishStatuses``).
    /// `known`: the bytes of files the last commit wrote, so that they need not be read back.
    private func publishIfBehind(known: [String: Data] = [:]) throws {
        if workspace.hasStatusBranch {
            try spendingPublishBudget { try workspace.publishStatuses(repository) }
        }
        guard repository.workDirectory != nil, try cache.meta("unpublished") != nil else { return }
        if let tip = try repository.branchTip(workspace.branch) { try publish(tip, known: known) }
        try cache.setMeta("unpublished", nil)
    }

    /// Under several shards, pushes the intents before their operations start, so that every
    /// replica sees them (DESIGN.md §9: a new shard owner waits for another layout's intents).
    /// Returns whether the operations may start: only when the push succeeded. (A single
    /// replica pushes at the end of the pass, as it always did.)
    private func pushIntents(_ report: inout PassReport) throws -> Bool {
        guard let remote = workspace.remote, try needsPush() else { return true }
        do {
            let result = try repository.push(remote, replaying: workspace.ownCommits)
            for rewrite in result.rewrites { logger.warning("\(rewrite)") }
            if let newHead = result.head, result.replayedCommits > 0 || !result.rewrites.isEmpty {
                sawForeignCommits = true
                try publish(newHead)
            }
            return true
        } catch let error as GitError {
            logger.warning("Cannot push the intents yet: \(error)")
            return config.shard.count == 1
        }
    }

    private func needsPush() throws -> Bool {
        guard let remote = workspace.statusRemote else { return false }
        return try repository.branchTip(workspace.statusBranch) != repository.trackingTip(remote)
    }

    // MARK: 10. Remember

    /// Records in the cache the statuses the pass wrote and, from a plan of the documents'
    /// new state, when each is due again; documents with nothing left to do are no longer
    /// pending, and those whose deletes the brake held are remembered as such. The cache moves
    /// to the new head's tree only when every commit since the head the pass read is its own.
    private func remember(
        plan: ReconcilePlan, input: PlanInput, statuses: [String: DocumentStatus], diagnosticsText: String, _ report: inout PassReport
    ) throws {
        let after = Planner.plan(ids: input.ids, desired: input.desired, held: input.held, actual: statuses, presentIndexes: { 0 },
                                 now: now, settings: settings(allowMassDelete: true))
        let braked = Set(plan.held.filter { $0.value == ReconcilePlan.brakeHold }.keys.map(\.documentId))
        let unsettled = Set(after.operations.map(\.key.documentId)).union(after.intents.keys).subtracting(braked)
        try cache.transaction {
            for id in input.ids {
                if statuses[id] != input.actual[id] || input.rebuilding.contains(id) { try cache.putStatus(id, statuses[id]) }
                if input.rebuilding.contains(id), plan.intents[id] != nil {
                    // Written anew: the invalid file is gone.
                    try cache.putStatusProblem(DocumentStatus.path(for: id, statusDir: statusDir), id: id, nil)
                }
                try cache.setDue(id, at: after.dueAt[id])
            }
            try cache.setPending(Set(input.ids).subtracting(unsettled), pending: false)
            try cache.setBraked(Set(input.ids).subtracting(braked), braked: false)
            try cache.setBraked(braked, braked: true)
            try cache.setMeta("diagnosticsText", diagnosticsText)
            try cache.setMeta("brake", plan.brake.flatMap { try? String(decoding: JSONEncoder().encode($0), as: UTF8.self) })
            if !sawForeignCommits, let newHead = try workspace.heads(repository)?.read {
                try cache.setMeta("tree", try repository.treeID(ofCommit: newHead).hex)
                try cache.setMeta("head", newHead.hex)
            }
        }
        report.failedIndexes = try cache.failedIndexes()
    }

    /// The documents a pass plans, and what it knew of them.
    struct PlanInput {
        var ids: [String]
        var desired: [String: DesiredDocument]
        var held: Set<String>
        var actual: [String: DocumentStatus]
        /// Documents whose status file is invalid: rebuilt, their file written anew.
        var rebuilding: Set<String>
    }

    // MARK: - Views

    /// The status of one document at the branch head, read from its file.
    public func status(of documentId: String) throws -> DocumentStatus? {
        guard let head = try workspace.heads(repository)?.read else { return nil }
        return try query.status(of: documentId, at: head)
    }

    /// The statuses of a collection's documents at the branch head, sorted by id.
    public func statuses(collection: String) throws -> [DocumentStatus] {
        guard let head = try workspace.heads(repository)?.read else { return [] }
        return try query.statuses(collection: collection, at: head)
    }

    /// The counts and failed indexes of the branch head, from the pass cache.
    public func summary() throws -> StatusSummary {
        guard let head = try workspace.heads(repository)?.read else { return StatusSummary() }
        return try query.summary(at: head)
    }

    private var query: StatusQuery { StatusQuery(repository: repository, config: config, cache: cache) }
}
