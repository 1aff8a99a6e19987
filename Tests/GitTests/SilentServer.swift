import Foundation

/// A TCP server on a free loopback port that accepts every connection and then sends
/// nothing, ever: a remote that went silent (a hung proxy, a stuck server).
final class SilentServer {
    let port: Int
    private let process: Child

    init() throws {
        process = try Child("/usr/bin/python3", ["-c", Self.script])
        var line = ""
        var buffer = [UInt8](repeating: 0, count: 64)
        while !line.contains("\n") {
            let count = Glibc.read(process.stdout!, &buffer, buffer.count)
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                process.stop()
                throw Failure("the silent server did not start")
            }
            line += String(decoding: buffer[..<count], as: UTF8.self)
        }
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw Failure("no port: \(line)") }
        self.port = port
    }

    /// Stops the server; safe to call twice.
    func stop() { process.stop() }

    deinit { stop() }

    static let script = """
        import socket
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        print(server.getsockname()[1], flush=True)
        held = []
        while True:
            held.append(server.accept())
        """
}
