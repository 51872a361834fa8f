//! The `echoone` commands end to end on tiny synthetic data: train (artefact tree, loss goes
//! down), eval, predict, ablate, and clear errors for bad input. Resume and kill tests: resume.rs.

mod common;

use std::fs;
use std::process::Command;

use common::*;
use echoone_run::Checkpoint;

#[test]
fn train_writes_the_artefact_tree_and_the_loss_goes_down() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), "config.json", &tiny_run(2));
    let out = tmp.path().join("run");
    let stdout = ok(&echoone(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(stdout.contains("best mean validation Dice"), "{stdout}");
    for file in [
        "config.json",
        "splits.json",
        "metrics.csv",
        "curves.png",
        "summary.json",
        "summary.md",
        "prior/prior.json",
        "prior/centre_masks.npy",
        "prior/purity.md",
        "checkpoints/latest/model.mpk",
        "checkpoints/latest/optimizer.mpk",
        "checkpoints/latest/state.json",
        "checkpoints/latest/prior/prior.json",
        "checkpoints/best/model.mpk",
        "checkpoints/best/config.json",
    ] {
        assert!(out.join(file).is_file(), "missing {file}");
    }
    let overlays: Vec<_> = fs::read_dir(out.join("overlays/epoch_002"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .collect();
    assert_eq!(overlays.len(), 2);
    assert!(out.join("overlays/epoch_002/README.md").is_file());
    let csv = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.starts_with("epoch,lr,train_loss,train_coarse_bce"),
        "{csv}"
    );
    let h = history(&out);
    assert_eq!(h.len(), 2);
    assert!(
        h[1].train_loss < h[0].train_loss,
        "training loss did not go down: {} -> {}",
        h[0].train_loss,
        h[1].train_loss
    );
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["statistics"]["per_plane"]["PSAX"].is_object());

    // A second run into the same folder without --resume is refused, and nothing is lost.
    let err = fails(&echoone(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(err.contains("--resume"), "{err}");
    assert!(out.join("checkpoints/best/model.mpk").is_file());

    // eval on the run's test split, and predict with automatic prompts.
    let eval_out = tmp.path().join("eval");
    let report = ok(&echoone(&[
        "eval",
        "--run",
        out.to_str().unwrap(),
        "--out",
        eval_out.to_str().unwrap(),
    ]));
    assert!(report.contains("mean Dice over structures"), "{report}");
    assert!(eval_out.join("summary.json").is_file());
    assert!(eval_out.join("overlays").is_dir());
    let caption = fs::read_to_string(eval_out.join("overlays/README.md")).unwrap();
    assert!(
        caption.contains("tinted red") && caption.contains("outlined in green"),
        "{caption}"
    );

    let sample = echoone_data::SyntheticConfig {
        cases: 1,
        width: 80,
        height: 64,
        ..Default::default()
    }
    .sample(2)
    .unwrap();
    let image = tmp.path().join("echo.png");
    sample.image.save(&image).unwrap();
    let pred_out = tmp.path().join("pred");
    let said = ok(&echoone(&[
        "predict",
        "--run",
        out.to_str().unwrap(),
        image.to_str().unwrap(),
        "--prompts",
        "auto",
        "--out",
        pred_out.to_str().unwrap(),
    ]));
    assert!(said.contains("1 frame(s)"), "{said}");
    let stem = image.file_stem().unwrap().to_string_lossy().into_owned();
    let label = image::open(pred_out.join(format!("{stem}_label.png")))
        .unwrap()
        .to_luma8();
    assert_eq!(label.dimensions(), (80, 64));
    assert!(label.as_raw().iter().all(|&v| v <= 3));
    let nifti =
        echoone_data::nifti_io::read(&pred_out.join(format!("{stem}_label.nii.gz"))).unwrap();
    assert_eq!((nifti.width, nifti.height, nifti.frames), (80, 64, 1));
    let back: Vec<u8> = nifti.data.iter().map(|&v| v as u8).collect();
    assert_eq!(&back, label.as_raw());
    assert!(pred_out.join(format!("{stem}_overlay.png")).is_file());

    // eval with ground-truth and automatic clicks side by side, and jittered clicks.
    let both_out = tmp.path().join("eval-both");
    let said = ok(&echoone(&[
        "eval",
        "--run",
        out.to_str().unwrap(),
        "--prompts",
        "both",
        "--refine",
        "1",
        "--out",
        both_out.to_str().unwrap(),
    ]));
    assert!(
        said.contains("clicks: gt") && said.contains("clicks: auto+1 refinements"),
        "{said}"
    );
    let table = fs::read_to_string(both_out.join("prompts.md")).unwrap();
    assert!(
        table.contains("| gt | auto+1 refinements | auto+1 refinements / gt |"),
        "{table}"
    );
    for structure in ["LV", "MYO", "LA"] {
        assert!(table.contains(&format!("| all | {structure} |")), "{table}");
    }
    assert!(
        both_out.join("gt/summary.json").is_file() && both_out.join("auto/summary.json").is_file()
    );
    let jitter = ok(&echoone(&[
        "eval",
        "--run",
        out.to_str().unwrap(),
        "--click-jitter",
        "4",
        "--out",
        tmp.path().join("eval-jitter").to_str().unwrap(),
    ]));
    assert!(jitter.contains("clicks: gt+jitter 4px"), "{jitter}");

    // A CAMUS half sequence (NIfTI, 2D+t) and an HMC-QU video (MJPEG AVI), with given clicks.
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tests/fixtures");
    let sequence = fixtures
        .join("camus_nifti/database_nifti/patient0001/patient0001_2CH_half_sequence.nii.gz");
    let video = fixtures.join("hmcqu/HMC-QU/A4C/ES0001 _4CH_1.avi");
    let said = ok(&echoone(&[
        "predict",
        "--run",
        out.to_str().unwrap(),
        sequence.to_str().unwrap(),
        video.to_str().unwrap(),
        "--point",
        "LV:20,30",
        "--point",
        "MYO:25,10",
        "--out",
        pred_out.to_str().unwrap(),
    ]));
    let input = echoone_data::nifti_io::read(&sequence).unwrap();
    let written =
        echoone_data::nifti_io::read(&pred_out.join("patient0001_2CH_half_sequence_label.nii.gz"))
            .unwrap();
    assert_eq!(
        (
            written.width,
            written.height,
            written.frames,
            written.spacing
        ),
        (input.width, input.height, input.frames, input.spacing)
    );
    assert!(
        said.contains(&format!("{} frame(s)", input.frames)),
        "{said}"
    );
    let frames = echoone_data::avi::AviVideo::read(&video).unwrap().len();
    let clip = echoone_data::nifti_io::read(&pred_out.join("ES0001 _4CH_1_label.nii.gz")).unwrap();
    assert_eq!(clip.frames, frames);
    assert!(pred_out.join("ES0001 _4CH_1_f0000_overlay.png").is_file());

    // A synthetic cine (NIfTI 2D+t): every frame segmented, the LV area curve and the beats.
    let cfg = echoone_data::SyntheticConfig {
        cases: 1,
        width: 64,
        height: 64,
        ..Default::default()
    };
    let cine = cfg
        .cine(0, echoone_data::Plane::FourChamber, 24, 2)
        .unwrap();
    echoone_data::synthetic::write_cine(&cine, tmp.path(), "cine").unwrap();
    let said = ok(&echoone(&[
        "predict",
        "--run",
        out.to_str().unwrap(),
        tmp.path().join("cine.nii.gz").to_str().unwrap(),
        "--prompts",
        "auto",
        "--out",
        pred_out.to_str().unwrap(),
    ]));
    assert!(said.contains("48 frame(s)"), "{said}");
    let area = fs::read_to_string(pred_out.join("cine_lv_area.csv")).unwrap();
    assert!(area.starts_with("frame,lv_area_mm2,phase"), "{area}");
    assert_eq!(area.lines().count(), 49);
    let beats = fs::read_to_string(pred_out.join("cine_beats.csv")).unwrap();
    assert!(
        beats.starts_with("beat,ed_frame,es_frame,edv_ml,esv_ml,ef_pct"),
        "{beats}"
    );
    assert!(
        pred_out.join("cine_lv_area.png").is_file() && pred_out.join("cine_lv_area.svg").is_file()
    );

    // ef: the stated, mask and predicted volumes of the run's test cases.
    let ef_out = tmp.path().join("ef");
    let said = ok(&echoone(&[
        "ef",
        "--run",
        out.to_str().unwrap(),
        "--split",
        "test",
        "--out",
        ef_out.to_str().unwrap(),
    ]));
    assert!(said.contains("masks vs reference"), "{said}");
    let csv = fs::read_to_string(ef_out.join("volumes.csv")).unwrap();
    assert!(csv.starts_with("case,source,edv_ml,esv_ml,ef_pct"), "{csv}");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(ef_out.join("ef.json")).unwrap()).unwrap();
    let cases: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("reference"))
        .filter_map(|l| l.split(',').next())
        .collect();
    assert!(!cases.is_empty(), "{csv}");
    // Every test case is measured from its masks, and measured or skipped (with a reason) from
    // the predictions.
    for case in &cases {
        let row = |source: &str| {
            csv.lines()
                .any(|l| l.starts_with(&format!("{case},{source},")))
        };
        let skipped = report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["case"] == *case && s["source"] == "predicted");
        assert!(row("masks"), "{case}: no masks row\n{csv}");
        assert!(
            row("predicted") || skipped,
            "{case}: predicted neither measured nor skipped"
        );
    }
    assert_eq!(report["comparisons"][0]["source"], "masks");
    assert_eq!(report["comparisons"][0]["ef_pct"]["n"], cases.len());
    for file in ["summary.md", "bland_altman.png", "bland_altman.svg"] {
        assert!(ef_out.join(file).is_file(), "missing {file}");
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    let err = fails(&echoone(&[
        "train",
        "--dataset",
        "png:/no/such/folder",
        "--out",
        o,
    ]));
    assert!(err.contains("/no/such/folder"), "{err}");
    let bad = tmp.path().join("bad.json");
    fs::write(&bad, "{ not json").unwrap();
    let err = fails(&echoone(&[
        "train",
        "--config",
        bad.to_str().unwrap(),
        "--out",
        o,
    ]));
    assert!(
        err.contains("bad.json") && err.contains("not a training configuration"),
        "{err}"
    );
    let negative = write_config(tmp.path(), "neg.json", &tiny_run(1).with_lr(-1.0));
    let err = fails(&echoone(&[
        "train",
        "--config",
        negative.to_str().unwrap(),
        "--out",
        o,
    ]));
    assert!(
        err.contains("neg.json") && err.contains("learning rate"),
        "{err}"
    );
    let err = fails(&echoone(&["eval", "--run", tmp.path().to_str().unwrap()]));
    assert!(err.contains("not a checkpoint"), "{err}");
    let err = fails(&echoone(&["eval", "--run", "/no/such/run"]));
    assert!(err.contains("/no/such/run"), "{err}");
    let err = fails(&echoone(&["train", "--backend", "cuda-but-not-built"]));
    assert!(err.contains("not compiled into this binary"), "{err}");
    let nothing_to_resume = Command::new(env!("CARGO_BIN_EXE_echoone"))
        .args(["train", "--resume"])
        .current_dir(tmp.path())
        .output()
        .expect("run echoone train --resume");
    let err = fails(&nothing_to_resume);
    assert!(
        err.contains("runs/train-*") && err.contains("--out"),
        "{err}"
    );
    let err = fails(&echoone(&[
        "predict",
        "--run",
        o,
        "/no/such.png",
        "--prompts",
        "auto",
        "--out",
        o,
    ]));
    assert!(err.contains("/no/such.png"), "{err}");
}

/// Starts `command`, sends it SIGINT (Ctrl-C) once the run log `events` shows a finished step,
/// and returns its standard output, asserting it exited with status 130.
#[cfg(target_os = "linux")]
fn ctrl_c_after_a_step(command: &mut Command, events: &std::path::Path) -> String {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start echoone");
    // Not a timed assertion: only a guard against waiting forever for a step that never comes.
    let give_up = Instant::now() + Duration::from_secs(600);
    while !fs::read_to_string(events).is_ok_and(|log| log.contains("\"step_done\"")) {
        assert!(child.try_wait().unwrap().is_none(), "echoone ended first");
        assert!(Instant::now() < give_up, "no step in 10 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    interrupt(&child);
    let out = child.wait_with_output().expect("reap echoone");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
#[cfg(target_os = "linux")]
fn ablate_trains_each_variant_and_writes_one_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        "config.json",
        &tiny_run(2).with_steps_per_epoch(2),
    );
    let out = tmp.path().join("ablation");
    let o = out.to_str().unwrap();
    let grid = ["ablate", "--grid", "pc_mask", "--quiet"];
    let c = config.to_str().unwrap();
    let stopped = ctrl_c_after_a_step(
        Command::new(env!("CARGO_BIN_EXE_echoone"))
            .args(grid)
            .args(["--config", c, "--out", o]),
        &out.join("pc_mask-on/events.jsonl"),
    );
    assert!(
        stopped.contains("variant pc_mask-on stopped (epochs complete: ")
            && stopped.contains("--resume"),
        "{stopped}"
    );
    assert!(
        !out.join("ablation.json").exists(),
        "no table from a stopped ablation"
    );
    // Resuming needs neither the configuration nor the flags again: the saved run's are used,
    // also for the variant that had not started.
    // ... and evaluate with both click sources (PC-Mask variants only for automatic clicks).
    let table = ok(&echoone(
        &[&grid[..], &["--out", o, "--resume", "--prompts", "both"]].concat(),
    ));
    let saved = |v: &str| {
        let ckpt = Checkpoint::open(&out.join(v).join("checkpoints/latest")).unwrap();
        (ckpt.state.history.len(), ckpt.config.datasets)
    };
    assert_eq!(saved("pc_mask-on"), saved("pc_mask-off"));
    assert_eq!(saved("pc_mask-off").0, 2);
    for row in [
        "| pc_mask-on | gt |",
        "| pc_mask-on | auto |",
        "| pc_mask-off | gt |",
    ] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    assert!(!table.contains("| pc_mask-off | auto |"), "{table}");
    for variant in ["pc_mask-on", "pc_mask-off"] {
        assert!(
            out.join(variant)
                .join("checkpoints/best/model.mpk")
                .is_file()
        );
    }
    assert!(
        !out.join("pc_mask-off/prior").exists(),
        "PC-Mask off fits no prior"
    );
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("ablation.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0]["overall"]["Dice"]["n"].as_u64().unwrap() > 0);
    assert_eq!(rows[1]["clicks"], "auto");
    assert!(
        fs::read_to_string(out.join("ablation.md"))
            .unwrap()
            .contains("## HD95")
    );
}

/// LV Dice of a predicted label map against a true one.
fn lv_dice(truth: &image::GrayImage, found: &image::GrayImage) -> f64 {
    let (t, f): (Vec<bool>, Vec<bool>) = (
        truth.as_raw().iter().map(|&v| v == 1).collect(),
        found.as_raw().iter().map(|&v| v == 1).collect(),
    );
    let both = t.iter().zip(&f).filter(|(a, b)| **a && **b).count();
    let sizes = t.iter().filter(|v| **v).count() + f.iter().filter(|v| **v).count();
    2.0 * both as f64 / sizes.max(1) as f64
}

/// Pearson correlation of two equally long series.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (a, b) = (a - mx, b - my);
        (sxy, sxx, syy) = (sxy + a * b, sxx + a * a, syy + b * b);
    }
    sxy / (sxx * syy).sqrt()
}

/// The beats of each row of a `<stem>_beats.csv`: ED frame, ES frame, EDV and ESV in ml, EF in
/// percent.
fn read_beats(csv: &str) -> Vec<(usize, usize, f64, f64, f64)> {
    csv.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
            )
        })
        .collect()
}

