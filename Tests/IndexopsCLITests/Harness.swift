import Foundation
import Testing

/// Runs the built `indexops` binary as a person would, and makes scratch folders.
enum Harness {
    /// The package root, found from this file.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built binary: `$INDEXOPS_BIN`, or `indexops` beside the test bundle.
    static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["INDEXOPS_BIN"] { return URL(fileURLWithPath: path) }
        return Bundle.main.bundleURL.appendingPathComponent("indexops")
    }()

    /// What a run printed and how it ended.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    }

    /// Runs `indexops` with arguments in a folder and waits for it to end; `environment`
    /// replaces the inherited environment when given; `wrapper` (an argv) runs it, with the
    /// binary's path and the arguments appended, when given.
    static func run(_ arguments: [String], in folder: URL, environment: [String: String]? = nil, wrapper: [String] = []) throws -> Result {
        try start(arguments, in: folder, environment: environment, wrapper: wrapper).finish()
    }

    /// A new empty folder, removed by the caller with `cleanup`.
    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("indexops-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A copy of examples/quickstart in a new folder, made a git repository by the `git`
    /// command, as a person would.
    static func quickstartRepository() throws -> URL {
        let folder = try scratch().appendingPathComponent("quickstart")
        try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("examples/quickstart"), to: folder)
        try git(["init", "-q", "-b", "main"], in: folder)
        try git(["add", "-A"], in: folder)
        try git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-q", "-m", "Add the quickstart"], in: folder)
        return folder
    }

    /// A running `indexops`, to act while it works.
    struct Running {
        let process: Process
        let out: URL
        let err: URL

        /// Waits for it to end.
        func finish() throws -> Result {
            process.waitUntilExit()
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(at: err)
            }
            return Result(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                          stderr: try String(contentsOf: err, encoding: .utf8))
        }
    }

    /// Starts `indexops` and returns at once; `environment` and `wrapper` as for ``run(_:in:environment:wrapper:)``.
    static func start(_ arguments: [String], in folder: URL, environment: [String: String]? = nil, wrapper: [String] = []) throws -> Running {
        let out = folder.appendingPathComponent(".out-\(UUID().uuidString)")
        let err = folder.appendingPathComponent(".err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        if let program = wrapper.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(wrapper.dropFirst()) + [binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        process.currentDirectoryURL = folder
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        return Running(process: process, out: out, err: err)
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    static func waitFor(seconds: Double = 30, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { throw HarnessError("gave up waiting after \(seconds) s") }
            usleep(20_000)
        }
    }

    /// Runs a command (not indexops) and returns its standard output.
    static func output(_ arguments: [String], in folder: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = folder
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("\(arguments.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    static func git(_ arguments: [String], in folder: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        process.currentDirectoryURL = folder
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("git \(arguments.joined(separator: " ")) failed") }
    }

    static func write(_ text: String, to path: String, in folder: URL) throws {
        let url = folder.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    static func cleanup(_ folder: URL) {
        try? FileManager.default.removeItem(at: folder.deletingLastPathComponent().lastPathComponent.hasPrefix("indexops-test-")
            ? folder.deletingLastPathComponent() : folder)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
