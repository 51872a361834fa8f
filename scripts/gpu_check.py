#!/usr/bin/env python3
"""GPU check of echoone-rs: one command, prebuilt binary, JSON lines out.

    python3 scripts/gpu_check.py --bin PATH/TO/echoone [--authors AUTHORS_CHECKOUT] [--out DIR]
        [--backends cuda,cuda-unfused] [--budget SECONDS] [--limit CHECK[:BACKEND]=SECONDS ...]

A GPU machine may have no Rust toolchain: build the binary on any x86-64 Linux machine with
`CUDARC_CUDA_VERSION=13000 cargo build --release -p echoone-cli --features cuda`, copy
`target/release/echoone` over (strip and xz it to make it small), and run this script there with
the standard library of Python 3.8+ alone. It needs the NVIDIA driver (libcuda) and NVRTC
(libnvrtc: the CUDA toolkit's, or pip's `nvidia-cuda-nvrtc`, which a CUDA PyTorch brings); it
looks for libnvrtc itself and puts its folder on LD_LIBRARY_PATH, never a `stubs` folder.

What it runs, each step in its own process with a time limit, and prints as one JSON object:
  1. `default-cold`: `echoone --backend cuda train --no-dashboard` (the embedded default recipe)
     with an empty kernel cache: seconds to the first finished step, steady-state samples/s
     (median step time of the steps after the first 20), kernels compiled, peak GPU memory
     (nvidia-smi, sampled every 0.2 s), the final validation Dice per epoch and the wall time.
  2. `default-warm`: the same recipe for 10 steps again with the cache of step 1: seconds to the
     first finished step when nothing needs compiling.
  3. `vit_b`: the authors' recipe (ViT-B at 256, batch 16), one epoch of 40 steps: first step,
     steady-state samples/s over the steps after the 10th, peak GPU memory.
  4. `eval-parity`: the checkpoint of step 1 evaluated on the test split with cuda and with flex
     (the pure-Rust CPU backend, same binary): mean Dice of each, and whether they agree to 1e-3.
  5. `torch`: with --authors, the authors' PyTorch training step on the same GPU
     (crates/train/benches/torch_train.py AUTHORS vit_b --device cuda --batch 16).
Steps 1-3 run per backend of --backends (cuda, and cuda-unfused for comparison). Each command
is stopped at its time limit (--limit default-cold=200 or vit_b:cuda-unfused=60 changes one;
0 skips it) and at the end of --budget; a stopped training still reports the steps it finished.
Every line is also written to OUT/gpu-check.jsonl, with each command's log beside it.
"""

import argparse
import csv
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEEDS = (
    "needs: the Python standard library only (3.8+); the echoone binary built with --features cuda"
    " (--bin), the NVIDIA driver and NVRTC; with --authors, torch for crates/train/benches/torch_train.py"
)


def nvrtc_dirs():
    """Folders holding libnvrtc, most likely first (never a stubs folder)."""
    patterns = [
        "/usr/local/cuda/lib64",
        "/usr/local/cuda-*/targets/x86_64-linux/lib",
        "/usr/local/cuda-*/lib64",
        "/opt/*/.venv/lib/python3*/site-packages/nvidia/cu*/lib",
        "/opt/*/.venv/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib",
        "/usr/lib/python3*/site-packages/nvidia/cu*/lib",
        "/usr/local/lib/python3*/dist-packages/nvidia/cu*/lib",
        "/usr/local/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib",
        "/usr/lib/x86_64-linux-gnu",
    ]
    found = []
    for pattern in patterns:
        for d in sorted(glob.glob(pattern)):
            if "stubs" not in d and glob.glob(os.path.join(d, "libnvrtc.so*")) and d not in found:
                found.append(d)
    return found


