"""PyTorch eager timings of the configurations in benches/model.rs, on the authors' model code.

    python crates/model/benches/torch_model.py AUTHORS_CHECKOUT

AUTHORS_CHECKOUT is a checkout of github.com/a2502503/EchoONE; the models are built as
tests/fixtures/generate_authors.py builds them (ViT-B with their `build_echoone_vit_b`; the small
config from their classes at the sizes of our `EchoOneConfig::small()`), batch 1 at 256, K = 4
prior at 256. Prints per configuration the median wall time of RUNS calls after one warm-up, and
the peak resident memory growth of the first call; each configuration runs in a fresh process.
fwd: eval mode under torch.no_grad(); fwd+bwd: train mode (BatchNorm on batch statistics, as
burn's under autodiff), their frozen split, backward of low-res + coarse logit sums.
"""

import argparse
import importlib.util
import json
import resource
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


def arguments():
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=NEEDS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkout", help="a checkout of github.com/a2502503/EchoONE")
    parser.add_argument("name", nargs="?", help=argparse.SUPPRESS)  # one configuration, in a child process
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and usage errors before the imports below: standard library only

try:
    import torch
except ImportError as error:
    sys.exit(f"{Path(__file__).name}: {error}; {NEEDS}")

RUNS = 5
HERE = Path(__file__).resolve().parent
NAMES = ["echoone small fwd", "echoone small fwd+bwd", "echoone vit_b fwd", "echoone vit_b fwd+bwd"]
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


def measure(checkout, name):
    fn = case(checkout, name)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"name": name, "median_ms": 1000 * statistics.median(times), "peak_rss_growth_mib": peak / 1024}


def main():
    args = arguments().parse_args()
    if args.name is not None:
        print(json.dumps(measure(args.checkout, args.name)))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name in NAMES:
        out = subprocess.run([sys.executable, __file__, args.checkout, name], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{name}: failed\n{out.stderr}")
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
