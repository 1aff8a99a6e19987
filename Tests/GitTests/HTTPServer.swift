import Foundation
@testable import Git

/// `git http-backend` behind a small Python HTTP server on a free loopback port that
/// demands HTTP basic authentication with one token (user `x-access-token`).
/// Plain http on loopback stands in for https: the token path is the same in libgit2.
final class HTTPServer {
    let port: Int
    private let process: Child

    /// With `stallFetches`, a fetch's answer starts, then only empty progress packets
    /// follow (every 50 ms, until the client hangs up): a server that is alive but makes
    /// no progress.
    init(root: String, token: String, scratch: Scratch, stallFetches: Bool = false) throws {
        let script = scratch("http_backend.py")
        try write(script, Self.script)
        process = try Child("/usr/bin/python3", [script, root, token, stallFetches ? "stall" : "serve"])
        var line = ""
        var buffer = [UInt8](repeating: 0, count: 64)
        while !line.contains("\n") {
            let count = Glibc.read(process.stdout!, &buffer, buffer.count)
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                process.stop()
                throw Failure("the http server did not start: \(String(decoding: process.readAll().stderr, as: UTF8.self))")
            }
            line += String(decoding: buffer[..<count], as: UTF8.self)
        }
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw Failure("no port from the http server: \(line)") }
        self.port = port
        let child = process
        DispatchQueue.global().async { _ = child.readAll() }
    }

    func url(_ repository: String) -> String { "http://127.0.0.1:\(port)/\(repository)" }

    /// Stops the server; safe to call twice.
    func stop() { process.stop() }

    deinit { stop() }

    static let script = #"""
    import base64, http.server, os, subprocess, sys, time
    root, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    expected = "Basic " + base64.b64encode(("x-access-token:" + token).encode()).decode()

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
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            if mode == "stall" and self.command == "POST" and path.endswith("/git-upload-pack"):
                self.send_response(200)
                self.send_header("Content-Type", "application/x-git-upload-pack-result")
                self.end_headers()
                try:
                    self.wfile.write(b"0008NAK\n")
                    while True:
                        self.wfile.write(b"0005\x02")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    return
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
    """#
}
