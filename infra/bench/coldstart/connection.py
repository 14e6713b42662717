#!/usr/bin/env python3
"""What a new connection costs DynamoDB Local for form-submission's calls of one new lead's
event: the calls (recorded from one cold start) replayed over a warm connection and over a new
one, interleaved, with a cold start of form-submission beside them. A cold process always opens
a new connection; bench.py's reference is timed from a warm one.

    source infra/scripts/dynamodb-local.sh && ddb_start
    infra/bench/run   # once, for target/bench/bin and the venv (or BENCH_FUNCTIONS=form-submission)
    .cache/bench/venv/bin/python infra/bench/coldstart/connection.py [pairs, default 60]
"""
import os
import statistics
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    b = bench.Bench(bench.by_hand_args("connection-logs"))
    b.create_table()
    _, requests = b.calibrate(["form-submission"])
    fresh = b.renamer(requests)
    warm_conn = b.warm_connection(requests, fresh)
    warm, new, first = [], [], []
    for _ in range(pairs):
        warm.append(b.replayed_ms(requests, fresh, warm_conn))
        conn = b.connection()
        new.append(b.replayed_ms(requests, fresh, conn))
        conn.close()
        first.append(b.cold_start("form-submission")[1])
    b.api.stop()
    for name, values in (("warm connection", warm), ("new connection", new),
                         ("form-submission first response", first)):
        print(f"{name}: median {statistics.median(values):.2f} ms "
              f"({min(values):.2f}-{max(values):.2f}), {pairs} interleaved")


if __name__ == "__main__":
    main()
