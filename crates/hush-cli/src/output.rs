//! Printing for people (aligned tables) and for scripts (JSON).

use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;

/// What a hidden value looks like: the same whatever its length, so not
/// even the length leaks over a shoulder.
pub const MASK: &str = "********";

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// An aligned table with a header row.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints it, or `empty` when there are no rows.
    pub fn print(&self, empty: &str) {
        if self.rows.is_empty() {
            println!("{empty}");
            return;
        }
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            out.trim_end().to_owned()
        };
        println!("{}", line(self.header.clone()));
        for row in &self.rows {
            println!("{}", line(row.iter().map(String::as_str).collect()));
        }
    }
}

/// Asks a yes/no question on the terminal (default no). Without a
/// terminal it cannot ask and says how to proceed.
pub fn confirm(question: &str, flag: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(crate::exit::Declined(format!(
            "cannot ask for confirmation without a terminal; pass {flag} to go ahead"
        ))
        .into());
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(crate::exit::Declined("cancelled; nothing was changed".into()).into())
    }
}

/// A time as printed in tables: RFC 3339 without the fraction.
pub fn short_time(rfc3339: &str) -> String {
    match rfc3339.split_once('.') {
        Some((head, _)) => format!("{head}Z"),
        None => rfc3339.to_owned(),
    }
}

/// Colour for one stream: on a terminal, unless `NO_COLOR` is set (see
/// no-color.org); plain text in pipes and files.
#[derive(Debug, Clone, Copy)]
pub struct Paint(bool);

impl Paint {
    /// For stderr.
    pub fn stderr() -> Self {
        Self::when(std::io::stderr().is_terminal())
    }

    fn when(terminal: bool) -> Self {
        Self(terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Errors and deletions.
    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    /// Additions.
    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Changes.
    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }

    /// Hints and secondary text.
    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
}
