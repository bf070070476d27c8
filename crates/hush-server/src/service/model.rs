//! The records services hand to API surfaces: what a project, a secret, a
//! version or a token is. Surfaces convert these to their wire formats;
//! they never build the store's inputs (services do, from
//! surface-neutral requests such as [`super::SecretChange`]).

pub use hush_store::{
    Action, Child, ChildKind, Device, DeviceStatus, DiffEntry, DiffKind, EncryptionMode,
    Environment, KeyVerification, Membership, Organization, Project, Reveal, Role, Secret,
    TokenKind, TokenRecord, Value, VersionInfo, VersionState, WriterStatus,
};
