import Glibc
import IndexOpsCore

/// The `exec` driver: runs an operator's program once per operation (DESIGN.md §6).
///
/// The program is `command` (an argv, no shell): `command[0]` is an absolute path or a bare
/// name looked up in the controller's `PATH` at each operation. It gets one JSON object on
/// stdin, written canonically:
///
/// ```json
/// {"action": "create" | "delete", "collection": "col456" | null, "contentFile": "/tmp/…",
///  "documentId": "doc123", "idempotencyKey": "doc123/graph/3f2a…", "indexType": "graph",
///  "revision": "3f2a…", "source": {"path": "docs/doc123.md"} | {"uri": "s3://…", "revision": "v7" | null}}
/// ```
///
/// `contentFile` is there only when the request carries the source's bytes: a file created
/// mode 0600 in `TMPDIR` (or /tmp), named `<contentFilePrefix>XXXXXX`, removed when the
/// program has ended (and, after a kill, by ``removeContentFiles(prefix:)`` at the next start). The program answers a create on stdout
/// with `{"indexData": {...}}` (other members are ignored). A delete may print nothing or
/// any JSON object, which is ignored; anything else is an error, so a confused program is
/// noticed.
///
/// The program runs in its own process group under a supervisor that kills the group when
/// the controller dies (even by SIGKILL), with an environment of `PATH` (the controller's)
/// plus the configured `environment` and nothing else — no token of the controller reaches it. Its working directory is the controller's. Stdout is capped at
/// ``stdoutLimit`` bytes, and the last 2 KiB of stderr are kept for the error message. When
/// the program exits, anything left in its group is killed. After `timeout`, or when the
/// calling task is cancelled, the group gets SIGTERM, then SIGKILL after `gracePeriod`; the
/// program is always reaped before a call returns.
public struct ExecIndexer: Indexer {
    /// The index type this indexer builds.
    public let indexType: String
    /// The argv.
    public let command: [String]
    /// The variables given to the program besides `PATH` (a `PATH` here replaces it).
    public let environment: [String: String]
    /// The longest an operation may run; `nil`: until the calling task is cancelled.
    public let timeout: Duration?
    /// The time between SIGTERM and SIGKILL.
    public let gracePeriod: Duration
    /// The most stdout that is read (1 MiB); a longer response is an error.
    public static let stdoutLimit = 1 << 20
    /// The bytes of stderr kept for an error message (2 KiB).
    public static let stderrLimit = 2_048
    /// How content file names begin when no other prefix is given.
    public static let contentFilePrefix = "indexops-content-"
    /// How this indexer's content file names begin: the controller makes it name its clone.
    public let contentFilePrefix: String

    /// Creates the indexer of an index type.
    ///
    /// - Throws: ``IndexerError`` when `command` is empty, `command[0]` is a relative path
    ///   (a path with a slash that does not start with one), or `contentFilePrefix` has a slash.
    public init(
        indexType: String, command: [String], environment: [String: String] = [:], timeout: Duration? = nil,
        gracePeriod: Duration = .seconds(5), contentFilePrefix: String = ExecIndexer.contentFilePrefix
    ) throws(IndexerError) {
        guard let program = command.first, !program.isEmpty else {
            throw IndexerError("\(indexType): the exec driver needs a command")
        }
        if program.contains("/"), !program.hasPrefix("/") {
            throw IndexerError("\(indexType): the command \(program) must be an absolute path or a name looked up in PATH")
        }
        self.indexType = indexType
        self.command = command
        self.environment = environment
        self.timeout = timeout
        self.gracePeriod = gracePeriod
        guard !contentFilePrefix.isEmpty, !contentFilePrefix.contains("/") else {
            throw IndexerError("\(indexType): the content file prefix \"\(contentFilePrefix)\" must be a non-empty name without a slash")
        }
        self.contentFilePrefix = contentFilePrefix
    }

    /// Runs the program with a create request; returns its `indexData`.
    ///
    /// - Throws: ``IndexerError`` when the program cannot run, exits non-zero, is killed,
    ///   times out, or prints no `{"indexData": {...}}`; `CancellationError` when the task is
    ///   cancelled (the program's group is terminated first).
    public func create(_ request: IndexRequest) async throws -> JSONValue {
        let outcome = try await run(request)
        let response = String(validating: outcome.stdout, as: UTF8.self).flatMap { JSONValue(parsing: $0) }
        guard let response, case .object? = response["indexData"] else {
            throw failure("printed no {\"indexData\": {...}} JSON object on stdout", outcome)
        }
        return response["indexData"]!
    }

