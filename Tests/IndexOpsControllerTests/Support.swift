import Foundation
import IndexOpsController
import IndexOpsCore
import Indexers
import Logging
import Testing

/// A repository in a temporary folder that people edit with the real `git` command.
struct PeopleRepository {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("indexops-ctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try git("init", "-q", "-b", "main")
    }

    var path: String { root.path }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-c", "user.name=Ana", "-c", "user.email=ana@example.com"] + arguments
        process.currentDirectoryURL = root
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("git \(arguments.joined(separator: " ")) exited \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }

    func write(_ path: String, _ text: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func remove(_ path: String) throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent(path))
    }

    func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path)
    }

    /// Runs `git fast-import` with `stream` on standard input: many files in one commit, fast.
    func fastImport(_ stream: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "fast-import", "--quiet"]
        process.currentDirectoryURL = root
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(stream.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("git fast-import exited \(process.terminationStatus)") }
    }

    /// Commits everything, as a person would.
    func commitAll(_ message: String) throws {
        try git("add", "-A")
        try git("commit", "-q", "-m", message)
    }

    func cleanup() {
        try? FileManager.default.removeItem(at: root)
    }

    static func spec(_ id: String, source: String? = nil, indexes: String? = nil, extra: String = "") -> String {
        var text = """
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata:
              name: \(id)
              createdBy: ana@example.com
            \(extra)spec:
              source: \(source ?? "docs/\(id).md")

            """
        if let indexes { text += "  indexes: \(indexes)\n" }
        return text
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An indexer that keeps a ledger of what it holds, and fails on request: the controller's
/// view of a real engine, to test the reconciler's decisions. The drivers themselves are
/// tested against SQLite and real processes.
actor LedgerIndexer: Indexer {
    private(set) var live: [String: String] = [:]
    private(set) var calls: [String] = []
    var failing: Set<String> = []

    /// Runs once, in the first create: lets a test act while a pass is under way.
    var duringFirstCreate: (@Sendable () throws -> Void)?

    func setDuringFirstCreate(_ action: @escaping @Sendable () throws -> Void) { duringFirstCreate = action }

    func create(_ request: IndexRequest) async throws -> JSONValue {
        calls.append("create \(request.documentId)/\(request.indexType)")
        if let action = duringFirstCreate {
            duringFirstCreate = nil
            try action()
        }
        if failing.contains(request.documentId) { throw IndexerError("connection refused") }
        live[request.documentId] = request.revision
        return .object(["bytes": .int(Int64(request.content?.count ?? 0))])
    }

    func delete(_ request: IndexRequest) async throws {
        calls.append("delete \(request.documentId)/\(request.indexType)")
        if failing.contains(request.documentId) { throw IndexerError("connection refused") }
        live[request.documentId] = nil
    }

    func documentIDs() async throws -> Set<String>? { Set(live.keys) }

    func fail(_ ids: Set<String>) { failing = ids }
}

/// A clock the tests move by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_795_946_400)
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

extension Reconciler {
    /// A reconciler over `repo` with one ledger indexer per configured index type.
    /// Results are committed once at the end of a pass (a long commitInterval), so that the
    /// commits a test counts do not depend on how busy the machine is.
    static func testing(_ repo: PeopleRepository, config: ControllerConfig = .embeddedDefaults, clock: TestClock = TestClock(),
                        commitInterval: Duration = .seconds(3_600), ledgers: [String: LedgerIndexer]) throws -> Reconciler {
        try testing(repo, config: config, clock: clock, commitInterval: commitInterval, indexer: { ledgers[$0]! })
    }

    /// A reconciler over `repo` whose index types are served by `indexer(typeName)`.
    static func testing(_ repo: PeopleRepository, config: ControllerConfig = .embeddedDefaults, clock: TestClock = TestClock(),
                        commitInterval: Duration = .seconds(3_600), indexer: @Sendable (String) -> any Indexer) throws -> Reconciler {
        var config = config
        config.reconcile.commitInterval = commitInterval
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try Reconciler(
            repo: repo.path, config: config, configured: false, logger: logger,
            makeIndexer: { name, _, _ in indexer(name) }, clock: PassClock(now: { clock.now }, jitter: { 1 }))
    }
}
