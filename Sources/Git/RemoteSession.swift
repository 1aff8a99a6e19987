internal import CGit2
import Foundation

/// Watches a transfer for progress; `check` says when it has stalled for `timeout`.
struct StallWatch {
    var timeout: Duration
    /// When the counters last grew (or the watch started).
    private(set) var lastProgress: ContinuousClock.Instant
    private var lastMark: [Int]

    init(timeout: Duration, start: ContinuousClock.Instant) {
        self.timeout = timeout
        lastProgress = start
        lastMark = []
    }

    /// Records that a callback saw `mark` (counters that grow while data flows) at `now`;
    /// returns `false` when nothing grew for `timeout` or longer: abandon the transfer.
    mutating func check(mark: [Int], now: ContinuousClock.Instant) -> Bool {
        if mark != lastMark {
            lastMark = mark
            lastProgress = now
            return true
        }
        return now - lastProgress < timeout
    }
}

/// The state of one network operation shared with libgit2's callbacks: credentials, the
/// host key check, the stall watch, and the push verdicts. Passed as the callbacks'
/// payload with `Unmanaged.passUnretained` while the caller keeps it alive.
///
/// The stall watch runs in the callbacks, which libgit2 calls only while data flows; a
/// peer that goes silent is caught by the outer deadline of ``guarded(_:)``.
final class RemoteSession {
    let configuration: RemoteConfiguration
    let operation: String
    let endpoint: RemoteEndpoint
    private let knownHosts: KnownHosts?
    private var watch: StallWatch
    private var interrupter: StallInterrupter?
    private var credentialRequests = 0

    /// Why a callback stopped the operation, when it did.
    private(set) var abortReason: GitError?
    /// Refs the remote refused to update, with its reason (`push_update_reference`).
    private(set) var rejections: [(ref: String, reason: String)] = []
    /// A push updates `ref` only if the remote still has it at `expected` (`nil`: missing),
    /// as last fetched: a branch rewound meanwhile is never fast-forwarded back over.
    var lease: (ref: String, expected: OID?)?
    /// Called when the lease holds, before the pack is sent (``Repository/whilePushing``).
    var whilePushing: (() throws -> Void)?

    init(_ configuration: RemoteConfiguration, operation: String) throws {
        self.configuration = configuration
        self.operation = operation
        endpoint = RemoteEndpoint(url: configuration.url)
        watch = StallWatch(timeout: configuration.stallTimeout, start: .now)
        switch endpoint {
        case .ssh:
            guard let path = configuration.knownHostsFile else {
                throw GitError(.configuration, "the ssh remote '\(configuration.url)' needs a known_hosts file to check its host key", function: "RemoteSession.init")
            }
            knownHosts = try KnownHosts(contentsOf: path)
        case .http(let secure, _):
            if case .token = configuration.authentication, !secure, !endpoint.isLoopback {
                throw GitError(.configuration, "refusing to send a token over plain http to '\(configuration.url)'; use https", function: "RemoteSession.init")
            }
            knownHosts = nil
        case .local:
            knownHosts = nil
        }
    }

    /// Restarts the stall watch (before each network operation of this session).
    func restartWatch() {
        watch = StallWatch(timeout: configuration.stallTimeout, start: .now)
    }

    /// Runs one blocking libgit2 network call (fetch, push, clone) on this thread under an
    /// outer deadline: when nothing arrives for the stall timeout, not even a callback, the
    /// blocked system call is interrupted (``StallInterrupter``) and the call fails as stalled.
    func guarded<T>(_ body: () throws -> T) rethrows -> T {
        let interrupter = StallInterrupter(timeout: configuration.stallTimeout)
        self.interrupter = interrupter
        defer {
            interrupter.stop()
            self.interrupter = nil
            if interrupter.fired, abortReason == nil { abortReason = stalled() }
        }
        return try body()
    }

    /// The error for a failed libgit2 call of this session: the callback's own reason
    /// when a callback aborted (or the outer deadline interrupted it), libgit2's otherwise.
    /// Always clears libgit2's error.
    func error(_ result: Int32, function: String) -> GitError {
        let libgit2 = GitError.last(result, function: function)
        if interrupter?.fired == true, abortReason == nil { abortReason = stalled() }
        if var reason = abortReason {
            reason.function = function
            return reason
        }
        return libgit2
    }

    /// The callbacks for `git_remote_*` options, with `self` as payload. The caller keeps
    /// `self` alive (`withExtendedLifetime`) for as long as libgit2 may call them.
    func callbacks() -> git_remote_callbacks {
        var callbacks = git_remote_callbacks()
        git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
        callbacks.payload = Unmanaged.passUnretained(self).toOpaque()
        callbacks.credentials = { out, url, usernameFromURL, allowed, payload in
            let session = Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
            return session.credentials(out!, usernameFromURL: usernameFromURL.map { String(cString: $0) }, allowed: allowed)
        }
        callbacks.certificate_check = { cert, valid, host, payload in
            let session = Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
            return session.checkCertificate(cert!, valid: valid != 0, host: host.map { String(cString: $0) } ?? "")
        }
        callbacks.transfer_progress = { stats, payload in
            let session = Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
            let s = stats!.pointee
            return session.progress([Int(s.received_bytes), Int(s.received_objects), Int(s.indexed_objects), Int(s.indexed_deltas)])
        }
        callbacks.sideband_progress = { _, length, payload in
            let session = Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
            return session.progress([-1, session.sidebandBytes(adding: Int(length))])
        }
        callbacks.pack_progress = { stage, current, total, payload in
            let session = Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
            return session.progress([-2, Int(stage), Int(current), Int(total)])
        }
        callbacks.push_transfer_progress = { current, total, bytes, payload in
            let session = Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
            return session.progress([-3, Int(current), Int(total), Int(bytes)])
        }
        callbacks.push_negotiation = { updates, count, payload in
            let session = Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
            for index in 0..<count {
                guard let update = updates?[index]?.pointee else { continue }
                if session.checkLease(ref: String(cString: update.dst_refname), current: OID(update.src)) != 0 { return -1 }
            }
            return session.runWhilePushing()
        }
        callbacks.push_update_reference = { ref, status, payload in
            let session = Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
            if let status {
                session.rejections.append((String(cString: ref!), String(cString: status)))
            }
            return 0
        }
        return callbacks
    }

