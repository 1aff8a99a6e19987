import Synchronization

/// Wakes the reconcile loop: ``signal()`` from the webhook or a shutdown, ``wait(atMost:)`` in
/// the loop. Signals coalesce: any number of them while the loop is busy make one wake-up, so a
/// trigger during a pass schedules exactly one more pass after it.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: Int, continuation: CheckedContinuation<Void, Never>)?
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Wakes the loop now, or at its next wait.
    func signal() {
        let continuation = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return waiter.continuation
        }
        continuation?.resume()
    }

    /// Returns at a signal (one that came since the last wait counts) or after `timeout`.
    func wait(atMost timeout: Duration) async {
        let id = state.withLock { s -> Int? in
            if s.pending {
                s.pending = false
                return nil
            }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.expire(id)
        }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { s -> Bool in
                if s.pending {
                    s.pending = false
                    return true
                }
                s.waiter = (id, continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }

    private func expire(_ id: Int) {
        let continuation = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter, waiter.id == id else { return nil }
            s.waiter = nil
            return waiter.continuation
        }
        continuation?.resume()
    }
}
