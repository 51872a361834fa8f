"""PyTorch eager timings of the configurations in benches/model.rs, on the authors' model code.

    python crates/model/benches/torch_model.py AUTHORS_CHECKOUT [--names LIST] [--runs N]

AUTHORS_CHECKOUT is a checkout of github.com/a2502503/EchoONE; the models are built as
tests/fixtures/generate_authors.py builds them (ViT-B with their `build_echoone_vit_b`; the small
config from their classes at the sizes of our `EchoOneConfig::small()`), batch 1 at 256, K = 4
prior at 256. LIST is a comma list of the case names of benches/model.rs (default all four:
"echoone small fwd", "echoone small fwd+bwd", "echoone vit_b fwd", "echoone vit_b fwd+bwd").
fwd: eval mode under torch.no_grad(); fwd+bwd: train mode (BatchNorm on batch statistics, as
burn's under autodiff), their frozen split, backward of low-res + coarse logit sums.

Each case runs in a fresh process on 2 threads (`torch.set_num_threads(2)`: the Rust bench runs
burn-flex on 2 rayon threads on the 2-core machine it was written on, and torch_train.py uses 2
as well, so the comparison is like for like), and prints one JSON object: the median (and min,
max) wall time of RUNS calls (default 5) after one warm-up call, and, as benches/model.rs
measures burn-flex, the process's peak resident set during the warm-up call (`VmHWM` after
resetting it through /proc/self/clear_refs; Linux only), absolute and above the resident set
right before that call (model built). `cargo xtask bench compare` runs it beside
benches/model.rs for its inference table.
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

NEEDS = (
    "needs: torch, numpy, Pillow (pip install torch numpy pillow; torch 2.9.0 was used) and a checkout"
    " of github.com/a2502503/EchoONE"
)


RUNS = 5
NAMES = ["echoone small fwd", "echoone small fwd+bwd", "echoone vit_b fwd", "echoone vit_b fwd+bwd"]


def names_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown case(s) {unknown or text!r}; have {NAMES}")
    return names


def positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number above 0")
    return int(text)


def arguments():
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=NEEDS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkout", help="a checkout of github.com/a2502503/EchoONE")
    parser.add_argument("name", nargs="?", help=argparse.SUPPRESS)  # one case, in this process
    parser.add_argument(
        "--names", type=names_list, default=NAMES, help="comma list of case names (default all four)"
    )
    parser.add_argument("--runs", type=positive, default=RUNS, help=f"timed calls per case (default {RUNS})")
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and usage errors before the imports below: standard library only

try:
    import torch
except ImportError as error:
    sys.exit(f"{Path(__file__).name}: {error}; {NEEDS}")

THREADS = 2
HERE = Path(__file__).resolve().parent
# Our `EchoOneConfig::small()`.
SMALL = dict(
    embed_dim=96,
    depth=8,
    num_heads=4,
    global_attn_indexes=[1, 3, 5, 7],
    cnn_base_channels=16,
    prompt_dim=64,
    decoder_heads=4,
    decoder_mlp_dim=256,
)


def generator():
    path = HERE.parent / "tests" / "fixtures" / "generate_authors.py"
    spec = importlib.util.spec_from_file_location("generate_authors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def case(checkout, name):
    gen = generator()
    modeling, image_encoder, common, build = gen.import_authors(checkout)
    torch.manual_seed(0)
    if "small" in name:
        gen.SMALL.update(SMALL)
        model = gen.build_small(modeling, image_encoder, common)
    else:
        model = build.build_echoone_vit_b(types.SimpleNamespace(encoder_input_size=256))
    imgs = torch.rand(1, 1, 256, 256)
    pt = (torch.tensor([[[131.0, 97.0]]]), torch.ones(1, 1, dtype=torch.long))
    prior = torch.rand(1, 4, 256, 256)
    if name.endswith("fwd"):
        model.eval()

        def run():
            with torch.no_grad():
                return model(imgs, pt, None, prior)["low_res_logits"]

        return run
    model.train()

    def step():
        out = model(imgs, pt, None, prior)
        loss = out["low_res_logits"].sum() + out["low_coarse_mask_logit"].sum()
        loss.backward()
        model.zero_grad(set_to_none=True)

    return step


def status_mib(field):
    """A kB field of /proc/self/status in MiB, or None off Linux."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) / 1024 if found else None


def reset_peak_rss():
    """Resets VmHWM to the current resident set; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(checkout, name, runs):
    torch.set_num_threads(THREADS)
    fn = case(checkout, name)
    before = status_mib("VmRSS")
    reset = reset_peak_rss()
    fn()
    peak = status_mib("VmHWM") if reset else None
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    memory = (
        {"peak_rss_mib": round(peak, 1), "peak_rss_above_before_mib": round(peak - before, 1)}
        if peak is not None and before is not None
        else {}
    )
    return {
        "name": name,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "runs": runs,
        "median_s": round(median, 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "median_ms": round(1000 * median, 1),
        **memory,
    }


def main():
    parser = arguments()
    args = parser.parse_args()
    if args.name is not None:
        if args.name not in NAMES:
            parser.error(f"unknown case {args.name!r}; have {NAMES}")
        print(json.dumps(measure(args.checkout, args.name, args.runs)))
        return
    print(f"torch {torch.__version__}, {THREADS} threads")
    for name in args.names:
        cmd = [sys.executable, __file__, args.checkout, name, "--runs", str(args.runs)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{name}: failed\n{out.stderr}")
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
