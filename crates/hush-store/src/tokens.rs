//! Token records. The store keeps hashes only; making, hashing and checking
//! tokens is the server's business.

use crate::db::{params, Row};
use crate::error::{not_found, Result};
use crate::{new_id, now_ms, Store};

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The native API, limited by its scopes.
    Api,
    /// Read-only pulls of one project (or one environment).
    Pull,
}

impl TokenKind {
    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Pull => "pull",
        }
    }
}

/// A token to create (its hash, never the token).
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Organization it belongs to.
    pub org_id: String,
    /// Restricts it to one project.
    pub project_id: Option<String>,
    /// Restricts it to one environment of that project.
    pub environment_id: Option<String>,
    /// API or pull.
    pub kind: TokenKind,
    /// Display name.
    pub name: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The first characters of the token, to recognize it in lists.
    pub prefix: String,
    /// Scope names.
    pub scopes: Vec<String>,
    /// Expiry (unix ms).
    pub expires_at: Option<i64>,
    /// Who created it.
    pub created_by: String,
    /// The user a session token belongs to.
    pub user_id: Option<String>,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Stable id.
    pub id: String,
    /// Organization.
    pub org_id: String,
    /// Project restriction.
    pub project_id: Option<String>,
    /// Environment restriction.
    pub environment_id: Option<String>,
    /// API or pull.
    pub kind: TokenKind,
    /// Display name.
    pub name: String,
    /// Recognizable prefix.
    pub prefix: String,
    /// Scope names.
    pub scopes: Vec<String>,
    /// Expiry (unix ms).
    pub expires_at: Option<i64>,
    /// Disabled tokens authenticate nothing.
    pub disabled: bool,
    /// Revoked for good (disabled tokens can be enabled again; revoked
    /// ones cannot).
    pub revoked: bool,
    /// Creation time (unix ms).
    pub created_at: i64,
    /// Who created it.
    pub created_by: String,
    /// The user a session token belongs to.
    pub user_id: Option<String>,
    /// When it was last used (recorded at most once a minute).
    pub last_used_at: Option<i64>,
}

const TOKEN_COLUMNS: &str = "id, org_id, project_id, environment_id, kind, name, prefix, \
     scopes, expires_at, disabled, created_at, created_by, user_id, last_used_at, revoked_at";

fn token(row: &Row) -> Result<TokenRecord> {
    let scopes: String = row.get(7)?;
    let kind: String = row.get(4)?;
    Ok(TokenRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        project_id: row.get(2)?,
        environment_id: row.get(3)?,
        kind: if kind == "pull" {
            TokenKind::Pull
        } else {
            TokenKind::Api
        },
        name: row.get(5)?,
        prefix: row.get(6)?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        expires_at: row.get(8)?,
        disabled: row.flag(9)?,
        created_at: row.get(10)?,
        created_by: row.get(11)?,
        user_id: row.get(12)?,
        last_used_at: row.get(13)?,
        revoked: row.get::<Option<i64>>(14)?.is_some(),
    })
}

/// How often a token's use is recorded at most.
pub const TOUCH_EVERY_MS: i64 = 60_000;

impl Store {
    /// Records a new token.
    pub async fn create_token(&self, new: NewToken) -> Result<TokenRecord> {
        let record = TokenRecord {
            id: new_id(),
            org_id: new.org_id,
            project_id: new.project_id,
            environment_id: new.environment_id,
            kind: new.kind,
            name: new.name,
            prefix: new.prefix,
            scopes: new.scopes,
            expires_at: new.expires_at,
            disabled: false,
            revoked: false,
            created_at: now_ms(),
            created_by: new.created_by,
            user_id: new.user_id,
            last_used_at: None,
        };
        let values = params![
            &record.id,
            &record.org_id,
            record.project_id.as_deref(),
            record.environment_id.as_deref(),
            record.kind.as_str(),
            &record.name,
            &new.token_hash,
            &record.prefix,
            record.scopes.join(","),
            record.expires_at,
            record.created_at,
            &record.created_by,
            record.user_id.as_deref(),
        ];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "INSERT INTO tokens (id, org_id, project_id, environment_id, kind, name, \
                     token_hash, prefix, scopes, expires_at, disabled, created_at, created_by, \
                     user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13)",
                    &values,
                )
                .await
            })
            .await?;
        Ok(record)
    }

    /// The token with this hash, if any (disabled and expired ones too: the
    /// caller decides, so it can say why a token was refused).
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1");
        let row = self.db.row(&sql, &params![token_hash]).await?;
        row.as_ref().map(token).transpose()
    }

    /// A page of an organization's tokens, newest first: at most `limit`
    /// that come after the token `before` in that order.
    pub async fn tokens(
        &self,
        org_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE org_id = $1 AND ($2 = '' OR EXISTS \
             (SELECT 1 FROM tokens c WHERE c.id = $2 AND (t.created_at < c.created_at OR \
             (t.created_at = c.created_at AND t.id > c.id)))) \
             ORDER BY created_at DESC, id LIMIT {}",
            limit.clamp(1, 10_000)
        );
        let all = self
            .db
            .rows(&sql, &params![org_id, before.unwrap_or("")])
            .await?;
        all.iter().map(token).collect()
    }

    /// One token of an organization.
    pub async fn token(&self, org_id: &str, id: &str) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE org_id = $1 AND id = $2");
        let row = self.db.row(&sql, &params![org_id, id]).await?;
        row.as_ref().map(token).transpose()
    }

    /// Records that a token was used at `at`, unless a use within the
    /// last minute is already recorded (so a busy token costs one write a
    /// minute, not one per request).
    pub async fn touch_token(&self, id: &str, at: i64) -> Result<()> {
        let values = params![id, at, at - TOUCH_EVERY_MS];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE tokens SET last_used_at = $2 WHERE id = $1 \
                     AND (last_used_at IS NULL OR last_used_at < $3)",
                    &values,
                )
                .await
            })
            .await?;
        Ok(())
    }

    /// Disables or re-enables a token of an organization; a revoked token
    /// stays disabled (`NotFound` for it, as for an unknown one).
    pub async fn set_token_disabled(&self, org_id: &str, id: &str, disabled: bool) -> Result<()> {
        let values = params![org_id, id, disabled];
        let done = self
            .db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE tokens SET disabled = $3 \
                     WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
                    &values,
                )
                .await
            })
            .await?;
        if done == 0 {
            return Err(not_found("token", id));
        }
        Ok(())
    }

    /// Revokes a token of an organization for good.
    pub async fn revoke_token(&self, org_id: &str, id: &str) -> Result<()> {
        let values = params![org_id, id, crate::now_ms()];
        let done = self
            .db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE tokens SET disabled = 1, revoked_at = COALESCE(revoked_at, $3) \
                     WHERE org_id = $1 AND id = $2",
                    &values,
                )
                .await
            })
            .await?;
        if done == 0 {
            return Err(not_found("token", id));
        }
        Ok(())
    }
}
