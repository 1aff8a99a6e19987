/// A usage or environment problem: not a repository, a missing file, a broken configuration.
/// The command line prints ``message`` on one line and exits with status 2.
public struct IndexOpsError: Error, Sendable, CustomStringConvertible {
    /// One line, saying what is wrong and, where it helps, what to do.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
