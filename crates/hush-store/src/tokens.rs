//! Token records. The store keeps hashes only; making, hashing and checking
//! tokens is the server's business.

use sqlx::any::AnyRow;
use sqlx::Row;

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
    /// Creation time (unix ms).
    pub created_at: i64,
    /// Who created it.
    pub created_by: String,
    /// The user a session token belongs to.
    pub user_id: Option<String>,
}

const TOKEN_COLUMNS: &str = "id, org_id, project_id, environment_id, kind, name, prefix, \
     scopes, expires_at, disabled, created_at, created_by, user_id";

fn token(row: &AnyRow) -> sqlx::Result<TokenRecord> {
    let scopes: String = row.try_get("scopes")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        project_id: row.try_get("project_id")?,
        environment_id: row.try_get("environment_id")?,
        kind: if row.try_get::<String, _>("kind")? == "pull" {
            TokenKind::Pull
        } else {
            TokenKind::Api
        },
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        expires_at: row.try_get("expires_at")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        user_id: row.try_get("user_id")?,
    })
}

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
            created_at: now_ms(),
            created_by: new.created_by,
            user_id: new.user_id,
        };
        sqlx::query(
            "INSERT INTO tokens (id, org_id, project_id, environment_id, kind, name, token_hash, \
             prefix, scopes, expires_at, disabled, created_at, created_by, user_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13)",
        )
        .bind(&record.id)
        .bind(&record.org_id)
        .bind(record.project_id.as_deref())
        .bind(record.environment_id.as_deref())
        .bind(record.kind.as_str())
        .bind(&record.name)
        .bind(&new.token_hash)
        .bind(&record.prefix)
        .bind(record.scopes.join(","))
        .bind(record.expires_at)
        .bind(record.created_at)
        .bind(&record.created_by)
        .bind(record.user_id.as_deref())
        .execute(&self.pools.write)
        .await?;
        Ok(record)
    }

    /// The token with this hash, if any (disabled and expired ones too: the
    /// caller decides, so it can say why a token was refused).
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1");
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pools.read)
            .await?;
        Ok(row.as_ref().map(token).transpose()?)
    }

    /// An organization's tokens, newest first.
    pub async fn tokens(&self, org_id: &str) -> Result<Vec<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE org_id = $1 ORDER BY created_at DESC, id"
        );
        let all = sqlx::query(&sql)
            .bind(org_id)
            .fetch_all(&self.pools.read)
            .await?;
        Ok(all.iter().map(token).collect::<sqlx::Result<_>>()?)
    }

    /// Disables (revokes) or re-enables a token of an organization.
    pub async fn set_token_disabled(&self, org_id: &str, id: &str, disabled: bool) -> Result<()> {
        let done = sqlx::query("UPDATE tokens SET disabled = $3 WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .bind(i64::from(disabled))
            .execute(&self.pools.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found("token", id));
        }
        Ok(())
    }
}
