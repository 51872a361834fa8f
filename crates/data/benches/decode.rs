//! Decoding speed of the Motion-JPEG AVI and NIfTI readers on the files that
//! `benches/reference_decode.py` writes (and times with OpenCV and nibabel): run that script
//! first; without its files this bench says so and measures nothing.

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use echoone_data::avi::AviVideo;

/// Where the reference script wrote the files.
fn bench_dir() -> PathBuf {
    std::env::var_os("ECHOONE_DATA_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/echoone-data-bench")
        })
}

/// Every frame of the AVI at `path`, decoded to grey.
fn decode_video(path: &std::path::Path) -> usize {
    let video = AviVideo::read(path).ok();
    video.map_or(0, |v| (0..v.len()).filter_map(|i| v.frame(i).ok()).count())
}

fn bench(c: &mut Criterion) {
    let dir = bench_dir();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    for name in ["echonet_112x112x200.avi", "hmcqu_636x422x60.avi"] {
        let path = dir.join(name);
        if decode_video(&path) == 0 {
            eprintln!(
                "decode: {} missing or unreadable: run benches/reference_decode.py first",
                path.display()
            );
            continue;
        }
        g.bench_function(name, |b| b.iter(|| decode_video(&path)));
    }
    for name in [
        "camus_half_sequence_584x800x20.nii.gz",
        "camus_frame_584x800.nii.gz",
    ] {
        let path = dir.join(name);
        if echoone_data::nifti_io::read(&path).is_err() {
            eprintln!(
                "decode: {} missing or unreadable: run benches/reference_decode.py first",
                path.display()
            );
            continue;
        }
        g.bench_function(name, |b| {
            b.iter(|| echoone_data::nifti_io::read(&path).ok())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
