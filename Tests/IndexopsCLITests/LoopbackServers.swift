import Foundation

/// A Python program serving on a free loopback port; the first line it prints is the port.
/// ``stop()`` ends it: call it in a `defer`.
final class LoopbackServer {
    let port: Int
    private let process: Process

    init(script: String, arguments: [String] = []) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + arguments
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
    /// (fetch and push, no authentication), so that the remote's hooks run on a push.
    static func git(root: String) throws -> LoopbackServer {
        try LoopbackServer(script: #"""
            import http.server, os, subprocess, sys
            root = sys.argv[1]

            class Handler(http.server.BaseHTTPRequestHandler):
                def log_message(self, *args):
                    pass

                def body(self):
                    if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                        data = b""
                        while True:
                            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                            if size == 0:
                                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                    pass
                                return data
                            data += self.rfile.read(size)
                            self.rfile.readline()
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))

                def serve(self):
                    body = self.body()
                    path, _, query = self.path.partition("?")
                    env = {"GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                           "QUERY_STRING": query, "REQUEST_METHOD": self.command,
                           "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                           "REMOTE_USER": "indexops", "REMOTE_ADDR": "127.0.0.1", "GIT_CONFIG_NOSYSTEM": "1",
                           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
                    if self.headers.get("Content-Encoding"):
                        env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
                    out = subprocess.run(["/usr/lib/git-core/git-http-backend"], input=body, env=env,
                                         capture_output=True).stdout
                    head, sep, payload = out.partition(b"\r\n\r\n")
                    if not sep:
                        head, sep, payload = out.partition(b"\n\n")
                    status, headers = 200, []
                    for line in head.decode("latin-1").splitlines():
                        name, _, value = line.partition(":")
                        if name.lower() == "status":
                            status = int(value.strip().split()[0])
                        else:
                            headers.append((name, value.strip()))
                    self.send_response(status)
                    for name, value in headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

                do_GET = do_POST = serve

            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """#, arguments: [root])
    }
}