class GpuMemory:
    """Peak `memory.used` of GPU 0 (MiB) while it runs, sampled with nvidia-smi."""

    def __init__(self):
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self):
        cmd = ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"]
        while not self.stop.is_set():
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout
                self.peak = max(self.peak, int(out.split()[0]))
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                pass
            self.stop.wait(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run(cmd, log, timeout, env):
    """Runs cmd with its output in log; returns (exit code, 'timeout' or 'skipped', seconds, peak
    MiB)."""
    if timeout <= 0:
        return "skipped", 0.0, 0
    start = time.monotonic()
    with open(log, "w") as f, GpuMemory() as mem:
        f.write("$ " + " ".join(map(str, cmd)) + "\n")
        f.flush()
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = "timeout"
    return code, round(time.monotonic() - start, 1), mem.peak


def rows(run_dir, name):
    """The rows of the run's CSV file `name` (steps.csv, metrics.csv), none if it is missing."""
    path = Path(run_dir) / name
    if not path.is_file():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def timing(steps, skip):
    """First step, steady state after `skip` steps, kernels compiled, from steps.csv rows."""
    if not steps:
        return {"steps_done": 0}
    secs = [float(s["step_seconds"]) for s in steps]
    items = [int(s["items"]) for s in steps]
    kernels = [s["kernels_compiled"] for s in steps]
    steady = secs[skip:] if len(secs) > skip else []
    out = {
        "steps_done": len(steps),
        "first_step_done_s": float(steps[0]["since_start_seconds"]),
        "first_step_s": secs[0],
        "kernels_after_first_step": kernels[0],
        "kernels_after_last_step": kernels[-1],
        "kernels_per_step_first_10": kernels[:10],
    }
    if len(steady) >= 5:
        median = statistics.median(steady)
        out.update(
            steady_steps=len(steady),
            steady_median_step_s=round(median, 4),
            steady_samples_per_s=round(statistics.median(items[skip:]) / median, 2),
        )
    return out


def last_lines(log, n=6):
    try:
        return Path(log).read_text(errors="replace").strip().splitlines()[-n:]
    except OSError:
        return []


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=NEEDS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bin", required=True, help="the echoone binary built with --features cuda")
    parser.add_argument("--authors", help="checkout of the authors' EchoONE code (for the PyTorch step)")
    parser.add_argument("--out", default="gpu-check", help="folder for runs, logs and gpu-check.jsonl")
    parser.add_argument("--backends", default="cuda", help="comma-separated: cuda, cuda-unfused")
    parser.add_argument("--budget", type=float, default=1500, help="seconds for the whole check")
    parser.add_argument("--workers", type=int, default=max(2, min(8, (os.cpu_count() or 2) // 2)))
    parser.add_argument("--limit", action="append", default=[], help="CHECK[:BACKEND]=SECONDS")
    args = parser.parse_args()
    limits = {"default-cold": 420, "default-warm": 120, "vit_b": 420, "eval": 300, "torch": 300}
    for item in args.limit:
        name, _, value = item.partition("=")
        limits[name] = float(value)

    def limit(check, backend=None):
        return limits.get(f"{check}:{backend}", limits.get(check, 300))

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    jsonl = open(out / "gpu-check.jsonl", "a")
    started = time.monotonic()

    def emit(record):
        line = json.dumps(record)
        print(line, flush=True)
        jsonl.write(line + "\n")
        jsonl.flush()

    def left(want):
        return min(want, args.budget - (time.monotonic() - started))

    env = dict(os.environ)
    dirs = nvrtc_dirs()
    env["LD_LIBRARY_PATH"] = ":".join(dirs[:1] + [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p and "stubs" not in p])
    try:
        gpu = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True,
        ).stdout.strip()
    except OSError as e:
        gpu = f"no nvidia-smi: {e}"
    emit({"check": "machine", "gpu": gpu, "nvrtc_dir": dirs[:1], "cpus": os.cpu_count()})

    binary = str(Path(args.bin).resolve())
    workers = ["--workers", str(args.workers)]
    default_dir = None
    for backend in [b for b in args.backends.split(",") if b]:
        cache = out / f"cache-{backend}"
        shutil.rmtree(cache, ignore_errors=True)
        benv = dict(env, ECHOONE_CACHE_DIR=str(cache))
        base = [binary, "--backend", backend, "train", "--no-dashboard", *workers]

        run_dir = out / f"default-cold-{backend}"
        shutil.rmtree(run_dir, ignore_errors=True)
        log = out / f"default-cold-{backend}.log"
        code, wall, peak = run([*base, "--out", run_dir], log, left(limit("default-cold", backend)), benv)
        epochs = rows(run_dir, "metrics.csv")
        emit({
            "check": "default-cold", "backend": backend, "precision": "f32", "config": "default (small, 128 px, batch 6)",
            "exit": code, "wall_s": wall, "peak_gpu_mib": peak, **timing(rows(run_dir, "steps.csv"), 20),
            "val_dice_per_epoch": [round(float(e["val_dice"]), 4) for e in epochs],
            "epoch_seconds": [round(float(e["seconds"]), 1) for e in epochs],
            "log_tail": last_lines(log),
        })
        if backend == "cuda" and code == 0:
            default_dir = run_dir

        run_dir = out / f"default-warm-{backend}"
        shutil.rmtree(run_dir, ignore_errors=True)
        log = out / f"default-warm-{backend}.log"
        cmd = [*base, "--epochs", "1", "--steps-per-epoch", "10", "--out", run_dir]
        code, wall, peak = run(cmd, log, left(limit("default-warm", backend)), benv)
        emit({
            "check": "default-warm", "backend": backend, "precision": "f32", "config": "default, 10 steps",
            "exit": code, "wall_s": wall, "peak_gpu_mib": peak, **timing(rows(run_dir, "steps.csv"), 5),
            "log_tail": last_lines(log),
        })

        run_dir = out / f"vit_b-{backend}"
        shutil.rmtree(run_dir, ignore_errors=True)
        log = out / f"vit_b-{backend}.log"
        cmd = [*base, "--variant", "vit_b", "--batch-size", "16", "--epochs", "1", "--steps-per-epoch", "40", "--out", run_dir]
        code, wall, peak = run(cmd, log, left(limit("vit_b", backend)), benv)
        emit({
            "check": "vit_b", "backend": backend, "precision": "f32", "config": "authors' recipe: ViT-B, 256 px, batch 16",
            "exit": code, "wall_s": wall, "peak_gpu_mib": peak, **timing(rows(run_dir, "steps.csv"), 10),
            "log_tail": last_lines(log),
        })

    if default_dir is not None:
        dice = {}
        for backend in ["cuda", "flex"]:
            log = out / f"eval-{backend}.log"
            eval_out = out / f"eval-{backend}"
            cmd = [binary, "--backend", backend, "eval", "--run", default_dir, "--out", eval_out]
            if backend == "flex":
                cmd += ["--threads", str(args.workers)]
            code, wall, _ = run(cmd, log, left(limit("eval", backend)), dict(env, ECHOONE_CACHE_DIR=str(out / "cache-cuda")))
            text = Path(log).read_text(errors="replace")
            found = re.search(r"mean Dice over structures ([0-9.]+)", text)
            dice[backend] = {"exit": code, "wall_s": wall, "mean_dice": float(found.group(1)) if found else None}
        a, b = dice["cuda"]["mean_dice"], dice["flex"]["mean_dice"]
        emit({
            "check": "eval-parity", "checkpoint": str(default_dir), **{f"{k}": v for k, v in dice.items()},
            "abs_diff": None if a is None or b is None else round(abs(a - b), 6),
            "agree_1e-3": None if a is None or b is None else abs(a - b) <= 1e-3,
        })

    if args.authors:
        log = out / "torch.log"
        script = ROOT / "crates" / "train" / "benches" / "torch_train.py"
        cmd = [sys.executable, script, args.authors, "vit_b", "--device", "cuda", "--batch", "16"]
        code, wall, peak = run(cmd, log, left(limit("torch")), env)
        lines = [l for l in last_lines(log, 40) if l.startswith("{")]
        emit({"check": "torch", "exit": code, "wall_s": wall, "peak_gpu_mib_nvidia_smi": peak,
              "result": json.loads(lines[-1]) if lines else None, "log_tail": last_lines(log)})
    emit({"check": "done", "seconds": round(time.monotonic() - started, 1)})


if __name__ == "__main__":
    main()