    private func checkLease(ref: String, current: OID) -> Int32 {
        guard let lease, lease.ref == ref else { return 0 }
        let expected = lease.expected ?? OID(git_oid())
        if current == expected { return 0 }
        abortReason = GitError(
            .pushRejected,
            "the remote's \(ref) is at \(current.short), not at \(expected.short) as last fetched (someone pushed or rewrote it meanwhile)",
            function: operation, errorClass: .net)
        return -1
    }

    private func runWhilePushing() -> Int32 {
        do {
            try whilePushing?()
            return 0
        } catch {
            abortReason = error as? GitError ?? GitError(.user, "\(error)", function: operation)
            return -1
        }
    }

    private var sideband = 0
    private func sidebandBytes(adding count: Int) -> Int {
        sideband += count
        return sideband
    }

    private func progress(_ mark: [Int]) -> Int32 {
        let ok = watch.check(mark: mark, now: .now)
        interrupter?.progressed(at: watch.lastProgress)
        if ok { return 0 }
        abortReason = stalled()
        return -1
    }

    private func stalled() -> GitError {
        GitError(.stalled, "\(operation) of '\(configuration.url)' made no progress for \(configuration.stallTimeout); abandoned", function: operation, errorClass: .net)
    }

    private func credentials(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>, usernameFromURL: String?, allowed: UInt32) -> Int32 {
        credentialRequests += 1
        if credentialRequests > 5 {
            abortReason = GitError(.auth, "the remote '\(configuration.url)' refused the configured credentials", function: operation, errorClass: .net)
            return GIT_EAUTH.rawValue
        }
        let sshUser: String = {
            if case .ssh(let user, _, _) = endpoint, let user { return user }
            return usernameFromURL ?? "git"
        }()
        switch configuration.authentication {
        case .none:
            return GIT_PASSTHROUGH.rawValue
        case .sshKey(let privateKey, let publicKey, let passphrase):
            if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
                return git_credential_username_new(out, sshUser)
            }
            guard allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 else { return GIT_PASSTHROUGH.rawValue }
            do {
                let secret = try passphrase?.read()
                return git_credential_ssh_key_new(out, sshUser, publicKey, privateKey, secret)
            } catch {
                abortReason = error as? GitError
                return -1
            }
        case .sshAgent:
            if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
                return git_credential_username_new(out, sshUser)
            }
            guard allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 else { return GIT_PASSTHROUGH.rawValue }
            return git_credential_ssh_key_from_agent(out, sshUser)
        case .token(let secret, let username):
            guard allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 else { return GIT_PASSTHROUGH.rawValue }
            do {
                return git_credential_userpass_plaintext_new(out, username, try secret.read())
            } catch {
                abortReason = error as? GitError
                return -1
            }
        }
    }

    private func checkCertificate(_ cert: UnsafeMutablePointer<git_cert>, valid: Bool, host: String) -> Int32 {
        guard cert.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else {
            // TLS: libgit2 has verified the chain against the system's CA store.
            return valid ? 0 : GIT_PASSTHROUGH.rawValue
        }
        guard case .ssh(_, let configuredHost, let port) = endpoint, let knownHosts else {
            return refuse("an ssh host key was offered for a remote that is not ssh")
        }
        let hostkey = UnsafeMutableRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
        guard hostkey.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, let raw = hostkey.hostkey else {
            return refuse("the ssh host key of \(configuredHost) was not available to check")
        }
        let key = Array(UnsafeRawBufferPointer(start: raw, count: hostkey.hostkey_len))
        let name = host.isEmpty ? configuredHost : host
        switch knownHosts.check(host: name, port: port, key: key) {
        case .trusted:
            return 0
        case .unknownHost:
            return refuse("the host \(Self.display(name, port)) is not in the known_hosts file '\(configuration.knownHostsFile ?? "")'")
        case .mismatch:
            return refuse("the host key of \(Self.display(name, port)) does not match the known_hosts file '\(configuration.knownHostsFile ?? "")'")
        case .revoked:
            return refuse("the host key of \(Self.display(name, port)) is revoked in the known_hosts file '\(configuration.knownHostsFile ?? "")'")
        }
    }

    private static func display(_ host: String, _ port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    private func refuse(_ message: String) -> Int32 {
        abortReason = GitError(.certificate, message, function: operation, errorClass: .ssh)
        return GIT_ECERTIFICATE.rawValue
    }
}
