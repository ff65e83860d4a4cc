//! API tokens: made on a site's admin page (or the owner's, for the whole organization), kept
//! under the hash of their secret, revocable; their last use is recorded (at most once a
//! minute per token, so reading the API does not write on every request).

use super::codec::{decode, encode};
use super::tables::{API_TOKEN_HASHES, API_TOKENS, SITES};
use super::{Store, StoreError, next_id};
use crate::domain::Millis;
use crate::domain::ids::SiteId;
use crate::domain::tokens::ApiToken;
use redb::ReadableTable;

impl Store {
    /// Store a new token (its `id` is given here) under the hash of its secret.
    pub async fn create_token(&self, mut token: ApiToken, secret_hash: [u8; 32]) -> Result<ApiToken, StoreError> {
        self.write(move |txn| {
            if token.site.0 != 0 && txn.open_table(SITES)?.get(token.site.0)?.is_none() {
                return Err(StoreError::NotFound);
            }
            token.id = next_id(txn, "api_token")?;
            txn.open_table(API_TOKENS)?.insert((token.site.0, token.id), encode(&token).as_slice())?;
            txn.open_table(API_TOKEN_HASHES)?.insert(secret_hash.as_slice(), (token.site.0, token.id))?;
            Ok(token)
        })
        .await
    }

    /// The tokens of a site (site 0: the organization's), newest first.
    pub fn tokens(&self, site: SiteId) -> Result<Vec<ApiToken>, StoreError> {
        self.read(|r| {
            let t = r.open_table(API_TOKENS)?;
            let mut out = t
                .range((site.0, 0)..=(site.0, u64::MAX))?
                .map(|e| decode::<ApiToken>(e?.1.value()))
                .collect::<Result<Vec<_>, _>>()?;
            out.reverse();
            Ok(out)
        })
    }

    /// The live token with this secret's hash.
    pub fn token_by_hash(&self, secret_hash: &[u8; 32], now: Millis) -> Result<Option<ApiToken>, StoreError> {
        self.read(|r| {
            let Some(key) = r.open_table(API_TOKEN_HASHES)?.get(secret_hash.as_slice())?.map(|v| v.value()) else {
                return Ok(None);
            };
            let token: Option<ApiToken> = r.open_table(API_TOKENS)?.get(key)?.map(|v| decode(v.value())).transpose()?;
            Ok(token.filter(|t| t.live(now)))
        })
    }

    /// Revoke a token of `site`: it stops working at once and stays listed as revoked.
    pub async fn revoke_token(&self, site: SiteId, id: u64, now: Millis) -> Result<ApiToken, StoreError> {
        self.write(move |txn| {
            let mut t = txn.open_table(API_TOKENS)?;
            let mut token: ApiToken = decode(t.get((site.0, id))?.ok_or(StoreError::NotFound)?.value())?;
            if token.revoked_at.is_none() {
                token.revoked_at = Some(now);
                t.insert((site.0, id), encode(&token).as_slice())?;
            }
            Ok(token)
        })
        .await
    }

    /// Record that a token was used at `now`.
    pub async fn touch_token(&self, site: SiteId, id: u64, now: Millis) -> Result<(), StoreError> {
        self.write(move |txn| {
            let mut t = txn.open_table(API_TOKENS)?;
            let found: Option<ApiToken> = t.get((site.0, id))?.map(|v| decode(v.value())).transpose()?;
            if let Some(mut token) = found {
                token.last_used_at = Some(now);
                t.insert((site.0, id), encode(&token).as_slice())?;
            }
            Ok(())
        })
        .await
    }
}

/// Remove a deleted site's tokens (and their hashes).
pub(super) fn delete_site_tokens(txn: &redb::WriteTransaction, site: SiteId) -> Result<(), StoreError> {
    txn.open_table(API_TOKENS)?.retain_in((site.0, 0)..=(site.0, u64::MAX), |_, _| false)?;
    txn.open_table(API_TOKEN_HASHES)?.retain(|_, owner| owner.0 != site.0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::tokens::TokenScope;

    #[tokio::test]
    async fn a_token_is_found_by_its_secret_until_revoked_or_expired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let site = store.create_site("A".into(), 0).await.expect("site").id;
        let t = ApiToken {
            id: 0,
            site,
            name: "CRM".into(),
            scope: TokenScope::Read,
            created_at: 1,
            created_by: UserId(1),
            prefix: "parley_ab".into(),
            expires_at: Some(1_000),
            last_used_at: None,
            revoked_at: None,
        };
        let t = store.create_token(t, [7; 32]).await.expect("created");
        assert_eq!(store.token_by_hash(&[7; 32], 10).expect("read").map(|x| x.id), Some(t.id));
        assert!(store.token_by_hash(&[8; 32], 10).expect("read").is_none());
        assert!(store.token_by_hash(&[7; 32], 1_000).expect("read").is_none(), "expired");
        store.touch_token(site, t.id, 20).await.expect("touched");
        assert_eq!(store.tokens(site).expect("list")[0].last_used_at, Some(20));
        store.revoke_token(site, t.id, 30).await.expect("revoked");
        assert!(store.token_by_hash(&[7; 32], 40).expect("read").is_none(), "revoked");
        assert!(matches!(store.revoke_token(SiteId(99), t.id, 30).await, Err(StoreError::NotFound)));
    }
}
