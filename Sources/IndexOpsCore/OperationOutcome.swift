/// How an operation ended.
public enum OperationOutcome: Sendable, Hashable {
    /// It succeeded; a create returns the indexer's `indexData`.
    case succeeded(JSONValue)
    /// It failed (or timed out).
    case failed(OperationFailure)

    /// A transient failure with a message for people.
    public static func failed(_ message: String) -> OperationOutcome { .failed(OperationFailure(message)) }

    /// The failure's message, or `nil` for a success.
    public var failureMessage: String? {
        if case .failed(let failure) = self { failure.message } else { nil }
    }
}

/// Why an operation failed, and whether trying again can help.
public struct OperationFailure: Sendable, Hashable {
    /// What went wrong, for people (redacted, capped).
    public var message: String
    /// The operation cannot succeed until the spec, the source or the configuration changes
    /// (DESIGN.md §4): it is not retried with backoff. Everything else is transient.
    public var isTerminal: Bool

    /// Creates a failure.
    public init(_ message: String, terminal: Bool = false) {
        self.message = message
        self.isTerminal = terminal
    }
}

extension DocumentStatus {
    /// The status after an operation ended (DESIGN.md §4): a create that succeeded makes the
    /// entry present with the new revision; a delete that succeeded removes the entry, and
    /// the whole file (`nil`) when none is left; a failure sets `failed`, the error, one more
    /// retry and the time of the next (none once retries are used up, or for a terminal
    /// failure, which waits for a change instead).
    ///
    /// - Parameter jitter: the caller's random factor for the backoff, e.g. 0.9 to 1.1.
    public func recording(
        _ outcome: OperationOutcome, of operation: PlannedOperation, now: Timestamp,
        settings: PlannerSettings, jitter: Double = 1
    ) -> DocumentStatus? {
        var next = self
        let type = operation.key.indexType
        var entry = indexes[type] ?? IndexStatus(
            actualState: .absent, desiredState: operation.action == .create ? .present : .absent,
            updatedAt: now, lastReconciledAt: now)
        entry.lastReconciledAt = now
        switch (outcome, operation.action) {
        case (.succeeded(let data), .create):
            if entry.actualState != .present { entry.updatedAt = now }
            entry.actualState = .present
            entry.createdAt = entry.createdAt ?? now
            entry.errorMessage = nil
            entry.indexData = data
            entry.observedRevision = operation.revision
            entry.retryCount = 0
            entry.nextRetryAt = nil
            entry.terminalConfig = nil
        case (.succeeded, .delete):
            next.indexes[type] = nil
            return next.indexes.isEmpty ? nil : next
        case (.failed(let failure), let action):
            if entry.actualState != .failed { entry.updatedAt = now }
            entry.actualState = .failed
            entry.errorMessage = IndexStatus.capped(failure.message)
            if action == .create { entry.observedRevision = operation.revision }
            // Saturating: a count from a status file (or an importer) never traps.
            entry.retryCount = entry.retryCount.addingRetry()
            entry.terminalConfig = failure.isTerminal ? settings.configFingerprint : nil
            entry.nextRetryAt = !failure.isTerminal && entry.retryCount < settings.maxRetries
                ? now.adding(settings.backoff(afterFailures: entry.retryCount, jitter: jitter)) : nil
        }
        next.indexes[type] = entry
        return next
    }
}

extension Int {
    /// One more retry: `self + 1`, kept between 0 and ``IndexStatus/maxRetryCount``, so that a
    /// count read from a status file (or an importer) never traps.
    public func addingRetry() -> Int {
        self >= IndexStatus.maxRetryCount ? IndexStatus.maxRetryCount : Swift.max(0, self) + 1
    }
}

extension IndexStatus {
    /// `message` cut to ``maxErrorMessageLength`` bytes (at a character boundary, with ` …`).
    public static func capped(_ message: String) -> String {
        guard message.utf8.count > maxErrorMessageLength else { return message }
        var bytes = Array(message.utf8.prefix(maxErrorMessageLength - 4))
        while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
        if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self) + " …"
    }
}
