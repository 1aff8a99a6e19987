"""Smart-http git remote for the tests: `git http-backend` behind a small threaded HTTP
server on a free loopback port. Plain http on loopback stands in for https (the credential
path in libgit2 is the same).

    python3 git-http-server.py ROOT [TOKEN [MODE]]

ROOT holds the bare repositories, served at /<name>.git (fetch and push; the remote's hooks
run on a push). With a TOKEN, every request must carry HTTP basic authentication as user
`x-access-token` with that token (an empty TOKEN: none). MODE `stall`: a fetch's answer
starts, then only empty progress packets follow every 50 ms until the client hangs up, a
server alive but making no progress. The first line printed is the port.
"""
import base64, http.server, os, subprocess, sys, time

root = sys.argv[1]
token = sys.argv[2] if len(sys.argv) > 2 else ""
mode = sys.argv[3] if len(sys.argv) > 3 else "serve"
expected = "Basic " + base64.b64encode(("x-access-token:" + token).encode()).decode() if token else None


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

    def stall(self):
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

    def serve(self):
        body = self.body()
        if expected is not None and self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        if mode == "stall" and self.command == "POST" and path.endswith("/git-upload-pack"):
            return self.stall()
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
