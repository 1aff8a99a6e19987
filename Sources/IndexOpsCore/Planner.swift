/// A document whose spec was read and is valid: what the planner reconciles towards.
public struct DesiredDocument: Sendable, Hashable {
    /// The resource.
    public var index: DocumentIndex
    /// The spec file that declares it.
    public var specFile: String
    /// For each configured index type, the revision a create would index: the source's blob
    /// id (or its declared URI revision) combined with the type's driver settings.
    public var revisions: [String: String]
    /// The blob id (hex) of the source, when it is a file in the repository.
    public var sourceBlob: String?

    /// Creates a desired document.
    public init(index: DocumentIndex, specFile: String, revisions: [String: String], sourceBlob: String? = nil) {
        self.index = index
        self.specFile = specFile
        self.revisions = revisions
        self.sourceBlob = sourceBlob
    }
}

/// One (document, index type) pair: the unit that never has two operations in flight.
public struct IndexKey: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The document id.
    public var documentId: String
    /// The index type.
    public var indexType: String

    /// Creates a key.
    public init(_ documentId: String, _ indexType: String) {
        self.documentId = documentId
        self.indexType = indexType
    }

    public static func < (a: IndexKey, b: IndexKey) -> Bool { (a.documentId, a.indexType) < (b.documentId, b.indexType) }
    /// `doc123/vector`.
    public var description: String { "\(documentId)/\(indexType)" }
}

/// An operation the plan asks an indexer to run.
public struct PlannedOperation: Sendable, Hashable, Comparable {
    /// Why the operation runs, for logs and commit messages.
    public enum Reason: String, Sendable, Hashable {
        case missing = "not created yet"
        case newRevision = "source or settings changed"
        case recreateRequested = "recreate requested"
        case retry = "retry after failure"
        case retryRequested = "retry requested"
        case interrupted = "interrupted operation"
        case configurationChanged = "configuration changed"
        case statusInvalid = "status file was invalid"
        case declaredAbsent = "declared absent"
        case orphaned = "spec removed"
    }

    /// Which index.
    public var key: IndexKey
    /// Create or delete.
    public var action: IndexOperationKind
    /// The revision to index (for a delete, the revision last observed).
    public var revision: String
    /// Why.
    public var reason: Reason

    /// Creates an operation.
    public init(key: IndexKey, action: IndexOperationKind, revision: String, reason: Reason) {
        self.key = key
        self.action = action
        self.revision = revision
        self.reason = reason
    }

    public static func < (a: PlannedOperation, b: PlannedOperation) -> Bool { a.key < b.key }
}

/// Create or delete.
public enum IndexOperationKind: String, Sendable, Hashable, Codable {
    case create, delete
}

/// How the planner decides: retries, backoff and the mass-delete brake.
public struct PlannerSettings: Sendable, Hashable {
    /// The configured index types.
    public var indexTypes: Set<String>
    /// Failures (and interruptions) before an index is held.
    public var maxRetries: Int
    /// The first retry delay.
    public var retryBackoff: Duration
    /// The longest retry delay.
    public var maxRetryBackoff: Duration
    /// The largest share of present indexes one pass may delete.
    public var maxDeletePercent: Int
    /// The brake applies only when more indexes than this are present: deleting the only
    /// document of a small repository is not a wiped specs folder.
    public var minDeleteCount: Int
    /// Deletes past the brake once (`reconcile --allow-mass-delete`).
    public var allowMassDelete: Bool
    /// The fingerprint of the whole configuration: a terminal failure recorded under another
    /// configuration is tried again.
    public var configFingerprint: String
    /// The shard of this replica: its intents name it (under a layout of several shards).
    public var shard: Shard = .single
    /// This replica's name, written with its shard in its intents.
    public var replica: String = "replica"
    /// How long an intent written under another shard layout keeps its index from being
    /// started again (the longest operation timeout plus the shutdown grace): the replica that
    /// wrote it may still be running it.
    public var reshardFence: Duration = .zero

    /// Creates settings.
    public init(indexTypes: Set<String>, maxRetries: Int = 5, retryBackoff: Duration = .seconds(30),
                maxRetryBackoff: Duration = .seconds(900), maxDeletePercent: Int = 50, minDeleteCount: Int = 10,
                allowMassDelete: Bool = false, configFingerprint: String = "") {
        self.indexTypes = indexTypes
        self.maxRetries = maxRetries
        self.retryBackoff = retryBackoff
        self.maxRetryBackoff = maxRetryBackoff
        self.maxDeletePercent = maxDeletePercent
        self.minDeleteCount = minDeleteCount
        self.allowMassDelete = allowMassDelete
        self.configFingerprint = configFingerprint
    }

