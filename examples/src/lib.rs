//! Runnable examples of reusing the backbone of echoone-rs; the code is in `examples/`:
//!
//! * `sam_click`: official SAM from a `.pth`, one click, one mask PNG;
//! * `frozen_encoder_head`: SAM's frozen image encoder under a new convolutional head, trained
//!   for a few Adam steps on the built-in synthetic echoes.
//!
//! ```sh
//! cargo run -p echoone-examples --example sam_click -- sam_vit_b_01ec64.pth echo.png 120 90
//! cargo run -p echoone-examples --example frozen_encoder_head
//! ```
