import Foundation
import Testing
@testable import Git

@Suite struct RemoteUnitTests {
    @Test(arguments: [
        ("ssh://git@example.com/org/repo.git", RemoteEndpoint.ssh(user: "git", host: "example.com", port: 22)),
        ("ssh://root@127.0.0.1:2222/srv/r.git", .ssh(user: "root", host: "127.0.0.1", port: 2222)),
        ("ssh://[::1]:2200/r.git", .ssh(user: nil, host: "::1", port: 2200)),
        ("git@github.com:acme/index-specs.git", .ssh(user: "git", host: "github.com", port: 22)),
        ("https://token@github.com/acme/specs.git", .http(secure: true, host: "github.com")),
        ("http://127.0.0.1:8080/r.git", .http(secure: false, host: "127.0.0.1")),
        ("/srv/git/specs.git", .local),
        ("file:///srv/git/specs.git", .local),
        ("./relative/specs.git", .local),
    ])
    func urlsSelectTheirTransport(url: String, expected: RemoteEndpoint) {
        #expect(RemoteEndpoint(url: url) == expected)
    }

    static let key = Array("ssh-rsa-key-bytes".utf8)
    static let other = Array("another-key-bytes".utf8)

    @Test func knownHostsMatchesHostsPortsPatternsAndRevocations() {
        let b64 = Data(Self.key).base64EncodedString(), otherB64 = Data(Self.other).base64EncodedString()
        let hosts = KnownHosts(text: """
            # comment
            git.example.com,10.0.0.5 ssh-rsa \(b64)
            [127.0.0.1]:2222 ssh-rsa \(b64) a comment
            *.corp.example,!bad.corp.example ssh-rsa \(b64)
            |1|hashed|entry= ssh-rsa \(otherB64)
            @revoked * ssh-rsa \(otherB64)
            @cert-authority *.example ssh-rsa \(otherB64)
            """)
        #expect(hosts.check(host: "git.example.com", port: 22, key: Self.key) == .trusted)
        #expect(hosts.check(host: "10.0.0.5", port: 22, key: Self.key) == .trusted)
        #expect(hosts.check(host: "git.example.com", port: 22, key: Array("x".utf8)) == .mismatch)
        #expect(hosts.check(host: "127.0.0.1", port: 2222, key: Self.key) == .trusted)
        #expect(hosts.check(host: "127.0.0.1", port: 22, key: Self.key) == .unknownHost)
        #expect(hosts.check(host: "a.corp.example", port: 22, key: Self.key) == .trusted)
        #expect(hosts.check(host: "bad.corp.example", port: 22, key: Self.key) == .unknownHost)
        #expect(hosts.check(host: "git.example.com", port: 22, key: Self.other) == .revoked)
        #expect(hosts.check(host: "elsewhere.org", port: 22, key: Self.key) == .unknownHost)
    }

    @Test func aTransferIsAbandonedOnlyAfterTheTimeoutWithoutProgress() {
        let start = ContinuousClock.now
        var watch = StallWatch(timeout: .seconds(10), start: start)
        let verdicts = [(1, 9), (1, 18), (2, 25), (2, 34), (2, 35)].map { mark, second in
            watch.check(mark: [mark, 0], now: start + .seconds(second))
        }
        // 9 s and 18 s: under 10 s since the first progress at 9 s; 25 s: new progress
        // resets the clock; 34 s: 9 s since; 35 s: 10 s without progress, abandoned.
        #expect(verdicts == [true, true, true, true, false])
    }

    @Test func errorsDescribeThemselvesWithCodeAndClass() {
        let error = GitError(.modified, "old reference value does not match", function: "git_reference_create_matching", errorClass: .reference)
        #expect(error.description == "git_reference_create_matching: old reference value does not match [GIT_EMODIFIED, reference]")
        #expect(GitError(.stalled, "no progress", function: "fetch", errorClass: .net).description == "fetch: no progress [stalled, net]")
    }
}
