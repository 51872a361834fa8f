"""PyTorch eager timings of the configurations in benches/sam.rs, on the same machine.

    python crates/sam/benches/torch_sam.py

Prints, per configuration, the median wall time of `RUNS` forward passes (after one warm-up)
under torch.no_grad(), and the peak resident memory growth of a fresh process running it.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

NEEDS = "needs: torch, torchvision, segment-anything (pip install torch torchvision segment-anything)"


def arguments():
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=NEEDS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", nargs="?", help=argparse.SUPPRESS)  # one configuration, in a child process
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and usage errors before the imports below: standard library only

try:
    import torch
    from segment_anything import sam_model_registry
except ImportError as error:
    sys.exit(f"{Path(__file__).name}: {error}; {NEEDS}")

RUNS = 10


def echoone_encoder():
    """SAM ViT-B at 264 input with patch stride 8 (32x32 tokens), tables resized as in Rust."""
    enc = sam_model_registry["vit_b"]().image_encoder
    enc.patch_embed.proj.stride = (8, 8)

    def forward(x):
        x = enc.patch_embed(x)
        pos = torch.nn.functional.interpolate(
            enc.pos_embed.permute(0, 3, 1, 2), size=x.shape[1:3], mode="bilinear", align_corners=False
        ).permute(0, 2, 3, 1)
        x = x + pos
        for blk in enc.blocks:
            x = blk(x)
        return enc.neck(x.permute(0, 3, 1, 2))

    return forward, 264


def case(name):
    torch.manual_seed(0)
    if name == "encoder vit_b 1024":
        enc = sam_model_registry["vit_b"]().image_encoder.eval()
        x = torch.randn(1, 3, 1024, 1024)
        return lambda: enc(x)
    if name == "encoder vit_b echoone 264 stride 8":
        fwd, side = echoone_encoder()
        x = torch.randn(1, 3, side, side)
        return lambda: fwd(x)
    sam = sam_model_registry["vit_b"]().eval()
    side = 64 if "64x64" in name else 32
    if side == 32:
        sam.prompt_encoder.image_embedding_size = (32, 32)
        sam.prompt_encoder.input_image_size = (264, 264)
    emb = torch.randn(1, 256, side, side)
    pts = (torch.tensor([[[300.0, 400.0]]]), torch.ones(1, 1, dtype=torch.int))

    def run():
        sparse, dense = sam.prompt_encoder(points=pts, boxes=None, masks=None)
        return sam.mask_decoder(
            image_embeddings=emb,
            image_pe=sam.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=True,
        )

    return run


NAMES = [
    "encoder vit_b 1024",
    "encoder vit_b echoone 264 stride 8",
    "prompt+decoder vit_b 64x64, 1 point, multimask",
    "prompt+decoder vit_b 32x32, 1 point, multimask",
]


def measure(name):
    fn = case(name)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.no_grad():
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
        print(json.dumps(measure(args.name)))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name in NAMES:
        out = subprocess.run([sys.executable, __file__, name], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{name}: failed\n{out.stderr}")
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
