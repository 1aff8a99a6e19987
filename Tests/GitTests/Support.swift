import Foundation
import Testing
@testable import Git

/// A temporary folder, removed by `remove()`.
struct Scratch {
    let path: String

    /// - Parameter inMemory: in `/dev/shm` (a tmpfs: an fsync costs nothing) when it is a
    ///   writable folder, for tests that commit hundreds of times and check counts, not
    ///   durability; else in the temporary folder.
    init(inMemory: Bool = false) throws {
        let base = inMemory && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array((base + "/indexops-git-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { throw Failure("mkdtemp failed") }
        let bytes = template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        path = URL(fileURLWithPath: String(decoding: bytes, as: UTF8.self)).standardizedFileURL.path
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func callAsFunction(_ relative: String) -> String { path + "/" + relative }
}

/// Runs `body` with a fresh temporary folder, removed afterwards whatever happens.
func withScratch<R>(inMemory: Bool = false, _ body: (Scratch) throws -> R) throws -> R {
    let scratch = try Scratch(inMemory: inMemory)
    defer { scratch.remove() }
    return try body(scratch)
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The result of a finished child process.
struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable` with `arguments` (no shell) and waits for it.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
    let child = try Child(executable, arguments, environment: environment)
    let (out, err) = child.readAll()
    let status = child.wait()
    return Output(status: status, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
}

/// The environment of the people's `git`: no global or system configuration.
let personEnvironment = [
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Pat Person",
    "GIT_AUTHOR_EMAIL": "pat@example.com",
    "GIT_COMMITTER_NAME": "Pat Person",
    "GIT_COMMITTER_EMAIL": "pat@example.com",
    "GIT_TERMINAL_PROMPT": "0",
]

/// Runs the real `git` as a person would, in `directory`; throws when it fails.
@discardableResult
func git(_ arguments: String..., in directory: String) throws -> String {
    try gitArgs(arguments, in: directory)
}

@discardableResult
func gitArgs(_ arguments: [String], in directory: String) throws -> String {
    let output = try run("/usr/bin/git", ["-C", directory, "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"] + arguments, environment: personEnvironment)
    guard output.status == 0 else {
        throw Failure("git \(arguments.joined(separator: " ")) failed (\(output.status)): \(output.stderr)")
    }
    return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

func write(_ path: String, _ text: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

func read(_ path: String) throws -> String {
    String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
}

func oid(_ hex: String) throws -> OID {
    guard let id = OID(hex: hex) else { throw Failure("not an id: \(hex)") }
    return id
}

/// A bare remote with one commit made by a person, and that person's clone.
struct Fixture {
    let scratch: Scratch
    var remote: String { scratch("remote.git") }
    var person: String { scratch("person") }
    var controllerPath: String { scratch("controller") }
    var configuration: RemoteConfiguration { RemoteConfiguration(url: remote) }

    init(_ scratch: Scratch) throws {
        self.scratch = scratch
        try git("init", "--bare", "-q", remote, in: scratch.path)
        try git("clone", "-q", remote, person, in: scratch.path)
        try write(person + "/specs/a.yaml", "name: a\n")
        try write(person + "/specs/team/b.yaml", "name: b\n")
        try write(person + "/docs/a.md", "# A\n")
        try write(person + "/status/cd/old.json", "{}\n")
        try git("add", "-A", in: person)
        try git("commit", "-q", "-m", "people: first specs", in: person)
        try git("push", "-q", "origin", "main", in: person)
    }

    /// The person changes `path` to `text`, commits and pushes; returns the commit id.
    @discardableResult
    func personPushes(_ path: String, _ text: String, message: String) throws -> String {
        try git("pull", "-q", "--ff-only", "origin", "main", in: person)
        try write(person + "/" + path, text)
        try git("add", "-A", in: person)
        try git("commit", "-q", "-m", message, in: person)
        try git("push", "-q", "origin", "main", in: person)
        return try git("rev-parse", "HEAD", in: person)
    }

    func remoteHead() throws -> String {
        try git("rev-parse", "refs/heads/main", in: remote)
    }
}

let controllerSignature = Signature(name: "indexops", email: "indexops@example.com")

/// A mutable value shared with one helper thread, handed over through a DispatchGroup.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}


/// The controller's own status commits in these tests: `controllerSignature` in `status/`.
let ownCommits = OwnCommits(folder: "status", authorName: controllerSignature.name, authorEmail: controllerSignature.email)
