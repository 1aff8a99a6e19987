internal import CSpawn
import Glibc
import Synchronization

/// One run of a program: started (no shell) in its own process group under a supervisor
/// that kills the group when the controller dies, with its own environment, fed `input` on stdin while stdout and stderr are read, all on
/// one dedicated thread with `poll`, so that no pipe can deadlock and no thread of Swift's
/// cooperative pool blocks.
///
/// Teardown follows swift-subprocess's model: on the timeout or when the calling task is
/// cancelled, SIGTERM goes to the whole group, then SIGKILL after the grace period. When the
/// program itself exits, whatever is left of its group (a background grandchild) is killed
/// at once: an operation leaves no process behind. The program is always reaped.
struct ChildProcess {
    /// How the program ended.
    enum Termination: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    /// What a run produced.
    struct Outcome {
        var termination: Termination
        /// Stdout, up to the limit.
        var stdout: [UInt8]
        /// Stdout was longer than the limit (the rest was read and dropped).
        var stdoutOverflowed: Bool
        /// The last bytes of stderr, up to the limit.
        var stderrTail: [UInt8]
        /// The timeout passed and the group was terminated.
        var timedOut: Bool
        /// The calling task was cancelled and the group was terminated.
        var cancelled: Bool
    }

    var executable: String
    /// The argv, `arguments[0]` included.
    var arguments: [String]
    /// `NAME=value` entries: the whole environment of the program.
    var environment: [String]
    var input: [UInt8]
    var timeout: Duration?
    var gracePeriod: Duration
    var stdoutLimit: Int
    var stderrLimit: Int

    /// Runs the program to its end.
    ///
    /// - Throws: ``IndexerError`` when it cannot be started.
    func run() async throws(IndexerError) -> Outcome {
        let pipes = try Pipes()
        let pid: pid_t
        do {
            pid = try spawn(pipes)
        } catch {
            pipes.closeAll()
            throw error
        }
        pipes.closeChildEnds()
        let wake = CancelSignal(fd: pipes.wake.write)
        let loop = IOLoop(
            pid: pid, stdin: pipes.stdin.write, stdout: pipes.stdout.read, stderr: pipes.stderr.read,
            wake: pipes.wake.read, exited: pipes.exited.read, input: input, timeout: timeout,
            gracePeriod: gracePeriod, stdoutLimit: stdoutLimit, stderrLimit: stderrLimit)
        let exitedWrite = pipes.exited.write
        let wakeRead = pipes.wake.read
        // The waiter: blocks until the program exits, without reaping it (WNOWAIT keeps the
        // zombie, so its pid and process group id cannot be reused while the loop still
        // signals the group), then tells the loop by closing its pipe.
        let waiting = startThread {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
            close(exitedWrite)
        }
        guard waiting else {
            killpg(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            pipes.closeParentEnds()
            throw IndexerError("cannot start a thread to supervise \(executable): \(String(cString: strerror(errno)))")
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let supervise: @Sendable () -> Void = {
                    var loop = loop
                    let outcome = loop.run()
                    wake.close()
                    close(wakeRead)
                    continuation.resume(returning: outcome)
                }
                // Without a thread of its own the loop still runs, blocking this one.
                if !startThread(supervise) { supervise() }
            }
        } onCancel: {
            wake.fire()
        }
    }

    /// Starts the program under a supervisor (``indexops_spawn_supervised``) whose pid is
    /// also the process group's id: the program and its group die with the controller, even
    /// when the controller is killed with SIGKILL.
    private func spawn(_ pipes: Pipes) throws(IndexerError) -> pid_t {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var error: Int32 = 0
        let pid = indexops_spawn_supervised(executable, argv, envp, pipes.stdin.read, pipes.stdout.write, pipes.stderr.write, &error)
        guard pid > 0 else { throw IndexerError("cannot run \(executable): \(String(cString: strerror(error)))") }
        return pid
    }
}

