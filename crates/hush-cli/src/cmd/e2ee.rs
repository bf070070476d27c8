//! End-to-end-encrypted projects from the command line: creating their
//! keys, unlocking them with the passphrase or recovery key (`HUSH_KEY`, or
//! asked on the terminal), and rewrapping them.

use std::io::IsTerminal;

use anyhow::{bail, Context as _, Result};
use hush_client::e2ee::{meta_from_wire, meta_to_wire};
use hush_client::{Api, ClientError};
use hush_core::e2ee::{self, Dek, DEFAULT_ITERATIONS};
use hush_core::SecretString;
use hush_proto::{CreateProject, E2eeMeta};

use crate::exit::NotConfigured;

/// The unlocked key of a project and a connection that proves it on writes.
pub struct Unlocked {
    /// The data key.
    pub dek: Dek,
    /// The API, sending the key proof.
    pub api: Api,
}

/// `HUSH_KEY`, or asked on the terminal.
pub fn passphrase(prompt: &str) -> Result<SecretString> {
    if let Some(key) = given_key()? {
        return Ok(key);
    }
    if !std::io::stdin().is_terminal() {
        return Err(NotConfigured(
            "this project is end-to-end encrypted: set HUSH_KEY to its passphrase or recovery key, or HUSH_KEY_FILE to a file holding it"
                .into(),
        )
        .into());
    }
    crate::prompt::hidden(prompt)
}

/// The passphrase of `project`, asked on the terminal when there is one
/// (`hush run` and `hush pull` call it only once a pull turns out to be
/// end-to-end encrypted and no key was given).
pub fn ask_on_terminal(project: &str) -> Option<SecretString> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    crate::prompt::hidden(&format!("Passphrase or recovery key for {project}: ")).ok()
}

/// The passphrase given without a prompt, for scripts: `HUSH_KEY`, or the
/// first line of the file `HUSH_KEY_FILE` names (keeps it out of the
/// environment and the shell history).
pub fn given_key() -> Result<Option<SecretString>> {
    if let Some(key) = std::env::var("HUSH_KEY").ok().filter(|k| !k.is_empty()) {
        return Ok(Some(SecretString::new(key)));
    }
    let Some(path) = std::env::var_os("HUSH_KEY_FILE").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read HUSH_KEY_FILE {}", path.to_string_lossy()))?,
    );
    let key = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if key.is_empty() {
        bail!("HUSH_KEY_FILE {} is empty", path.to_string_lossy());
    }
    Ok(Some(SecretString::new(key.to_owned())))
}

/// A new passphrase: `env_var`, or asked twice on the terminal.
pub fn new_passphrase(env_var: &str) -> Result<SecretString> {
    if let Some(key) = std::env::var(env_var).ok().filter(|k| !k.is_empty()) {
        return check_strength(SecretString::new(key));
    }
    if !std::io::stdin().is_terminal() {
        return Err(NotConfigured(format!(
            "no terminal to ask for the passphrase on: set {env_var}"
        ))
        .into());
    }
    let first = crate::prompt::hidden("New passphrase: ")?;
    let second = crate::prompt::hidden("Repeat it: ")?;
    if first.expose() != second.expose() {
        bail!("the passphrases differ; nothing was changed");
    }
    check_strength(first)
}

fn check_strength(pass: SecretString) -> Result<SecretString> {
    if pass.expose().chars().count() < 12 {
        bail!("use a passphrase of at least 12 characters: it alone protects the project's key");
    }
    Ok(pass)
}

/// The body creating an end-to-end-encrypted project, and its recovery
/// key (to show once).
pub fn new_project(slug: &str, name: Option<String>) -> Result<(CreateProject, SecretString)> {
    let pass = new_passphrase("HUSH_KEY")?;
    let created = e2ee::create(&pass, DEFAULT_ITERATIONS)?;
    let body = CreateProject {
        slug: slug.to_owned(),
        name,
        encryption_mode: Some("client".to_owned()),
        e2ee_meta: Some(meta_to_wire(&created.meta)),
        key_proof: Some(created.key_proof.expose().to_owned()),
    };
    Ok((body, created.recovery_key))
}

/// Shows a recovery key once, on stderr (stdout may be a log).
pub fn show_recovery_key(project: &str, key: &SecretString) {
    eprintln!(
        "\nRecovery key for {project} (shown only now; store it apart from the passphrase):\n\n    {}\n\n\
         It unlocks the project if the passphrase is lost: HUSH_KEY=<recovery key>.\n",
        key.expose()
    );
}

