internal import CGit2
import Foundation

/// A failure of the `Git` module: a libgit2 error, or one of the module's own checks
/// (a rejected push, a stalled transfer, a path that is not a regular file, …).
///
/// Made at one place, right after the failing call, so the thread-local libgit2 message
/// belongs to that call. `function` names the libgit2 function (or the module operation)
/// that failed. Messages never contain credentials.
public struct GitError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, as a number: libgit2's negative `git_error_code`s, and the
    /// module's own positive codes.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The number.
        public let rawValue: Int32
        /// Wraps a number; the named constants below cover what the module reports.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// A generic libgit2 error (`GIT_ERROR`).
        public static let generic = Code(rawValue: -1)
        /// The object, reference or path does not exist (`GIT_ENOTFOUND`).
        public static let notFound = Code(rawValue: -3)
        /// The object or reference already exists (`GIT_EEXISTS`).
        public static let exists = Code(rawValue: -4)
        /// A callback of ours asked libgit2 to stop (`GIT_EUSER`).
        public static let user = Code(rawValue: -7)
        /// The branch has no commit yet (`GIT_EUNBORNBRANCH`).
        public static let unbornBranch = Code(rawValue: -9)
        /// A push would not be a fast-forward (`GIT_ENONFASTFORWARD`).
        public static let nonFastForward = Code(rawValue: -11)
        /// A reference name or refspec is malformed (`GIT_EINVALIDSPEC`).
        public static let invalidSpec = Code(rawValue: -12)
        /// A `*.lock` file is in the way (`GIT_ELOCKED`).
        public static let locked = Code(rawValue: -14)
        /// A reference moved since it was read: a concurrent writer (`GIT_EMODIFIED`).
        public static let modified = Code(rawValue: -15)
        /// Authentication failed (`GIT_EAUTH`).
        public static let auth = Code(rawValue: -16)
        /// The server's certificate or ssh host key was refused (`GIT_ECERTIFICATE`).
        public static let certificate = Code(rawValue: -17)
        /// The connection ended early (`GIT_EEOF`).
        public static let eof = Code(rawValue: -20)
        /// Invalid operation or input (`GIT_EINVALID`).
        public static let invalid = Code(rawValue: -21)

        /// The remote refused to update the branch (its reason is in the message).
        public static let pushRejected = Code(rawValue: 1001)
        /// A network operation made no progress for longer than the configured timeout.
        public static let stalled = Code(rawValue: 1002)
        /// A path where a regular file was expected is a symlink, a submodule or a folder.
        public static let notAFile = Code(rawValue: 1003)
        /// A local commit cannot be replayed onto the upstream (a merge, or a change
        /// outside the path prefix that the controller owns).
        public static let notReplayable = Code(rawValue: 1004)
        /// The configuration cannot work (for example an ssh remote without known_hosts).
        public static let configuration = Code(rawValue: 1005)
        /// A file system operation of the module failed (`errno` is in the message).
        public static let os = Code(rawValue: 1006)
        /// An object is larger than the limit it was read under; it was not read.
        public static let tooLarge = Code(rawValue: 1007)

        /// The libgit2 constant's name (`GIT_EMODIFIED`) or the module's own name (`stalled`).
        public var description: String {
            switch self {
            case .generic: "GIT_ERROR"
            case .notFound: "GIT_ENOTFOUND"
            case .exists: "GIT_EEXISTS"
            case .user: "GIT_EUSER"
            case .unbornBranch: "GIT_EUNBORNBRANCH"
            case .nonFastForward: "GIT_ENONFASTFORWARD"
            case .invalidSpec: "GIT_EINVALIDSPEC"
            case .locked: "GIT_ELOCKED"
            case .modified: "GIT_EMODIFIED"
            case .auth: "GIT_EAUTH"
            case .certificate: "GIT_ECERTIFICATE"
            case .eof: "GIT_EEOF"
            case .invalid: "GIT_EINVALID"
            case .pushRejected: "pushRejected"
            case .stalled: "stalled"
            case .notAFile: "notAFile"
            case .notReplayable: "notReplayable"
            case .configuration: "configuration"
            case .os: "os"
            case .tooLarge: "tooLarge"
            default: "code \(rawValue)"
            }
        }
    }

    /// The libgit2 subsystem that reported the error (`git_error_t`); `.none` for the
    /// module's own checks.
    public struct ErrorClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The `git_error_t` number.
        public let rawValue: Int32
        /// Wraps a `git_error_t` number.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// No subsystem: the module's own checks.
        public static let none = ErrorClass(rawValue: 0)
        /// The operating system (`GIT_ERROR_OS`).
        public static let os = ErrorClass(rawValue: 2)
        /// Invalid input (`GIT_ERROR_INVALID`).
        public static let invalid = ErrorClass(rawValue: 3)
        /// References (`GIT_ERROR_REFERENCE`).
        public static let reference = ErrorClass(rawValue: 4)
        /// Repositories (`GIT_ERROR_REPOSITORY`).
        public static let repository = ErrorClass(rawValue: 6)
        /// The object database (`GIT_ERROR_ODB`).
        public static let odb = ErrorClass(rawValue: 9)
        /// The index (`GIT_ERROR_INDEX`).
        public static let index = ErrorClass(rawValue: 10)
        /// The network (`GIT_ERROR_NET`).
        public static let net = ErrorClass(rawValue: 12)
        /// Trees (`GIT_ERROR_TREE`).
        public static let tree = ErrorClass(rawValue: 14)
        /// TLS (`GIT_ERROR_SSL`).
        public static let ssl = ErrorClass(rawValue: 16)
        /// ssh (`GIT_ERROR_SSH`).
        public static let ssh = ErrorClass(rawValue: 23)
        /// A callback (`GIT_ERROR_CALLBACK`).
        public static let callback = ErrorClass(rawValue: 26)
        /// HTTP (`GIT_ERROR_HTTP`).
        public static let http = ErrorClass(rawValue: 34)

        private static let names = [
            "none", "nomemory", "os", "invalid", "reference", "zlib", "repository", "config",
            "regex", "odb", "index", "object", "net", "tag", "tree", "indexer", "ssl",
            "submodule", "thread", "stash", "checkout", "fetchhead", "merge", "ssh", "filter",
            "revert", "callback", "cherrypick", "describe", "rebase", "filesystem", "patch",
            "worktree", "sha", "http", "internal",
        ]

        /// The lowercase subsystem name, e.g. `reference`.
        public var description: String {
            Self.names.indices.contains(Int(rawValue)) ? Self.names[Int(rawValue)] : "class \(rawValue)"
        }
    }

    /// What went wrong.
    public var code: Code
    /// The libgit2 subsystem, or `.none` for the module's own checks.
    public var errorClass: ErrorClass
    /// The human-readable reason, from libgit2 or from the module.
    public var message: String
    /// The libgit2 function (or module operation) that failed, e.g. `git_remote_push`.
    public var function: String

    /// Makes an error of the module's own.
    public init(_ code: Code, _ message: String, function: String, errorClass: ErrorClass = .none) {
        self.code = code
        self.errorClass = errorClass
        self.message = message
        self.function = function
    }

    /// `function: message [code, class]`.
    public var description: String {
        "\(function): \(message) [\(code), \(errorClass)]"
    }

    /// Reads (and clears) libgit2's thread-local error right after `function` returned
    /// `result`. Call it before anything else that may touch libgit2 on this thread.
    static func last(_ result: Int32, function: String) -> GitError {
        let systemError = errno
        var message = "failed with code \(result)"
        // Some libgit2 paths (an object write that hits a full disk) fail without a message:
        // the system's error of the failed write is then the best explanation there is.
        if systemError != 0 { message += "; the last system error was: \(String(cString: strerror(systemError)))" }
        var errorClass = ErrorClass.none
        if let error = git_error_last() {
            errorClass = ErrorClass(rawValue: Int32(error.pointee.klass))
            if let text = error.pointee.message {
                message = String(cString: text).trimmingTrailingNewlines()
            }
        }
        git_error_clear()
        return GitError(Code(rawValue: result), message, function: function, errorClass: errorClass)
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == "\r" { text = text.dropLast() }
        return String(text)
    }
}

/// The one choke point for libgit2 results: runs `body`, and on a negative result
/// throws the thread's libgit2 error, tagged with `function`.
@discardableResult
func call(_ function: String, _ body: () -> Int32) throws(GitError) -> Int32 {
    let result = body()
    if result < 0 { throw GitError.last(result, function: function) }
    return result
}
