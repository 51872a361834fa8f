//! Regex key remappings from the authors' checkpoint names (EchoONE, and SAMUS's plain branch)
//! to this crate's field names, for burn-store's `with_key_remapping` / `KeyRemapper`.
//!
//! The authors' `nn.Sequential` children are numbered (`maxpool_conv.1`, `refine_Adapter.conv.0`,
//! `neck_down_sample1.0`); burn fields cannot be numbers, so those become `conv` and `norm`, and
//! the bare `neck_down_sampleN.weight` becomes `neck_down_sampleN.conv.weight`. Every pattern is
//! anchored on the authors' module name (`cnn_embed`, `post_pos_embed`, `refine_Adapter`,
//! `neck_down_sampleN`) and works under any prefix, so a model that names its fields after the
//! authors' modules loads their checkpoints with these pairs alone. The patterns run in order,
//! each on the previous one's output. No numeric `Sequential` index survives them, only `Vec`
//! indices (`downs.{i}`, `blocks.{i}`); load with `map_indices_contiguous(false)` all the same,
//! or a partial state dict (say, only blocks 2, 5, 8, 11) would be renumbered.

/// `(pattern, replacement)` pairs, applied in order, mapping the authors' keys to this crate's.
pub const LFFA_KEY_REMAP: &[(&str, &str)] = &[
    // SAMUS's plain `inc` (`SingleConv`): conv = Sequential(Conv3x3, LayerNorm2d, GELU).
    (
        r"(^|\.)cnn_embed\.inc\.conv\.0\.",
        "${1}cnn_embed.inc.conv.",
    ),
    (
        r"(^|\.)cnn_embed\.inc\.conv\.1\.",
        "${1}cnn_embed.inc.norm.",
    ),
    // `SingleDown`: maxpool_conv = Sequential(MaxPool2, Conv3x3, LayerNorm2d, GELU), used by
    // the position-embedding reducer and SAMUS's plain downsampling blocks.
    (
        r"(^|\.)(cnn_embed|post_pos_embed)\.downs\.(\d+)\.maxpool_conv\.1\.",
        "${1}${2}.downs.${3}.conv.",
    ),
    (
        r"(^|\.)(cnn_embed|post_pos_embed)\.downs\.(\d+)\.maxpool_conv\.2\.",
        "${1}${2}.downs.${3}.norm.",
    ),
    // The refine adapter (`SingleConv`).
    (
        r"(^|\.)refine_Adapter\.conv\.0\.",
        "${1}refine_Adapter.conv.",
    ),
    (
        r"(^|\.)refine_Adapter\.conv\.1\.",
        "${1}refine_Adapter.norm.",
    ),
    // Fusion: a bare Conv2d (`neck_down_sample{2,3,4}`) or Sequential(Conv2d, LayerNorm2d)
    // (`neck_down_sample1`).
    (
        r"(^|\.)(neck_down_sample\d+)\.weight$",
        "${1}${2}.conv.weight",
    ),
    (r"(^|\.)(neck_down_sample\d+)\.0\.", "${1}${2}.conv."),
    (r"(^|\.)(neck_down_sample\d+)\.1\.", "${1}${2}.norm."),
];
