//! hush-core: the rules and formats every other hush crate agrees on.
//!
//! This crate is pure (no IO, no async) so that the server, the store, the
//! client and the CLI share one definition of what a valid name is, how a
//! `.env` file is read and written, and how values are encrypted — and so
//! that all of it can be tested without a database or a network.

pub mod audit;
pub mod crypto;
pub mod dotenv;
pub mod e2ee;
pub mod exchange;
pub mod jwt;
pub mod names;
pub mod password;
pub mod reader;
pub mod secret;
pub mod suggest;
pub mod time;
pub mod token;
pub mod ulid;
pub mod vaultenv;

pub use names::{NameError, NameRule, SecretName, Slug, Tag, TextRule};
pub use secret::{env_refusal, SecretString};
