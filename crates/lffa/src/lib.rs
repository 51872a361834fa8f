//! EchoONE's LFFA ladder in burn: the modules EchoONE (and SAMUS) add around SAM.
//!
//! * [`CnnBranch`] (`cnn_embed`): residual (EchoONE) or plain (SAMUS) CNN encoder beside the ViT;
//! * [`SpaceAdapter`] (`Space_Adapter`): cross-branch attention, tokens to CNN features;
//! * [`RefineAdapter`] (`refine_Adapter`): Conv3x3 -> LayerNorm2d -> GELU on the CNN features;
//! * [`Adapter`] (`input_Adapter`, `MLP_Adapter`): fc -> GELU -> fc, with or without skip;
//! * [`PosEmbedReducer`] (`post_pos_embed`): SAM's 64x64 position table down to the token grid;
//! * [`FusionConv`] (`neck_down_sample{1..4}`): the decoder's 1x1 fusion convolutions;
//! * [`LayerNorm2d`], and [`LFFA_KEY_REMAP`] to load the authors' checkpoints.
//!
//! Field names equal the authors' attribute names, so parameter paths equal their state-dict
//! keys up to the remappings in [`keys`].

pub mod adapter;
pub mod cnn_branch;
pub mod conv_block;
pub mod error;
pub mod fusion;
pub mod keys;
pub mod pos_embed_reducer;
pub mod refine_adapter;
pub mod space_adapter;

pub use adapter::{Adapter, AdapterConfig};
pub use cnn_branch::{CnnBranch, CnnBranchConfig};
pub use conv_block::{ConvBlock, ConvBlockConfig};
pub use echoone_sam::{LayerNorm2d, LayerNorm2dConfig};
pub use error::{LffaError, Result};
pub use fusion::{FusionConv, FusionConvConfig};
pub use keys::LFFA_KEY_REMAP;
pub use pos_embed_reducer::{PosEmbedReducer, PosEmbedReducerConfig};
pub use refine_adapter::{RefineAdapter, RefineAdapterConfig};
pub use space_adapter::{SpaceAdapter, SpaceAdapterConfig};
