import Foundation

/// A Python program serving on a free loopback port; the first line it prints is the port.
/// ``stop()`` ends it: call it in a `defer`.
final class LoopbackServer {
    let port: Int
    private let process: Process

    /// Runs the program `script`.
    convenience init(script: String, arguments: [String] = []) throws {
        try self.init(pythonArguments: ["-c", script] + arguments)
    }

    /// Runs the program in the file `file`.
    convenience init(file: String, arguments: [String] = []) throws {
        try self.init(pythonArguments: [file] + arguments)
    }

    private init(pythonArguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = pythonArguments
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty {
                kill(process.processIdentifier, SIGKILL)
                throw HarnessError("the loopback server did not start")
            }
            line += chunk
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw HarnessError("no port from the loopback server")
        }
        self.port = port
    }

    /// Stops the server; safe to call twice. SIGKILL: children of the test runner inherit
    /// its blocked SIGTERM.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Accepts every connection and never sends a byte: a remote that went silent.
    static func silent() throws -> LoopbackServer {
        try LoopbackServer(script: """
            import socket
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen(16)
            print(server.getsockname()[1], flush=True)
            held = []
            while True:
                held.append(server.accept())
            """)
    }

    /// Serves the bare repositories below `root` over smart http with `git http-backend`
    /// (fetch and push, no authentication), so that the remote's hooks run on a push:
    /// `Tests/Fixtures/git-http-server.py`.
    static func git(root: String) throws -> LoopbackServer {
        try LoopbackServer(file: Harness.packageRoot.appendingPathComponent("Tests/Fixtures/git-http-server.py").path, arguments: [root])
    }
}
