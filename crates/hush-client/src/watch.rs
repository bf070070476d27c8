//! Watching an environment: poll the cheap revision endpoint, pull only
//! when it moves, and report which names changed.

use std::ops::ControlFlow;
use std::time::Duration;

use hush_core::dotenv::EnvMap;

use crate::error::Result;
use crate::Client;

/// A change of the watched environment.
#[derive(Debug)]
pub struct Change {
    /// Names added, removed or given a new value, sorted.
    pub changed: Vec<String>,
    /// The environment now.
    pub secrets: EnvMap,
}

/// Reports changes of one environment; see [`Client::watcher`].
#[derive(Debug)]
pub struct Watcher<'a> {
    client: &'a Client,
    interval: Duration,
    state: Option<(String, EnvMap)>,
    offline: bool,
}

impl<'a> Watcher<'a> {
    pub(crate) fn new(client: &'a Client, interval: Duration) -> Self {
        Self {
            client,
            interval,
            state: None,
            offline: false,
        }
    }

    /// Starts from a known environment instead of pulling it first (so a
    /// change between that pull and the first poll is still reported).
    pub fn starting_from(mut self, secrets: EnvMap) -> Self {
        self.state = Some((String::new(), secrets));
        self
    }

    /// Waits for the next change. Network failures are retried at the
    /// next interval (with one warning on stderr per outage); other
    /// errors (a revoked token, a deleted environment) are returned.
    pub async fn next(&mut self) -> Result<Change> {
        loop {
            match self.poll().await {
                Ok(Some(change)) => return Ok(change),
                Ok(None) => {}
                Err(err) if err.is_network() => {
                    if !self.offline {
                        eprintln!("hush: warning: {err}; will keep trying");
                        self.offline = true;
                    }
                }
                Err(err) => return Err(err),
            }
            tokio::time::sleep(self.interval).await;
        }
    }

    /// One poll: `Some` when the environment changed since the last one.
    async fn poll(&mut self) -> Result<Option<Change>> {
        let revision = self.client.revision().await?;
        if self.offline {
            eprintln!("hush: the server is reachable again");
            self.offline = false;
        }
        if let Some((known, _)) = &self.state {
            if *known == revision {
                return Ok(None);
            }
        }
        let secrets = self.client.fetch().await?;
        let previous = self.state.replace((revision, secrets.clone_map()));
        let Some((_, previous)) = previous else {
            return Ok(None);
        };
        let changed = changed_names(&previous, &secrets);
        if changed.is_empty() {
            return Ok(None);
        }
        Ok(Some(Change { changed, secrets }))
    }
}

/// Copies an environment (values are deliberately not `Clone`).
trait CloneMap {
    fn clone_map(&self) -> EnvMap;
}

impl CloneMap for EnvMap {
    fn clone_map(&self) -> EnvMap {
        self.iter()
            .map(|(k, v)| (k.clone(), v.duplicate()))
            .collect()
    }
}

/// Names whose presence or value differs, sorted.
pub fn changed_names(old: &EnvMap, new: &EnvMap) -> Vec<String> {
    let mut names: Vec<String> = old
        .iter()
        .filter(|(k, v)| new.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(new.keys().filter(|k| !old.contains_key(*k)).cloned())
        .collect();
    names.sort();
    names
}

impl Client {
    /// Calls `on_change` with every change of the environment until it
    /// returns [`ControlFlow::Break`], polling every `interval`.
    pub async fn watch<F>(&self, interval: Duration, mut on_change: F) -> Result<()>
    where
        F: FnMut(&Change) -> ControlFlow<()>,
    {
        let mut watcher = self.watcher(interval);
        watcher.poll().await?;
        loop {
            tokio::time::sleep(interval).await;
            let change = watcher.next().await?;
            if on_change(&change).is_break() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_core::SecretString;

    fn map(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
            .collect()
    }

    #[test]
    fn changed_names_cover_added_removed_and_changed() {
        let old = map(&[("A", "1"), ("B", "2"), ("C", "3")]);
        let new = map(&[("A", "1"), ("B", "two"), ("D", "4")]);
        assert_eq!(changed_names(&old, &new), ["B", "C", "D"]);
        assert!(changed_names(&old, &old.clone_map()).is_empty());
    }
}