    /// Settings from the controller configuration.
    public init(_ config: ControllerConfig, allowMassDelete: Bool = false, configFingerprint: String = "") {
        self.init(
            indexTypes: Set(config.indexTypes.keys), maxRetries: config.reconcile.maxRetries,
            retryBackoff: config.reconcile.retryBackoff, maxRetryBackoff: config.reconcile.maxRetryBackoff,
            maxDeletePercent: config.reconcile.maxDeletePercent, minDeleteCount: config.reconcile.minDeleteCount,
            allowMassDelete: allowMassDelete, configFingerprint: configFingerprint)
    }

    /// The delay before retry number `failures` (1 for the first): the backoff doubled per
    /// failure, capped, times `jitter` (the caller's random factor, e.g. 0.9 to 1.1). No delay
    /// for 0 failures.
    public func backoff(afterFailures failures: Int, jitter: Double) -> Duration {
        guard failures > 0 else { return .zero }
        let doublings = min(failures - 1, 30)
        var delay = retryBackoff * (1 << doublings)
        if delay > maxRetryBackoff { delay = maxRetryBackoff }
        let ms = Double(delay.components.seconds) * 1_000 + Double(delay.components.attoseconds) / 1e15
        return .milliseconds(Int64((ms * jitter).rounded()))
    }
}

/// Deletes held back because the pass would delete too much at once.
public struct MassDeleteBrake: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Present indexes the pass would have deleted.
    public var wouldDelete: Int
    /// Present indexes in all.
    public var present: Int
    /// The limit in force.
    public var maxDeletePercent: Int

    /// Creates a brake report.
    public init(wouldDelete: Int, present: Int, maxDeletePercent: Int) {
        self.wouldDelete = wouldDelete
        self.present = present
        self.maxDeletePercent = maxDeletePercent
    }

    public var description: String {
        "deletions held: this pass would delete \(wouldDelete) of \(present) present indexes, more than maxDeletePercent (\(maxDeletePercent)%); "
            + "if that is intended, run `indexops reconcile --once --allow-mass-delete` or raise maxDeletePercent"
    }
}

/// What one pass will do: the operations to run, the status files to write before any of them
/// runs (their intents), and what it holds back and why.
public struct ReconcilePlan: Sendable, Hashable {
    /// The operations, sorted by document and index type.
    public var operations: [PlannedOperation] = []
    /// The status of each document that changes before any operation runs, by id; `nil`
    /// removes the file.
    public var intents: [String: DocumentStatus?] = [:]
    /// Indexes left alone, with the reason: a held document, retries used up, an index type
    /// no longer configured, the brake.
    public var held: [IndexKey: String] = [:]
    /// Set when the mass-delete brake held deletions back.
    public var brake: MassDeleteBrake?
    /// For each planned document that has to be looked at again later (a retry, an orphan's
    /// delete at the longest backoff, an interrupted operation backing off), when.
    public var dueAt: [String: Timestamp] = [:]

    /// The reason of ``held`` for a delete the mass-delete brake holds back.
    public static let brakeHold = "mass-delete brake"

    /// An empty plan.
    public init() {}

    /// Whether the pass has nothing to do.
    public var isEmpty: Bool { operations.isEmpty && intents.isEmpty }

    /// The earliest time a document of the plan has to be looked at again.
    public var nextRetryAt: Timestamp? { dueAt.values.min() }
}

