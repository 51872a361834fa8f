"""Where a training step's time goes on burn-flex, from a frame-pointer `perf` profile.

    perf script -F comm,tid,ip,sym -i perf.data | python scripts/profile/step_profile.py

The profile comes from the `train` bench built with frame pointers and sampled with
`perf record --call-graph fp` (the procedure: docs/benchmarks.md, "Profiling a step"). Prints:

1. the share of samples on the thread that drives the step (the one with most samples, or
   `--driver TID`) and on
   rayon's workers, and what that means for wall time on CORES cores: work on the driving thread
   is serial (while it runs, rayon's workers idle), work on the workers is spread over the cores;
2. the driving thread's samples by the autodiff node they run in (forward op or backward node),
   the innermost burn-flex function, and the top of the stack;
3. the workers' samples by innermost function (their stacks end in rayon, not in the op).

Standard library only.
"""

import argparse
import collections
import re
import sys

NEEDS = "needs: Python 3.8+ and the text of `perf script -F comm,tid,ip,sym` on standard input"


def arguments():
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=NEEDS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cores", type=int, default=2, help="cores the step ran on (default 2)")
    parser.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    parser.add_argument(
        "--driver",
        help="thread id of the driving thread (default: the one with most samples; give the "
        "process's own id when rayon's workers have more, as in inference)",
    )
    return parser


def samples(lines):
    """(thread id, [frames, innermost first]) per sample of `perf script` text."""
    current = None
    for line in lines:
        if not line.strip():
            continue
        if not line[0].isspace():
            if current:
                yield current
            fields = line.split()
            current = (fields[1] if len(fields) > 1 else "?", [])
            continue
        parts = line.strip().split(None, 1)
        if current is not None:
            current[1].append(parts[1] if len(parts) > 1 else "?")
    if current:
        yield current


def simple(frame):
    """A frame without generic arguments and impl headers."""
    frame = re.sub(r"<impl [^>]*>", "", frame)
    short = frame
    for _ in range(6):
        short = re.sub(r"<[^<>]*>", "", short)
    # A trait method's name alone (`::next`) says nothing: keep its implementing type then.
    return short.strip() if not short.strip().startswith("::") else frame.strip()[:100]


def node(frames):
    """The autodiff node a sample runs in: a backward node, or the forward op."""
    for frame in frames:
        match = re.search(r"::(\w+)(?:<[^>]*>)? as burn_autodiff::ops::backward::Backward", frame)
        if match:
            return "backward " + match.group(1)
        match = re.search(r"Autodiff(?:<[^>]*>)?>::(\w+)$", frame)
        if match:
            return "forward " + match.group(1)
    return "outside autodiff"


def innermost(frames, needle):
    for frame in frames:
        if needle in frame:
            return simple(frame)
    return simple(frames[0]) if frames else "?"


def table(title, counter, total, top):
    print(f"\n{title}")
    for key, count in counter.most_common(top):
        print(f"{100 * count / total:6.2f} %  {key}")


def main():
    args = arguments().parse_args()
    all_samples = list(samples(sys.stdin))
    if not all_samples:
        sys.exit("step_profile.py: no samples on standard input (pipe `perf script` into it)")
    threads = collections.Counter(tid for tid, _ in all_samples)
    driver = args.driver if args.driver is not None else threads.most_common(1)[0][0]
    if driver not in threads:
        sys.exit(f"step_profile.py: no samples of thread {driver} (threads: {sorted(threads)})")
    n = len(all_samples)
    serial = threads[driver] / n
    parallel = 1 - serial
    wall = serial + parallel / args.cores
    print(f"{n} samples; driving thread {driver}: {100 * serial:.1f} % of the samples, workers {100 * parallel:.1f} %")
    print(
        f"on {args.cores} cores the driving thread's serial work is about {100 * serial / wall:.0f} % of the wall time "
        f"(serial + parallel / {args.cores})"
    )
    by_node, by_op, by_leaf, workers = (collections.Counter() for _ in range(4))
    for tid, frames in all_samples:
        if tid == driver:
            by_node[node(frames)] += 1
            by_op[innermost(frames, "burn_flex::")] += 1
            by_leaf[simple(frames[0]) if frames else "?"] += 1
        else:
            workers[simple(frames[0]) if frames else "?"] += 1
    share = threads[driver]
    table("driving thread, by autodiff node (% of its samples)", by_node, share, args.top)
    table("driving thread, by innermost burn-flex function", by_op, share, args.top)
    table("driving thread, by innermost function", by_leaf, share, args.top)
    table("workers, by innermost function (% of the workers' samples)", workers, max(n - share, 1), args.top)


if __name__ == "__main__":
    main()
