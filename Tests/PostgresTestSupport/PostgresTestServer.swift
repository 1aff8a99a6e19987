import Foundation
import Synchronization

/// A throwaway PostgreSQL server for tests: a cluster made by `initdb` in a temporary folder,
/// started by `pg_ctl` on a free loopback port with its unix socket in that folder, stopped
/// and removed by ``stop()`` — or, should the test process die first, by a watchdog that
/// outlives it by at most a second.
///
/// `initdb` runs once per test process (about 1–2 s, longer on a busy machine) into a
/// template folder; each server copies the template and starts in about half a second.
/// `initdb` and `postgres` refuse to run as root: as root they run as the `postgres` user
/// (Debian's server package makes it) through `runuser`, and the folder belongs to it.
///
/// The cluster is tuned for tests, not for data: `fsync`, `synchronous_commit` and
/// `full_page_writes` are off. Authentication is `scram-sha-256` for every connection; the
/// superuser is ``superuser`` with a random ``password``.
///
/// The binaries are those of `INDEXOPS_TEST_PG_BIN` (a folder with `initdb`, `pg_ctl`,
/// `postgres` and `psql`), else of the newest `/usr/lib/postgresql/*/bin` (Debian), else
/// of `PATH`. ``unavailableReason`` says why there are none; ``mustRun`` is what a test's
/// `.enabled(if:)` trait checks.
public final class PostgresTestServer: Sendable {
    /// The temporary folder: the cluster in `data/`, the server's log, the unix socket.
    public let folder: String
    /// The folder of the server's binaries.
    public let binDirectory: String
    /// The loopback address the server listens on.
    public let host = "127.0.0.1"
    /// Its TCP port.
    public let port: Int
    /// The superuser's name.
    public let superuser: String
    /// The superuser's password.
    public let password: String
    private let stopped = Mutex(false)

    /// The folder of the unix socket (`.s.PGSQL.<port>` in it).
    public var socketDirectory: String { folder }

    // MARK: Finding the binaries

