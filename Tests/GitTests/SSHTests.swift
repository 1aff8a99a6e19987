import Foundation
import Testing
@testable import Git

@Suite struct SSHTests {
    @Test func cloneAndPushOverSSHWithKeyAuthentication() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let server = try SSHServer(in: scratch)
            defer { server.stop() }
            let remote = RemoteConfiguration(
                url: server.url(fixture.remote),
                authentication: .sshKey(privateKeyFile: server.userKey, publicKeyFile: server.userKey + ".pub"),
                knownHostsFile: server.knownHosts
            )
            let repository = try Repository.openOrClone(at: fixture.controllerPath, remote: remote)
            #expect(try repository.branchTip("main")?.hex == fixture.remoteHead())
            #expect(try read(fixture.controllerPath + "/specs/a.yaml") == "name: a\n")

            let ours = try repository.commit([.write("status/ab/doc1.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "indexops: over ssh", author: controllerSignature)
            try fixture.personPushes("specs/c.yaml", "c\n", message: "people meanwhile")
            let pushed = try repository.push(remote, replaying: ownCommits, retry: RetryPolicy(maxAttempts: 3, initialBackoff: .zero, maxBackoff: .zero))
            #expect(pushed.attempts == 2)
            #expect(pushed.head != ours)
            #expect(try fixture.remoteHead() == pushed.head?.hex)
            #expect(try git("log", "--format=%s", "main", in: fixture.remote) == "indexops: over ssh\npeople meanwhile\npeople: first specs")

            try fixture.personPushes("specs/d.yaml", "d\n", message: "people later")
            let synced = try repository.sync(remote, replaying: ownCommits)
            #expect(synced.outcome == .fastForwarded)
            #expect(synced.head?.hex == (try fixture.remoteHead()))
        }
    }

    @Test func aWrongOrUnknownHostKeyIsRefused() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let server = try SSHServer(in: scratch)
            defer { server.stop() }
            try run("/usr/bin/ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", scratch("impostor")]).check("ssh-keygen")
            let impostor = try read(scratch("impostor.pub")).split(separator: " ").prefix(2).joined(separator: " ")
            let authentication = Authentication.sshKey(privateKeyFile: server.userKey)

            try write(scratch("wrong_hosts"), "[127.0.0.1]:\(server.port) \(impostor)\n")
            let wrong = RemoteConfiguration(url: server.url(fixture.remote), authentication: authentication, knownHostsFile: scratch("wrong_hosts"))
            let mismatch = #expect(throws: GitError.self) { try Repository.clone(wrong, to: fixture.controllerPath) }
            #expect(mismatch?.code == .certificate)
            #expect(mismatch?.function == "git_clone")
            #expect(mismatch?.message == "the host key of [127.0.0.1]:\(server.port) does not match the known_hosts file '\(scratch("wrong_hosts"))'")
            #expect(!FileManager.default.fileExists(atPath: fixture.controllerPath))

            try write(scratch("other_hosts"), "otherhost.example \(impostor)\n[127.0.0.1]:1 \(impostor)\n")
            let unknown = RemoteConfiguration(url: server.url(fixture.remote), authentication: authentication, knownHostsFile: scratch("other_hosts"))
            let notListed = #expect(throws: GitError.self) { try Repository.clone(unknown, to: fixture.controllerPath) }
            #expect(notListed?.code == .certificate)
            #expect(notListed?.message == "the host [127.0.0.1]:\(server.port) is not in the known_hosts file '\(scratch("other_hosts"))'")

