//! EchoONE's PC-Mask (prior-composable mask learning): images are clustered in a latent space
//! (k-means with linfa), each cluster's centroid is a prototype and the mean of its masks a
//! centre mask; any image's similarity to the prototypes weights the centre masks into a
//! K-channel prior, which a small U-Net turns into the coarse mask used as SAM's dense prompt.

mod batch_norm;
pub mod error;
pub mod kmeans;
pub mod latent;
pub mod prior;
pub mod purity;
pub mod unet;

pub use error::{PcMaskError, Result};
pub use kmeans::{Clustering, kmeans};
pub use latent::{LatentExtractor, sam_latent, thumbnail_latent};
pub use prior::{FittedPrior, PriorConfig, PriorMode, PriorSample, STRUCTURES};
pub use purity::PurityReport;
pub use unet::{PRIOR_UNET_KEY_REMAP, PriorUNet, PriorUNetConfig};
