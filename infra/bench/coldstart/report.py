"""The markdown infra/bench/run prints and writes to target/bench/coldstart.md: ratios
measured in one run, absolute medians, and issue 14's goals with pass/fail."""
import json
import os
import platform
import random
import statistics
import subprocess
import time

MB = 1024 * 1024  # sizes and memory in MiB, written MB
LABELS = {
    "echo": "bare Rust `lambda_runtime` echo",
    "form-submission": "`form-submission` (release)",
    "node": "Node.js 20 + AWS SDK v3 (unbundled)",
    "python": "Python 3.11 + boto3",
}


def median(values):
    return statistics.median(values)


def interval(statistic, *samples, resamples=2000, seed=14):
    """A 90% bootstrap interval of `statistic` over medians of `samples`: each sample
    resampled with replacement (a fixed seed: the same data gives the same interval). One
    start of a process moves by several ms here, so a median of a few dozen still moves; the
    interval says whether a pass or a fail is within that."""
    rng = random.Random(seed)
    values = sorted(statistic(*(median(rng.choices(s, k=len(s))) for s in samples))
                    for _ in range(resamples))
    return values[int(0.05 * resamples)], values[int(0.95 * resamples) - 1]


def versions(args):
    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return "?"
    sdk = "?"
    try:
        with open(os.path.join(args.node_modules, "@aws-sdk/client-dynamodb/package.json")) as f:
            sdk = json.load(f)["version"]
    except OSError:
        pass
    python = run([args.python, "-c", "import sys,boto3;print(sys.version.split()[0], boto3.__version__)"])
    return {"node": run(["node", "--version"]), "sdk": sdk, "python": python}


def cpu():
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        model = platform.processor() or "?"
    return f"{os.cpu_count()} cores, {model}"


def verdict(ok):
    return "**pass**" if ok else "**FAIL**"


def markdown(args, times, ddb, calls, mock, sizes, memory, stalls):
    med = {n: {k: median(v) for k, v in t.items()} for n, t in times.items()}
    echo, rust = med["echo"], med["form-submission"]
    ddb_ms = median(ddb)
    v = versions(args)
    lines = [
        "### Cold start, size and memory (issue 14)",
        "",
        f"`{args.command}` on {time.strftime('%Y-%m-%d', time.gmtime())}, {cpu()}; "
        f"{args.profile}; Node.js {v['node']} with @aws-sdk/client-dynamodb {v['sdk']}; "
        f"Python and boto3 {v['python']}. A loopback mock of the Lambda Runtime API and DynamoDB "
        f"Local; median of {args.rounds} interleaved cold starts, each one signed `json` form "
        "event for a new lead (checked: 200 and `accepted: 1`). Ratios are the figures to "
        "compare: absolute times on a shared machine move from run to run. The intervals "
        "(90%, bootstrap over the rounds) show how far a goal's figure moves with the noise "
        "of single starts.",
        "",
        "| contender | init (exec → first `next`) | first response (exec → response) "
        "| init ÷ echo init | first response ÷ echo first response | DynamoDB calls for the event |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in times:
        ops = ", ".join(calls.get(name, [])) or ("none" if name == "echo" else "?")
        lines.append(
            f"| {LABELS[name]} | {med[name]['init']:.1f} ms | {med[name]['first']:.1f} ms "
            f"| {med[name]['init'] / echo['init']:.1f}x | {med[name]['first'] / echo['first']:.1f}x | {ops} |")
    lines += [
        "",
        f"DynamoDB Local itself, for form-submission's calls of that event replayed from a warm "
        f"connection (fresh keys, after each round): {ddb_ms:.1f} ms (median; "
        f"{min(ddb):.1f}-{max(ddb):.1f}). The mock's own round trip (one `next` and one response, "
        f"from a warm Python client, whose time is included): {mock:.2f} ms.",
        "",
    ]
    budget = echo["init"] + ddb_ms + 2
    echo_t, rust_t = times["echo"], times["form-submission"]
    low, high = interval(lambda e, r: r / e, echo_t["init"], rust_t["init"])
    margin = interval(lambda e, d, r: e + d + 2 - r, echo_t["init"], ddb, rust_t["first"])
    goals = [
        ("init at most 1.5x the bare runtime's",
         f"{rust['init']:.1f} ms = {rust['init'] / echo['init']:.1f}x (90%: {low:.2f}x to {high:.2f}x)",
         rust["init"] <= 1.5 * echo["init"]),
        ("first response at most echo init + DynamoDB + 2 ms",
         f"{rust['first']:.1f} ms vs {echo['init']:.1f} + {ddb_ms:.1f} + 2 = {budget:.1f} ms "
         f"(room: {budget - rust['first']:.1f} ms; 90%: {margin[0]:.1f} to {margin[1]:.1f} ms)",
         rust["first"] <= budget),
    ]
    for peer in ("node", "python"):
        ratio = med[peer]["first"] / rust["first"]
        low, high = interval(lambda p, r: p / r, times[peer]["first"], rust_t["first"])
        goals.append((f"first response at most 1/10 of {LABELS[peer]}'s",
                      f"{rust['first']:.1f} vs {med[peer]['first']:.1f} ms: {ratio:.1f}x faster "
                      f"(90%: {low:.1f}x to {high:.1f}x)", ratio >= 10))
    functions = args.functions.split()
    biggest = max(functions, key=lambda n: sizes[n][1])
    goals.append(("each zipped bootstrap at most 6 MB",
                  f"largest {sizes[biggest][1] / MB:.1f} MB ({biggest})",
                  all(sizes[n][1] <= 6 * MB for n in functions)))
    hungriest = max(functions, key=lambda n: memory[n][0])
    goals.append((f"peak RSS at most 32 MB (after {args.invocations} invocations)",
                  f"largest {memory[hungriest][0] / 1024:.1f} MB ({hungriest})",
                  all(memory[n][0] <= 32 * 1024 for n in functions)))
    lines += ["| goal (issue 14) | measured | result |", "|---|---|---|"]
    lines += [f"| {goal} | {measured} | {verdict(ok)} |" for goal, measured, ok in goals]
    lines.append(f"| `sam build` time measured | {args.sam} | {'measured' if args.sam.endswith(' s') else 'not measured'} |")
    lines += [
        "",
        f"| binary | size | zipped as `bootstrap` (zip -9) | over 6 MB | peak RSS after "
        f"{args.invocations} invocations (VmHWM) | answers as expected |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for name in ["bench-echo"] + functions:
        raw, zipped = sizes[name]
        key = "echo" if name == "bench-echo" else name
        hwm, ok = memory[key]
        lines.append(f"| {name} | {raw / MB:.1f} MB | {zipped / MB:.1f} MB | "
                     f"{'**yes**' if zipped > 6 * MB and key != 'echo' else 'no'} | "
                     f"{hwm / 1024:.1f} MB | {ok}/{args.invocations} |")
    for peer in ("node", "python"):
        hwm, ok = memory[peer]
        lines.append(f"| {LABELS[peer]} | | | | {hwm / 1024:.1f} MB "
                     f"| {ok}/{args.invocations} |")
    lines += [
        "",
        "MB = 2^20 bytes. Memory runs: one process each, serving distinct events (one in five "
        "for a new lead; stage-query reads this run's leads, one in ten unknown, a 404) on its "
        "own routes; the peers and the echo get form-submission's kind of events.",
        "",
    ]
    if stalls:
        lines += [f"Starts that never answered (done again with a new event, not in the medians): "
                  f"{len(stalls)}.", ""] + [f"- {s}" for s in stalls] + [""]
    return "\n".join(lines)
