//! Hidden prompts (passwords, passphrases) on the controlling terminal.
//!
//! The terminal is switched to reading keys one by one without echo and
//! without turning Ctrl-C into a signal, so Ctrl-C is just a key: the
//! prompt gives the terminal its settings back and reports a cancellation
//! (exit 8), instead of the process dying with echo off and leaving the
//! user's shell blind. The settings are restored on every path out,
//! errors included (a guard's `Drop`).

use std::fs::File;
use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{bail, Context as _, Result};
use hush_core::SecretString;
use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

use crate::exit::{Declined, NotConfigured};

/// Ctrl-C, Ctrl-D, Ctrl-U, backspace and delete as the terminal sends them.
const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const CTRL_U: u8 = 0x15;
const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;

/// Asks for a secret on the terminal without echoing it. Ctrl-C cancels
/// (a [`Declined`] error, exit 8).
pub fn hidden(prompt: &str) -> Result<SecretString> {
    let mut tty = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("no terminal to ask on")?;
    // Raw first, then the prompt: keys typed as soon as it shows are read
    // the raw way (and not flushed away by the switch).
    let typed = {
        let _restore = Raw::enter(&tty)?;
        write!(tty, "{prompt}")?;
        tty.flush()?;
        read_keys(&mut tty)
    };
    writeln!(tty)?;
    match typed? {
        Some(bytes) => Ok(SecretString::new(
            String::from_utf8(bytes).context("what was typed is not UTF-8")?,
        )),
        None => Err(Declined("cancelled".to_owned()).into()),
    }
}

/// A password: the first line of stdin with `from_stdin` (for scripts),
/// else asked on the terminal, twice when `confirm`.
pub fn password(from_stdin: bool, prompt: &str, confirm: bool) -> Result<SecretString> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        return Ok(SecretString::new(
            line.trim_end_matches(['\n', '\r']).to_owned(),
        ));
    }
    if !std::io::stdin().is_terminal() {
        return Err(NotConfigured(
            "no terminal to ask for the password on: pass --password-stdin".into(),
        )
        .into());
    }
    let first = hidden(prompt)?;
    if confirm && hidden("Repeat it: ")?.expose() != first.expose() {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

/// The terminal without echo, canonical line editing or signal keys, for
/// as long as it lives.
struct Raw {
    tty: File,
    saved: Termios,
}

impl Raw {
    fn enter(tty: &File) -> Result<Self> {
        let tty = tty.try_clone()?;
        let saved = termios::tcgetattr(&tty).context("cannot read the terminal's settings")?;
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG);
        termios::tcsetattr(&tty, SetArg::TCSAFLUSH, &raw)
            .context("cannot change the terminal's settings")?;
        Ok(Self { tty, saved })
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(&self.tty, SetArg::TCSAFLUSH, &self.saved);
    }
}

/// Reads keys up to Enter; `None` when cancelled (Ctrl-C, or Ctrl-D on an
/// empty line).
fn read_keys(tty: &mut File) -> Result<Option<Vec<u8>>> {
    let mut typed = Vec::new();
    let mut key = [0u8; 1];
    loop {
        if tty.read(&mut key)? == 0 {
            bail!("the terminal closed");
        }
        match key[0] {
            b'\r' | b'\n' => return Ok(Some(typed)),
            CTRL_C => return Ok(None),
            CTRL_D if typed.is_empty() => return Ok(None),
            CTRL_U => typed.clear(),
            BACKSPACE | DELETE => erase_last_char(&mut typed),
            byte => typed.push(byte),
        }
    }
}

/// Removes the last UTF-8 character (its continuation bytes too).
fn erase_last_char(typed: &mut Vec<u8>) {
    while let Some(byte) = typed.pop() {
        if byte & 0xC0 != 0x80 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backspace_erases_whole_characters() {
        let mut typed = "pé".as_bytes().to_vec();
        erase_last_char(&mut typed);
        assert_eq!(typed, b"p");
        erase_last_char(&mut typed);
        erase_last_char(&mut typed);
        assert!(typed.is_empty());
    }
}
