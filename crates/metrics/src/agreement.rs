//! Agreement of a measurement with its reference (Bland-Altman): bias, limits of agreement,
//! mean absolute error and Pearson's r.

use serde::Serialize;

use crate::stats::finite_or_null;

/// How a measured quantity agrees with its reference over `n` cases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agreement {
    /// Number of (measured, reference) pairs with both values finite.
    pub n: usize,
    /// Mean absolute difference.
    #[serde(serialize_with = "finite_or_null")]
    pub mae: f64,
    /// Mean difference, measured minus reference.
    #[serde(serialize_with = "finite_or_null")]
    pub bias: f64,
    /// Sample standard deviation of the differences (n - 1).
    #[serde(serialize_with = "finite_or_null")]
    pub sd: f64,
    /// Lower 95 % limit of agreement, `bias - 1.96 sd`.
    #[serde(serialize_with = "finite_or_null")]
    pub loa_low: f64,
    /// Upper 95 % limit of agreement, `bias + 1.96 sd`.
    #[serde(serialize_with = "finite_or_null")]
    pub loa_high: f64,
    /// Pearson correlation of measured and reference.
    #[serde(serialize_with = "finite_or_null")]
    pub pearson_r: f64,
}

impl Agreement {
    /// The agreement of `(measured, reference)` pairs, leaving out pairs with a non-finite value.
    pub fn of(pairs: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let pairs: Vec<(f64, f64)> = pairs
            .into_iter()
            .filter(|(m, r)| m.is_finite() && r.is_finite())
            .collect();
        let n = pairs.len();
        let nf = n as f64;
        let mean = |f: &dyn Fn(&(f64, f64)) -> f64| pairs.iter().map(f).sum::<f64>() / nf;
        let bias = mean(&|(m, r)| m - r);
        let mae = mean(&|(m, r)| (m - r).abs());
        let sd = if n > 1 {
            (pairs
                .iter()
                .map(|(m, r)| (m - r - bias).powi(2))
                .sum::<f64>()
                / (nf - 1.0))
                .sqrt()
        } else {
            f64::NAN
        };
        let (mm, mr) = (mean(&|p| p.0), mean(&|p| p.1));
        let cov: f64 = pairs.iter().map(|(m, r)| (m - mm) * (r - mr)).sum();
        let vm: f64 = pairs.iter().map(|(m, _)| (m - mm).powi(2)).sum();
        let vr: f64 = pairs.iter().map(|(_, r)| (r - mr).powi(2)).sum();
        Self {
            n,
            mae,
            bias,
            sd,
            loa_low: bias - 1.96 * sd,
            loa_high: bias + 1.96 * sd,
            pearson_r: cov / (vm * vr).sqrt(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_values() {
        // Differences 2, -1, 3, 0: bias 1, MAE 1.5, sd sqrt(10/3).
        let a = Agreement::of([
            (52.0, 50.0),
            (39.0, 40.0),
            (68.0, 65.0),
            (30.0, 30.0),
            (f64::NAN, 1.0),
        ]);
        assert_eq!(a.n, 4);
        assert!((a.bias - 1.0).abs() < 1e-12);
        assert!((a.mae - 1.5).abs() < 1e-12);
        let sd = (10.0f64 / 3.0).sqrt();
        assert!((a.sd - sd).abs() < 1e-12);
        assert!((a.loa_high - (1.0 + 1.96 * sd)).abs() < 1e-12);
        assert!(a.pearson_r > 0.98 && a.pearson_r <= 1.0);
    }

    #[test]
    fn no_pairs_give_nan_and_null_in_json() {
        let a = Agreement::of([]);
        assert_eq!(a.n, 0);
        assert!(a.mae.is_nan() && a.pearson_r.is_nan());
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#""mae":null"#), "{json}");
    }
}