    /// The server binaries' folder, or why there is none.
    static let binaries: Result<String, PostgresTestServerError> = {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment["INDEXOPS_TEST_PG_BIN"], !dir.isEmpty {
            return fm.isExecutableFile(atPath: dir + "/initdb")
                ? .success(dir) : .failure(PostgresTestServerError("INDEXOPS_TEST_PG_BIN=\(dir) has no initdb"))
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
            return .success("/usr/lib/postgresql/\(version)/bin")
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") where fm.isExecutableFile(atPath: "\(dir)/initdb") {
            return .success(String(dir))
        }
        return .failure(PostgresTestServerError(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres): run scripts/install-deps (Debian's postgresql), or set INDEXOPS_TEST_PG_BIN"))
    }()

    /// Why no server can start here (no binaries), or `nil`.
    public static var unavailableReason: String? {
        if case .failure(let error) = binaries { return error.message }
        return nil
    }

    /// Whether tests that need a server run: when the binaries are here, and always in CI
    /// (`CI` set), which installs them — there a missing server fails the tests instead of
    /// skipping them.
    public static var mustRun: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false
    }

    // MARK: Starting and stopping

    private init(folder: String, binDirectory: String, port: Int, superuser: String, password: String) {
        self.folder = folder
        self.binDirectory = binDirectory
        self.port = port
        self.superuser = superuser
        self.password = password
    }

    private static let sharedServer = Mutex<Result<PostgresTestServer, PostgresTestServerError>?>(nil)

    /// The server of this test process, started on first use and stopped when the process
    /// ends. Tests share it and keep apart by each using databases of their own
    /// (``makeDatabase(owner:)``).
    ///
    /// - Throws: ``PostgresTestServerError`` when it cannot start (the same error each time).
    public static func shared() throws(PostgresTestServerError) -> PostgresTestServer {
        let result = sharedServer.withLock { shared in
            if let shared { return shared }
            let started = Result { () throws(PostgresTestServerError) in try start() }
            shared = started
            return started
        }
        return try result.get()
    }

    /// A server of its own, on the binaries of `binDirectory` (default: see the type). The
    /// caller stops it with ``stop()``.
    ///
    /// - Throws: ``PostgresTestServerError`` with the command's output when `initdb` or
    ///   `pg_ctl` fails.
    public static func start(binDirectory: String? = nil) throws(PostgresTestServerError) -> PostgresTestServer {
        let bin: String
        if let binDirectory { bin = binDirectory } else { bin = try binaries.get() }
        let template = try Template.folder(bin: bin)
        let folder = try makeFolder()
        do throws(PostgresTestServerError) {
            try run(["/bin/cp", "-a", template.path + "/data", folder + "/data"])
            try chownIfRoot(folder)
            var lastError: PostgresTestServerError?
            for _ in 0..<5 {
                let port = try freePort()
                let options = "-p \(port) -c listen_addresses=127.0.0.1 -k \(folder) -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
                do throws(PostgresTestServerError) {
                    try runAsServerUser([bin + "/pg_ctl", "-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60", "-o", options, "start"])
                } catch {
                    lastError = error  // the port was taken meanwhile, most likely: another one
                    continue
                }
                try startWatchdog(folder: folder, bin: bin)
                return PostgresTestServer(folder: folder, binDirectory: bin, port: port, superuser: template.superuser, password: template.password)
            }
            throw lastError ?? PostgresTestServerError("pg_ctl start failed")
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`) and removes its folder; a
    /// second call does nothing.
    public func stop() {
        guard stopped.withLock({ stopped in defer { stopped = true }; return !stopped }) else { return }
        _ = try? Self.runAsServerUser([binDirectory + "/pg_ctl", "-D", folder + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A shell that stops the server of `folder` (when `bin` is given) and removes the folder
    /// once this process is gone: a crashed or killed test run leaves nothing behind. The
    /// script is fixed text; the paths are its arguments.
    private static func startWatchdog(folder: String, bin: String?) throws(PostgresTestServerError) {
        let script = #"""
            while [ -d "/proc/$1" ] && [ -d "$3" ]; do sleep 1; done
            [ -n "$2" ] && "$2"/pg_ctl -D "$3"/data -m immediate stop >/dev/null 2>&1
            rm -rf "$3"
            """#
        var argv = ["/bin/sh", "-c", script, "watchdog", String(getpid()), bin ?? "", folder]
        if getuid() == 0, let user = serverUser { argv = ["/sbin/runuser", "-u", user, "--"] + argv }
        // posix_spawn, not Process: a Process that is never waited for upsets Foundation's
        // tracking of the children that later Processes wait for.
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard result == 0 else { throw PostgresTestServerError("cannot start the watchdog: \(String(cString: strerror(result)))") }
    }

    // MARK: Using the server

    /// `postgresql://USER@127.0.0.1:PORT/DATABASE`, without a password.
    public func url(user: String? = nil, database: String = "postgres") -> String {
        "postgresql://\(user ?? superuser)@\(host):\(port)/\(database)"
    }

    /// Runs `sql` with `psql` (stopping at the first error) and returns what it printed,
    /// unaligned and without headers, trimmed: `a|b` per row.
    ///
    /// - Throws: ``PostgresTestServerError`` with psql's error output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres", user: String? = nil, password: String? = nil) throws(PostgresTestServerError) -> String {
        let client = FileManager.default.isExecutableFile(atPath: binDirectory + "/psql") ? binDirectory + "/psql" : "/usr/bin/psql"
        return try Self.run(
            [client, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port), "-U", user ?? superuser, "-d", database, "-c", sql],
            environment: ["PGPASSWORD": password ?? self.password, "PGCONNECT_TIMEOUT": "10"])
    }

    private static let databaseCounter = Atomic<Int>(0)

    /// A new empty database (`t1`, `t2`, …), owned by `owner` (default: the superuser), who
    /// may then create tables in its `public` schema (PostgreSQL 15 gives that to the owner).
    public func makeDatabase(owner: String? = nil) throws(PostgresTestServerError) -> String {
        let name = "t\(Self.databaseCounter.add(1, ordering: .relaxed).newValue)"
        try psql("CREATE DATABASE \(name) OWNER \(owner ?? superuser)")
        return name
    }

    /// Creates a login role with `password`; `superuser` makes it one.
    public func createRole(_ name: String, password: String, superuser: Bool = false) throws(PostgresTestServerError) {
        try psql("CREATE ROLE \(name) LOGIN PASSWORD '\(password)'" + (superuser ? " SUPERUSER" : ""))
    }

    /// Whether the server can load an extension (`pg_available_extensions`).
    public func hasExtension(_ name: String) throws(PostgresTestServerError) -> Bool {
        try psql("SELECT count(*) FROM pg_available_extensions WHERE name = '\(name)'") == "1"
    }

    /// The server's log so far, for a failing test's message.
    public var log: String { (try? String(contentsOfFile: folder + "/server.log", encoding: .utf8)) ?? "" }

    // MARK: Helpers

    /// The cluster `initdb` makes once per process and binary folder; servers copy it.
    private struct Template: Sendable {
        let path: String
        let superuser: String
        let password: String

        private static let made = Mutex<[String: Result<Template, PostgresTestServerError>]>([:])

        static func folder(bin: String) throws(PostgresTestServerError) -> Template {
            try made.withLock { made in
                if let result = made[bin] { return result }
                let result = Result { () throws(PostgresTestServerError) in try make(bin: bin) }
                made[bin] = result
                return result
            }.get()
        }

        private static func make(bin: String) throws(PostgresTestServerError) -> Template {
            let folder = try makeFolder()
            let password = (0..<4).map { _ in String(UInt32.random(in: .min ... .max), radix: 36) }.joined()
            let template = Template(path: folder, superuser: "indexops_admin", password: password)
            do {
                try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/pwfile"))
            } catch {
                throw PostgresTestServerError("cannot write \(folder)/pwfile: \(error)")
            }
            try chownIfRoot(folder)
            try runAsServerUser([
                bin + "/initdb", "-D", folder + "/data", "-U", template.superuser, "--pwfile=\(folder)/pwfile",
                "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
            ])
            try? FileManager.default.removeItem(atPath: folder + "/pwfile")
            try startWatchdog(folder: folder, bin: nil)
            return template
        }
    }

    /// The user the server runs as when this process is root: Debian's `postgres`.
    static let serverUser: String? = getpwnam("postgres") != nil ? "postgres" : nil

    private static func runAsServerUser(_ argv: [String]) throws(PostgresTestServerError) {
        guard getuid() == 0 else {
            _ = try run(argv)
            return
        }
        guard let user = serverUser else {
            throw PostgresTestServerError("initdb refuses to run as root, and there is no postgres user to run it as")
        }
        _ = try run(["/sbin/runuser", "-u", user, "--"] + argv)
    }

    private static func chownIfRoot(_ folder: String) throws(PostgresTestServerError) {
        guard getuid() == 0, let user = serverUser else { return }
        _ = try run(["/bin/chown", "-R", user, folder])
    }

    private static func makeFolder() throws(PostgresTestServerError) -> String {
        // In /tmp, not $TMPDIR: a unix socket's path must stay under 108 bytes.
        var template = Array("/tmp/indexops-pg-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw PostgresTestServerError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        chmod(path, 0o755)
        return path
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    private static func freePort() throws(PostgresTestServerError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresTestServerError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
                bind(fd, sockaddr, length) == 0 && getsockname(fd, sockaddr, &length) == 0
            }
        }
        guard bound else { throw PostgresTestServerError("cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a program (an argv, no shell) and returns its standard output, trimmed.
    ///
    /// posix_spawn with the output in files, not Foundation's `Process`: `Process` learns that
    /// a child ended when a socket the child inherits closes, and `pg_ctl start` leaves the
    /// server it starts holding every descriptor it inherited, so the wait would never end.
    @discardableResult
    static func run(_ argv: [String], environment: [String: String] = [:]) throws(PostgresTestServerError) -> String {
        let name = URL(fileURLWithPath: argv[0]).lastPathComponent
        let outPath = "/tmp/indexops-pg-out-\(getpid())-\(UInt64.random(in: 0 ... .max))"
        let errPath = outPath + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { for p in cArgs + cEnv { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
        guard spawned == 0 else { throw PostgresTestServerError("cannot run \(name): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let stdout = ((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw PostgresTestServerError("\(name) failed (\(exited ? "exit \(code)" : "signal \(status & 0x7f)")): \(stderr)\(stdout)")
        }
        return stdout
    }
}

/// A test server that could not start or run a command; the message has the command's output.
public struct PostgresTestServerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
