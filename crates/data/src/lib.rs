//! Echocardiography data for EchoONE: one sample type, dataset readers, the synthetic multi-plane
//! echo generator, the training pipeline (resize, targets, augmentation, prompts, splits) and a
//! burn Dataset/Batcher.

pub mod augment;
pub mod authors;
pub mod avi;
pub mod batcher;
pub mod camus;
pub mod contact_sheet;
pub mod dataset;
pub mod echonet;
pub mod error;
pub mod hmcqu;
pub mod inspect;
pub mod mat;
pub mod mhd;
pub mod mjpeg;
pub mod nifti_io;
pub mod png_folder;
pub mod png_io;
pub mod polygon;
pub mod prompt;
pub mod reference;
pub mod resize;
pub mod rng;
pub mod sample;
pub mod spec;
pub mod split;
pub mod synthetic;
pub mod volume;

pub use batcher::{SegBatch, SegBatcher};
pub use dataset::{ItemMeta, Mode, PipelineConfig, SegItem, SegmentationDataset};
pub use error::{DataError, Result};
pub use reference::EfReference;
pub use sample::{Phase, Plane, Sample, SampleInfo, Split, Structure, StructureSet};
pub use spec::DatasetSpec;
pub use split::SplitPlan;
pub use synthetic::SyntheticConfig;
pub use synthetic::{Cine, LvTruth};
