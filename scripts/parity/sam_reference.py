"""Official SAM (the `segment-anything` package) at full size with seeded random weights: the
reference side of `cargo xtask parity sam`.

    python scripts/parity/sam_reference.py --variant vit_b --out DIR [--seed 1234]

Needs torch, torchvision, numpy, Pillow and segment-anything (PyPI). It builds
`sam_model_registry[variant]()` (1024 input), gives every parameter and buffer seeded random
values (position and rel-pos tables, norms and the Fourier matrix included: the same
`randomise` as crates/model/tests/fixtures/generate_authors.py), runs the official
`SamPredictor` on one 420x300 RGB image with two prompt cases, and writes into DIR:

  model.pth                 the state dict (official key names)
  image.png                 the RGB input
  cases.txt                 one line per prompt case: NAME then the `sam` command's prompt flags
  image_embedding.npy       f32 [1, 256, 64, 64]: `predictor.features`
  <case>_low_res_logits.npy f32 [M, 256, 256]
  <case>_iou_predictions.npy f32 [M]
  <case>_masks.npy          f32 [M, H, W]: the mask logits at the image's size (return_logits)
"""

import argparse
import sys
from pathlib import Path

NEEDS = (
    "needs: torch, torchvision, numpy, Pillow, segment-anything"
    " (pip install torch torchvision numpy pillow segment-anything)"
)


def arguments():
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=NEEDS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variant", choices=["vit_b", "vit_l", "vit_h"], default="vit_b")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=1234)
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and usage errors before the imports below: standard library only

try:
    import numpy as np
    import torch
    from PIL import Image
    from segment_anything import SamPredictor, sam_model_registry
    from segment_anything.modeling import common
except ImportError as error:
    sys.exit(f"{Path(__file__).name}: {error}; {NEEDS}")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "crates" / "model" / "tests" / "fixtures"))

from generate_authors import randomise  # noqa: E402  (the shared seeded randomiser)

sys.path.insert(0, str(ROOT / "crates" / "sam" / "tests" / "fixtures"))
from pattern import test_image  # noqa: E402  (the fixtures' test image)

# Prompt cases in pixels of the 420x300 image: fg + bg points with SAM's three masks, and a box.
CASES = [
    ("points", [(168, 150, 1), (357, 45, 0)], None, True),
    ("box", [], (84, 90, 252, 225), False),
]


def f32(array):
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return np.ascontiguousarray(array, dtype=np.float32)


def main():
    args = arguments().parse_args()
    torch.manual_seed(args.seed)
    sam = sam_model_registry[args.variant]()
    randomise(sam, common, args.seed)
    sam.eval()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    torch.save(sam.state_dict(), out / "model.pth")
    image = test_image(300, 420, 0)
    Image.fromarray(image, mode="RGB").save(out / "image.png")

    predictor = SamPredictor(sam)
    with torch.no_grad():
        predictor.set_image(image)
    np.save(out / "image_embedding.npy", f32(predictor.features))
    lines = []
    for name, points, box, multimask in CASES:
        kwargs = {}
        flags = []
        if points:
            kwargs["point_coords"] = np.array([[x, y] for x, y, _ in points], np.float32)
            kwargs["point_labels"] = np.array([label for _, _, label in points])
            flags += [f"--point {x},{y},{label}" for x, y, label in points]
        if box is not None:
            kwargs["box"] = np.array(box, np.float32)
            flags.append("--box " + ",".join(str(v) for v in box))
        if multimask:
            flags.append("--multimask")
        with torch.no_grad():
            masks, iou, low_res = predictor.predict(
                **kwargs, multimask_output=multimask, return_logits=True
            )
        np.save(out / f"{name}_low_res_logits.npy", f32(low_res))
        np.save(out / f"{name}_iou_predictions.npy", f32(iou))
        np.save(out / f"{name}_masks.npy", f32(masks))
        lines.append(" ".join([name] + flags))
        print(f"{name}: low-res logits in [{low_res.min():.3f}, {low_res.max():.3f}], IoU {iou}")
    (out / "cases.txt").write_text("\n".join(lines) + "\n")
    params = sum(p.numel() for p in sam.parameters())
    print(f"official SAM {args.variant}: {params:,} parameters; wrote {out}")


if __name__ == "__main__":
    main()
