//! Volumes and EF end to end on the synthetic echoes, whose cases are sections of one 3-D LV with
//! a known EDV, ESV and EF: the method of discs on the true masks finds that EF, and a synthetic
//! cine's beats are found at its stated ED and ES frames.

use echoone_data::{DatasetSpec, Plane, SyntheticConfig};
use echoone_infer::beats::measure_beats;
use echoone_infer::ef::{Source, compare, measure_sources};
use echoone_metrics::{Agreement, DiscStep};

type B = burn_flex::Flex;

#[test]
fn biplane_on_the_true_masks_finds_the_true_ef() {
    let spec = DatasetSpec::parse("synthetic:cases=24,planes=2CH+4CH").unwrap();
    let samples = spec.load().unwrap();
    let references = spec.references().unwrap();
    assert_eq!(references.len(), 24);
    let (rows, skipped) =
        measure_sources::<B>(&samples, &references, None, 8, DiscStep::PerPhase).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    let masks = rows.iter().filter(|r| r.source == Source::Masks).count();
    assert_eq!(masks, 24);
    let c = compare(&rows);
    let ef: &Agreement = &c
        .iter()
        .find(|c| c.source == Source::Masks && c.against == Source::Reference)
        .unwrap()
        .ef_pct;
    assert_eq!(ef.n, 24);
    assert!(ef.mae <= 2.0, "EF MAE {} points, bias {}", ef.mae, ef.bias);
    assert!(ef.pearson_r > 0.95, "r {}", ef.pearson_r);
}

#[test]
fn a_cines_beats_are_found_at_its_ed_and_es_frames() {
    let cfg = SyntheticConfig {
        cases: 2,
        ..SyntheticConfig::default()
    };
    let cine = cfg.cine(1, Plane::FourChamber, 30, 2).unwrap();
    let beats = measure_beats(&cine.labels, Some(cine.spacing));
    assert_eq!(
        beats.len(),
        cine.ed_frames.len().min(cine.es_frames.len()),
        "{beats:?}"
    );
    for b in &beats {
        assert!(
            cine.ed_frames.iter().any(|&f| f.abs_diff(b.ed) <= 1),
            "ED {} vs {:?}",
            b.ed,
            cine.ed_frames
        );
        assert!(
            cine.es_frames.iter().any(|&f| f.abs_diff(b.es) <= 1),
            "ES {} vs {:?}",
            b.es,
            cine.es_frames
        );
        // One plane of a non-circular LV: within 8 points of the 3-D truth.
        assert!(
            (b.ef_pct - cine.truth.ef_pct).abs() < 8.0,
            "EF {} vs {}",
            b.ef_pct,
            cine.truth.ef_pct
        );
        assert!(b.edv_ml.is_finite() && b.esv_ml < b.edv_ml);
    }
}
