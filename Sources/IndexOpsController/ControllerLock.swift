import Foundation

/// An exclusive lock on the controller's state folder, held for the life of the process, so
/// that two indexops processes never reconcile one clone at once. It is an `flock`, which
/// the kernel releases when the process ends, however it ends: a kill -9 leaves nothing stale.
final class ControllerLock: @unchecked Sendable {
    private let descriptor: Int32

    /// Takes the lock, or throws at once when another process holds it.
    init(directory: String) throws {
        let path = directory + "/controller.lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw IndexOpsError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw IndexOpsError("another indexops process\(holder.isEmpty ? "" : " (pid \(holder))") is reconciling this repository")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
    }

    deinit {
        close(descriptor)
    }
}
