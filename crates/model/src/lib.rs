//! EchoONE (CVPR 2025) in burn: SAM with the LFFA ladder branch and PC-Mask, each module a
//! configuration toggle for ablations.

pub mod authors_weights;
pub mod config;
pub mod error;
pub mod image_encoder;
pub mod keys;
pub mod model;
pub mod sam_weights;
pub mod summary;

pub use authors_weights::{checkpoint_shapes, recognise_config, shape_mismatches};
pub use config::EchoOneConfig;
pub use error::{EchoOneError, Result};
pub use image_encoder::{EchoImageEncoder, EncoderOutput, GlobalAdapters};
pub use keys::authors_key_remap;
pub use model::{EchoOne, EchoOutput};
pub use summary::{Counts, parameter_summary};
