//! Vault authentication and the token lifecycle.
//!
//! ESO logs in on every reconcile (and revokes the token afterwards) unless its opt-in
//! token cache is on — the "login every refresh" complaint (ESO #4032, #376). Here one
//! [`TokenManager`] per store logs in once, keeps the token, renews it with `renew-self`
//! once two thirds of its lease have passed, logs in again only when the token cannot be
//! renewed (not renewable, at its max TTL, expired, or rejected), and revokes the token it
//! obtained when the store is closed. A token given by the user (`tokenSecretRef`) is used
//! as is and never revoked: it is not ours.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use vaultrs::api::AuthInfo;
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

use super::errors;
use crate::error::{ProviderError, Result};
use crate::metrics::{Metrics, ProviderKind};

/// Produces a JWT when one is needed (at each login). Lets the controller mint a fresh
/// service-account token (TokenRequest) instead of handing over one that may expire.
pub type JwtFetcher = Arc<dyn Fn() -> BoxFuture<'static, Result<SecretString>> + Send + Sync>;

/// Where a login JWT comes from.
#[derive(Clone)]
pub enum JwtSource {
    /// A token resolved by the caller (e.g. from `secretRef`).
    Value(SecretString),
    /// Asked for at every login.
    Fetch(JwtFetcher),
}

impl fmt::Debug for JwtSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(_) => f.write_str("JwtSource::Value([REDACTED])"),
            Self::Fetch(_) => f.write_str("JwtSource::Fetch(..)"),
        }
    }
}

impl JwtSource {
    async fn get(&self) -> Result<SecretString> {
        match self {
            Self::Value(jwt) => Ok(jwt.clone()),
            Self::Fetch(fetch) => fetch().await,
        }
    }
}

/// ESO `spec.provider.vault.auth` (credentials already resolved to values).
#[derive(Debug, Clone)]
pub enum VaultAuth {
    /// `tokenSecretRef`.
    Token(SecretString),
    /// `appRole` (`path` default `approle`).
    AppRole {
        path: String,
        role_id: String,
        secret_id: SecretString,
    },
    /// `kubernetes` (`mountPath` default `kubernetes`), with the service account JWT.
    Kubernetes {
        mount_path: String,
        role: String,
        jwt: JwtSource,
    },
    /// `jwt` (`path` default `jwt`).
    Jwt {
        path: String,
        role: Option<String>,
        jwt: JwtSource,
    },
    /// `userPass` (`path` default `userpass`).
    UserPass {
        path: String,
        username: String,
        password: SecretString,
    },
}

impl VaultAuth {
    fn method(&self) -> &'static str {
        match self {
            Self::Token(_) => "token",
            Self::AppRole { .. } => "approle",
            Self::Kubernetes { .. } => "kubernetes",
            Self::Jwt { .. } => "jwt",
            Self::UserPass { .. } => "userpass",
        }
    }
}

/// Clients bound to one token: `data` speaks in the store's namespace, `own` in the
/// namespace the token was issued in (renew-self / revoke-self / lookup-self).
pub(crate) struct Session {
    pub data: VaultClient,
    pub own: VaultClient,
    /// Changes at every login, so a caller can say which token was rejected.
    pub generation: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

struct Lease {
    session: Arc<Session>,
    issued: Instant,
    /// Zero = the token does not expire.
    lease: Duration,
    /// The lease at login, the increment asked for at renewal.
    login_lease: Duration,
    renewable: bool,
    /// We logged in for it, so we revoke it.
    owned: bool,
}

impl Lease {
    fn fresh(&self) -> bool {
        self.lease.is_zero() || self.issued.elapsed() < self.lease * 2 / 3
    }

    fn alive(&self) -> bool {
        self.lease.is_zero() || self.issued.elapsed() < self.lease
    }
}

/// Connection settings shared by all clients of a store.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub address: String,
    pub namespace: Option<String>,
    pub auth_namespace: Option<String>,
    pub timeout: Duration,
}

impl Endpoint {
    pub(crate) fn client(&self, token: &str, namespace: Option<&str>) -> Result<VaultClient> {
        let mut settings = VaultClientSettingsBuilder::default();
        settings
            .address(&self.address)
            .token(token)
            .timeout(Some(self.timeout));
        if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
            settings.namespace(Some(ns.to_owned()));
        }
        let settings = settings.build().map_err(|e| {
            ProviderError::config(format!(
                "vault: invalid server address {:?}: {e}",
                self.address
            ))
        })?;
        VaultClient::new(settings)
            .map_err(|e| ProviderError::config(format!("vault: cannot build a client: {e}")))
    }

    /// The namespace logins happen in: `auth.namespace` if set (empty = root), else the
    /// store's namespace.
    fn login_namespace(&self) -> Option<&str> {
        self.auth_namespace.as_deref().or(self.namespace.as_deref())
    }
}

/// Keeps one token per store alive.
pub(crate) struct TokenManager {
    endpoint: Endpoint,
    auth: VaultAuth,
    metrics: Metrics,
    state: Mutex<(u64, Option<Lease>)>,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("method", &self.auth.method())
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    pub(crate) fn new(endpoint: Endpoint, auth: VaultAuth, metrics: Metrics) -> Self {
        Self {
            endpoint,
            auth,
            metrics,
            state: Mutex::new((0, None)),
        }
    }

    /// True when a rejected token can be replaced by logging in again.
    pub(crate) fn can_login(&self) -> bool {
        !matches!(self.auth, VaultAuth::Token(_))
    }

    /// True for a user-supplied token.
    pub(crate) fn is_static(&self) -> bool {
        !self.can_login()
    }