/// The reconciler's brain: a pure function from desired and actual state to a plan
/// (DESIGN.md §4). No I/O, no clock, no git: every rule is a table-driven test.
public enum Planner {
    /// Plans one pass over the documents `ids` (default: every document of `desired`,
    /// `held` and `actual`).
    ///
    /// - Parameters:
    ///   - ids: the documents to plan; a pass after one edit plans only what changed or is due.
    ///   - desired: the valid, unique documents of the specs, by id (at least those of `ids`).
    ///   - held: ids whose specs could not be read (a broken file, a duplicate, a bad
    ///     document): their indexes and statuses are left exactly as they are.
    ///   - actual: the status files, by id (at least those of `ids`).
    ///   - rebuilding: ids whose status file is invalid (``StatusFileRules``); `actual` holds
    ///     the last valid version from git history, if there is one. Every desired index of
    ///     such a document is created again (creates are idempotent), every other index it
    ///     records is deleted, and its file is written anew. An orphan's indexes are deleted.
    ///   - inFlight: indexes with an operation running in this controller now.
    ///   - now: the time of the pass.
    ///   - settings: retries, backoff, the brake.
    public static func plan(
        ids: [String]? = nil, desired: [String: DesiredDocument], held: Set<String>, actual: [String: DocumentStatus],
        rebuilding: Set<String> = [], inFlight: Set<IndexKey> = [], now: Timestamp, settings: PlannerSettings
    ) -> ReconcilePlan {
        plan(ids: ids, desired: desired, held: held, actual: actual, rebuilding: rebuilding,
             presentIndexes: { actual.values.reduce(0) { $0 + $1.indexes.values.count { $0.actualState == .present } } },
             inFlight: inFlight, now: now, settings: settings)
    }

    /// Plans one pass, asking for the count of present indexes of the whole repository only
    /// when the plan deletes a present index (the mass-delete brake).
    public static func plan(
        ids: [String]? = nil, desired: [String: DesiredDocument], held: Set<String>, actual: [String: DocumentStatus],
        rebuilding: Set<String> = [], presentIndexes: () throws -> Int, inFlight: Set<IndexKey> = [], now: Timestamp,
        settings: PlannerSettings
    ) rethrows -> ReconcilePlan {
        let ids = ids ?? Array(Set(desired.keys).union(held).union(actual.keys).union(rebuilding)).sorted()
        func planAll(brake: Bool) -> ReconcilePlan {
            var plan = ReconcilePlan()
            for id in ids {
                let status = actual[id]
                if held.contains(id) {
                    for type in status?.indexes.keys.sorted() ?? [] { plan.held[IndexKey(id, type)] = "its spec cannot be read" }
                    continue
                }
                plan.merge(planDocument(
                    id: id, desired: desired[id], status: status, rebuild: rebuilding.contains(id), inFlight: inFlight,
                    now: now, settings: settings, brake: brake))
            }
            return plan
        }
        let plan = planAll(brake: false)
        let deletes = plan.operations.count { op in
            op.action == .delete && actual[op.key.documentId]?.indexes[op.key.indexType]?.actualState == .present
        }
        guard !settings.allowMassDelete, deletes > 0 else { return plan }
        let present = try presentIndexes()
        guard present > settings.minDeleteCount, deletes * 100 > settings.maxDeletePercent * present else { return plan }
        var braked = planAll(brake: true)
        braked.brake = MassDeleteBrake(wouldDelete: deletes, present: present, maxDeletePercent: settings.maxDeletePercent)
        return braked
    }

    /// The desired state of each index type of a document: its declared states, or every
    /// configured type present when it declares none.
    public static func desiredStates(_ index: DocumentIndex, configured: some Sequence<String>) -> [String: DesiredState] {
        index.spec.indexes ?? Dictionary(uniqueKeysWithValues: configured.map { ($0, .present) })
    }