    /// Runs the program with a delete request. Its stdout may be empty or any JSON object.
    ///
    /// - Throws: as ``create(_:)``, and when stdout holds something other than a JSON object.
    public func delete(_ request: IndexRequest) async throws {
        let outcome = try await run(request)
        guard !outcome.stdout.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) else { return }
        guard let text = String(validating: outcome.stdout, as: UTF8.self), case .object? = JSONValue(parsing: text) else {
            throw failure("printed something other than a JSON object on stdout", outcome)
        }
    }

    /// `nil`: an exec indexer cannot list what it holds.
    public func documentIDs() async throws -> Set<String>? { nil }

    /// The request object written to the program's stdin.
    static func requestJSON(_ request: IndexRequest, contentFile: String?) -> JSONValue {
        let source: JSONValue
        switch request.source {
        case .path(let path): source = .object(["path": .string(path)])
        case .uri(let uri, let revision): source = .object(["uri": .string(uri), "revision": revision.map(JSONValue.string) ?? .null])
        }
        var members: [String: JSONValue] = [
            "action": .string(request.action.rawValue),
            "documentId": .string(request.documentId),
            "indexType": .string(request.indexType),
            "collection": request.collection.map(JSONValue.string) ?? .null,
            "revision": .string(request.revision),
            "idempotencyKey": .string(request.idempotencyKey),
            "source": source,
        ]
        if let contentFile { members["contentFile"] = .string(contentFile) }
        return .object(members)
    }

    private func run(_ request: IndexRequest) async throws -> ChildProcess.Outcome {
        try Task.checkCancellation()
        let controllerPath = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        let executable = try resolve(command[0], in: controllerPath)
        var contentFile: String?
        if let content = request.content { contentFile = try Self.writeContentFile(content, prefix: contentFilePrefix) }
        defer { if let contentFile { unlink(contentFile) } }

        var variables = ["PATH": controllerPath]
        variables.merge(environment) { $1 }
        let process = ChildProcess(
            executable: executable, arguments: command,
            environment: variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            input: Array((Self.requestJSON(request, contentFile: contentFile).canonicalText + "\n").utf8),
            timeout: timeout, gracePeriod: gracePeriod,
            stdoutLimit: Self.stdoutLimit, stderrLimit: Self.stderrLimit)
        let outcome: ChildProcess.Outcome
        do {
            outcome = try await process.run()
        } catch {
            throw IndexerError("\(indexType): \(error.message)")
        }
        if outcome.cancelled { throw CancellationError() }
        if outcome.timedOut {
            throw failure("timed out after \(Self.text(timeout ?? .zero)); its process group was terminated", outcome)
        }
        switch outcome.termination {
        case .exited(0): break
        case .exited(let status): throw failure("exited with status \(status)", outcome)
        case .signaled(let signal): throw failure("was killed by signal \(signal)", outcome)
        }
        if outcome.stdoutOverflowed { throw failure("printed more than \(Self.stdoutLimit) bytes on stdout", outcome) }
        return outcome
    }

    /// An error saying what the program did, then the tail of its stderr, cut so that the
    /// whole message stays under IndexerError's cap and its end (the last lines) survives.
    private func failure(_ what: String, _ outcome: ChildProcess.Outcome) -> IndexerError {
        let prefix = "\(indexType): \(command[0]) \(what)"
        var tail = String(decoding: outcome.stderrTail, as: UTF8.self)
        while let last = tail.last, last.isWhitespace { tail.removeLast() }
        guard !tail.isEmpty else { return IndexerError(prefix + " (stderr was empty)") }
        let room = 2_000 - prefix.utf8.count
        var bytes = Array(tail.utf8.suffix(max(0, room)))
        while let first = bytes.first, first & 0xC0 == 0x80 { bytes.removeFirst() }  // a cut character
        return IndexerError(prefix + ": " + String(decoding: bytes, as: UTF8.self))
    }

    private func resolve(_ program: String, in path: String) throws(IndexerError) -> String {
        if program.hasPrefix("/") { return program }
        for folder in path.split(separator: ":") where folder.hasPrefix("/") {
            let candidate = folder + "/" + program
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw IndexerError("\(indexType): \(program) is not an executable file in PATH (\(path))")
    }

    /// The folder of content files: `TMPDIR`, or /tmp.
    static var contentFolder: String {
        getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// Removes the content files whose names begin with `prefix`: those of a run that was
    /// killed before it could remove them. Call it only while no operation with that prefix
    /// runs (the controller does at start, holding its clone's lock). Returns their paths.
    @discardableResult
    public static func removeContentFiles(prefix: String) -> [String] {
        guard !prefix.isEmpty, !prefix.contains("/"), let folder = opendir(contentFolder) else { return [] }
        defer { closedir(folder) }
        var removed: [String] = []
        // The name is read through a pointer up to its NUL: a `dirent` is only as long as its
        // name (`d_reclen`), so copying the whole 256-byte `d_name` of the last entry of
        // readdir's buffer can read past the mapped memory and crash (it did, at start, with a
        // busy TMPDIR).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(folder) {
            let name = String(cString: UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
            guard name.hasPrefix(prefix), name.count == prefix.count + 6 else { continue }
            let path = contentFolder + "/" + name
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed.sorted()
    }

    /// Writes `content` to a new file of mode 0600 in ``contentFolder``, named `prefix` and six
    /// random characters; returns its path.
    private static func writeContentFile(_ content: [UInt8], prefix: String) throws(IndexerError) -> String {
        let folder = contentFolder
        var template = Array((folder + "/" + prefix + "XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw IndexerError("cannot create a content file in \(folder): \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { close(fd) }
        var written = 0
        while written < content.count {
            let n = content.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let message = String(cString: strerror(errno))
                unlink(path)
                throw IndexerError("cannot write the content file \(path): \(message)")
            }
            written += n
        }
        return path
    }

    private static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return attoseconds == 0 ? "\(seconds)s" : "\(Double(seconds) + Double(attoseconds) / 1e18)s"
    }
}
