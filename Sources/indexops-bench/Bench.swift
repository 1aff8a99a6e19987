import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `make bench`: how a pass scales with the repository. A benchmark, not a test: it prints
/// figures and asserts nothing.
///
/// It generates a bare remote of N documents (`N`, default 10,000) with `TYPES` noop index
/// types each (default 3), gives the controller its own clone, and runs the built `indexops`
/// binary as an operator would: a cold pass, an idle pass, a pass after one edited source and
/// after one edited spec (each pushed by a person first), `status DOC` and `status`. For each
/// it prints the time inside the pass (every step but the fetch and the push, from the pass's
/// own report), the whole process's time and its peak memory; and, measured in the same run,
/// the floors the machine allows for the same work — starting the process, reading every spec
/// blob with `git cat-file --batch`, a fetch that finds nothing — with each figure's ratio to
/// its floor.
///
/// `--status-branch` (or `STATUS_BRANCH=1`) runs the controller with its statuses on a branch
/// of their own (`repository.statusBranch`), whose files are mirrored into the work tree
/// without the clone's git index. `--keep` leaves the generated repositories in place (their
/// folder is printed) to run more passes over them by hand.
@main
enum Bench {
    static let environment = ProcessInfo.processInfo.environment
    static let documents = arguments("--documents") ?? environment["N"].flatMap(Int.init) ?? 10_000
    static let types = arguments("--types") ?? environment["TYPES"].flatMap(Int.init) ?? 3
    static let repeats = 3
    static let statusBranch = CommandLine.arguments.contains("--status-branch") || environment["STATUS_BRANCH"].map { !$0.isEmpty && $0 != "0" } ?? false
    static let keep = CommandLine.arguments.contains("--keep")

