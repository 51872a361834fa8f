//! k-means over latent vectors with linfa-clustering (k-means++ initialisation, seeded).

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::KMeans;
use ndarray16::Array2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::error::{PcMaskError, Result};

/// The outcome of k-means: `K` centroids and the cluster of every input vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Centroids, `K` vectors of the latent dimension.
    pub centroids: Vec<Vec<f32>>,
    /// Cluster index of each input vector.
    pub assignments: Vec<usize>,
}

/// Clusters `latents` (equal-length vectors) into `k` groups; deterministic for a `seed`.
pub fn kmeans(latents: &[Vec<f32>], k: usize, seed: u64) -> Result<Clustering> {
    let n = latents.len();
    let d = latents.first().map(Vec::len).unwrap_or(0);
    if k == 0 || n < k {
        return Err(PcMaskError::Fit(format!(
            "k-means with K = {k} needs at least K images, got {n}"
        )));
    }
    if d == 0 || latents.iter().any(|l| l.len() != d) {
        return Err(PcMaskError::Shape(
            "latent vectors must be non-empty and of equal length".into(),
        ));
    }
    if latents.iter().flatten().any(|v| !v.is_finite()) {
        return Err(PcMaskError::Fit(
            "latent vectors contain NaN or infinity".into(),
        ));
    }
    let flat: Vec<f64> = latents.iter().flatten().map(|&v| v as f64).collect();
    let data =
        Array2::from_shape_vec((n, d), flat).map_err(|e| PcMaskError::Shape(e.to_string()))?;
    let dataset = DatasetBase::from(data);
    let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
        .n_runs(10)
        .max_n_iterations(300)
        .tolerance(1e-6)
        .fit(&dataset)
        .map_err(|e| PcMaskError::KMeans(e.to_string()))?;
    let assignments = model.predict(dataset.records()).to_vec();
    let centroids = model
        .centroids()
        .rows()
        .into_iter()
        .map(|row| row.iter().map(|&v| v as f32).collect())
        .collect();
    Ok(Clustering {
        centroids,
        assignments,
    })
}
