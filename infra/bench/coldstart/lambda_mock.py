"""Loopback stand-ins for what AWS runs around a function (infra/bench/run, issue 14).

- `RuntimeApi`: the Lambda Runtime API (2018-06-01): `GET .../invocation/next` hands out the
  session's events one at a time, `POST .../{id}/response` and `.../{id}/error` take the
  answers, `POST .../init/error` records a failed start. It notes when each request arrived
  (`time.perf_counter_ns`, the clock the orchestrator reads just before exec).
- `RecordingProxy`: an HTTP proxy in front of DynamoDB Local that keeps every request (the
  operation, headers and body): which calls a function makes for one event, and the requests
  `replay` times from a warm connection.
"""
import http.client
import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class Session:
    """One process's invocations: the events to hand out and what came back."""

    def __init__(self, events):
        self.events = list(events)  # API Gateway event documents (dicts)
        self.handed = 0
        self.first_next_ns = None
        self.responses = []  # (perf_counter_ns, request id, parsed body or None)
        self.errors = []  # (path, body text)
        self.parked = False  # a `next` is held after the last event: the process is idle
        self.changed = threading.Condition()
        self.closed = False

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return predicate(self)
                self.changed.wait(left)
            return True

    def close(self):
        with self.changed:
            self.closed = True
            self.changed.notify_all()


class _RuntimeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint

    def setup(self):
        super().setup()
        # One write per answer and no Nagle: otherwise delayed ACKs add 40 ms here and there.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", headers=()):
        head = [f"HTTP/1.1 {status} {'OK' if status < 300 else 'Not Found'}"]
        head += [f"{name}: {value}" for name, value in headers]
        head.append(f"Content-Length: {len(body)}\r\n\r\n")
        self.wfile.write("\r\n".join(head).encode() + body)

    def do_GET(self):
        now = time.perf_counter_ns()
        if self.path != f"{PREFIX}/invocation/next":
            return self._reply(404)
        session = self.server.api.session
        with session.changed:
            if session.first_next_ns is None:
                session.first_next_ns = now
                session.changed.notify_all()
            # The next event once the previous one is answered; after the last, hold the
            # request (a real runtime waits here) until the process is stopped.
            while not session.closed and (
                session.handed >= len(session.events) or len(session.responses) < session.handed
            ):
                if session.handed >= len(session.events) and not session.parked:
                    session.parked = True
                    session.changed.notify_all()
                session.changed.wait()
            if session.closed:
                return
            event = session.events[session.handed]
            session.handed += 1
            request_id = f"req-{session.handed:04d}"
        body = json.dumps(event).encode()
        deadline = str(int(time.time() * 1000) + 30_000)
        self._reply(200, body, [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", request_id),
            ("Lambda-Runtime-Deadline-Ms", deadline),
            ("Lambda-Runtime-Invoked-Function-Arn",
             "arn:aws:lambda:us-east-1:123456789012:function:bench"),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
        ])

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.perf_counter_ns()
        session = self.server.api.session
        parts = self.path[len(PREFIX):].strip("/").split("/")
        if parts[:1] == ["invocation"] and len(parts) == 3 and parts[2] == "response":
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            with session.changed:
                session.responses.append((now, parts[1], parsed))
                session.changed.notify_all()
        else:  # invocation/{id}/error or init/error
            with session.changed:
                session.errors.append((self.path, body.decode(errors="replace")))
                session.changed.notify_all()
        self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        pass  # a process killed mid-request: expected, each run ends that way


class RuntimeApi:
    """The mock endpoint for one process's session, on a port of its own: a killed process's
    last request, still unread in a socket, can never take the next process's event."""

    def __init__(self, session):
        self.server = _Server(("127.0.0.1", 0), _RuntimeHandler)
        self.server.api = self
        self.session = session
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        self.session.close()
        self.server.shutdown()
        self.server.server_close()


class _ProxyHandler(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        proxy = self.server.proxy
        upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port)
        while True:
            line = self.rfile.readline()
            if not line or not line.strip():
                return
            method, path, _ = line.decode().split(" ", 2)
            headers = []
            while True:
                h = self.rfile.readline().decode()
                if h in ("\r\n", "\n", ""):
                    break
                name, value = h.split(":", 1)
                headers.append((name.strip(), value.strip()))
            length = int(next((v for n, v in headers if n.lower() == "content-length"), 0))
            body = self.rfile.read(length)
            proxy.requests.append({"method": method, "path": path, "headers": headers,
                                   "body": body.decode()})
            upstream.request(method, path, body, dict(headers))
            answer = upstream.getresponse()
            data = answer.read()
            out = [f"HTTP/1.1 {answer.status} {answer.reason}\r\n"]
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                    out.append(f"{name}: {value}\r\n")
            out.append(f"Content-Length: {len(data)}\r\n\r\n")
            self.wfile.write("".join(out).encode() + data)
            self.wfile.flush()


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class RecordingProxy:
    def __init__(self, upstream):
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream_host, self.upstream_port = host, int(port)
        self.requests = []
        self.server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self.server.proxy = self
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def operations(self):
        return [target_of(r).split(".")[-1] for r in self.requests]

    def stop(self):
        self.server.shutdown()


def target_of(request):
    return next((v for n, v in request["headers"] if n.lower() == "x-amz-target"), "?")


def replay(endpoint, requests, rename, connection=None):
    """Sends `requests` again over one kept-alive connection, each body passed through
    `rename` (fresh keys, so that a new lead stays new); returns (seconds, statuses)."""
    host, port = endpoint.removeprefix("http://").split(":")
    conn = connection or http.client.HTTPConnection(host, int(port))
    statuses = []
    start = time.perf_counter()
    for r in requests:
        body = rename(r["body"]).encode()
        headers = {n: v for n, v in r["headers"] if n.lower() != "content-length"}
        headers["Content-Length"] = str(len(body))
        conn.request(r["method"], r["path"], body, headers)
        answer = conn.getresponse()
        answer.read()
        statuses.append(answer.status)
    return time.perf_counter() - start, statuses