    private static func planDocument(
        id: String, desired: DesiredDocument?, status: DocumentStatus?, rebuild: Bool, inFlight: Set<IndexKey>,
        now: Timestamp, settings: PlannerSettings, brake: Bool
    ) -> ReconcilePlan {
        var plan = ReconcilePlan()
        var next = status ?? DocumentStatus(documentId: id)
        let states = desired.map { desiredStates($0.index, configured: settings.indexTypes) } ?? [:]
        var retryRequested = false
        var recreateRequested = false
        if let desired {
            next.collection = desired.index.metadata.collection
            next.specFile = desired.specFile
            next.source = desired.index.spec.source
            if let at = desired.index.metadata.retryRequestedAt, at > (next.lastHandledRetryAt ?? .distantPast) {
                retryRequested = true
                next.lastHandledRetryAt = at
            }
            if let at = desired.index.metadata.recreateRequestedAt, at > (next.lastHandledRecreateAt ?? .distantPast) {
                recreateRequested = true
                next.lastHandledRecreateAt = at
            }
        }
        let types = Set(states.keys).union(next.indexes.keys).sorted()
        for type in types {
            let key = IndexKey(id, type)
            if inFlight.contains(key) { continue }
            guard settings.indexTypes.contains(type) else {
                if next.indexes[type] != nil { plan.held[key] = "index type \"\(type)\" is not configured" }
                continue
            }
            let want = states[type] ?? .absent
            let entry = next.indexes[type]
            if let entry, entry.actualState == .creating || entry.actualState == .deleting, entry.ownerShard != settings.shard {
                // Written under another shard layout: its replica may still run it (DESIGN.md §9).
                let until = entry.lastReconciledAt.adding(settings.reshardFence)
                if until > now {
                    plan.dueAt[id] = min(plan.dueAt[id] ?? until, until)
                    plan.held[key] = "an operation started by \(entry.owner.map { "\($0.replica) (shard \($0.shard))" } ?? "a single replica") "
                        + "may still run until \(until.text)"
                    continue
                }
            }
            if brake, want == .absent, entry?.actualState == .present {
                plan.held[key] = ReconcilePlan.brakeHold
                continue
            }
            var decision = decide(
                want: want, entry: entry, revision: desired?.revisions[type], orphan: desired == nil,
                retryRequested: retryRequested, recreateRequested: recreateRequested, now: now, settings: settings)
            if rebuild {
                // What the invalid file said is not trusted: build a desired index again;
                // delete one declared absent even if no valid version of the file recorded it.
                if want == .present {
                    decision = .run(.create, .statusInvalid)
                } else if entry == nil, states[type] == .absent {
                    decision = .run(.delete, .statusInvalid)
                }
            }
            switch decision {
            case .nothing:
                break
            case .wait(let until):
                plan.dueAt[id] = min(plan.dueAt[id] ?? until, until)
            case .hold(let reason):
                plan.held[key] = reason
            case .remove:
                next.indexes[type] = nil
            case .fail(let message):
                var failed = entry!
                failed.actualState = .failed
                failed.updatedAt = now
                failed.lastReconciledAt = now
                failed.errorMessage = message
                failed.nextRetryAt = nil
                next.indexes[type] = failed
                plan.held[key] = message
            case .run(let action, let reason):
                let revision = action == .create ? desired?.revisions[type] ?? "" : entry?.observedRevision ?? ""
                plan.operations.append(PlannedOperation(key: key, action: action, revision: revision, reason: reason))
                next.indexes[type] = intent(action, reason: reason, revision: revision, entry: entry, now: now, settings: settings)
            }
        }
        if next.indexes.isEmpty {
            // An orphan's invalid file with no valid version in history stays (and is
            // reported): the indexes it may stand for are unknown.
            if status != nil || (rebuild && desired != nil) { plan.intents[id] = .some(nil) }
        } else if next != status || rebuild {
            plan.intents[id] = next
        }
        return plan
    }

    private enum Decision {
        case nothing
        case wait(Timestamp)
        case hold(String)
        case remove
        /// Mark the entry failed for good (an operation interrupted too often).
        case fail(String)
        case run(IndexOperationKind, PlannedOperation.Reason)
    }

