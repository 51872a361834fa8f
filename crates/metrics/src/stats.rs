//! NaN- and inf-aware statistics of one metric over many values.

use serde::Serialize;

/// Mean, std, median over the finite values, and the counts of those left out.
///
/// `std` is the population standard deviation (numpy's default, `ddof = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// Mean of the finite values (null when there are none).
    #[serde(serialize_with = "crate::stats::finite_or_null")]
    pub mean: f64,
    /// Population standard deviation of the finite values.
    #[serde(serialize_with = "crate::stats::finite_or_null")]
    pub std: f64,
    /// Median of the finite values.
    #[serde(serialize_with = "crate::stats::finite_or_null")]
    pub median: f64,
    /// Number of finite values used.
    pub n: usize,
    /// Number of NaN values left out.
    pub n_nan: usize,
    /// Number of infinite values left out.
    pub n_inf: usize,
}

impl Stats {
    /// The statistics of `values`, leaving out NaN and infinities (and counting them).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let (mut finite, mut n_nan, mut n_inf) = (Vec::new(), 0, 0);
        for v in values {
            if v.is_nan() {
                n_nan += 1;
            } else if v.is_infinite() {
                n_inf += 1;
            } else {
                finite.push(v);
            }
        }
        let n = finite.len();
        if n == 0 {
            return Self {
                mean: f64::NAN,
                std: f64::NAN,
                median: f64::NAN,
                n,
                n_nan,
                n_inf,
            };
        }
        let mean = finite.iter().sum::<f64>() / n as f64;
        let var = finite.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        finite.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 {
            finite[n / 2]
        } else {
            0.5 * (finite[n / 2 - 1] + finite[n / 2])
        };
        Self {
            mean,
            std: var.sqrt(),
            median,
            n,
            n_nan,
            n_inf,
        }
    }
}

/// Serializes a non-finite `f64` as JSON `null`.
pub(crate) fn finite_or_null<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_out_and_counts_nan_and_inf() {
        let s = Stats::of([1.0, f64::NAN, 3.0, f64::INFINITY, 2.0, 6.0, f64::NAN]);
        assert_eq!((s.n, s.n_nan, s.n_inf), (4, 2, 1));
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.median, 2.5);
        assert!((s.std - (3.5f64).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn no_finite_value_gives_nan_statistics() {
        let s = Stats::of([f64::NAN, f64::INFINITY]);
        assert!(s.mean.is_nan() && s.std.is_nan() && s.median.is_nan());
        assert_eq!((s.n, s.n_nan, s.n_inf), (0, 1, 1));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"mean":null,"std":null,"median":null,"n":0,"n_nan":1,"n_inf":1}"#
        );
    }
}