/// Whether the server refused plaintext because the project is end-to-end
/// encrypted (then unlock and ask for ciphertext). A plaintext read that
/// succeeds proves the project is server-encrypted, so commands read
/// optimistically and look the project up only when refused: one audit
/// entry for what they did, not an extra lookup. Writes never guess: a
/// value is sent in plaintext only once the mode is known.
pub fn needs_key(err: &ClientError) -> bool {
    err.code() == Some("e2ee_project")
}

/// Why hush's own commands do not read or write a project of blobs.
pub fn managed_by_its_client(project: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{project} is managed by its own client (a vault-env project: `vde push`, `vde pull`): \
         the server holds only an encrypted blob per environment; `hush list` and `hush versions` \
         show what it knows"
    )
}

/// What a project's values are to hush: server-encrypted (`None`), or
/// client-encrypted with E2EE key metadata, or opaque blobs (`Err` of
/// `NotFound` from the metadata: a vault-env project).
async fn client_meta(
    api: &Api,
    org: &str,
    project: &str,
) -> Result<Option<std::result::Result<hush_proto::E2eeMeta, ClientError>>> {
    let info = api.project(org, project).await?;
    if info.encryption_mode != "client" {
        return Ok(None);
    }
    Ok(Some(api.e2ee_meta(org, project).await))
}

/// Whether the project holds opaque blobs its own client manages.
pub async fn is_blob_project(api: &Api, org: &str, project: &str) -> Result<bool> {
    Ok(matches!(
        client_meta(api, org, project).await?,
        Some(Err(ClientError::NotFound { .. }))
    ))
}

/// The project's key if it is end-to-end encrypted (`None` otherwise).
pub async fn unlock(api: &Api, org: &str, project: &str) -> Result<Option<Unlocked>> {
    let meta = match client_meta(api, org, project).await? {
        None => return Ok(None),
        Some(Ok(meta)) => meta,
        Some(Err(ClientError::NotFound { .. })) => return Err(managed_by_its_client(project)),
        Some(Err(err)) => return Err(err.into()),
    };
    let key = passphrase(&format!("Passphrase or recovery key for {project}: "))?;
    let dek = e2ee::unlock(&meta_from_wire(&meta), &key)
        .map_err(|err| ClientError::E2ee(err.to_string()))?;
    let api = api.with_key_proof(e2ee::key_proof(&dek));
    Ok(Some(Unlocked { dek, api }))
}

/// Encrypts `value` when the project is end-to-end encrypted.
pub fn seal(unlocked: Option<&Unlocked>, value: String) -> Result<String> {
    Ok(match unlocked {
        Some(u) => e2ee::encrypt_value(&u.dek, &value)?,
        None => value,
    })
}

/// Decrypts `value` when the project is end-to-end encrypted.
pub fn open(unlocked: Option<&Unlocked>, value: String) -> Result<String> {
    Ok(match unlocked {
        Some(u) => e2ee::decrypt_value(&u.dek, &value)?.expose().to_owned(),
        None => value,
    })
}

/// New wrapped keys for a new passphrase or a new recovery key.
pub async fn rewrap(api: &Api, org: &str, project: &str, recovery: bool) -> Result<()> {
    let meta = api.e2ee_meta(org, project).await?;
    let key = passphrase(&format!(
        "Current passphrase or recovery key for {project}: "
    ))?;
    let dek = e2ee::unlock(&meta_from_wire(&meta), &key)
        .map_err(|err| ClientError::E2ee(err.to_string()))?;
    let mut updated: E2eeMeta = meta;
    if recovery {
        let (key, salt, wrapped) = e2ee::new_recovery(&dek, updated.iterations)?;
        updated.salt_rec = salt;
        updated.wrapped_dek_rec = wrapped;
        api.with_key_proof(e2ee::key_proof(&dek))
            .put_e2ee_meta(org, project, &updated)
            .await?;
        show_recovery_key(project, &key);
        eprintln!("The old recovery key no longer works.");
    } else {
        let pass = new_passphrase("HUSH_NEW_KEY")?;
        let (salt, wrapped) = e2ee::rewrap(&dek, &pass, updated.iterations)?;
        updated.salt_pass = salt;
        updated.wrapped_dek_pass = wrapped;
        api.with_key_proof(e2ee::key_proof(&dek))
            .put_e2ee_meta(org, project, &updated)
            .await?;
        eprintln!("Passphrase changed for {project}; the values were not re-encrypted.");
    }
    Ok(())
}
