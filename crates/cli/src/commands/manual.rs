//! `echoone completions SHELL` and `echoone man --out DIR`: the shell completion script and the
//! manual pages, generated from the command-line definition itself (clap_complete,
//! clap_mangen), so they never drift from the flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;

/// Arguments of `echoone completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

/// Arguments of `echoone man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Folder for the pages (created if missing): `echoone.1` and one `echoone-<command>.1` per
    /// subcommand.
    #[arg(long)]
    pub out: PathBuf,
}

/// Prints the completion script of `args.shell` for `command` on stdout.
pub fn completions(args: &CompletionsArgs, mut command: clap::Command) {
    let name = command.get_name().to_string();
    clap_complete::generate(args.shell, &mut command, name, &mut std::io::stdout());
}

/// Writes the manual page of `command` and of each of its subcommands (recursively) into
/// `args.out`, and says which files it wrote.
pub fn man(args: &ManArgs, mut command: clap::Command) -> Result<()> {
    // Building gives every subcommand its display name, `echoone-model-run`.
    command.build();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the folder", args.out.display()))?;
    let mut written = Vec::new();
    write_pages(&command, &args.out, &mut written)?;
    println!(
        "wrote {} manual pages into {}",
        written.len(),
        args.out.display()
    );
    Ok(())
}

/// Writes the page of `command` (named by its full path, `echoone-model-run.1`) and its
/// subcommands' pages.
fn write_pages(command: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    let name = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_string();
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .with_context(|| format!("{}: cannot render the page", path.display()))?;
    std::fs::write(&path, page).with_context(|| format!("{}: cannot write", path.display()))?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}
