"""PyTorch eager reference for `cargo bench -p echoone-lffa`: the same modules (from the
fixture generator) at ViT-B size, forward only, median of repeated runs, 2 threads.

Run: /work/pyenv/bin/python crates/lffa/benches/reference.py
"""

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "fixtures"))
from generate import CnnEmbed, CrossAttention, PlainConv  # noqa: E402


def median_ms(fn, warmup=3, runs=20):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    image = torch.rand(1, 3, 256, 256)
    features = torch.rand(1, 768, 32, 32)
    tokens = features.permute(0, 2, 3, 1).contiguous()
    cases = {
        "cnn_branch_residual_256": (CnnEmbed(3, 64, 768, 8, True), (image,)),
        "cnn_branch_plain_256": (CnnEmbed(3, 64, 768, 8, False), (image,)),
        "refine_adapter_32x32x768": (PlainConv(768, 768), (features,)),
        "space_adapter_32x32x768": (CrossAttention(768, 12), (tokens, tokens)),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with torch.no_grad():
        for name, (module, inputs) in cases.items():
            module.eval()
            print(f"{name}: {median_ms(lambda: module(*inputs)):.1f} ms")


if __name__ == "__main__":
    main()
