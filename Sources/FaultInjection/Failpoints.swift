import Foundation
import Synchronization

/// A named place where a crash or an error changes what is on disk, for tests that stop the
/// controller exactly there (issue 11). Each is a one-line ``Failpoints/hit(_:)`` call in the
/// code it names; the raw value is the name `INDEXOPS_FAILPOINTS` uses.
public enum Failpoint: String, CaseIterable, Sendable {
    /// A commit's objects (blobs, trees, the commit, as one pack) are written and fsynced;
    /// the branch has not moved yet. The first commit of a pass with work is its intent
    /// commit; `@2` and later reach the results commits. (`Git/CommitWriting.swift`)
    case commitObjectsWritten = "commit-objects-written"
    /// A status commit is on the branch; the work tree and the index do not show it yet.
    /// (`IndexOpsController/Reconciler.swift`)
    case commitBeforePublish = "commit-before-publish"
    /// Publishing a commit to the work tree: the first file is written and in the index, the
    /// others are not, and the index is not saved. Also reached when a sync publishes what
    /// people pushed. (`Git/Publish.swift`)
    case publishMidway = "publish-midway"
    /// An indexer finished an operation (its side effect is done); its result is not
    /// recorded nor committed. An error makes the operation fail as an indexer error would.
    /// (`IndexOpsController/OperationRunner.swift`)
    case operationDone = "operation-done"
    /// A push: the remote took the commits; the remote-tracking branch is not moved yet.
    /// An error is a push error (the next pass pushes). (`Git/Push.swift`)
    case pushSent = "push-sent"
    /// Inside an SQLite index transaction: the document's old chunks are deleted and its new
    /// ones inserted, not committed. (`Indexers/SQLiteFTSIndexer.swift`, `SQLiteVectorIndexer.swift`)
    case sqliteTransaction = "sqlite-transaction"
    /// Inside a pass cache transaction: its rows are written, not committed.
    /// (`IndexOpsController/PassCache.swift`)
    case passCacheWrite = "pass-cache-write"
}

/// What a failpoint does when it is reached.
public enum FailpointAction: String, Sendable {
    /// SIGKILL to the process itself, as a `kill -9` would: nothing is flushed or cleaned up.
    case crash
    /// Throws a ``FailpointError`` (or the error the place itself throws, made from its
    /// message) where the failpoint is.
    case error
}

/// An error a failpoint throws, or a bad `INDEXOPS_FAILPOINTS` value.
public struct FailpointError: Error, Sendable, CustomStringConvertible {
    /// One line, naming the failpoint or the variable.
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The failpoints this process stops at, read once from `INDEXOPS_FAILPOINTS`:
/// `name=crash|error[@N][,name=…]`, where `@N` (default 1) makes the N-th time the place is
/// reached the one that fails (earlier ones pass). Unset or empty, every ``hit(_:)`` is a
/// single check of an immutable value.
///
/// A bad value makes ``validateEnvironment()`` throw at start, naming the variable and the
/// known names; until then the process runs with no failpoint armed.
public final class Failpoints: Sendable {
    /// The environment variable read.
    public static let variable = "INDEXOPS_FAILPOINTS"

    private struct Rule: Sendable {
        var action: FailpointAction
        var onHit: Int
    }

    private let rules: [Failpoint: Rule]
    private let hits = Mutex<[Failpoint: Int]>([:])

    private init(rules: [Failpoint: Rule]) { self.rules = rules }

    /// Parses a value of `INDEXOPS_FAILPOINTS`; `nil` for an empty one.
    ///
    /// - Throws: ``FailpointError`` naming the variable, the bad part, and the known names.
    public static func parse(_ value: String) throws(FailpointError) -> Failpoints? {
        var rules: [Failpoint: Rule] = [:]
        for part in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2, let point = Failpoint(rawValue: pieces[0]) else {
                throw FailpointError("\(variable): unknown failpoint \"\(pieces[0])\" in \"\(part)\"; known: "
                    + Failpoint.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let actionAndHit = pieces[1].split(separator: "@", maxSplits: 1).map(String.init)
            guard let action = actionAndHit.first.flatMap(FailpointAction.init(rawValue:)),
                  let onHit = actionAndHit.count == 2 ? Int(actionAndHit[1]) : 1, onHit >= 1
            else {
                throw FailpointError("\(variable): \"\(part)\" must be \(point.rawValue)=crash or \(point.rawValue)=error, optionally followed by @N (N ≥ 1)")
            }
            guard rules[point] == nil else { throw FailpointError("\(variable): \(point.rawValue) is given twice") }
            rules[point] = Rule(action: action, onHit: onHit)
        }
        return rules.isEmpty ? nil : Failpoints(rules: rules)
    }

    private static let fromEnvironment: Result<Failpoints?, FailpointError> = {
        guard let value = ProcessInfo.processInfo.environment[variable] else { return .success(nil) }
        do throws(FailpointError) { return .success(try parse(value)) } catch { return .failure(error) }
    }()

    /// The armed failpoints; `nil` when none (or the value is bad).
    private static let armed: Failpoints? = try? fromEnvironment.get()

    /// Checks `INDEXOPS_FAILPOINTS` once, at start.
    ///
    /// - Throws: ``FailpointError`` for a bad value.
    public static func validateEnvironment() throws(FailpointError) {
        _ = try fromEnvironment.get()
    }

    /// Names of the armed failpoints, for a log line at start; empty when none.
    public static var armedNames: [String] {
        (armed?.rules ?? [:]).map { "\($0.key.rawValue)=\($0.value.action.rawValue)@\($0.value.onHit)" }.sorted()
    }

    /// Reached `point`: nothing when it is not armed; else crashes or throws as configured.
    @inline(__always)
    public static func hit(_ point: Failpoint) throws(FailpointError) {
        guard let armed else { return }
        try armed.fire(point, FailpointError.init)
    }

    /// Reached `point`, in code that throws its own error type: `makeError` turns the
    /// failpoint's message into it.
    @inline(__always)
    public static func hit<E: Error>(_ point: Failpoint, _ makeError: (String) -> E) throws(E) {
        guard let armed else { return }
        try armed.fire(point, makeError)
    }

    private func fire<E: Error>(_ point: Failpoint, _ makeError: (String) -> E) throws(E) {
        guard let rule = rules[point] else { return }
        let count = hits.withLock { hits in
            hits[point, default: 0] += 1
            return hits[point]!
        }
        guard count == rule.onHit else { return }
        switch rule.action {
        case .crash:
            let line = "indexops: failpoint \(point.rawValue): crash (SIGKILL)\n"
            line.utf8CString.withUnsafeBufferPointer { _ = Foundation.write(2, $0.baseAddress, $0.count - 1) }
            kill(getpid(), SIGKILL)
            fatalError("SIGKILL did not end the process")
        case .error:
            throw makeError("failpoint \(point.rawValue): injected error (\(Self.variable))")
        }
    }
}
