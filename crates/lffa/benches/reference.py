"""PyTorch eager reference for `cargo bench -p echoone-lffa`: the same modules at ViT-B size,
built with the authors' own classes (imported from their checkout as the fixture generator
tests/fixtures/generate.py imports them), forward only, eval mode, median of repeated runs,
2 threads.

    python3 crates/lffa/benches/reference.py AUTHORS_CHECKOUT [--runs N]

AUTHORS_CHECKOUT is a checkout of github.com/a2502503/EchoONE (nothing of it is copied here).
The cases, at the sizes of benches/lffa.rs:
- `cnn_branch_residual_256`: their `SingleCNNEmbed` (64 base channels, 768 out, patch 8) on a
  1x3x256x256 image;
- `cnn_branch_plain_256`: the same with their plain SAMUS blocks `SingleConv` / `SingleDown`
  (what "LFFA off" uses);
- `refine_adapter_32x32x768`: their `SingleConv(768, 768)` (the refine adapter);
- `space_adapter_32x32x768`: their `qkvAttention(768, 12 heads)`, keys and values from the
  CNN tokens (as their block calls it).
"""

import argparse
import statistics
import sys
import time
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
    parser.add_argument("--runs", type=int, default=20, help="timed runs per case (default 20)")
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and usage errors before the imports below: standard library only

try:
    import torch
    from torch import nn
except ImportError as error:
    sys.exit(f"{Path(__file__).name}: {error}; {NEEDS}")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "model" / "tests" / "fixtures"))
from generate_authors import import_authors  # noqa: E402


def median_ms(fn, runs, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    args = arguments().parse_args()
    _, enc, _, _ = import_authors(args.checkout)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    image = torch.rand(1, 3, 256, 256)
    features = torch.rand(1, 768, 32, 32)
    tokens = features.permute(0, 2, 3, 1).contiguous()

    residual = enc.SingleCNNEmbed(patchsize=8, in_chans=3, embed_dim=768)
    plain = enc.SingleCNNEmbed(patchsize=8, in_chans=3, embed_dim=768)
    plain.inc = enc.SingleConv(3, 64)
    plain.downs = nn.ModuleList([enc.SingleDown(64, 128), enc.SingleDown(128, 256), enc.SingleDown(256, 768)])
    space = enc.qkvAttention(dim=768, num_heads=12)
    cases = {
        "cnn_branch_residual_256": (residual, (image,)),
        "cnn_branch_plain_256": (plain, (image,)),
        "refine_adapter_32x32x768": (enc.SingleConv(768, 768), (features,)),
        "space_adapter_32x32x768": (space, (tokens, tokens, tokens)),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with torch.no_grad():
        for name, (module, inputs) in cases.items():
            module.eval()
            print(f"{name}: {median_ms(lambda: module(*inputs), args.runs):.1f} ms", flush=True)


if __name__ == "__main__":
    main()
