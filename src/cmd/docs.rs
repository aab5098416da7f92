//! `chute completions SHELL` and the hidden generator of `man/` and `completions/`.

use crate::cli::{Cli, CompletionsArgs};
use chute::error::{IoContext, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::Path;

/// The script a shell sources to complete chute: it asks `chute` (found on PATH) for the
/// candidates of each word (src/complete.rs), so topics and groups come from the data.
fn registration(shell: Shell) -> Result<Vec<u8>> {
    use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
    let s: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Elvish => &Elvish,
        Shell::PowerShell => &Powershell,
        other => {
            return Err(chute::error::Error::Usage(format!(
                "no completions for {other}"
            )));
        }
    };
    let mut buf = Vec::new();
    s.write_registration("COMPLETE", "chute", "chute", "chute", &mut buf)
        .map_err(|e| chute::error::Error::stream("completion script", e))?;
    Ok(buf)
}

pub fn completions(a: CompletionsArgs) -> Result<i32> {
    // Into memory first, then out: a closed pipe (`chute completions bash | grep -q .`) is
    // not a failure.
    super::print_bytes(&registration(a.shell)?)?;
    Ok(0)
}

/// Write `man/*.1` (one page per command and subcommand) and `completions/` for bash, zsh, fish.
pub fn generate(dir: &Path) -> Result<i32> {
    let man = dir.join("man");
    let comp = dir.join("completions");
    std::fs::create_dir_all(&man).at(&man)?;
    std::fs::create_dir_all(&comp).at(&comp)?;
    let cmd = Cli::command();
    write_man(&cmd, "chute", &man)?;
    for (shell, file) in [
        (Shell::Bash, "chute.bash"),
        (Shell::Zsh, "_chute"),
        (Shell::Fish, "chute.fish"),
    ] {
        let buf = registration(shell)?;
        let p = comp.join(file);
        std::fs::write(&p, buf).at(&p)?;
    }
    Ok(0)
}

fn write_man(cmd: &clap::Command, name: &str, dir: &Path) -> Result<()> {
    let cmd = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .at(dir)?;
    let p = dir.join(format!("{name}.1"));
    std::fs::write(&p, buf).at(&p)?;
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        write_man(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
