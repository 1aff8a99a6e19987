import Foundation

/// A child process started with `posix_spawn`: no shell, a clean signal mask (children
/// of the test runner would otherwise inherit its blocked SIGTERM), close-on-exec pipes
/// (so a long-running child started by one test never holds another test's pipe), and
/// reaped by its own `waitpid`.
final class Child: @unchecked Sendable {
    let pid: pid_t
    /// Read ends of the child's stdout and stderr, when captured.
    let stdout: Int32?
    let stderr: Int32?
    private var status: Int32?
    private let lock = NSLock()
    private static let spawning = NSLock()
    /// The environment at first use: a test that sets a variable of its own (the ssh-agent
    /// test) must not race with another test copying `environ` for a child.
    private static let baseEnvironment = ProcessInfo.processInfo.environment

    /// Starts `executable`. `stdin` is a file path opened by the child (default /dev/null).
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String = "/dev/null", capture: Bool = true) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        // pipe() and fcntl(FD_CLOEXEC) are two steps: no other spawn of ours may run between them.
        Self.spawning.lock()
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        if capture {
            guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
                Self.spawning.unlock()
                throw Failure("pipe failed")
            }
            for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var env = Self.baseEnvironment
        env.merge(environment) { $1 }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        Self.spawning.unlock()
        if capture {
            close(outPipe[1])
            close(errPipe[1])
        }
        guard result == 0 else {
            if capture { close(outPipe[0]); close(errPipe[0]) }
            throw Failure("posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        stdout = capture ? outPipe[0] : nil
        stderr = capture ? errPipe[0] : nil
    }

    deinit {
        if let stdout { close(stdout) }
        if let stderr { close(stderr) }
    }

    /// Reads stdout and stderr to their ends (both at once, so neither pipe fills up).
    func readAll() -> (stdout: Data, stderr: Data) {
        var out = Data(), err = Data()
        var open: [(fd: Int32, isOut: Bool)] = []
        if let stdout { open.append((stdout, true)) }
        if let stderr { open.append((stderr, false)) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for (index, item) in fds.enumerated().reversed() where item.revents != 0 {
                let count = read(item.fd, &buffer, buffer.count)
                if count > 0 {
                    if open[index].isOut { out.append(contentsOf: buffer[..<count]) } else { err.append(contentsOf: buffer[..<count]) }
                } else if count == 0 || errno != EINTR {
                    open.remove(at: index)
                }
            }
        }
        return (out, err)
    }

    /// Waits for the child to end; its exit status (128 + signal when killed).
    @discardableResult
    func wait() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let code = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = code
        return code
    }

    /// Sends SIGTERM and waits; safe to call more than once.
    func stop() {
        lock.lock()
        let running = status == nil
        lock.unlock()
        if running { kill(pid, SIGTERM) }
        wait()
    }
}
