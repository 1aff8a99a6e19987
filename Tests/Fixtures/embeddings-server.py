#!/usr/bin/env python3
"""A deterministic OpenAI-compatible embeddings endpoint for indexops's tests.

Serves POST /<mode>/v1/embeddings on 127.0.0.1 at a free port, which it prints on the
first line of stdout; exits when stdin closes (the test that started it ended).

Vectors: the words of each input counted into `dims` slots; the words of a concept
(car, automobile, vehicle...) share one slot, so synonyms come out similar: a semantic
model in miniature. Any other word goes to a slot chosen by SHA-256 of the word.

Modes (the first path segment):
  ok               the vectors
  ratelimit        429 with Retry-After: 1 on the first request of the mode, then ok
  ratelimit-long   always 429 with Retry-After: 3600
  ratelimit-bare   always 429 without Retry-After
  error            500 whose message echoes the Authorization header (a careless server)
  slow             answers after 30 s
  short            vectors one dimension short
  garbage          200 with a body that is not JSON
A model other than "test-embed" is answered 404 model_not_found, as OpenAI does.
GET /log returns every request so far: [{"path", "inputs", "authorization"}].
"""
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIMS = int(sys.argv[1]) if len(sys.argv) > 1 else 16
MODEL = "test-embed"
CONCEPTS = [
    {"car", "cars", "automobile", "automobiles", "vehicle", "vehicles"},
    {"cat", "cats", "kitten", "kittens", "feline"},
    {"git", "repository", "commit", "branch"},
    {"bread", "bakery", "baking", "dough"},
]
log = []
seen = {}
lock = threading.Lock()


def vector(text, dims):
    v = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        for i, concept in enumerate(CONCEPTS):
            if word in concept:
                v[i] += 1.0
                break
        else:
            h = int(hashlib.sha256(word.encode()).hexdigest(), 16)
            v[len(CONCEPTS) + h % (dims - len(CONCEPTS))] += 0.25
    return v


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(200, log)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length))
        inputs = request.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        mode = self.path.strip("/").split("/")[0]
        auth = self.headers.get("Authorization")
        with lock:
            log.append({"path": self.path, "inputs": inputs, "authorization": auth})
            count = seen[mode] = seen.get(mode, 0) + 1
        if request.get("model") != MODEL:
            return self.reply(404, {"error": {
                "message": "The model `%s` does not exist or you do not have access to it." % request.get("model"),
                "type": "invalid_request_error", "param": None, "code": "model_not_found"}})
        if mode == "ratelimit" and count == 1 or mode == "ratelimit-long":
            return self.reply(429, {"error": {"message": "Rate limit reached"}},
                              [("Retry-After", "1" if mode == "ratelimit" else "3600")])
        if mode == "ratelimit-bare":
            return self.reply(429, {"error": {"message": "Rate limit reached"}})
        if mode == "error":
            return self.reply(500, {"error": {"message": "internal error handling %s\nsorry" % auth}})
        if mode == "slow":
            time.sleep(30)
        if mode == "garbage":
            return self.reply(200, b"<html>not json</html>")
        dims = DIMS - 1 if mode == "short" else DIMS
        data = [{"object": "embedding", "index": i, "embedding": vector(text, DIMS)[:dims]}
                for i, text in enumerate(inputs)]
        self.reply(200, {"object": "list", "data": list(reversed(data)), "model": MODEL,
                         "usage": {"prompt_tokens": 0, "total_tokens": 0}})


def watch_stdin():
    sys.stdin.read()
    os._exit(0)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=watch_stdin, daemon=True).start()
print(server.server_address[1], flush=True)
server.serve_forever()
