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
    /// libgit2 1.5 has no socket timeout: the check runs in its progress callbacks. What
    /// remains: a peer that goes completely silent (no byte at all) blocks inside libgit2
    /// until the kernel gives up on the connection; an outer watchdog (the process's own
    /// deadline) has to cover that case.
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

/// The transport a URL selects, with what the host checks need.
enum RemoteEndpoint: Equatable {
    case local
    case ssh(user: String?, host: String, port: Int)
    case http(secure: Bool, host: String)

    init(url: String) {
        let lower = url.lowercased()
        for scheme in ["ssh://", "git+ssh://", "ssh+git://"] where lower.hasPrefix(scheme) {
            var rest = Substring(url.dropFirst(scheme.count))
            rest = rest.prefix { $0 != "/" }
            var user: String?
            if let at = rest.lastIndex(of: "@") {
                user = String(rest[..<at])
                rest = rest[rest.index(after: at)...]
            }
            var host = String(rest)
            var port = 22
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":"), let p = Int(after.dropFirst()) { port = p }
            } else if let colon = rest.lastIndex(of: ":"), let p = Int(rest[rest.index(after: colon)...]) {
                host = String(rest[..<colon])
                port = p
            }
            self = .ssh(user: user, host: host, port: port)
            return
        }
        if lower.hasPrefix("https://") || lower.hasPrefix("http://") {
            let secure = lower.hasPrefix("https://")
            var authority = Substring(url.dropFirst(secure ? 8 : 7)).prefix { $0 != "/" }
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            var host = String(authority)
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
                host = String(authority[authority.index(after: authority.startIndex)..<close])
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
            }
            self = .http(secure: secure, host: host)
            return
        }
        if lower.hasPrefix("file://") || url.hasPrefix("/") || url.hasPrefix(".") || lower.contains("://") {
            self = .local
            return
        }
        // scp-like syntax: [user@]host:path, where the part before ':' has no '/'.
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") {
            var host = Substring(url[..<colon])
            var user: String?
            if let at = host.lastIndex(of: "@") {
                user = String(host[..<at])
                host = host[host.index(after: at)...]
            }
            self = .ssh(user: user, host: String(host), port: 22)
            return
        }
        self = .local
    }

    var isLoopback: Bool {
        let host: String
        switch self {
        case .local: return true
        case .ssh(_, let h, _), .http(_, let h): host = h
        }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
