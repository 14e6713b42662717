#!/usr/bin/env python3
"""Cold start, size and memory of the Lambda functions against a bare runtime and the Node.js
and Python peers (issue 14). Run by infra/bench/run, which builds the binaries, installs the
peers' SDKs and starts DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB); see its header.

Phases, all in this one run:
1. calibration: one cold start of form-submission and of each peer through a recording proxy
   in front of DynamoDB Local: which calls each makes for a new lead's event;
2. cold starts, interleaved round by round (the order rotates): exec -> first `next` (init),
   exec -> first response; each answer checked (200 and accepted 1; the echo returns its
   event), a failed start stops the run. After each round, the calls form-submission made are
   replayed against DynamoDB Local from a warm connection (fresh keys): what the database
   itself takes;
3. the mock's own round trip, from a warm client;
4. sizes (each binary zipped alone as `bootstrap`, zip -9) and peak RSS after N invocations
   in one process (VmHWM, read while the process waits for the next event; not ru_maxrss,
   which keeps this fork's parent's size across exec).

form-submission and the functions it shares leads with (stage-query reads them) use one
table; each peer its own (their items are alike, not the same JSON), each with its own leads.
"""
import argparse
import base64
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import boto3

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import events as ev  # noqa: E402
import lambda_mock  # noqa: E402
import report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))  # the repository
STALL_S = 20  # a start that has not answered by then is stuck (none takes a second here)
WEBHOOK_FUNCTIONS = {"form-submission": "forms", "chatbot-message": "chatbot",
                     "newsletter-click": "email"}
RSS_KINDS = {"chatbot": ["chatbot_question", "demo_requested", "content_downloaded"],
             "email": ["email_opened", "email_clicked", "newsletter_subscribed", "unsubscribed"]}


def parse_args(argv=None):
    """The bench's arguments, from the command line or `argv` (smoke.py)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="directory of the release binaries")
    p.add_argument("--functions", default="form-submission chatbot-message newsletter-click stage-query")
    p.add_argument("--node-modules", required=True)
    p.add_argument("--python", required=True, help="the peer's Python (a venv with boto3)")
    p.add_argument("--rules", required=True)
    p.add_argument("--rounds", type=int, default=120)
    p.add_argument("--invocations", type=int, default=200)
    p.add_argument("--out", required=True, help="markdown report file")
    p.add_argument("--logs", required=True, help="directory for the processes' output")
    p.add_argument("--command", default="infra/bench/run")
    p.add_argument("--profile", default="release")
    p.add_argument("--sam", default="not measured", help="what the sam build phase found")
    return p.parse_args(argv)


def by_hand_args(logs):
    """The arguments of a script of this folder run by hand on form-submission alone
    (connection.py, starts.py), from what infra/bench/run left: target/bench/bin and the
    peers' modules; this Python (the bench's venv) as the Python peer's."""
    return parse_args([
        "--bin", os.path.join(ROOT, "target/bench/bin"), "--functions", "form-submission",
        "--node-modules", os.path.join(ROOT, ".cache/bench/node/node_modules"),
        "--python", sys.executable, "--rules", os.path.join(ROOT, "infra/rules.toml"),
        "--out", os.devnull, "--logs", os.path.join(ROOT, "target/bench", logs)])


