import Foundation
import SystemPackage

/// An exclusive lock on the controller's state folder, held for the life of the process, so
/// that two indexops processes never reconcile one clone at once. It is an `flock`, which
/// the kernel releases when the process ends, however it ends: a kill -9 leaves nothing stale.
final class ControllerLock: @unchecked Sendable {
    private let descriptor: FileDescriptor

    /// Takes the lock, or throws at once when another process holds it.
    init(directory: String) throws {
        let path = FilePath(directory).appending("controller.lock")
        do {
            descriptor = try FileDescriptor.open(
                path, .readWrite, options: [.create, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw IndexOpsError("cannot open \(path): \(error)")
        }
        guard flock(descriptor.rawValue, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path.string, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            try? descriptor.close()
            throw IndexOpsError("another indexops process\(holder.isEmpty ? "" : " (pid \(holder))") is reconciling this repository")
        }
        // The holder's pid, for the message above; the lock works without it.
        _ = try? descriptor.resize(to: 0)
        _ = try? descriptor.writeAll("\(getpid())\n".utf8)
    }

    deinit {
        try? descriptor.close()
    }
}
