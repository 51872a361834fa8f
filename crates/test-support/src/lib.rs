//! Test helpers shared by the echoone-rs crates (a dev-dependency only, never published).
//!
//! The robustness tests feed every reader of outside data thousands of seeded variants of a valid
//! file ([`mutate`]) and check each call with [`harness::check`]: no panic, under 1 s, an error
//! that names the file, and no single allocation over [`alloc::ALLOC_LIMIT`] (the test binary
//! installs [`alloc::CountingAlloc`] as its global allocator):
//!
//! ```ignore
//! use echoone_test_support::{CountingAlloc, PLAN, check, variants};
//!
//! #[global_allocator]
//! static GLOBAL: CountingAlloc = CountingAlloc;
//!
//! #[test]
//! fn reader_survives_any_file() {
//!     let seed = std::fs::read("tests/fixtures/valid.bin").unwrap();
//!     let target = tempfile::tempdir().unwrap().path().join("mutant.bin");
//!     check("my reader", &target, "mutant.bin", variants("valid.bin", &seed, &[], PLAN, 1), read);
//! }
//! ```
//!
//! [`pth`] writes small PyTorch checkpoints, so that a test can make its seed checkpoint itself.
//! [`cli::assert_one_error_line`] checks that a binary fails with one `error: ` line.
//!
//! It depends on nothing, so any crate of the workspace can dev-depend on it without a cycle.

#![warn(missing_docs)]

pub mod alloc;
pub mod cli;
pub mod harness;
pub mod image_header;
pub mod mutate;
pub mod pth;

pub use alloc::{ALLOC_LIMIT, CountingAlloc, peak, reset_peak, set_label};
pub use cli::assert_one_error_line;
pub use harness::{Report, TIME_LIMIT, assert_refused_quickly, check};
pub use image_header::{jpeg_sof_variants, nifti1_fields, png_ihdr_variants};
pub use mutate::{
    CHECKPOINT_PLAN, Field, PLAN, Plan, Rng, Variant, byte_variants_in, field_values,
    text_variants, variants, zip_entry, zip_fields,
};
pub use pth::{StateTensor, crc32, state_dict_pth};
