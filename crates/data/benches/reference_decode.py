"""Writes the decoding benchmark's input files with OpenCV and nibabel, and times the reference
readers on them: OpenCV's VideoCapture (+ BGR->grey, as EchoNet's loader reads frames) for the
Motion-JPEG AVIs, nibabel for the NIfTI files.

    python3 crates/data/benches/reference_decode.py [DIR]

DIR defaults to $ECHOONE_DATA_BENCH_DIR or target/echoone-data-bench under the repository; the
criterion bench `decode` (cargo xtask bench data) reads the same files from there.
Prints one JSON object: median milliseconds per file over the repeats.
"""
import argparse
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
NEEDS = "needs: numpy, nibabel, OpenCV (pip install numpy nibabel opencv-python-headless)"


def arguments():
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=NEEDS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "dir",
        nargs="?",
        default=os.environ.get("ECHOONE_DATA_BENCH_DIR", os.path.join(REPO, "target", "echoone-data-bench")),
        help="folder of the benchmark files (default: $ECHOONE_DATA_BENCH_DIR or target/echoone-data-bench)",
    )
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and usage errors before the imports below: standard library only

try:
    import cv2
    import nibabel as nib
    import numpy as np
except ImportError as error:
    sys.exit(f"{os.path.basename(__file__)}: {error}; {NEEDS}")


def echo_like(n, h, w, seed):
    """Speckled frames with a dark moving cavity, so that JPEG sizes look like echo videos."""
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for k in range(n):
        f = 60 + r.gamma(2.0, 25.0, (h, w))
        rad = (0.25 + 0.05 * np.sin(k / 5)) * min(h, w)
        f[((yy - h / 2) ** 2 + (xx - w / 2) ** 2) < rad * rad] *= 0.2
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return out


def write_avi(path, frames):
    h, w = frames[0].shape
    vw = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 50, (w, h))
    assert vw.isOpened(), path
    for f in frames:
        vw.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    vw.release()


def read_avi(path):
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY))
    cap.release()
    return frames


def read_nifti(path):
    return np.asanyarray(nib.load(path).dataobj)


def median_ms(fn, path, repeats):
    fn(path)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(path)
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main():
    out = arguments().parse_args().dir
    os.makedirs(out, exist_ok=True)
    cv2.setNumThreads(1)
    files = {
        "echonet_112x112x200.avi": lambda p: write_avi(p, echo_like(200, 112, 112, 1)),
        "hmcqu_636x422x60.avi": lambda p: write_avi(p, echo_like(60, 422, 636, 2)),
        "camus_half_sequence_584x800x20.nii.gz": lambda p: nib.save(
            nib.Nifti1Image(np.stack(echo_like(20, 800, 584, 3), -1), np.diag([0.154, 0.308, 1, 1])), p),
        "camus_frame_584x800.nii.gz": lambda p: nib.save(
            nib.Nifti1Image(echo_like(1, 800, 584, 4)[0], np.diag([0.154, 0.308, 1, 1])), p),
    }
    result = {}
    for name, make in files.items():
        path = os.path.join(out, name)
        if not os.path.exists(path):
            make(path)
        reader = read_avi if name.endswith(".avi") else read_nifti
        repeats = 20 if "frame" in name or "112" in name else 10
        result[name] = {"median_ms": median_ms(reader, path, repeats), "bytes": os.path.getsize(path)}
    versions = {"opencv": cv2.__version__, "nibabel": nib.__version__, "numpy": np.__version__}
    print(json.dumps({"dir": out, "versions": versions, "files": result}, indent=1))


if __name__ == "__main__":
    main()
