//! The `data cine` program: one file set per case that the NIfTI reader reads back with the
//! stated frames, spacing and phases, and `error: ...` lines for bad arguments.

use std::process::Command;

use echoone_data::{Plane, SyntheticConfig, nifti_io};

fn data(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_echoone"))
        .arg("data")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cine_writes_sequences_labels_and_info_per_case() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cines");
    let args = [
        "cine",
        "--out",
        out.to_str().unwrap(),
        "--cases",
        "2",
        "--seed",
        "9",
        "--plane",
        "2CH",
        "--frames",
        "20",
        "--beats",
        "2",
        "--size",
        "64",
    ];
    let run = data(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cfg = SyntheticConfig {
        cases: 2,
        seed: 9,
        width: 64,
        height: 64,
        ..SyntheticConfig::default()
    };
    for case in 0..2 {
        let stem = format!("{}_2CH", SyntheticConfig::case_name(case));
        let images = nifti_io::read(&out.join(format!("{stem}.nii.gz"))).unwrap();
        let labels = nifti_io::read(&out.join(format!("{stem}_gt.nii.gz"))).unwrap();
        assert_eq!((images.width, images.height, images.frames), (64, 64, 40));
        assert_eq!(labels.frames, 40);
        let cine = cfg.cine(case, Plane::TwoChamber, 20, 2).unwrap();
        assert_eq!(labels.labels(8).unwrap(), cine.labels[8]);
        assert_eq!(images.image(39).unwrap(), cine.frames[39]);
        let sx = images.spacing.unwrap()[0];
        assert!((sx - cine.spacing[0]).abs() < 1e-5);
        let info = std::fs::read_to_string(out.join(format!("{stem}.cfg"))).unwrap();
        assert!(
            info.starts_with("ED: 1\nES: 9\nNbFrame: 40\nEDV: "),
            "{info}"
        );
        let edv: f64 = info.lines().nth(3).unwrap()[5..].parse().unwrap();
        assert!((edv - cine.truth.edv_ml).abs() < 1e-3);
    }
    let bad = data(&["cine", "--out", out.to_str().unwrap(), "--frames", "50"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("20 to 40 frames"),
        "{err}"
    );
    let bad = data(&["cine", "--out", out.to_str().unwrap(), "--plane", "5CH"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.starts_with("error: unknown plane"), "{err}");
}
