internal import CGit2
import Foundation
internal import FaultInjection

/// How often, and how patiently, a rejected push is replayed and retried.
public struct RetryPolicy: Sendable {
    /// Push attempts in all, the first included.
    public var maxAttempts: Int
    /// The wait before the second attempt; it doubles for each further attempt.
    public var initialBackoff: Duration
    /// The longest wait between two attempts.
    public var maxBackoff: Duration

    /// Five attempts, waiting 200 ms, 400 ms, 800 ms, 1.6 s (each jittered down by up to half).
    public init(maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(10)) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The wait after failed attempt `attempt` (1-based), before jitter.
    public func backoff(after attempt: Int) -> Duration {
        var wait = initialBackoff
        for _ in 1..<max(1, attempt) where wait < maxBackoff { wait *= 2 }
        return min(wait, maxBackoff)
    }
}

/// What `push` did.
public struct PushResult: Sendable, Equatable {
    /// The branch head, now also the remote's (unless `pushed` is false and there was
    /// nothing to push).
    public var head: OID?
    /// Whether anything was sent.
    public var pushed: Bool
    /// Push attempts made.
    public var attempts: Int
    /// Local commits re-created on a newer upstream after rejections.
    public var replayedCommits: Int
    /// Rewritten upstreams found while retrying (see ``Repository/sync(_:replaying:)``),
    /// for warnings in the log; the branch moved to each.
    public var rewrites: [UpstreamRewrite] = []
}

extension Repository {
    /// Pushes the local branch to the remote's branch of the same name, never forcing.
    ///
    /// A rejected push (someone pushed meanwhile) is handled by `sync` (fetch, then replay
    /// our commits, which must touch only `own.folder`, onto the new upstream; a rewritten
    /// upstream is taken as it is, with only our own status commits replayed) and tried
    /// again, up to `retry.maxAttempts` with exponential backoff. Rejections are detected
    /// both before sending (libgit2's fast-forward check) and from the remote's answer
    /// (`push_update_reference`: `git_remote_push` returns 0 for a rejected ref). A push
    /// goes ahead only when the remote's branch is still where it was last fetched (a lease,
    /// checked in `push_negotiation`; the server checks the same old id atomically): a branch
    /// rewound since is never fast-forwarded back over what it dropped. A remote on this
    /// machine (a path, `file://`) is pushed to by ``pushLocally(to:ref:head:expected:)``,
    /// which moves its branch by compare-and-swap: libgit2's local transport would move it
    /// over a concurrent pusher's commit. So with any number of concurrent pushers, a push
    /// never drops a commit that another one landed. When the branch moved by a replay, the
    /// work tree needs `publish(to:)`.
    ///
    /// - Throws: `GitError` `.pushRejected` when the last attempt was rejected too;
    ///   `.notReplayable` from `sync`; any network error.
    /// - Parameter takingDeletion: as for ``sync(_:replaying:takingDeletion:)``.
    public func push(
        _ remote: RemoteConfiguration, replaying own: OwnCommits, retry: RetryPolicy = RetryPolicy(), takingDeletion: Bool = false
    ) throws -> PushResult {
        var attempts = 0
        var replayed = 0
        var rewrites: [UpstreamRewrite] = []
        while true {
            guard let local = try branchTip(remote.branch) else {
                return PushResult(head: nil, pushed: false, attempts: attempts, replayedCommits: replayed, rewrites: rewrites)
            }
            if try local == trackingTip(remote) {
                return PushResult(head: local, pushed: attempts > 0, attempts: attempts, replayedCommits: replayed, rewrites: rewrites)
            }
            attempts += 1
            try beforePushAttempt?(attempts)
            do {
                try pushOnce(remote, head: local)
                return PushResult(head: local, pushed: true, attempts: attempts, replayedCommits: replayed, rewrites: rewrites)
            } catch let error as GitError where error.code == .pushRejected || error.code == .nonFastForward {
                guard attempts < retry.maxAttempts else {
                    throw GitError(.pushRejected, "push of '\(remote.branch)' rejected \(attempts) time(s); last: \(error.message)", function: "Repository.push", errorClass: .net)
                }
                let wait = retry.backoff(after: attempts)
                Thread.sleep(forTimeInterval: Double.random(in: 0.5...1.0) * wait.seconds)
                let sync = try sync(remote, replaying: own, takingDeletion: takingDeletion)
                switch sync.outcome {
                case .replayed(let count), .rewritten(replayed: let count): replayed += count
                default: break
                }
                if let rewrite = sync.rewrite { rewrites.append(rewrite) }
            }
        }
    }

    /// One push of `refs/heads/<branch>`; on success the remote-tracking branch is `head`.
    func pushOnce(_ remote: RemoteConfiguration, head: OID) throws {
        let ref = "refs/heads/" + remote.branch
        if let path = LocalRemote.repositoryPath(remote.url) {
            try pushLocally(to: path, ref: ref, head: head, expected: trackingTip(remote))
        } else {
            try pushOverNetwork(remote, ref: ref, head: head)
        }
        try Failpoints.hit(.pushSent) { GitError(.eof, $0, function: "git_remote_push", errorClass: .net) }
        try setReference("refs/remotes/\(remote.remoteName)/\(remote.branch)", to: head, message: "indexops: push")
    }

    /// `git_remote_push` of `ref` (smart HTTP, ssh): the server moves the branch only from
    /// the old id we send, under its lock.
    private func pushOverNetwork(_ remote: RemoteConfiguration, ref: String, head: OID) throws {
        let handle = try remoteHandle(remote)
        let session = try RemoteSession(remote, operation: "push")
        session.lease = (ref, try trackingTip(remote))
        session.whilePushing = whilePushing
        try withRemote(remote, session) {
            var options = git_push_options()
            try call("git_push_options_init") { git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION)) }
            options.callbacks = session.callbacks()
            options.follow_redirects = GIT_REMOTE_REDIRECT_NONE
            try LibGit2.withStrarray(["\(ref):\(ref)"]) { refspecs in
                let result = session.guarded { git_remote_push(handle.pointer, refspecs, &options) }
                if result < 0 { throw session.error(result, function: "git_remote_push") }
            }
        }
        if let rejection = session.rejections.first {
            throw GitError(.pushRejected, "the remote rejected \(rejection.ref): \(rejection.reason)", function: "git_remote_push", errorClass: .net)
        }
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