/// The GNU extension of glibc that Swift's `Glibc` module does not import (it is declared
/// under `_GNU_SOURCE`), looked up once by name with its C signature.
private enum GNU {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    /// `pipe2(2)`: a pipe made close-on-exec atomically, so that no program spawned by
    /// another thread meanwhile inherits it.
    static let pipe2: Pipe2? = symbol("pipe2").map { unsafeBitCast($0, to: Pipe2.self) }

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        guard let process = dlopen(nil, RTLD_NOW) else { return nil }
        return dlsym(process, name)
    }
}

/// A pipe's two descriptors, both close-on-exec.
private struct Pipe {
    var read: Int32
    var write: Int32

    init(nonBlocking: Bool = false) throws(IndexerError) {
        var fds: [Int32] = [-1, -1]
        let flags = O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)
        if let pipe2 = GNU.pipe2 {
            guard pipe2(&fds, flags) == 0 else { throw IndexerError("cannot create a pipe: \(String(cString: strerror(errno)))") }
        } else {
            guard pipe(&fds) == 0 else { throw IndexerError("cannot create a pipe: \(String(cString: strerror(errno)))") }
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            }
        }
        read = fds[0]
        write = fds[1]
    }
}

/// The pipes of one run: the program's three, the cancellation wake-up, the exit notice.
private struct Pipes {
    var stdin: Pipe, stdout: Pipe, stderr: Pipe, wake: Pipe, exited: Pipe

    init() throws(IndexerError) {
        var made: [Pipe] = []
        do {
            for i in 0..<5 { made.append(try Pipe(nonBlocking: i == 3)) }
        } catch {
            for pipe in made { close(pipe.read); close(pipe.write) }
            throw error
        }
        (stdin, stdout, stderr, wake, exited) = (made[0], made[1], made[2], made[3], made[4])
        // The controller's end of stdin is non-blocking: a program that does not read its
        // input cannot stall the loop.
        _ = fcntl(stdin.write, F_SETFL, fcntl(stdin.write, F_GETFL) | O_NONBLOCK)
    }

    func closeAll() {
        for pipe in [stdin, stdout, stderr, wake, exited] { close(pipe.read); close(pipe.write) }
    }

    func closeParentEnds() {
        for fd in [stdin.write, stdout.read, stderr.read, wake.read, wake.write, exited.read, exited.write] { close(fd) }
    }

    func closeChildEnds() {
        close(stdin.read)
        close(stdout.write)
        close(stderr.write)
    }
}

/// The write end of the wake-up pipe, written when the task is cancelled. Closed by the loop
/// when the run is over, under the lock, so that a late cancellation never writes to a
/// descriptor number that was reused.
private final class CancelSignal: Sendable {
    private let fd: Mutex<Int32?>

    init(fd: Int32) { self.fd = Mutex(fd) }

    func fire() {
        fd.withLock { fd in
            guard let fd else { return }
            var byte: UInt8 = 1
            _ = write(fd, &byte, 1)
        }
    }

    func close() {
        fd.withLock { fd in
            if let open = fd { _ = Glibc.close(open) }
            fd = nil
        }
    }
}

/// The poll loop of one run, on its own thread.
private struct IOLoop: Sendable {
    let pid: pid_t
    var stdin: Int32, stdout: Int32, stderr: Int32, wake: Int32, exited: Int32
    let input: [UInt8]
    let timeout: Duration?
    let gracePeriod: Duration
    let stdoutLimit: Int
    let stderrLimit: Int

    init(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32, wake: Int32, exited: Int32, input: [UInt8], timeout: Duration?, gracePeriod: Duration, stdoutLimit: Int, stderrLimit: Int) {
        (self.pid, self.stdin, self.stdout, self.stderr, self.wake, self.exited) = (pid, stdin, stdout, stderr, wake, exited)
        (self.input, self.timeout, self.gracePeriod, self.stdoutLimit, self.stderrLimit) = (input, timeout, gracePeriod, stdoutLimit, stderrLimit)
    }

    /// After the program exits and its group is killed, output is read until end of file,
    /// or for this long when a process that left the group still holds a pipe.
    private static let drainLimit: Duration = .seconds(2)

