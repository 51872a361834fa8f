//! HD95 on 256x256 and 1024x1024 echo-like masks, the same masks MONAI is timed on by
//! `tests/fixtures/time_monai.py`; before timing, each value is checked against MONAI's.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use echoone_metrics::{BinaryMask, Spacing, SurfaceDistances, read_label_file};
use serde_json::Value;

const CASES: [&str; 4] = ["blob_256", "ring_256", "blob_1024", "ring_1024"];

fn bench_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bench"))
}

fn mask(name: &str) -> BinaryMask {
    let path = bench_dir().join(format!("{name}.png"));
    let map = read_label_file(&path).expect("benchmark mask").map;
    let data = map.data().iter().map(|&v| v != 0).collect();
    BinaryMask::new(map.height(), map.width(), data).expect("mask")
}

fn hd95(pred: &BinaryMask, reference: &BinaryMask) -> f64 {
    SurfaceDistances::compute(pred, reference, Spacing::unit())
        .expect("same shapes")
        .hausdorff_percentile(95.0)
}

fn bench(c: &mut Criterion) {
    let monai: Value = serde_json::from_reader(
        std::fs::File::open(bench_dir().join("monai_hd95.json")).expect("monai_hd95.json"),
    )
    .expect("json");
    let mut group = c.benchmark_group("hd95");
    for case in CASES {
        let (pred, reference) = (mask(&format!("{case}_pred")), mask(&format!("{case}_ref")));
        let ours = hd95(&pred, &reference);
        let theirs = monai["cases"][case]["hd95"].as_f64().expect("MONAI value");
        assert!(
            (ours - theirs).abs() <= 1e-6 * theirs.abs(),
            "{case}: HD95 {ours} but MONAI {theirs}"
        );
        let monai_ms = monai["cases"][case]["median_ms"]
            .as_f64()
            .unwrap_or(f64::NAN);
        println!("{case}: HD95 {ours} = MONAI {theirs}; MONAI median {monai_ms:.3} ms");
        group.bench_function(case, |b| {
            b.iter(|| hd95(black_box(&pred), black_box(&reference)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
