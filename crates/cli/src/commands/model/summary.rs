//! `model summary`: parameter counts per module, trainable and frozen, as the authors split them.

use anyhow::Result;
use burn_autodiff::Autodiff;
use burn_flex::Flex;
use clap::Args;
use echoone_model::parameter_summary;

use super::arch::ArchArgs;

/// Arguments of `model summary`.
#[derive(Args, Debug)]
pub struct SummaryArgs {
    /// The architecture (default: `--variant vit_b`).
    #[command(flatten)]
    arch: ArchArgs,
    /// Group parameters by this many leading path components.
    #[arg(long, default_value_t = 2)]
    depth: usize,
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Prints the table.
pub fn summary(args: &SummaryArgs) -> Result<()> {
    let config = args
        .arch
        .resolve(|| Ok(echoone_model::EchoOneConfig::vit_b()))?;
    // Parameters are not materialised: counting is instant even for ViT-B.
    let model = config
        .init::<Autodiff<Flex>>(&Default::default())?
        .freeze_as_authors();
    let (groups, total) = parameter_summary(&model, args.depth);
    let width = groups.keys().map(String::len).max().unwrap_or(6).max(6);
    println!(
        "{:<width$} {:>12} {:>12} {:>12}",
        "module", "trainable", "frozen", "total"
    );
    for (name, c) in &groups {
        println!(
            "{name:<width$} {:>12} {:>12} {:>12}",
            thousands(c.trainable),
            thousands(c.frozen),
            thousands(c.parameters())
        );
    }
    println!(
        "{:<width$} {:>12} {:>12} {:>12}",
        "TOTAL",
        thousands(total.trainable),
        thousands(total.frozen),
        thousands(total.parameters())
    );
    println!(
        "(buffers, not counted: {} values of BatchNorm statistics and SAM's Fourier matrix)",
        thousands(total.buffers)
    );
    Ok(())
}
