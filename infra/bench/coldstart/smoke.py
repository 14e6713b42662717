#!/usr/bin/env python3
"""Each HTTP Lambda binary answers through the Lambda Runtime API (the test command runs this
through infra/scripts/function-binaries). The handlers are tested in-process; this checks the
binaries themselves, as `infra/scripts/build-functions` built them: their runtime, their
features, their start-up from a Lambda-like environment. Each is started against a loopback
mock of the Runtime API and DynamoDB Local (bench.py's harness) and handed a few requests of
its own routes, in one process: every webhook event is accepted, stage-query finds the leads
they made and answers 404 for an unknown one. Needs AWS_ENDPOINT_URL_DYNAMODB (ddb_start) and
boto3 (moto's venv has it).
"""
import argparse
import os
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
            try:
                _, ok = smoke.rss(name, smoke.requests_for(name, a.requests))
            except RuntimeError as e:
                failed.append(str(e))
                continue
            print(f"{name}: {ok}/{a.requests} answered as expected")
            if ok != a.requests:
                failed.append(f"{name}: {a.requests - ok} unexpected answers (see above)")
    finally:
        if smoke.api:
            smoke.api.stop()
    for failure in failed:
        print(f"FAILED {failure}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
