import NIOCore
import PostgresNIO
internal import _ConnectionPoolModule

/// A PostgreSQL failure, in words that carry no password, classified by what helps: waiting
/// (a transient failure), changing the configuration or the database (a configuration
/// error), or neither for sure (a failure the caller may retry later).
public struct PostgresAccessError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What would make the next attempt succeed.
    public enum Kind: String, Sendable, Hashable {
        /// Waiting: the server cannot be reached, is starting or shutting down, a connection
        /// broke, a transaction lost a serialization race or a deadlock, a timeout. Retried
        /// with backoff by ``PostgresPool/withTransaction(_:_:)``.
        case transient
        /// A change of the settings or of the database: bad credentials, a missing database,
        /// schema, table, extension or text search configuration, a missing privilege, a
        /// table of another shape, TLS that cannot be set up. Retrying without that change
        /// fails the same way.
        case configuration
        /// Anything else (a constraint or data error, say): not retried here.
        case failure
    }

    /// What would make the next attempt succeed.
    public var kind: Kind
    /// What went wrong, for people: what was being done, the server's message with its
    /// detail and hint, and the SQLSTATE.
    public var message: String
    /// The server's SQLSTATE code (`42P01`, …), when the server answered.
    public var sqlState: String?

    /// Creates an error.
    public init(_ message: String, kind: Kind, sqlState: String? = nil) {
        self.message = message
        self.kind = kind
        self.sqlState = sqlState
    }

    public var description: String { message }

    /// Whether a change of the configuration or the database is needed: a terminal failure
    /// for the reconciler (DESIGN.md §4).
    public var isConfigurationError: Bool { kind == .configuration }

    /// The kind of a server error by its SQLSTATE (PostgreSQL's Appendix A).
    public static func kind(ofSQLState code: String) -> Kind {
        switch code {
        case "28000", "28P01",  // invalid authorization, invalid password
            "3D000", "3F000",  // no such database, no such schema
            "42501",  // insufficient privilege
            "42P01", "42703", "42704", "42883", "42804",  // undefined table, column, object, function; datatype mismatch
            "0A000", "58P01",  // feature not supported (an extension not available), undefined file
            "22023":  // invalid parameter value (a bad vector dimension, say)
            return .configuration
        case "40001", "40P01",  // serialization failure, deadlock
            "55P03", "55006",  // lock not available, object in use
            "57014", "57P01", "57P02", "57P03", "57P04", "57P05":  // cancelled, shutting down, cannot connect now
            return .transient
        default:
            // Class 08: connection exception; 53: insufficient resources (too many connections).
            return code.hasPrefix("08") || code.hasPrefix("53") ? .transient : .failure
        }
    }

    /// The error of PostgresNIO's `error`, with `context` ("creating table x", …) in front
    /// and `secret` (the password) replaced by `<redacted>` wherever it appears.
    ///
    /// The message is built from the server's fields and error codes only, never from the
    /// query or its bindings, which PostgresNIO keeps inside its errors.
    public init(_ error: any Error, context: String, secret: String? = nil) {
        var classified = Self.classify(error)
        classified.message = context + ": " + classified.message
        if let secret, !secret.isEmpty { classified.message = classified.message.replacing(secret, with: "<redacted>") }
        self = classified
    }

    private static func classify(_ error: any Error) -> PostgresAccessError {
        switch error {
        case let error as PostgresAccessError:
            return error
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError {
                return classify(inner)
            }
            return PostgresAccessError("the transaction failed", kind: .transient)
        case let error as PSQLError:
            return classify(error)
        case let error as ConnectionPoolError:
            if error == .connectionCreationCircuitBreakerTripped {
                return PostgresAccessError("no connection could be made for over a minute", kind: .transient)
            }
            if error == .poolShutdown { return PostgresAccessError("the connection pool is shut down", kind: .transient) }
            return PostgresAccessError("the connection request was cancelled", kind: .transient)
        case let error as NIOSSLError:
            return PostgresAccessError("TLS failed: \(error)", kind: .configuration)
        case let error as BoringSSLError:
            return PostgresAccessError("TLS failed: \(error)", kind: .configuration)
        case let error as IOError:
            return PostgresAccessError(error.description, kind: .transient)
        case let error as ChannelError:
            return PostgresAccessError("the connection failed: \(error)", kind: .transient)
        default:
            return PostgresAccessError("\(type(of: error)): \(error)", kind: .failure)
        }
    }

    private static func classify(_ error: PSQLError) -> PostgresAccessError {
        if error.code == .server, let info = error.serverInfo {
            let state = info[.sqlState] ?? "XX000"
            var text = info[.message] ?? "the server reported an error"
            if let detail = info[.detail], !detail.isEmpty { text += " (\(detail))" }
            if let hint = info[.hint], !hint.isEmpty { text += "; hint: \(hint)" }
            return PostgresAccessError(text + " [SQLSTATE \(state)]", kind: kind(ofSQLState: state), sqlState: state)
        }
        switch error.code {
        case .connectionError, .uncleanShutdown:
            let underlying = error.underlying
            if underlying is NIOSSLError || underlying is BoringSSLError {
                return PostgresAccessError("TLS failed: \(underlying!) (check tls and caFile)", kind: .configuration)
            }
            return PostgresAccessError("cannot connect: \(underlying.map { "\($0)" } ?? "the connection failed")", kind: .transient)
        case .serverClosedConnection, .clientClosedConnection:
            return PostgresAccessError("the connection was closed", kind: .transient)
        case .queryCancelled:
            return PostgresAccessError("the query was cancelled", kind: .transient)
        case .poolClosed:
            return PostgresAccessError("the connection pool is shut down", kind: .transient)
        case .sslUnsupported:
            return PostgresAccessError("the server does not offer TLS, which tls: require demands", kind: .configuration)
        case .failedToAddSSLHandler:
            return PostgresAccessError("TLS could not be set up (check tls and caFile)", kind: .configuration)
        case .authMechanismRequiresPassword:
            return PostgresAccessError("the server asks for a password and none is set (passwordFile or PGPASSWORD)", kind: .configuration)
        case .unsupportedAuthMechanism:
            return PostgresAccessError("the server asks for an authentication method PostgresNIO does not support (use scram-sha-256 or md5)", kind: .configuration)
        case .saslError:
            return PostgresAccessError("SCRAM authentication failed", kind: .configuration)
        default:
            return PostgresAccessError("the PostgreSQL protocol failed (\(error.code))", kind: .failure)
        }
    }
}
