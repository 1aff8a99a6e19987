import Foundation
import Testing
@testable import Git

/// A real `sshd` on a free loopback port, for one test: its own host key, user key,
/// `authorized_keys` and configuration in a temporary folder. `stop()` kills it.
final class SSHServer {
    let folder: String
    let port: Int
    private var process: Child?
    /// The user key the server accepts.
    let userKey: String
    /// A `known_hosts` file that lists the server's real host key.
    let knownHosts: String
    let user: String

    init(in scratch: Scratch) throws {
        folder = scratch("sshd")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        for key in ["host_key", "user_key"] {
            // RSA in PEM form: what Debian's libssh2 (libgcrypt) reads.
            try run("/usr/bin/ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-C", key, "-f", folder + "/" + key]).check("ssh-keygen")
        }
        userKey = folder + "/user_key"
        try FileManager.default.copyItem(atPath: folder + "/user_key.pub", toPath: folder + "/authorized_keys")
        user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "root"
        knownHosts = folder + "/known_hosts"
        let hostKey = try read(folder + "/host_key.pub").split(separator: " ").prefix(2).joined(separator: " ")
        // The free port can be taken by someone else before sshd binds it: then try another.
        var started: (port: Int, sshd: Child)?
        var log = ""
        for _ in 0..<5 where started == nil {
            let port = try freeLoopbackPort()
            try write(folder + "/sshd_config", """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(folder)/host_key
                PidFile none
                AuthorizedKeysFile \(folder)/authorized_keys
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                StrictModes no
                UsePAM no
                PubkeyAcceptedAlgorithms +ssh-rsa
                HostKeyAlgorithms +ssh-rsa

                """)
            let sshd = try Child("/usr/sbin/sshd", ["-D", "-e", "-f", folder + "/sshd_config"])
            // Wait for sshd's own word that it listens; EOF means it exited.
            log = ""
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !log.contains("Server listening on 127.0.0.1 port \(port)") {
                let count = Glibc.read(sshd.stderr!, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                log += String(decoding: buffer[..<count], as: UTF8.self)
            }
            if log.contains("Server listening on 127.0.0.1 port \(port)") {
                started = (port, sshd)
            } else {
                sshd.stop()
                guard log.contains("Bind to port") || log.contains("Cannot bind") else { break }
            }
        }
        guard let (port, sshd) = started else { throw Failure("sshd did not start: \(log)") }
        self.port = port
        process = sshd
        try write(knownHosts, "[127.0.0.1]:\(port) \(hostKey)\n")
        // Keep draining its log so that it never blocks on a full pipe.
        DispatchQueue.global().async { _ = sshd.readAll() }
    }

    func url(_ path: String) -> String { "ssh://\(user)@127.0.0.1:\(port)\(path)" }

    /// Stops sshd (SIGTERM, then waits for it); safe to call twice.
    func stop() { process?.stop() }

    deinit { stop() }
}

/// A loopback port that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw Failure("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

extension Output {
    func check(_ what: String) throws {
        guard status == 0 else { throw Failure("\(what) failed (\(status)): \(stderr)") }
    }
}
