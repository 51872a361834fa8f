"""PyTorch eager timings of one training step, on the authors' model and loss code: the reference
for benches/train.rs.

    python crates/train/benches/torch_train.py AUTHORS_CHECKOUT [small|vit_b ...] [--steps N]
        [--device cpu|cuda[:N]] [--batch B]

AUTHORS_CHECKOUT is a checkout of github.com/a2502503/EchoONE (nothing of it is copied here: this
script imports it). The models are built as crates/model/benches/torch_model.py builds them:
`small` from their classes at the sizes of our `EchoOneConfig::small()` with every parameter
training (as benches/train.rs trains it from random weights), `vit_b` with their
`build_echoone_vit_b` at 256 input and their own frozen split (their EchoONE constructor sets it;
benches/train.rs applies the same split with `freeze_as_authors`).

One step is their train.py's inner loop: forward of a batch of 4 (image 1x256x256, one positive
click, K = 4 prior at 128x128, the side our training fits it at), their `Mask_DC_and_BCE_loss`
(pos_weight 2: 0.2 BCE + 0.8 Dice on the 128x128 logits, 0.1 BCE + 0.4 Dice on the coarse
logits), `optimizer.zero_grad()`, `backward()`, `optimizer.step()` (their Adam: lr 1e-4, betas
0.9/0.999, eps 1e-8) and `loss.item()`. Random inputs and disc targets; eager mode, 2 threads
(`torch.set_num_threads(2)`), train mode.

Per configuration, in a fresh process: one warm-up step (allocates Adam's state), then, as the
Rust bench measures: the process's peak resident set during one step (`VmHWM` after resetting it
through /proc/self/clear_refs), absolute and above the resident set of model and Adam state (the
resident set before the warm-up step plus two float32 moments per trainable parameter), and, as
before 2026-12-06, above the resident set right before the step; then the median wall time of
STEPS further steps (default 5 for small, 3 for vit_b). Prints one JSON object per
configuration.

On a GPU (`--device cuda`, as scripts/gpu_check.py runs it beside `echoone --backend cuda`):
the same step in fp32 eager (TF32 off, PyTorch's default for matrix products), each step ended
by `loss.item()` (which waits for the GPU), `--batch 16` for the authors' recipe, the default
STEPS 20 after 3 warm-up steps, and the peak GPU memory `torch.cuda.max_memory_allocated`
instead of the resident set.
"""

import argparse
import importlib.util
import json
import re
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

BATCH = 4
NEEDS = (
    "needs: torch (pip install torch; 2.9.0 was used) and a checkout of github.com/a2502503/EchoONE"
)


def arguments():
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=NEEDS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkout", help="a checkout of github.com/a2502503/EchoONE")
    parser.add_argument(
        "configs", nargs="*", default=["small", "vit_b"], help="small and/or vit_b (default both)"
    )
    parser.add_argument("--steps", type=int, help="timed steps (default 5 for small, 3 for vit_b; 20 on a GPU)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"items per step (default {BATCH})")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and usage errors before the imports below: standard library only

try:
    import torch
except ImportError as error:
    sys.exit(f"{Path(__file__).name}: {error}; {NEEDS}")

PRIOR_K = 4
PRIOR_SIDE = 128
HERE = Path(__file__).resolve().parent
MODEL_BENCH = HERE.parents[1] / "model" / "benches" / "torch_model.py"


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def status_mib(field):
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1)) / 1024


def build(checkout, variant):
    model_bench = load("torch_model", MODEL_BENCH)
    gen = model_bench.generator()
    modeling, image_encoder, common, build_module = gen.import_authors(checkout)
    torch.manual_seed(0)
    if variant == "small":
        gen.SMALL.update(model_bench.SMALL)
        model = gen.build_small(modeling, image_encoder, common)
        for param in model.parameters():
            param.requires_grad_(True)
    elif variant == "vit_b":
        model = build_module.build_echoone_vit_b(types.SimpleNamespace(encoder_input_size=256))
    else:
        sys.exit(f"unknown configuration {variant!r} (small, vit_b)")
    return model.train()


def inputs(batch, device):
    g = torch.Generator().manual_seed(1)
    imgs = torch.rand(batch, 1, 256, 256, generator=g)
    coords = torch.randint(40, 216, (batch, 1, 2), generator=g).float()
    pt = (coords, torch.ones(batch, 1, dtype=torch.int))
    prior = torch.rand(batch, PRIOR_K, PRIOR_SIDE, PRIOR_SIDE, generator=g)
    # Discs around the clicks (in the 128x128 frame of the low-resolution logits).
    yy, xx = torch.meshgrid(torch.arange(128.0), torch.arange(128.0), indexing="ij")
    centres = coords[:, 0] / 2
    dist = (xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2
    masks = (dist < 20.0**2).float()[:, None]
    to = lambda t: t.to(device)  # noqa: E731
    return to(imgs), (to(pt[0]), to(pt[1])), to(prior), to(masks)


def measure(checkout, variant, steps, device, batch):
    torch.set_num_threads(2)
    gpu = device.startswith("cuda")
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    model = build(checkout, variant).to(device)
    loss_module = load("authors_sam_loss", Path(checkout) / "utils" / "loss_functions" / "sam_loss.py")
    criterion = loss_module.Mask_DC_and_BCE_loss(pos_weight=torch.ones([1], device=device) * 2)
    # As their train.py (no warm-up schedule): Adam over model.parameters(); frozen ones get no
    # gradient and are skipped.
    optimizer = torch.optim.Adam(
        model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False
    )
    imgs, pt, prior, masks = inputs(batch, device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    before_warm_up = None if gpu else status_mib("VmRSS")

    def step():
        pred = model(imgs, pt, None, prior)
        loss = criterion(pred, masks)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    step()
    if gpu:
        start = time.perf_counter()
        step()
        step()
        warm_up = time.perf_counter() - start
        torch.cuda.reset_peak_memory_stats(device)
        step()
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        before = 0.0
    else:
        Path("/proc/self/clear_refs").write_text("5")
        before = status_mib("VmRSS")
        step()
        peak = status_mib("VmHWM")
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    memory = (
        {"peak_gpu_mib": round(peak, 1), "warm_up_s": round(warm_up, 3)}
        if gpu
        else {
            "peak_rss_mib": round(peak, 1),
            "peak_rss_above_model_mib": round(peak - before_warm_up - 2 * trainable * 4 / 2**20, 1),
            "peak_rss_above_before_mib": round(peak - before, 1),
        }
    )
    return {
        "name": f"train step {variant} b{batch} torch-eager",
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if gpu else "cpu",
        "threads": torch.get_num_threads(),
        "trainable_params": trainable,
        "params": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "median_s": round(median, 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "samples_per_s": round(batch / median, 4),
        **memory,
    }


def main():
    args = arguments().parse_args()
    if args.child:
        (variant,) = args.configs
        default = 20 if args.device.startswith("cuda") else (5 if variant == "small" else 3)
        steps = args.steps or default
        print(json.dumps(measure(args.checkout, variant, steps, args.device, args.batch)))
        return
    for variant in args.configs:
        cmd = [sys.executable, __file__, args.checkout, variant, "--child"]
        cmd += ["--device", args.device, "--batch", str(args.batch)]
        if args.steps:
            cmd += ["--steps", str(args.steps)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{variant}: failed\n{out.stderr}")
        print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
