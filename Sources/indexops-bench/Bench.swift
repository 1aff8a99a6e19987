import Foundation
import IndexOpsController
import IndexOpsCore
import Logging

/// `make bench`: how a pass scales with the repository. Generates a repository of N
/// documents (two noop index types each), then times a cold pass, an idle pass and a pass
/// after one edited spec, and prints the peak memory. A benchmark, not a test: it prints
/// figures and asserts nothing.
@main
enum Bench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let documents = arguments.firstIndex(of: "--documents").flatMap { Int(arguments[$0 + 1]) }
            ?? ProcessInfo.processInfo.environment["N"].flatMap(Int.init) ?? 10_000
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("indexops-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        let repo = root.appendingPathComponent("repo")
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("docs"), withIntermediateDirectories: true)

        var clock = ContinuousClock.now
        for i in 0..<documents {
            let id = "doc\(i)"
            let folder = repo.appendingPathComponent("specs/\(i % 100)")
            if i < 100 { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
            try Data(spec(id, revision: 1).utf8).write(to: folder.appendingPathComponent("\(id).yaml"))
            try Data("Document \(i): some text to index.\n".utf8).write(to: repo.appendingPathComponent("docs/\(id).md"))
        }
        try git(["init", "-q", "-b", "main"], in: repo)
        try git(["add", "-A"], in: repo)
        try git(["commit", "-q", "-m", "\(documents) documents"], in: repo)
        print("generated \(documents) documents in \(seconds(since: clock))")

        let configFile = root.appendingPathComponent("indexops.yaml")
        try Data("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            reconcile: { concurrency: 8, maxDeletePercent: 100 }
            indexTypes:
              a: { driver: noop }
              b: { driver: noop }

            """.utf8).write(to: configFile)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let reconciler = try Controller.reconciler(repo: repo.path, configFile: configFile.path, logger: logger)

        clock = .now
        let cold = try await reconciler.pass()
        print("cold pass:        \(seconds(since: clock))  \(cold.outcomes.count) operations, \(cold.filesParsed) files parsed, \(cold.commits.count) commits")
        clock = .now
        let idle = try await reconciler.pass()
        print("idle pass:        \(seconds(since: clock))  idle=\(idle.idle), \(idle.filesParsed) files parsed, \(idle.commits.count) commits")

        try Data(spec("doc0", revision: 2).utf8).write(to: repo.appendingPathComponent("specs/0/doc0.yaml"))
        try git(["commit", "-q", "-am", "Edit one spec"], in: repo)
        clock = .now
        let edited = try await reconciler.pass()
        print("one edited spec:  \(seconds(since: clock))  \(edited.outcomes.count) operations, \(edited.filesParsed) files parsed, \(edited.commits.count) commits")

        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("peak memory:      \(usage.ru_maxrss / 1024) MiB (max resident set size)")
    }

    static func spec(_ id: String, revision: Int) -> String {
        """
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata:
          name: \(id)
          createdBy: bench@example.com
          annotations: { revision: "\(revision)" }
        spec:
          source: docs/\(id).md

        """
    }

    static func seconds(since start: ContinuousClock.Instant) -> String {
        let d = ContinuousClock.now - start
        return String(format: "%7.3f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    static func git(_ arguments: [String], in folder: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"] + arguments
        process.currentDirectoryURL = folder
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw IndexOpsError("git \(arguments.joined(separator: " ")) failed") }
    }
}
