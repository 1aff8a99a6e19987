import Foundation

/// Where the controller's clone fetches from and pushes to, and how it authenticates.
///
/// Credentials are read from their file or environment variable at each connection (so a
/// rotated token is picked up) and never logged or put into an error message.
public struct RemoteConfiguration: Sendable {
    /// The remote's URL: a local path, `file://…`, `ssh://[user@]host[:port]/path`,
    /// scp-like `user@host:path`, or `https://…` (`http://` only to a loopback host).
    public var url: String
    /// The branch the controller follows and writes to.
    public var branch: String
    /// The name of the remote in the clone's configuration; its remote-tracking branch is
    /// `refs/remotes/<remoteName>/<branch>`.
    public var remoteName: String
    /// How to authenticate.
    public var authentication: Authentication
    /// An OpenSSH `known_hosts` file; required for ssh URLs: a host key that it does not
    /// list for the host (or lists as `@revoked`) is refused.
    public var knownHostsFile: String?
    /// A fetch, clone or push that reports no progress for this long is abandoned.
    ///
    /// libgit2 1.5 has no socket timeout: the check runs in its progress callbacks while
    /// data flows, and a peer that goes completely silent (no byte at all) is caught by an
    /// outer deadline that interrupts the blocked system call (`StallInterrupter`).
    public var stallTimeout: Duration

    /// Makes a configuration; by default branch `main`, remote `origin`, no
    /// authentication, a 60-second stall timeout.
    public init(
        url: String,
        branch: String = "main",
        remoteName: String = "origin",
        authentication: Authentication = .none,
        knownHostsFile: String? = nil,
        stallTimeout: Duration = .seconds(60)
    ) {
        self.url = url
        self.branch = branch
        self.remoteName = remoteName
        self.authentication = authentication
        self.knownHostsFile = knownHostsFile
        self.stallTimeout = stallTimeout
    }
}

/// How the controller proves who it is to the remote.
public enum Authentication: Sendable {
    /// No credentials (a local path, or an anonymous remote).
    case none
    /// An ssh key pair from files. The public key path may be omitted when libssh2 can
    /// derive it; the passphrase, if any, is read from a file.
    case sshKey(privateKeyFile: String, publicKeyFile: String? = nil, passphrase: Secret? = nil)
    /// The keys of the running ssh-agent (`SSH_AUTH_SOCK`).
    case sshAgent
    /// An https token, sent as the password of HTTP basic authentication.
    case token(Secret, username: String = "x-access-token")
}

/// A credential kept outside the configuration.
public enum Secret: Sendable {
    /// The contents of a file, without trailing whitespace.
    case file(String)
    /// The value of an environment variable.
    case environment(String)

    /// Reads the secret now.
    /// - Throws: `GitError` `.configuration` when the file is unreadable, the variable is
    ///   unset, or the value is empty. The message names the source, never the value.
    func read() throws -> String {
        let value: String
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw GitError(.configuration, "cannot read the secret file '\(path)'", function: "Secret.read")
            }
            value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        case .environment(let name):
            value = (ProcessInfo.processInfo.environment[name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !value.isEmpty else {
            throw GitError(.configuration, "the secret from \(self.source) is empty", function: "Secret.read")
        }
        return value
    }

    var source: String {
        switch self {
        case .file(let path): "file '\(path)'"
        case .environment(let name): "environment variable \(name)"
        }
    }
}