    /// A usable session: the kept token, renewed or replaced when due.
    pub(crate) async fn session(&self) -> Result<Arc<Session>> {
        let mut state = self.state.lock().await;
        if let Some(lease) = &state.1 {
            if lease.fresh() {
                return Ok(lease.session.clone());
            }
            if lease.renewable && lease.alive() && self.renew(&mut state.1).await {
                return Ok(state.1.as_ref().expect("renewed lease").session.clone());
            }
        }
        state.0 += 1;
        let generation = state.0;
        let new = self.login(generation).await?;
        let session = new.session.clone();
        if let Some(old) = state.1.replace(new)
            && old.owned
            && old.alive()
        {
            let metrics = self.metrics.clone();
            tokio::spawn(async move { revoke(&old.session.own, &metrics).await });
        }
        Ok(session)
    }

    /// Drops the session of `generation` after the server rejected its token, so the next
    /// call logs in again.
    pub(crate) async fn discard(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .1
            .as_ref()
            .is_some_and(|l| l.session.generation == generation)
        {
            state.1 = None;
        }
    }

    /// renew-self; false when the token could not be extended enough to keep.
    async fn renew(&self, slot: &mut Option<Lease>) -> bool {
        let Some(lease) = slot.as_mut() else {
            return false;
        };
        let increment = format!("{}s", lease.login_lease.as_secs().max(1));
        let result = vaultrs::token::renew_self(&lease.session.own, Some(&increment)).await;
        self.metrics.call(ProviderKind::Vault, "RenewSelf", &result);
        match result {
            Ok(auth) => {
                let renewed = Duration::from_secs(auth.lease_duration);
                // At its max TTL a token renews for what little is left: log in instead.
                if renewed.is_zero() || renewed < lease.login_lease / 2 {
                    return false;
                }
                lease.issued = Instant::now();
                lease.lease = renewed;
                lease.renewable = auth.renewable;
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "vault token renewal failed; logging in again");
                false
            }
        }
    }

    async fn login(&self, generation: u64) -> Result<Lease> {
        if let VaultAuth::Token(token) = &self.auth {
            return Ok(Lease {
                session: Arc::new(Session {
                    data: self
                        .endpoint
                        .client(token.expose_secret(), self.endpoint.namespace.as_deref())?,
                    own: self
                        .endpoint
                        .client(token.expose_secret(), self.endpoint.namespace.as_deref())?,
                    generation,
                }),
                issued: Instant::now(),
                lease: Duration::ZERO,
                login_lease: Duration::ZERO,
                renewable: false,
                owned: false,
            });
        }
        let login_ns = self.endpoint.login_namespace().map(str::to_owned);
        let anonymous = self.endpoint.client("", login_ns.as_deref())?;
        let result = self.login_call(&anonymous).await;
        self.metrics.call(ProviderKind::Vault, "Login", &result);
        let auth = result?;
        let token = SecretString::from(auth.client_token);
        let lease = Duration::from_secs(auth.lease_duration);
        Ok(Lease {
            session: Arc::new(Session {
                data: self
                    .endpoint
                    .client(token.expose_secret(), self.endpoint.namespace.as_deref())?,
                own: self
                    .endpoint
                    .client(token.expose_secret(), login_ns.as_deref())?,
                generation,
            }),
            issued: Instant::now(),
            lease,
            login_lease: lease,
            renewable: auth.renewable,
            owned: true,
        })
    }

    async fn login_call(&self, client: &VaultClient) -> Result<AuthInfo> {
        let method = self.auth.method();
        let classify = |e: ClientError| match errors::classify("login", method, e) {
            // A login answered 400/404 means bad credentials or a wrong mount/role.
            ProviderError::NotFound { .. } | ProviderError::Backend { .. } => {
                ProviderError::Forbidden {
                    message: format!("vault {method} login failed"),
                }
            }
            other => other,
        };
        match &self.auth {
            VaultAuth::Token(_) => unreachable!("static tokens do not log in"),
            VaultAuth::AppRole {
                path,
                role_id,
                secret_id,
            } => vaultrs::auth::approle::login(client, path, role_id, secret_id.expose_secret())
                .await
                .map_err(classify),
            VaultAuth::Kubernetes {
                mount_path,
                role,
                jwt,
            } => {
                let jwt = jwt.get().await?;
                vaultrs::auth::kubernetes::login(client, mount_path, role, jwt.expose_secret())
                    .await
                    .map_err(classify)
            }
            VaultAuth::Jwt { path, role, jwt } => {
                let jwt = jwt.get().await?;
                vaultrs::auth::oidc::login(client, path, jwt.expose_secret(), role.clone())
                    .await
                    .map_err(classify)
            }
            VaultAuth::UserPass {
                path,
                username,
                password,
            } => vaultrs::auth::userpass::login(client, path, username, password.expose_secret())
                .await
                .map_err(classify),
        }
    }

    /// The store's `Valid` check: a login (kept for later use), or for a static token
    /// one lookup-self.
    pub(crate) async fn validate(&self) -> Result<()> {
        let session = self.session().await?;
        if self.is_static() {
            let result = vaultrs::token::lookup_self(&session.own).await;
            self.metrics
                .call(ProviderKind::Vault, "LookupSelf", &result);
            result.map_err(|e| errors::classify("lookup-self", "token", e))?;
        }
        Ok(())
    }

    /// Revokes the token we logged in for (store closed or replaced).
    pub(crate) async fn close(&self) {
        let lease = self.state.lock().await.1.take();
        if let Some(lease) = lease
            && lease.owned
            && lease.alive()
        {
            revoke(&lease.session.own, &self.metrics).await;
        }
    }
}

async fn revoke(client: &VaultClient, metrics: &Metrics) {
    let result = vaultrs::token::revoke_self(client).await;
    metrics.call(ProviderKind::Vault, "RevokeSelf", &result);
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not revoke the vault token on close");
    }
}