    mutating func run() -> ChildProcess.Outcome {
        // A write to a closed pipe raises SIGPIPE on this thread: blocked here, write returns
        // EPIPE instead, and the pending signal ends with the thread.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)

        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        var killAt: ContinuousClock.Instant?
        var drainUntil: ContinuousClock.Instant?
        var written = 0
        var out: [UInt8] = [], err: [UInt8] = []
        var overflowed = false, timedOut = false, cancelled = false, terminating = false, childExited = false
        var buffer = [UInt8](repeating: 0, count: 65_536)

        func terminate(now: ContinuousClock.Instant) {
            guard !terminating else { return }
            terminating = true
            killpg(pid, SIGTERM)
            killAt = now + gracePeriod
        }

        if input.isEmpty { closeFD(&stdin) }
        while !(childExited && stdout < 0 && stderr < 0) {
            let now = clock.now
            if !childExited, !terminating, let deadline, now >= deadline {
                timedOut = true
                terminate(now: now)
            }
            if !childExited, let at = killAt, now >= at {
                killpg(pid, SIGKILL)
                killAt = nil
            }
            if let until = drainUntil, now >= until { break }

            var fds: [pollfd] = []
            func watch(_ fd: Int32, _ events: Int32) { if fd >= 0 { fds.append(pollfd(fd: fd, events: Int16(events), revents: 0)) } }
            watch(stdin, POLLOUT)
            watch(stdout, POLLIN)
            watch(stderr, POLLIN)
            watch(wake, POLLIN)
            watch(exited, POLLIN)
            let wakeAt = [childExited ? nil : deadline, childExited ? nil : killAt, drainUntil].compactMap { $0 }.min()
            let waitMilliseconds = wakeAt.map { Self.milliseconds($0 - now) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), waitMilliseconds)
            if ready < 0 { continue }  // EINTR
            for entry in fds where entry.revents != 0 {
                switch entry.fd {
                case stdin:
                    let n = input.withUnsafeBytes { write(stdin, $0.baseAddress! + written, $0.count - written) }
                    if n > 0 { written += n }
                    if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) { closeFD(&stdin) }
                case stdout, stderr:
                    let isOut = entry.fd == stdout
                    let n = read(entry.fd, &buffer, buffer.count)
                    if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
                        if isOut { closeFD(&stdout) } else { closeFD(&stderr) }
                    } else if n > 0, isOut {
                        let room = max(0, stdoutLimit - out.count)
                        out += buffer[0..<min(n, room)]
                        if n > room { overflowed = true }
                    } else if n > 0 {
                        err += buffer[0..<n]
                        if err.count > 2 * stderrLimit { err.removeFirst(err.count - stderrLimit) }
                    }
                case wake:
                    _ = read(wake, &buffer, buffer.count)
                    cancelled = true
                    if !childExited { terminate(now: clock.now) }
                case exited:
                    childExited = true
                    closeFD(&exited)
                    closeFD(&stdin)
                    // Nothing of the operation may outlive it: a background grandchild that
                    // holds stdout open would otherwise keep the loop waiting.
                    killpg(pid, SIGKILL)
                    drainUntil = clock.now + Self.drainLimit
                default: break
                }
            }
        }
        // The wake-up pipe's read end is closed by the caller, after its write end: a late
        // cancellation must never write to a pipe without a reader (SIGPIPE on its thread).
        for fd in [stdin, stdout, stderr, exited] where fd >= 0 { close(fd) }
        if !childExited { killpg(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        if err.count > stderrLimit { err.removeFirst(err.count - stderrLimit) }
        let signal = status & 0x7f
        let termination: ChildProcess.Termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        return .init(termination: termination, stdout: out, stdoutOverflowed: overflowed, stderrTail: err, timedOut: timedOut, cancelled: cancelled)
    }

    private func closeFD(_ fd: inout Int32) {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let ms = seconds * 1_000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}

/// Runs `body` on a new detached thread; `false` when no thread could be made.
private func startThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    guard rc == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        return false
    }
    pthread_detach(thread)
    return true
}
