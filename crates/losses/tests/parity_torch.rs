//! Loss values and input gradients against PyTorch (float64 reference) on the committed
//! fixtures of `fixtures/generate.py`, on burn-flex with autodiff, to 1e-5.

use std::fs::File;
use std::path::PathBuf;

use burn::backend::Autodiff;
use burn::tensor::{Tensor, TensorData};
use burn_flex::{Flex, FlexDevice};
use echoone_losses::{BceWithLogitsConfig, EchoOneLossConfig, LossError, SoftDiceConfig};
use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;
use serde_json::Value;

type B = Autodiff<Flex>;

const CASES: [&str; 3] = ["default", "custom", "empty_targets"];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
}

fn expected(case: &str) -> Value {
    let all: Value =
        serde_json::from_reader(File::open(fixture("expected.json")).unwrap()).unwrap();
    all["cases"][case].clone()
}

fn array(case: &str, key: &str) -> ArrayD<f32> {
    let file = File::open(fixture(&format!("{case}_{key}.npy"))).unwrap();
    ArrayD::<f32>::read_npy(file).unwrap()
}

fn tensor(case: &str, key: &str) -> Tensor<B, 4> {
    let a = array(case, key);
    let shape = a.shape().to_vec();
    let data = TensorData::new(a.iter().copied().collect::<Vec<f32>>(), shape);
    Tensor::from_data(data, &FlexDevice).require_grad()
}

/// Within 1e-5 relative (absolute below 1e-3 in magnitude, where gradients of a mean live).
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-5 * want.abs().max(1e-3)
}

fn scalar(t: Tensor<B, 1>) -> f64 {
    f64::from(t.into_scalar())
}

fn assert_grad(
    case: &str,
    what: &str,
    x: &Tensor<B, 4>,
    grads: &<B as burn::tensor::backend::AutodiffBackend>::Gradients,
    key: &str,
) {
    let got: Vec<f32> = x.grad(grads).unwrap().into_data().to_vec().unwrap();
    let want = array(case, key);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert!(
            close(f64::from(*g), f64::from(*w)),
            "{case} {what} grad[{i}]: {g} vs PyTorch {w}"
        );
    }
}

#[test]
fn bce_with_pos_weight_matches_torch_value_and_gradient() {
    for case in CASES {
        let e = expected(case);
        let bce = BceWithLogitsConfig::new()
            .with_pos_weight(e["pos_weight"].as_f64().unwrap())
            .init();
        let (x, t) = (tensor(case, "logits"), tensor(case, "targets"));
        let loss = bce.forward(x.clone(), t).unwrap();
        let grads = loss.clone().backward();
        let (got, want) = (scalar(loss), e["bce"].as_f64().unwrap());
        assert!(close(got, want), "{case} BCE {got} vs PyTorch {want}");
        assert_grad(case, "BCE", &x, &grads, "bce_grad");
    }
}

#[test]
fn soft_dice_matches_torch_value_and_gradient() {
    for case in CASES {
        let e = expected(case);
        let dice = SoftDiceConfig::new()
            .with_smooth(e["smooth"].as_f64().unwrap())
            .init();
        let (x, t) = (tensor(case, "logits"), tensor(case, "targets"));
        let loss = dice.forward(x.clone(), t).unwrap();
        let grads = loss.clone().backward();
        let (got, want) = (scalar(loss), e["dice"].as_f64().unwrap());
        assert!(close(got, want), "{case} Dice {got} vs PyTorch {want}");
        assert_grad(case, "Dice", &x, &grads, "dice_grad");
    }
}

fn config(e: &Value) -> EchoOneLossConfig {
    let w = &e["weights"];
    EchoOneLossConfig::new()
        .with_main_bce(w["main_bce"].as_f64().unwrap())
        .with_main_dice(w["main_dice"].as_f64().unwrap())
        .with_coarse_bce(w["coarse_bce"].as_f64().unwrap())
        .with_coarse_dice(w["coarse_dice"].as_f64().unwrap())
        .with_pos_weight(e["pos_weight"].as_f64().unwrap())
        .with_smooth(e["smooth"].as_f64().unwrap())
}

#[test]
fn composite_loss_with_coarse_logits_matches_torch() {
    for case in CASES {
        let e = expected(case);
        let loss = config(&e).init();
        let (x, c, t) = (
            tensor(case, "logits"),
            tensor(case, "coarse"),
            tensor(case, "targets"),
        );
        let out = loss.forward(x.clone(), Some(c.clone()), t).unwrap();
        assert!(out.coarse_bce.is_some() && out.coarse_dice.is_some());
        let grads = out.total.clone().backward();
        let (got, want) = (scalar(out.total), e["total"].as_f64().unwrap());
        assert!(close(got, want), "{case} total {got} vs PyTorch {want}");
        assert_grad(case, "total/main", &x, &grads, "total_grad_main");
        assert_grad(case, "total/coarse", &c, &grads, "total_grad_coarse");
    }
}

#[test]
fn composite_loss_without_coarse_logits_matches_torch() {
    for case in CASES {
        let e = expected(case);
        let loss = config(&e).init();
        let (x, t) = (tensor(case, "logits"), tensor(case, "targets"));
        let out = loss.forward(x.clone(), None, t).unwrap();
        assert!(out.coarse_bce.is_none() && out.coarse_dice.is_none());
        let grads = out.total.clone().backward();
        let (got, want) = (scalar(out.total), e["main_only"].as_f64().unwrap());
        assert!(close(got, want), "{case} main-only {got} vs PyTorch {want}");
        assert_grad(case, "main-only", &x, &grads, "main_only_grad");
    }
}

#[test]
fn defaults_are_the_authors() {
    let c = EchoOneLossConfig::new();
    assert_eq!(
        (
            c.main_bce,
            c.main_dice,
            c.coarse_bce,
            c.coarse_dice,
            c.pos_weight,
            c.smooth
        ),
        (0.2, 0.8, 0.1, 0.4, 2.0, 1e-5)
    );
}

#[test]
fn shape_mismatches_are_errors() {
    let x = tensor("default", "logits");
    let small = tensor("custom", "targets");
    let err = EchoOneLossConfig::new()
        .init()
        .forward(x.clone(), None, small.clone());
    assert!(matches!(
        err,
        Err(LossError::ShapeMismatch {
            what: "targets",
            ..
        })
    ));
    let t = tensor("default", "targets");
    let err = EchoOneLossConfig::new().init().forward(x, Some(small), t);
    assert!(matches!(
        err,
        Err(LossError::ShapeMismatch {
            what: "coarse logits",
            ..
        })
    ));
}
