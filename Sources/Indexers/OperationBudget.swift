/// The time the running operation has left. The reconciler sets ``deadline`` around each
/// operation (its `timeout` or `operationTimeout`), so that a driver can decide whether a
/// wait — a rate limit's `Retry-After` — still fits, or is better turned into a failure that
/// the reconciler retries with backoff. Past the deadline the operation's task is cancelled
/// anyway.
public enum OperationBudget {
    /// When the running operation is cancelled; `nil` outside an operation (a search).
    @TaskLocal public static var deadline: ContinuousClock.Instant?

    /// Whether waiting `duration` from now ends before the deadline; without a deadline,
    /// whether it is at most `fallback`.
    public static func allows(waiting duration: Duration, fallback: Duration) -> Bool {
        guard let deadline else { return duration <= fallback }
        return ContinuousClock.now + duration < deadline
    }
}
