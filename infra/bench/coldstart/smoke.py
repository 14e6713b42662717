#!/usr/bin/env python3
"""Each HTTP Lambda binary answers through the Lambda Runtime API (the test command runs this
through infra/scripts/function-binaries). The handlers are tested in-process; this checks the
binaries themselves, as `infra/scripts/build-functions` built them: their runtime, their
features, their start-up from a Lambda-like environment. Each is started against a loopback
mock of the Runtime API and DynamoDB Local (bench.py's harness) and handed a few requests of
its own routes, in one process: every webhook event is accepted, stage-query finds the leads
they made and answers 404 for an unknown one. Their logs, in Lambda's JSON format as deployed,
are checked too (`log_errors`). Needs AWS_ENDPOINT_URL_DYNAMODB (ddb_start) and
boto3 (moto's venv has it).
"""
import argparse
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

# stage-query last: it reads the leads the webhooks made.
FUNCTIONS = ["form-submission", "chatbot-message", "newsletter-click", "stage-query"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="directory of the function binaries")
    p.add_argument("--rules", required=True)
    p.add_argument("--logs", required=True, help="directory for the processes' output")
    p.add_argument("--requests", type=int, default=10, help="per function")
    a = p.parse_args()
    # The bench's own arguments; the peers' (Node modules, report file) are not used here.
    smoke = bench.Bench(bench.parse_args([
        "--bin", a.bin, "--functions", " ".join(FUNCTIONS), "--rules", a.rules,
        "--logs", a.logs, "--invocations", str(a.requests),
        "--node-modules", "", "--python", sys.executable, "--out", os.devnull]))
    failed = []
    try:
        smoke.create_table()
        for name in FUNCTIONS:
            log = os.path.join(a.logs, f"{name}.log")
            seen = os.path.getsize(log) if os.path.exists(log) else 0
            try:
                _, ok = smoke.rss(name, smoke.requests_for(name, a.requests))
            except RuntimeError as e:
                failed.append(str(e))
                continue
            print(f"{name}: {ok}/{a.requests} answered as expected")
            if ok != a.requests:
                failed.append(f"{name}: {a.requests - ok} unexpected answers (see above)")
            with open(log, "rb") as f:
                f.seek(seen)
                failed += [f"{name}: {e}" for e in log_errors(f.read().decode(errors="replace"))]
    finally:
        if smoke.api:
            smoke.api.stop()
    for failure in failed:
        print(f"FAILED {failure}", file=sys.stderr)
    sys.exit(1 if failed else 0)


def log_errors(text):
    """What is wrong with a function's logs, as Lambda's JSON format gets them (bench.py's
    environment): each line a JSON object; each request's lines carrying its request id once
    (the current span, no list of spans repeating it); no email address (the events have
    some)."""
    errors, answered = [], 0
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            errors.append(f"a log line that is not JSON: {line[:200]}")
            continue
        if "spans" in entry:
            errors.append(f"a log line repeats its spans: {line[:200]}")
        if re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", line):
            errors.append(f"an email address in the logs: {line[:200]}")
        if entry.get("message") == "answered":
            answered += 1
            if not entry.get("span", {}).get("requestId"):
                errors.append(f"an answer logged without its request id: {line[:200]}")
    if answered == 0:
        errors.append("no request logged as answered")
    return errors


if __name__ == "__main__":
    main()
