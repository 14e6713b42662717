#!/usr/bin/env python3
"""Cold starts of one or more builds of form-submission side by side, interleaved, each a new
lead's signed json form event as in bench.py (checked: 200 and accepted 1): the median init
and first response of each build, and the CPU time and minor page faults of its process by the
time it waits for the next event (/proc: schedstat and stat, steadier than wall times, which
carry DynamoDB Local's). To compare two builds, or to profile one:

    source infra/scripts/dynamodb-local.sh && ddb_start
    infra/bench/run   # once, for the venv (or BENCH_FUNCTIONS=form-submission)
    .cache/bench/venv/bin/python infra/bench/coldstart/starts.py 40 path/to/a path/to/b
    perf record --call-graph dwarf,16384 -F 10000 -- \
        .cache/bench/venv/bin/python infra/bench/coldstart/starts.py 45 path/to/a

A build may carry environment variables over bench.py's, after a `#`:
`path/to/a#AWS_LAMBDA_LOG_FORMAT=Text` (the same binary, logging text). Five untimed starts
of each build come first (binaries in the page cache, DynamoDB Local's JIT warm).
"""
import os
import statistics
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds, builds = int(sys.argv[1]), sys.argv[2:]
    b = bench.Bench(bench.by_hand_args("starts-logs"))
    b.create_table()

    spent = []  # (CPU ms, minor faults) of the last start, read just before its kill
    stop = b.stop

    def stop_after_reading(proc, session):
        spent.append(cpu_and_faults(proc.pid))
        stop(proc, session)
    b.stop = stop_after_reading

    env = b.env

    def start(build):
        path, *pairs = build.split("#")
        extra = dict(pair.split("=", 1) for pair in pairs)
        b.env = lambda name, endpoint=None: {**env(name, endpoint), **extra}
        b.contenders["form-submission"] = [os.path.abspath(path)]
        init, first = b.cold_start("form-submission")
        return init, first, *spent[-1]

    try:
        for _ in range(5):
            for build in builds:
                start(build)
        times = {build: [] for build in builds}
        for r in range(rounds):
            for build in builds[r % len(builds):] + builds[:r % len(builds)]:
                times[build].append(start(build))
    finally:
        if b.api:
            b.api.stop()
    for build in builds:
        init, first, cpu, faults = (statistics.median(t[i] for t in times[build]) for i in range(4))
        print(f"{build}: init {init:.2f} ms, first response {first:.2f} ms, CPU {cpu:.2f} ms, "
              f"{faults:.0f} minor faults (medians of {rounds}, interleaved)")


def cpu_and_faults(pid):
    """CPU ms of all the process's threads (schedstat, ns) and its minor page faults."""
    task = f"/proc/{pid}/task"
    ns = sum(int(open(f"{task}/{t}/schedstat").read().split()[0]) for t in os.listdir(task))
    # Field 10 of stat, counted after the command name's closing parenthesis.
    faults = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[7])
    return ns / 1e6, faults


if __name__ == "__main__":
    main()