/// `predict --prompts auto` on a synthetic cine (an unseen case, 128 x 128, two beats, written
/// as NIfTI with its spacing) through the model of `run`: every frame segmented in order, the
/// LV area curve and the beats measured on exactly those masks, in mm^2 with the cine's
/// spacing, and the masks as good on the cine's frames as on still images.
fn cine_beats_are_found_on_the_models_own_masks(run: &std::path::Path, tmp: &std::path::Path) {
    let cine = echoone_data::SyntheticConfig {
        cases: 1,
        seed: 99,
        width: 128,
        height: 128,
        ..Default::default()
    }
    .cine(0, echoone_data::Plane::FourChamber, 24, 2)
    .unwrap();
    let (dir, out) = (tmp.join("cine"), tmp.join("cine-pred"));
    echoone_data::synthetic::write_cine(&cine, &dir, "cine").unwrap();
    ok(&echoone(&[
        "predict",
        "--run",
        run.to_str().unwrap(),
        dir.join("cine.nii.gz").to_str().unwrap(),
        "--prompts",
        "auto",
        "--out",
        out.to_str().unwrap(),
    ]));
    let labels: Vec<image::GrayImage> = (0..cine.frames.len())
        .map(|f| {
            image::open(out.join(format!("cine_f{f:04}_label.png")))
                .unwrap()
                .to_luma8()
        })
        .collect();
    let spacing = Some(cine.spacing);
    // The curve predict wrote (mm^2, two decimals) is of the LV prompt's own masks, which hold
    // every LV pixel of the label maps (where masks overlap, LV loses some to MYO or LA).
    let curve: Vec<f64> = fs::read_to_string(out.join("cine_lv_area.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let areas = echoone_infer::beats::lv_areas(&labels, spacing);
    assert_eq!(curve.len(), cine.frames.len());
    for (f, (written, label)) in curve.iter().zip(&areas).enumerate() {
        assert!(
            *label <= written + 0.006,
            "frame {f}: {written} mm^2 written, {label} in the label map"
        );
    }
    // Its beats are the ones on that curve, each EF the one of its volumes.
    let beats = read_beats(&fs::read_to_string(out.join("cine_beats.csv")).unwrap());
    let found: Vec<(usize, usize)> = beats.iter().map(|&(ed, es, _, _, _)| (ed, es)).collect();
    assert_eq!(found, echoone_infer::beats::beats(&curve), "{beats:?}");
    assert!(!beats.is_empty(), "no beat found on {curve:?}");
    for &(_, _, edv, esv, ef) in &beats {
        assert!(edv > 0.0 && esv > 0.0, "volumes {edv}, {esv} ml");
        assert!(
            (ef - 100.0 * (edv - esv) / edv).abs() <= 0.1,
            "EF {ef} % from {edv} and {esv} ml"
        );
    }
    // The label maps hold up on the cine's frames as on still images (LV Dice 0.70-0.76 there).
    let dice: Vec<f64> = cine
        .labels
        .iter()
        .zip(&labels)
        .map(|(t, p)| lv_dice(t, p))
        .collect();
    let mean = dice.iter().sum::<f64>() / dice.len() as f64;
    let r = pearson(
        &areas,
        &echoone_infer::beats::lv_areas(&cine.labels, spacing),
    );
    let (ed, es, ef) = (&cine.ed_frames, &cine.es_frames, cine.truth.ef_pct);
    eprintln!(
        "cine: LV Dice {mean:.3}; beats (ED, ES, EF) {beats:?}; true ED {ed:?}, ES {es:?}, \
         EF {ef:.1}; area curve r {r:.3}"
    );
    assert!(mean >= 0.5, "LV Dice over the cine's frames {mean:.3}");
    // Not asserted: how well this tiny model's area curve follows the true one. Measured
    // (2026-12-06, this test's run with seeds 42, 1, 2 after the fused kernels; 42 before):
    // r = 0.084, 0.768, 0.468; 0.933. Its LV shrinks too little from ED to ES (EF 7-33 % against
    // 72.6 %), so rounding differences alone move r across that range; the EF of a model's own
    // masks is issue 26's subject, measured on a model trained for it.
}

#[test]
fn auto_prompt_segments_the_lv_as_well_as_a_click_and_predict_finds_a_cines_beats() {
    // A tiny model trained long enough to segment (LV Dice about 0.7 on its test split).
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        "config.json",
        &tiny_run(12).with_steps_per_epoch(12),
    );
    let run = tmp.path().join("run");
    ok(&echoone(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]));
    // Unseen images (another seed): each apical view at ED and ES of one case.
    let cfg = echoone_data::SyntheticConfig {
        cases: 1,
        seed: 99,
        width: 64,
        height: 64,
        planes: vec![
            echoone_data::Plane::TwoChamber,
            echoone_data::Plane::FourChamber,
        ],
        ..Default::default()
    };
    let (mut auto, mut clicked) = (Vec::new(), Vec::new());
    for (k, sample) in cfg.generate(1).unwrap().into_iter().enumerate() {
        let image = tmp.path().join(format!("echo{k}.png"));
        sample.image.save(&image).unwrap();
        let label = |args: &[&str], dir: &str| {
            let out = tmp.path().join(dir);
            let mut all = vec![
                "predict",
                "--run",
                run.to_str().unwrap(),
                image.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ];
            all.extend_from_slice(args);
            ok(&echoone(&all));
            image::open(out.join(format!("echo{k}_label.png")))
                .unwrap()
                .to_luma8()
        };
        // The ground-truth click of the evaluation: the LV's middle pixel in raster order.
        let lv: Vec<u8> = sample
            .label
            .as_raw()
            .iter()
            .map(|&v| u8::from(v == 1))
            .collect();
        let p = echoone_data::prompt::eval_point(&lv, 64);
        let point = format!("LV:{},{}", p.x, p.y);
        auto.push(lv_dice(
            &sample.label,
            &label(&["--prompts", "auto"], "auto"),
        ));
        clicked.push(lv_dice(
            &sample.label,
            &label(&["--point", &point], "click"),
        ));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (auto, clicked) = (mean(&auto), mean(&clicked));
    eprintln!("LV Dice without a click {auto:.3}, with one {clicked:.3}");
    assert!(
        auto >= 0.5,
        "LV Dice without a click {auto} (with one {clicked})"
    );
    assert!(
        auto >= 0.9 * clicked,
        "LV Dice without a click {auto}, with one {clicked}"
    );

    cine_beats_are_found_on_the_models_own_masks(&run, tmp.path());
}
