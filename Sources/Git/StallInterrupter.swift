import Foundation

/// The outer deadline of one blocking libgit2 network call.
///
/// libgit2 1.5 has no socket timeout, and its progress callbacks run only while bytes
/// arrive: a peer that accepts the connection and then sends nothing (or a connect that the
/// network swallows) blocks the calling thread in `recv`, `poll` or `connect` forever, where
/// no callback can abandon it. This watchdog, on a thread of its own, acts once the stall
/// timeout has passed since the last progress:
///
/// 1. It sends the calling thread a signal whose handler does nothing (installed without
///    `SA_RESTART`): the blocked system call returns `EINTR`, libgit2 reports a socket
///    error, and the operation fails as stalled. It signals again every 200 ms.
/// 2. A library may retry an interrupted call: libgit2 1.5 repeats the ssh handshake for as
///    long as libssh2 says "timeout", which is what an interrupted wait becomes. A second
///    later, the watchdog reads which descriptor the thread is blocked on
///    (`/proc/self/task/<tid>/syscall`) and, if it is a socket, shuts it down: the peer
///    then looks gone, and every library gives up. The descriptor stays open (libgit2
///    closes it), so no other descriptor can be hit by a reused number while the thread
///    is still blocked on it, which the watchdog checks again just before.
///
/// Nothing is done after ``stop()`` (under the same lock). The threads of Swift's
/// concurrency pool block most signals: the signal is unblocked on the calling thread for
/// the watch only, and one still pending when it ends is consumed, so no later work of the
/// thread is interrupted.
final class StallInterrupter: @unchecked Sendable {
    /// The signal used: ignored by default, unused by the Swift runtime, Dispatch and NIO.
    static let signal = SIGURG
    /// How long signals may fail to end the call before its socket is shut down.
    static let escalation: Duration = .seconds(1)

    private let condition = NSCondition()
    private let thread: pthread_t
    /// The kernel's id of the calling thread, for `/proc/self/task/<tid>`.
    private let threadID: Int?
    private var previousMask = sigset_t()
    private let timeout: Duration
    private var lastProgress: ContinuousClock.Instant
    private var running = true
    private var interrupted = false

    /// Starts watching the calling thread, which is about to block in libgit2; call ``stop()``
    /// on the same thread.
    init(timeout: Duration) {
        _ = Self.handlerInstalled
        thread = pthread_self()
        threadID = Self.currentThreadID()
        self.timeout = timeout
        lastProgress = .now
        var only = Self.signalSet
        pthread_sigmask(SIG_UNBLOCK, &only, &previousMask)
        let watcher = Thread { [self] in watch() }
        watcher.name = "indexops-git-watchdog"
        watcher.start()
    }

    /// Records that the transfer made progress (from a libgit2 callback).
    func progressed(at instant: ContinuousClock.Instant) {
        condition.withLock { lastProgress = instant }
    }

    /// Whether the watchdog interrupted the call: its error is a stall.
    var fired: Bool { condition.withLock { interrupted } }

    /// Ends the watch; after it returns, the thread is never signalled again and has its
    /// signal mask back.
    func stop() {
        condition.withLock {
            running = false
            condition.signal()
        }
        pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        var only = Self.signalSet
        var none = timespec(tv_sec: 0, tv_nsec: 0)
        while sigtimedwait(&only, nil, &none) == Self.signal {}
    }

    private func watch() {
        condition.lock()
        defer { condition.unlock() }
        while running {
            let now = ContinuousClock.now
            let deadline = lastProgress + timeout
            guard now >= deadline else {
                _ = condition.wait(until: Date() + (deadline - now).seconds)
                continue
            }
            interrupted = true
            pthread_kill(thread, Self.signal)
            if now >= deadline + Self.escalation { shutDownBlockedSocket() }
            _ = condition.wait(until: Date() + 0.2)
        }
    }

    /// Shuts down the socket the watched thread is blocked on, if it is blocked on one.
    private func shutDownBlockedSocket() {
        guard let threadID, let call = Self.blockingCall(of: threadID) else { return }
        for fd in call.descriptors {
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { continue }
            // Still blocked in the same call: the descriptor is still the one it waits on.
            guard Self.blockingCall(of: threadID)?.line == call.line else { return }
            _ = shutdown(fd, Int32(SHUT_RDWR))
        }
    }

    /// The system call a thread is blocked in, when it is one that waits on descriptors:
    /// its line in `/proc/self/task/<tid>/syscall` and the descriptors.
    private static func blockingCall(of threadID: Int) -> (line: String, descriptors: [Int32])? {
        guard let line = readSmallFile("/proc/self/task/\(threadID)/syscall") else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count >= 3, let number = Int(fields[0]),
              let first = UInt(fields[1].dropFirst(2), radix: 16), let second = UInt(fields[2].dropFirst(2), radix: 16)
        else { return nil }
        if Syscall.onDescriptor.contains(number) {
            return (line, [Int32(truncatingIfNeeded: first)])
        }
        if Syscall.polls.contains(number), let fds = UnsafePointer<pollfd>(bitPattern: first) {
            return (line, (0..<Int(min(second, 8))).map { fds[$0].fd }.filter { $0 >= 0 })
        }
        return nil
    }

    /// The numbers of the system calls a network read waits in.
    private enum Syscall {
        #if arch(x86_64)
        /// read, connect, recvfrom, recvmsg: the descriptor is the first argument.
        static let onDescriptor: Set<Int> = [0, 42, 45, 47]
        /// poll, ppoll: the first argument points at `pollfd`s, the second counts them.
        static let polls: Set<Int> = [7, 271]
        #elseif arch(arm64)
        static let onDescriptor: Set<Int> = [63, 203, 207, 212]
        static let polls: Set<Int> = [73]
        #else
        static let onDescriptor: Set<Int> = []
        static let polls: Set<Int> = []
        #endif
    }

    /// The calling thread's kernel id, from `/proc/thread-self` (a link to `<pid>/task/<tid>`).
    private static func currentThreadID() -> Int? {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let target = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.split(separator: "/").last.flatMap { Int($0) }
    }

    /// A file of `/proc`, whose size the kernel reports as 0: read to its end.
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static var signalSet: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        return set
    }

    /// A handler that does nothing: its only effect is that a blocked system call of the
    /// thread it interrupts returns `EINTR`.
    private static let handlerInstalled: Bool = {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        return sigaction(signal, &action, nil) == 0
    }()
}
