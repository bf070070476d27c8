//! The same calls for programs without an async runtime. Each runs the
//! async version on a small single-threaded runtime of its own.

use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;

use crate::error::{ClientError, Result};
use crate::{Change, Client, Environment, Loaded, Options};

fn run<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(ClientError::Config(
            "hush_client::blocking was called inside an async runtime; use the async \
             functions there"
                .into(),
        ));
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| ClientError::Config(format!("cannot start a runtime: {err}")))?
        .block_on(future)
}

/// [`crate::config`], blocking.
pub fn config() -> Result<Loaded> {
    run(crate::config())
}

/// [`crate::config_with`], blocking.
pub fn config_with(options: Options) -> Result<Loaded> {
    run(crate::config_with(options))
}

/// [`Client::load`], blocking.
pub fn load(client: &Client) -> Result<Environment> {
    run(client.load())
}

/// [`Client::watch`], blocking: returns when `on_change` breaks.
pub fn watch<F>(client: &Client, interval: Duration, on_change: F) -> Result<()>
where
    F: FnMut(&Change) -> ControlFlow<()>,
{
    run(client.watch(interval, on_change))
}