            let noKnownHosts = RemoteConfiguration(url: server.url(fixture.remote), authentication: authentication)
            let unconfigured = #expect(throws: GitError.self) { try Repository.clone(noKnownHosts, to: fixture.controllerPath) }
            #expect(unconfigured?.code == .configuration)
            #expect(!FileManager.default.fileExists(atPath: fixture.controllerPath))
        }
    }

    @Test func aRefusedUpdateReportedByTheServerIsARejection() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let server = try SSHServer(in: scratch)
            defer { server.stop() }
            let remote = RemoteConfiguration(url: server.url(fixture.remote), authentication: .sshKey(privateKeyFile: server.userKey), knownHostsFile: server.knownHosts)
            let repository = try Repository.clone(remote, to: fixture.controllerPath)
            let before = try fixture.remoteHead()
            // git_remote_push returns 0 here; only push_update_reference tells.
            try write(fixture.remote + "/hooks/pre-receive", "#!/bin/sh\necho 'frozen' >&2\nexit 1\n")
            chmod(fixture.remote + "/hooks/pre-receive", 0o755)
            _ = try repository.commit([.write("status/ab/doc1.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "ours", author: controllerSignature)
            let error = #expect(throws: GitError.self) {
                try repository.push(remote, replaying: ownCommits, retry: RetryPolicy(maxAttempts: 2, initialBackoff: .zero, maxBackoff: .zero))
            }
            #expect(error?.code == .pushRejected)
            #expect(error?.message == "push of 'main' rejected 2 time(s); last: the remote rejected refs/heads/main: pre-receive hook declined")
            #expect(try fixture.remoteHead() == before)
        }
    }

    @Test func aKeyTheServerDoesNotAcceptFailsAuthentication() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let server = try SSHServer(in: scratch)
            defer { server.stop() }
            try run("/usr/bin/ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", scratch("stranger")]).check("ssh-keygen")
            let remote = RemoteConfiguration(url: server.url(fixture.remote), authentication: .sshKey(privateKeyFile: scratch("stranger")), knownHostsFile: server.knownHosts)
            let error = #expect(throws: GitError.self) { try Repository.clone(remote, to: fixture.controllerPath) }
            #expect(error?.code == .auth)
            #expect(!FileManager.default.fileExists(atPath: fixture.controllerPath))
        }
    }
}

@Suite struct SSHCredentialTests {
    @Test func aKeyFileWithAPassphraseFromAFile() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let server = try SSHServer(in: scratch)
            defer { server.stop() }
            try run("/usr/bin/ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "s3cret phrase", "-f", scratch("locked_key")]).check("ssh-keygen")
            try FileManager.default.removeItem(atPath: server.folder + "/authorized_keys")
            try FileManager.default.copyItem(atPath: scratch("locked_key.pub"), toPath: server.folder + "/authorized_keys")
            try write(scratch("passphrase"), "s3cret phrase\n")
            let remote = RemoteConfiguration(
                url: server.url(fixture.remote),
                authentication: .sshKey(privateKeyFile: scratch("locked_key"), publicKeyFile: scratch("locked_key.pub"), passphrase: .file(scratch("passphrase"))),
                knownHostsFile: server.knownHosts
            )
            let repository = try Repository.clone(remote, to: fixture.controllerPath)
            #expect(try repository.branchTip("main")?.hex == fixture.remoteHead())
        }
    }

    @Test func theKeysOfAnSSHAgent() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let server = try SSHServer(in: scratch)
            defer { server.stop() }
            let socket = scratch("agent.sock")
            let agent = try Child("/usr/bin/ssh-agent", ["-D", "-a", socket])
            defer { agent.stop() }
            // ssh-agent prints its SSH_AUTH_SOCK line once the socket listens.
            var banner = ""
            var buffer = [UInt8](repeating: 0, count: 1024)
            while !banner.contains("SSH_AUTH_SOCK") {
                let count = Glibc.read(agent.stdout!, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw Failure("ssh-agent did not start") }
                banner += String(decoding: buffer[..<count], as: UTF8.self)
            }
            try run("/usr/bin/ssh-add", ["-q", server.userKey], environment: ["SSH_AUTH_SOCK": socket]).check("ssh-add")
            // libssh2 finds the agent through this process's SSH_AUTH_SOCK; no other test uses it.
            setenv("SSH_AUTH_SOCK", socket, 1)
            defer { unsetenv("SSH_AUTH_SOCK") }
            let remote = RemoteConfiguration(url: server.url(fixture.remote), authentication: .sshAgent, knownHostsFile: server.knownHosts)
            let repository = try Repository.clone(remote, to: fixture.controllerPath)
            #expect(try repository.branchTip("main")?.hex == fixture.remoteHead())
        }
    }
}
