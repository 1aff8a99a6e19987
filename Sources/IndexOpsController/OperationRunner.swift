import IndexOpsCore
import Indexers
internal import FaultInjection

/// Runs one operation on an indexer, cancelling it past its timeout.
enum OperationRunner {
    /// Runs `request` and says how it ended; never throws. A timeout or a cancellation (at
    /// shutdown, past the grace period) is a failure with a message people can read.
    static func run(_ request: IndexRequest, on indexer: any Indexer, timeout: Duration) async -> OperationOutcome {
        do {
            let data = try await withThrowingTaskGroup(of: JSONValue?.self) { group in
                group.addTask {
                    // The deadline lets an indexer decide whether a wait (a rate limit) still fits.
                    try await OperationBudget.$deadline.withValue(ContinuousClock.now + timeout) { () async throws -> JSONValue? in
                        if request.action == .create { return try await indexer.create(request) }
                        try await indexer.delete(request)
                        return .null
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let data else { return .failed("timed out after \(DurationText.format(timeout)) (operationTimeout)") }
            try Failpoints.hit(.operationDone) { IndexerError($0) }
            return .succeeded(data)
        } catch let error as IndexerError {
            return .failed(OperationFailure(error.message, terminal: error.isTerminal))
        } catch is CancellationError {
            return .failed("cancelled: indexops was stopping")
        } catch {
            return .failed(String(describing: error))
        }
    }
}