    /// One row of the table of DESIGN.md §4.
    private static func decide(
        want: DesiredState, entry: IndexStatus?, revision: String?, orphan: Bool,
        retryRequested: Bool, recreateRequested: Bool, now: Timestamp, settings: PlannerSettings
    ) -> Decision {
        switch want {
        case .present:
            guard let entry else { return .run(.create, .missing) }
            switch entry.actualState {
            case .absent:
                return .run(.create, .missing)
            case .creating where entry.observedRevision != nil && entry.observedRevision != revision:
                // An interrupted build of an older revision: this is a new one.
                return .run(.create, .newRevision)
            case .deleting:
                // The spec flipped back while a delete ran: the index is not there to keep.
                return .run(.create, .missing)
            case .creating:
                if retryRequested { return .run(.create, .retryRequested) }
                return interrupted(entry, action: .create, now: now, settings: settings)
            case .present:
                if recreateRequested { return .run(.create, .recreateRequested) }
                if entry.observedRevision != revision { return .run(.create, .newRevision) }
                return .nothing
            case .failed:
                if retryRequested { return .run(.create, .retryRequested) }
                if recreateRequested { return .run(.create, .recreateRequested) }
                if entry.desiredState == .absent || entry.observedRevision != revision { return .run(.create, .newRevision) }
                if let config = entry.terminalConfig {
                    guard config == settings.configFingerprint else { return .run(.create, .configurationChanged) }
                    return .hold("fails until the spec, the source or the configuration changes (add a retry annotation to try again)")
                }
                return retryOrWait(entry, action: .create, now: now, settings: settings)
            }
        case .absent:
            let reason: PlannedOperation.Reason = orphan ? .orphaned : .declaredAbsent
            guard let entry else { return .nothing }
            switch entry.actualState {
            case .absent:
                return .remove
            case .present, .creating:
                // A create that may have run is deleted like a present index.
                return .run(.delete, reason)
            case .deleting:
                if retryRequested { return .run(.delete, .retryRequested) }
                return interrupted(entry, action: .delete, now: now, settings: settings)
            case .failed:
                if entry.desiredState == .present { return .run(.delete, reason) }
                if retryRequested { return .run(.delete, .retryRequested) }
                if let config = entry.terminalConfig, config != settings.configFingerprint { return .run(.delete, .configurationChanged) }
                if orphan, entry.retryCount >= settings.maxRetries || entry.terminalConfig != nil {
                    // No spec is left to annotate: an orphan's delete goes on at the longest backoff.
                    let at = entry.lastReconciledAt.adding(settings.maxRetryBackoff)
                    return at > now ? .wait(at) : .run(.delete, .retry)
                }
                if entry.terminalConfig != nil {
                    return .hold("fails until the spec, the source or the configuration changes (add a retry annotation to try again)")
                }
                return retryOrWait(entry, action: .delete, now: now, settings: settings)
            }
        }
    }

    /// An intent with no live operation: the controller stopped while it ran. It counts as an
    /// attempt: it runs again at once the first time, after the usual backoff the next times,
    /// and is failed for good after `maxRetries` (DESIGN.md §4).
    private static func interrupted(_ entry: IndexStatus, action: IndexOperationKind, now: Timestamp, settings: PlannerSettings) -> Decision {
        let attempts = entry.retryCount.addingRetry()
        guard attempts < settings.maxRetries else {
            return .fail("interrupted \(attempts) times (the controller stopped while it ran); add a retry annotation to try again")
        }
        let at = entry.lastReconciledAt.adding(settings.backoff(afterFailures: entry.retryCount, jitter: 1))
        return at > now ? .wait(at) : .run(action, .interrupted)
    }

    private static func retryOrWait(_ entry: IndexStatus, action: IndexOperationKind, now: Timestamp, settings: PlannerSettings) -> Decision {
        guard entry.retryCount < settings.maxRetries else {
            return .hold("failed \(entry.retryCount) times (maxRetries \(settings.maxRetries)); add a retry annotation to try again")
        }
        if let at = entry.nextRetryAt, at > now { return .wait(at) }
        return .run(action, .retry)
    }

    /// The entry written before the operation runs: its intent. A create's intent records the
    /// revision it builds, so that a later pass tells an interrupted build from a new one.
    private static func intent(
        _ action: IndexOperationKind, reason: PlannedOperation.Reason, revision: String, entry: IndexStatus?, now: Timestamp,
        settings: PlannerSettings
    ) -> IndexStatus {
        let state: ActualState = action == .create ? .creating : .deleting
        var next = entry ?? IndexStatus(actualState: state, desiredState: .present, updatedAt: now, lastReconciledAt: now)
        if next.actualState != state { next.updatedAt = now }
        next.actualState = state
        next.desiredState = action == .create ? .present : .absent
        next.lastReconciledAt = now
        next.nextRetryAt = nil
        next.terminalConfig = nil
        next.owner = settings.shard.count > 1 ? IntentOwner(shard: settings.shard, replica: settings.replica) : nil
        if action == .create { next.observedRevision = revision }
        switch reason {
        case .retry: break
        case .interrupted: next.retryCount = next.retryCount.addingRetry()
        default: next.retryCount = 0
        }
        return next
    }
}

extension ReconcilePlan {
    mutating func merge(_ other: ReconcilePlan) {
        operations += other.operations
        intents.merge(other.intents) { $1 }
        held.merge(other.held) { $1 }
        dueAt.merge(other.dueAt) { min($0, $1) }
    }
}

extension Timestamp {
    /// Earlier than any time an annotation can hold.
    static let distantPast = Timestamp(secondsSinceEpoch: -62_135_596_800)
}