    static func main() async throws {
        let binary = environment["INDEXOPS_BIN"] ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("indexops").path
        if CommandLine.arguments.contains("--load") {
            exit(try await LoadTest.run(binary: binary, documents: documents, types: types) ? 0 : 1)
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("indexops-bench-\(getpid())")
        defer {
            if keep { note("kept: \(root.path)") } else { try? FileManager.default.removeItem(at: root) }
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let remote = root.appendingPathComponent("remote.git").path
        let controller = root.appendingPathComponent("controller").path
        let config = root.appendingPathComponent("indexops.yaml").path

        var started = Date()
        try run("git", ["init", "-q", "--bare", "-b", "main", remote])
        try fastImport(into: remote, stream: generate())
        note("generated \(documents) documents × \(types) index types in \(seconds(since: started)) (specs/<i % 100>/doc<i>.yaml, docs/<i % 100>/doc<i>.md)")
        let typeLines = (1...types).map { "  type\($0): { driver: noop }" }.joined(separator: "\n")
        try Data("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository: { path: controller, url: "\(remote)", branch: main\(statusBranch ? ", statusBranch: indexops/status" : "") }
            reconcile: { concurrency: 8, maxDeletePercent: 100 }
            indexTypes:
            \(typeLines)

            """.utf8).write(to: URL(fileURLWithPath: config))
        started = Date()
        _ = try indexops(binary, ["validate", "--repo", controller, "--config", config], allowFailure: true)  // clones
        note("cloned in \(seconds(since: started))")

        var rows: [Row] = []
        let cold = try indexops(binary, ["reconcile", "--once", "--config", config, "-o", "json"])
        rows.append(Row(name: "cold pass", run: cold, floor: .statusFiles))

        rows.append(Row(name: "idle pass", run: try median { _ in
            try indexops(binary, ["reconcile", "--once", "--config", config, "-o", "json"])
        }, floor: .fetch))
        rows.append(Row(name: "one edited source", run: try median { i in
            try fastImport(into: remote, stream: edit("docs/\(i % 100)/doc\(i).md", "Document \(i), edited \(Date()).\n", parent: true))
            return try indexops(binary, ["reconcile", "--once", "--config", config, "-o", "json"])
        }, floor: .fetch))
        rows.append(Row(name: "one edited spec", run: try median { i in
            let id = 10 + i
            try fastImport(into: remote, stream: edit("specs/\(id % 100)/doc\(id).yaml", spec("doc\(id)", revision: 2 + i, source: "docs/\((id + 1) % 100)/doc\(id + 1).md"), parent: true))
            return try indexops(binary, ["reconcile", "--once", "--config", config, "-o", "json"])
        }, floor: .fetch))
        rows.append(Row(name: "status DOC", run: try median { _ in
            try indexops(binary, ["status", "doc5", "--config", config])
        }, floor: .start))
        rows.append(Row(name: "status", run: try median { _ in
            try indexops(binary, ["status", "--config", config])
        }, floor: .start))

        var floors: [Floor: Measured] = [:]
        floors[.start] = try median { _ in try indexops(binary, ["--version"]) }
        floors[.fetch] = try median { _ in try measure("git", ["-C", controller, "fetch", "-q", "origin"]) }
        floors[.catFile] = try catFileFloor(controller)
        floors[.statusFiles] = try statusFilesFloor(root.appendingPathComponent("floor").path)

        print("")
        print("\(documents) documents × \(types) index types (noop)\(statusBranch ? ", statuses on a status branch" : ""), \(ProcessInfo.processInfo.activeProcessorCount) cores; median of \(repeats) runs except the cold pass")
        print(pad(["work", "to commit", "in pass", "process", "peak RSS", "floor", "floor time", "ratio"], [18, 10, 10, 10, 10, 36, 11, 7]))
        for row in rows {
            let floor = floors[row.floor]!
            let figure = row.floor == .catFile || row.floor == .statusFiles ? row.run.inPass : row.run.wall
            print(pad([row.name, row.run.toCommit.map(format) ?? "-", row.run.inPass.map(format) ?? "-", format(row.run.wall), "\(row.run.rssMiB) MiB",
                       row.floor.rawValue, format(floor.wall), String(format: "%.1f×", (figure ?? row.run.wall) / floor.wall)],
                      [18, 10, 10, 10, 10, 36, 11, 7]))
        }
        print("to commit: the steps up to the last results commit (durable), without the fetch; in pass: every step but the fetch and the push")
        print("floors: " + [Floor.catFile, .statusFiles].map { "\($0.rawValue) \(format(floors[$0]!.wall))" }.joined(separator: "; "))
        print("")
        print("steps of each pass (seconds):")
        for row in rows where !row.run.steps.isEmpty {
            print("  \(row.name): " + row.run.steps.map { "\($0.0) \(String(format: "%.4f", $0.1))" }.joined(separator: ", "))
            if let work = row.run.work { print("    work: \(work)") }
        }
    }

    // MARK: - Figures

    enum Floor: String {
        case start = "process start (indexops --version)"
        case fetch = "no-op fetch (git fetch)"
        case catFile = "every spec blob (git cat-file --batch)"
        case statusFiles = "every status file written (temp+rename)"
    }

    struct Measured {
        var wall: Double
        var rssMiB: Int
        var inPass: Double?
        /// The steps up to and with the last results commit, the fetch excepted.
        var toCommit: Double?
        var steps: [(String, Double)] = []
        var work: String?
    }

    struct Row {
        var name: String
        var run: Measured
        var floor: Floor
    }

    /// Runs `body` `repeats` times and keeps the run of median process time.
    static func median(_ body: (Int) throws -> Measured) throws -> Measured {
        var runs: [Measured] = []
        for i in 0..<repeats { runs.append(try body(i)) }
        return runs.sorted { $0.wall < $1.wall }[repeats / 2]
    }

    /// Runs the binary and reads its JSON report, when it printed one.
    static func indexops(_ binary: String, _ args: [String], allowFailure: Bool = false) throws -> Measured {
        var measured = try measure(binary, args, allowFailure: allowFailure, capture: true)
        if let json = measured.work.flatMap({ try? JSONSerialization.jsonObject(with: Data($0.utf8)) }) as? [String: Any] {
            let steps = (json["steps"] as? [[String: Any]] ?? []).compactMap { step -> (String, Double)? in
                guard let name = step["step"] as? String, let seconds = step["seconds"] as? Double else { return nil }
                return (name, seconds)
            }
            measured.steps = steps
            measured.inPass = steps.filter { $0.0 != "sync" && $0.0 != "push" }.reduce(0) { $0 + $1.1 }
            if let last = steps.firstIndex(where: { $0.0 == "commit results" }) {
                measured.toCommit = steps[...last].filter { $0.0 != "sync" }.reduce(0) { $0 + $1.1 }
            }
            if let work = json["work"] as? [String: Any] {
                measured.work = work.keys.sorted().map { "\($0)=\(work[$0]!)" }.joined(separator: " ")
            } else {
                measured.work = nil
            }
        } else {
            measured.work = nil
        }
        return measured
    }

    /// Runs a program, and returns its wall time and peak RSS (and its stdout in `work`).
    ///
    /// Run under GNU time (`/usr/bin/time -f %M`), which reports the program's own peak RSS:
    /// a child this process spawns directly starts an exec from this process's memory
    /// (posix_spawn is a vfork), and Linux keeps that high-water mark in the child's
    /// `ru_maxrss`, so a `wait4` here would report this process's size for a small child.
    /// Spawned with `posix_spawnp` and reaped with `wait4` (Foundation's `Process` reaps
    /// its children on a thread of its own).
    static func measure(_ program: String, _ args: [String], allowFailure: Bool = false, capture: Bool = false) throws -> Measured {
        let rssFile = FileManager.default.temporaryDirectory.appendingPathComponent("indexops-bench-rss-\(getpid())").path
        defer { unlink(rssFile) }
        let args = ["-f", "%M", "-o", rssFile, program] + args
        let program = "/usr/bin/time"
        var pipe: [Int32] = [-1, -1]
        guard Glibc.pipe(&pipe) == 0 else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if capture {
            posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        posix_spawn_file_actions_addclose(&actions, pipe[1])
        let argv = ([program] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let started = Date()
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        close(pipe[1])
        guard spawned == 0 else {
            close(pipe[0])
            throw BenchError("cannot start \(program): \(String(cString: strerror(spawned)))")
        }
        let data = FileHandle(fileDescriptor: pipe[0], closeOnDealloc: true).readDataToEndOfFile()
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let wall = Date().timeIntervalSince(started)
        let exited = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        if exited != 0, !allowFailure, exited != 1 {
            throw BenchError("\(program) \(args.joined(separator: " ")) exited \(exited)")
        }
        let kib = (try? String(contentsOfFile: rssFile, encoding: .utf8))?.split(separator: "\n").last.flatMap { Int($0) } ?? 0
        return Measured(wall: wall, rssMiB: kib / 1024, inPass: nil, work: String(decoding: data, as: UTF8.self))
    }

    /// Writing one small file per document into 100 fresh folders, each through a temporary
    /// file and a rename, as a publish does (with one `sync` at the end, where a publish has a `syncfs`): the
    /// least a cold pass must write to the work tree. File creation costs what the file
    /// system makes it cost, and on some far more than reading.
    static func statusFilesFloor(_ folder: String) throws -> Measured {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for i in 0..<100 { try FileManager.default.createDirectory(atPath: "\(folder)/\(i)", withIntermediateDirectories: true) }
        let started = Date()
        for i in 0..<documents {
            let path = "\(folder)/\(i % 100)/doc\(i).json", temporary = path + ".tmp"
            let text = Array("{\"apiVersion\": \"indexops/v1\", \"documentId\": \"doc\(i)\", \"indexes\": {}}\n".utf8)
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0, write(fd, text, text.count) == text.count, close(fd) == 0, rename(temporary, path) == 0 else {
                throw BenchError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
        }
        sync()
        return Measured(wall: Date().timeIntervalSince(started), rssMiB: 0, inPass: nil)
    }

    /// `git cat-file --batch` over the blob ids of every spec file: the least a cold pass must read.
    static func catFileFloor(_ clone: String) throws -> Measured {
        let list = Process()
        list.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        list.arguments = ["git", "-C", clone, "ls-tree", "-r", "--object-only", "HEAD", "specs"]
        let ids = Pipe()
        list.standardOutput = ids
        try list.run()
        let listed = ids.fileHandleForReading.readDataToEndOfFile()
        list.waitUntilExit()
        let file = clone + "/.git/bench-ids"
        try listed.write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        return try median { _ in try measure("/bin/sh", ["-c", "git -C '\(clone)' cat-file --batch < '\(file)' > /dev/null"]) }
    }

    // MARK: - The repository

    static func generate() -> Data {
        var stream = "commit refs/heads/main\ncommitter bench <bench@example.com> 1795946400 +0000\ndata 9\ngenerate\n"
        for i in 0..<documents {
            stream += inline("specs/\(i % 100)/doc\(i).yaml", spec("doc\(i)", revision: 1))
            stream += inline("docs/\(i % 100)/doc\(i).md", "Document \(i): some text to index.\n")
        }
        return Data(stream.utf8)
    }

    static func edit(_ path: String, _ text: String, parent: Bool) -> Data {
        Data(("commit refs/heads/main\ncommitter person <person@example.com> \(Int(Date().timeIntervalSince1970)) +0000\ndata 5\nedit\n"
            + "from refs/heads/main^0\n" + inline(path, text)).utf8)
    }

    static func inline(_ path: String, _ text: String) -> String {
        "M 100644 inline \(path)\ndata \(text.utf8.count)\n\(text)\n"
    }

    static func fastImport(into repository: String, stream: Data, arguments: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", repository, "fast-import", "--quiet"] + arguments
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(stream)
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("git fast-import failed") }
    }

    /// The spec of document `doc<n>`, whose source is `docs/<n % 100>/doc<n>.md`.
    /// A spec file of one document, its source its own file unless `source` names another
    /// (an edit that changes the source changes the revision: every index is built again).
    static func spec(_ id: String, revision: Int, source: String? = nil) -> String {
        let number = Int(id.dropFirst(3)) ?? 0
        return """
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata:
              name: \(id)
              createdBy: bench@example.com
              annotations: { revision: "\(revision)" }
            spec:
              source: \(source ?? "docs/\(number % 100)/\(id).md")

            """
    }

    // MARK: - Printing

    static func run(_ program: String, _ args: [String]) throws {
        _ = try measure(program, args)
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func format(_ seconds: Double) -> String {
        seconds < 1 ? String(format: "%.1f ms", seconds * 1000) : String(format: "%.2f s", seconds)
    }

    static func seconds(since start: Date) -> String { format(Date().timeIntervalSince(start)) }

    static func pad(_ cells: [String], _ widths: [Int]) -> String {
        zip(cells, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }.joined(separator: " ")
    }

    static func arguments(_ name: String) -> Int? {
        CommandLine.arguments.firstIndex(of: name).flatMap { Int(CommandLine.arguments[$0 + 1]) }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