class Bench:
    def __init__(self, args):
        self.args = args
        self.endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
        self.tag = f"{int(time.time())}{random.randrange(1000):03d}"
        self.tables = {"rust": f"bench-{self.tag}", "node": f"bench-{self.tag}-node",
                       "python": f"bench-{self.tag}-python"}
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.lead_key = secrets.token_hex(24)
        self.api_key = secrets.token_hex(16)
        # Who knows which leads: the Rust functions, each peer, and the echo (writes nothing).
        self.pools = {side: ev.Leads(f"{self.tag}{side[0]}") for side in ("rust", "node", "python", "echo")}
        self.api = None  # the Runtime API of the process running now
        self.stalls = []  # starts that never answered (none counted in the medians)
        self.rules = json.dumps(ev.peer_rules(args.rules), separators=(",", ":"))
        os.makedirs(args.logs, exist_ok=True)
        self.contenders = {
            "echo": [os.path.join(args.bin, "bench-echo")],
            "form-submission": [os.path.join(args.bin, "form-submission")],
            "node": ["node", os.path.join(HERE, "peer.js")],
            "python": [args.python, os.path.join(HERE, "peer.py")],
        }

    # ---- processes ------------------------------------------------------------------------
    def env(self, name, endpoint=None):
        """A Lambda-like environment: nothing inherited from this shell (no HOME, no profile)."""
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            # As template.yaml deploys the functions (LoggingConfig: LogFormat JSON).
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_REGION", "us-east-1"),
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
            "AWS_SESSION_TOKEN": "bench",
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint or self.endpoint,
            "LEADSCORE_TABLE": self.tables.get(side(name), "none"), "LEADSCORE_SECRET_JSON": self.secret,
            "LEADSCORE_LEAD_ID_KEY": self.lead_key, "LEADSCORE_API_KEYS": f"bench:read:{self.api_key}",
            "NODE_PATH": self.args.node_modules, "BENCH_RULES": self.rules,
        }

    def spawn(self, name, session, endpoint=None):
        """Starts `name` against `session`; returns (process, exec time in ns)."""
        self.api = lambda_mock.RuntimeApi(session)
        log = open(os.path.join(self.args.logs, f"{name}.log"), "ab")
        cmd = self.contenders.get(name) or [os.path.join(self.args.bin, name)]
        start = time.perf_counter_ns()
        proc = subprocess.Popen(cmd, env=self.env(name, endpoint), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return proc, start

    def wait_for(self, proc, session, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if session.wait(lambda s: predicate(s) or s.errors, 0.2):
                return not session.errors and predicate(session)
            if proc.poll() is not None:
                return session.wait(predicate, 0.2)
        return False

    def stop(self, proc, session):
        proc.kill()
        proc.wait()
        self.api.stop()

    def failure(self, name, session, what, sockets=""):
        log = os.path.join(self.args.logs, f"{name}.log")
        tail = open(log, errors="replace").read()[-1500:] if os.path.exists(log) else ""
        errors = "; ".join(f"{p}: {b[:300]}" for p, b in session.errors)
        state = (f"asked for an event: {'yes' if session.first_next_ns else 'no'}, events handed: "
                 f"{session.handed}, responses: {len(session.responses)}")
        return RuntimeError(f"{name}: {what} ({state}). Runtime API errors: {errors or 'none'}\n"
                            f"{sockets}last output ({log}):\n{tail}")

    # ---- one cold start ---------------------------------------------------------------------
    def cold_start(self, name, endpoint=None, retries=2):
        """(init, first response) in ms. A start that never answers is counted in
        `self.stalls` and done again with a new event, at most `retries` times."""
        event = ev.json_webhook(self.secret, "forms", self.pools[side(name)].first_event())
        session = lambda_mock.Session([event])
        proc, start = self.spawn(name, session, endpoint)
        answered = self.wait_for(proc, session, lambda s: s.responses, STALL_S)
        sockets = "" if answered else open_sockets(proc.pid)
        self.stop(proc, session)
        if not answered:
            failure = self.failure(name, session, f"no response within {STALL_S} s", sockets)
            self.stalls.append(" ".join(str(failure).split("\nlast output")[0].split()))
            print(f"  {self.stalls[-1]}", file=sys.stderr)
            if retries > 0 and session.errors == [] and session.first_next_ns:
                return self.cold_start(name, endpoint, retries - 1)
            raise failure
        at, _, body = session.responses[0]
        if not accepted(name, event, body):
            raise self.failure(name, session, f"wrong answer {json.dumps(body)[:400]}")
        return (session.first_next_ns - start) / 1e6, (at - start) / 1e6

    # ---- phases -----------------------------------------------------------------------------
    def create_table(self):
        with open(os.path.join(os.path.dirname(self.args.rules), "dynamodb", "table.json")) as f:
            definition = json.load(f)
        ttl = definition.pop("TimeToLiveSpecification", None)
        client = boto3.client("dynamodb", endpoint_url=self.endpoint,
                              region_name=os.environ.get("AWS_REGION", "us-east-1"))
        for table in self.tables.values():
            client.create_table(TableName=table, **definition)
        for table in self.tables.values():
            client.get_waiter("table_exists").wait(TableName=table,
                                                   WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
            if ttl:
                client.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)

    def calibrate(self, names=("form-submission", "node", "python")):
        """Which DynamoDB calls each handler makes for one new lead's event, and
        form-submission's requests (to replay)."""
        calls, recorded = {}, None
        for name in names:
            proxy = lambda_mock.RecordingProxy(self.endpoint)
            self.cold_start(name, proxy.endpoint)
            proxy.stop()
            calls[name] = proxy.operations()
            if name == "form-submission":
                recorded = proxy.requests
        return calls, recorded

    def renamer(self, requests):
        """A maker of renamings: fresh lead and event ids for one replay of form-submission's
        calls (a new lead each time, as in the cold starts)."""
        bodies = " ".join(r["body"] for r in requests)
        lead = re.search(r"ld_[0-9a-f]{32}", bodies).group(0)
        event = re.search(r"evt_[0-9a-z]+_[0-9]+", bodies).group(0)

        def fresh():
            new_lead, new_event = "ld_" + uuid.uuid4().hex, f"{event}r{uuid.uuid4().hex[:8]}"

            def rename(body):
                body = body.replace(lead, new_lead).replace(event, new_event)
                # The SDK's idempotency token of TransactWriteItems: reused, a 400.
                return re.sub(r'"ClientRequestToken":"[^"]*"',
                              f'"ClientRequestToken":"{uuid.uuid4()}"', body)
            return rename
        return fresh

    def connection(self):
        host, port = self.endpoint.removeprefix("http://").split(":")
        return http.client.HTTPConnection(host, int(port))

    def replayed_ms(self, requests, fresh, conn):
        """Milliseconds DynamoDB Local takes for `requests` (fresh keys) over `conn`; any
        answer but 200 stops the run (an error is no measure of the database)."""
        seconds, statuses = lambda_mock.replay(self.endpoint, requests, fresh(), conn)
        if any(s != 200 for s in statuses):
            raise RuntimeError(f"replaying form-submission's calls answered {statuses}")
        return seconds * 1000

    def warm_connection(self, requests, fresh):
        """A connection after 100 replays: the connection and the database's JIT warm (with 5
        replays, DynamoDB Local was still speeding up over the timed rounds: 35 ms then 15 ms
        for the same event)."""
        conn = self.connection()
        for _ in range(100):
            self.replayed_ms(requests, fresh, conn)
        return conn

    def cold_starts(self, requests):
        names = list(self.contenders)
        times = {n: {"init": [], "first": []} for n in names}
        fresh = self.renamer(requests)
        ddb = []
        conn = self.warm_connection(requests, fresh)
        for _ in range(3):  # untimed starts: binaries and modules in the page cache
            for name in names:
                self.cold_start(name)
        for r in range(self.args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                init, first = self.cold_start(name)
                times[name]["init"].append(init)
                times[name]["first"].append(first)
            ddb.append(self.replayed_ms(requests, fresh, conn))
            print(f"  round {r + 1}/{self.args.rounds}: " + ", ".join(
                f"{n} {times[n]['first'][-1]:.1f}" for n in names) + f" ms; DynamoDB {ddb[-1]:.1f} ms",
                file=sys.stderr)
        return times, ddb

    def mock_overhead(self):
        """Median of one `next` plus one response from a warm Python client (an upper bound:
        the client's own time is in it)."""
        n = 300
        session = lambda_mock.Session([{"n": i} for i in range(n)])
        self.api = lambda_mock.RuntimeApi(session)
        client = (
            "import http.client,json,sys,time\n"
            f"c=http.client.HTTPConnection('{self.api.address}');t=[]\n"
            f"for i in range({n}):\n"
            " s=time.perf_counter();c.request('GET','/2018-06-01/runtime/invocation/next')\n"
            " r=c.getresponse();rid=r.getheader('Lambda-Runtime-Aws-Request-Id');r.read()\n"
            " c.request('POST',f'/2018-06-01/runtime/invocation/{rid}/response','{}');c.getresponse().read()\n"
            " t.append(time.perf_counter()-s)\n"
            "t.sort();print(t[len(t)//2]*1000)\n")
        out = subprocess.run([sys.executable, "-c", client], capture_output=True, text=True, timeout=60)
        self.api.stop()
        return float(out.stdout.strip())

    def sizes(self):
        out = {}
        for name in ["bench-echo"] + self.args.functions.split():
            binary = os.path.join(self.args.bin, name)
            with tempfile.TemporaryDirectory() as tmp:
                shutil.copy(binary, os.path.join(tmp, "bootstrap"))
                subprocess.run(["zip", "-9", "-q", "-X", "bootstrap.zip", "bootstrap"], cwd=tmp, check=True)
                out[name] = (os.path.getsize(binary), os.path.getsize(os.path.join(tmp, "bootstrap.zip")))
        return out

    def rss(self, name, requests):
        """Peak RSS in KB after len(requests) invocations, and how many answers were right."""
        session = lambda_mock.Session(requests)
        proc, _ = self.spawn(name, session)
        done = self.wait_for(proc, session, lambda s: s.parked, 600)
        hwm = vm_hwm(proc.pid) if done else 0
        self.stop(proc, session)
        if not done:
            raise self.failure(name, session, f"stopped after {len(session.responses)} of {len(requests)}")
        wrong = [body for (_, _, body), req in zip(session.responses, requests)
                 if not answered_ok(name, req, body)]
        if wrong:
            print(f"  {name}: {len(wrong)} unexpected answers, the first: {json.dumps(wrong[0])[:300]}",
                  file=sys.stderr)
        ok = len(requests) - len(wrong)
        return hwm, ok

    def requests_for(self, name, n):
        """`n` requests of `name`'s own routes: distinct events of its channel (one in five
        for a new lead), or for stage-query reads of the leads made so far."""
        if name == "stage-query":
            return ev.lead_reads(self.pools["rust"].emails, self.api_key, n, random.Random(self.tag))
        channel = WEBHOOK_FUNCTIONS.get(name, "forms")
        events = self.pools[side(name)].mixed(n, RSS_KINDS.get(channel, ev.KINDS))
        return [ev.json_webhook(self.secret, channel, e) for e in events]

    def memory(self):
        n = self.args.invocations
        out = {}
        for name in self.args.functions.split() + ["echo", "node", "python"]:
            out[name] = self.rss(name, self.requests_for(name, n))
            print(f"  {name}: peak RSS {out[name][0] / 1024:.1f} MB, {out[name][1]}/{n} answers as expected",
                  file=sys.stderr)
        return out


def open_sockets(pid):
    """The process's TCP connections (`ss`), to tell which side a stalled start waits for."""
    try:
        out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return ""
    lines = [l for l in out.splitlines() if f"pid={pid}," in l]
    return "connections: " + " | ".join(" ".join(l.split()[:5]) for l in lines) + "\n"


def side(name):
    """Whose table and leads a contender uses."""
    return name if name in ("node", "python", "echo") else "rust"


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def body_of(answer):
    try:
        return answer.get("statusCode"), json.loads(answer.get("body") or "null")
    except (AttributeError, ValueError):
        return None, None


def accepted(name, event, answer):
    """The cold start's answer: the echo returns its event; the others accept the new lead."""
    if name == "echo":
        return answer == event
    status, body = body_of(answer)
    return status == 200 and isinstance(body, dict) and body.get("accepted") == 1


def answered_ok(name, request, answer):
    """An answer of the memory run: webhooks accept their distinct event; stage-query finds
    the run's leads and not the unknown ones."""
    if name == "echo":
        return answer == request
    status, body = body_of(answer)
    if name == "stage-query":
        return status == (404 if "nobody-" in request["rawPath"] else 200)
    return status == 200 and isinstance(body, dict) and body.get("accepted") == 1


def main():
    args = parse_args()
    bench = Bench(args)
    try:
        bench.create_table()
        print("calibration: the DynamoDB calls of one new lead's event", file=sys.stderr)
        calls, requests = bench.calibrate()
        print(f"cold starts: {args.rounds} interleaved rounds", file=sys.stderr)
        times, ddb = bench.cold_starts(requests)
        mock = bench.mock_overhead()
        sizes = bench.sizes()
        print(f"memory: {args.invocations} invocations per process", file=sys.stderr)
        memory = bench.memory()
    finally:
        if bench.api:
            bench.api.stop()
    text = report.markdown(args=args, times=times, ddb=ddb, calls=calls, mock=mock,
                           sizes=sizes, memory=memory, stalls=bench.stalls)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
