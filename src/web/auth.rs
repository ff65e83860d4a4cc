//! Who is asking: server-side sessions (a random token in an HttpOnly cookie, its SHA-256 in
//! the store), the `Principal` extractors, password hashing off the async threads, sign-in with
//! throttling, sign-out, and the one-time setup page that creates the owner.

use crate::domain::forms::AccountForm;
use crate::domain::ids::SiteId;
use crate::domain::model::{Role, User};
use crate::domain::validate::FormErrors;
use crate::store::{SessionRecord, SiteStore, StoreError};
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::http::{HtmlForm, client_ip, cookie, safe_next, set_cookie};
use crate::web::layout::Layout;
use crate::web::state::{AppState, now_ms, random_hex};
use askama::Template;
use poem::http::{StatusCode, header};
use poem::web::{Data, Path, Query, Redirect};
use poem::{Endpoint, FromRequest, IntoResponse, Request, RequestBody, Response, handler};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};

pub const SESSION_COOKIE: &str = "parley_session";

/// The signed-in person of this request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    pub token_hash: [u8; 32],
}

impl Principal {
    pub fn is_owner(&self) -> bool {
        self.user.role == Role::Owner
    }

    /// The handle to `site`'s data, if this person may administer it. Anything else is 404,
    /// so ids of other sites reveal nothing. This is the only way handlers get a `SiteStore`.
    pub fn admin_scope(&self, state: &AppState, site: u64) -> Result<SiteStore, WebError> {
        let site = SiteId(site);
        let allowed = match self.user.role {
            Role::Owner => site != SiteId::ORG && state.store.get_site(site).is_ok(),
            Role::Admin => self.user.site == site,
            Role::Agent => false,
        };
        if allowed { Ok(state.store.site(site)) } else { Err(WebError::NotFound) }
    }
}

impl<'a> FromRequest<'a> for Principal {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        match req.extensions().get::<Principal>() {
            Some(p) => Ok(p.clone()),
            None => {
                let next = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
                Err(WebError::SignIn { next }.into())
            }
        }
    }
}

/// A principal allowed into the admin pages: the owner or a site admin.
pub struct Admin(pub Principal);

impl<'a> FromRequest<'a> for Admin {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let p = Principal::from_request(req, body).await?;
        match p.user.role {
            Role::Owner | Role::Admin => Ok(Admin(p)),
            Role::Agent => Err(WebError::Forbidden(
                "The admin pages are for site admins and the owner. Agents work in the console.",
            )
            .into()),
        }
    }
}

/// The organization owner.
pub struct Owner(pub Principal);

impl<'a> FromRequest<'a> for Owner {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let p = Principal::from_request(req, body).await?;
        if p.is_owner() {
            Ok(Owner(p))
        } else {
            Err(WebError::Forbidden("Only the organization owner can do this.").into())
        }
    }
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Middleware: attach the `Principal` when the session cookie names a live session.
pub async fn load_session<E: Endpoint>(next: Arc<E>, mut req: Request) -> poem::Result<Response> {
    if let (Some(state), Some(token)) = (req.data::<AppState>().cloned(), cookie(&req, SESSION_COOKIE)) {
        let hash = token_hash(token);
        if let Some((_, user)) = state.store.live_session(&hash, now_ms()).map_err(WebError::from)? {
            req.extensions_mut().insert(Principal { user, token_hash: hash });
        }
    }
    Ok(next.call(req).await?.into_response())
}

// ---- passwords ----

type HashJob = Box<dyn FnOnce() + Send>;

/// Password hashing runs on two dedicated threads. Each argon2 hash takes ~19 MiB; spread over
/// tokio's many blocking threads, glibc keeps one arena per thread and a burst of sign-ins left
/// the process holding hundreds of MiB. Two threads bound both the memory and the CPU.
fn hashing_pool() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<HashJob>> {
    static POOL: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<HashJob>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<HashJob>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..2 {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("parley-hash-{i}")).spawn(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        std::sync::Mutex::new(tx)
    })
}

async fn on_hashing_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R, WebError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = tx.send(f());
    });
    hashing_pool()
        .lock()
        .map_err(|_| WebError::Internal("hashing pool lock".into()))?
        .send(job)
        .map_err(|_| WebError::Internal("no password hashing thread".into()))?;
    rx.await.map_err(|_| WebError::Internal("password hashing stopped".into()))
}

pub async fn hash_password(password: String) -> Result<String, WebError> {
    on_hashing_thread(move || argon2_phc(&password))
        .await?
        .map_err(|e| WebError::Internal(format!("password hashing: {e}")))
}

/// Check a password against a PHC string. With `None` (unknown account) a dummy hash is
/// checked instead, so both cases take the same time and give the same answer.
pub async fn verify_password(password: String, phc: Option<String>) -> bool {
    // An invited person without a password yet is answered like an unknown address.
    let phc = match phc.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => dummy_hash().await,
    };
    on_hashing_thread(move || argon2_verify(&password, &phc)).await.unwrap_or(false)
}

/// The memory of one argon2 run, allocated larger than glibc's largest mmap threshold (32 MiB)
/// so that it is always a mapping of its own, given back to the system when the run ends.
/// argon2's own allocation (19 MiB) fell below the threshold glibc adjusts after the first
/// free, and each hashing thread's arena then kept it for good. Only the blocks argon2 uses
/// are touched: the rest of the mapping never becomes resident.
fn argon2_memory(blocks: usize) -> Vec<argon2::Block> {
    const MAPPED: usize = 33 * 1024 * 1024 / argon2::Block::SIZE;
    let mut memory = Vec::with_capacity(blocks.max(MAPPED));
    memory.resize(blocks, argon2::Block::default());
    memory
}

/// argon2 with `argon2`'s parameters into `out`, in memory of its own (`argon2_memory`).
fn argon2_into(argon2: &argon2::Argon2<'_>, password: &str, salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let memory = argon2_memory(argon2.params().block_count());
    argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, memory)
}

/// A new PHC string (argon2id, default parameters, a random 16-byte salt) for `password`.
fn argon2_phc(password: &str) -> Result<String, String> {
    use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
    let argon2 = argon2::Argon2::default();
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let mut out = [0u8; 32];
    argon2_into(&argon2, password, &salt, &mut out).map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::default().into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Does `password` match the PHC string `phc` (compared in constant time)?
fn argon2_verify(password: &str, phc: &str) -> bool {
    use argon2::password_hash::phc::{Output, PasswordHash};
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(params) = argon2::Params::try_from(&hash) else { return false };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let Ok(version) = hash.version.map(argon2::Version::try_from).transpose() else { return false };
    let argon2 = argon2::Argon2::new(algorithm, version.unwrap_or_default(), params);
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon2, password, salt.as_ref(), &mut out).is_ok() && Output::new(&out).is_ok_and(|o| &o == expected)
}

async fn dummy_hash() -> String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return h.clone();
    }
    let h = hash_password(random_hex(16)).await.unwrap_or_default();
    DUMMY.get_or_init(|| h).clone()
}

// ---- sessions ----

/// Start a session for `user`: a new random token (so every sign-in rotates the cookie).
pub async fn start_session(state: &AppState, user: &User) -> Result<String, WebError> {
    let token = random_hex(32);
    let now = now_ms();
    let rec = SessionRecord {
        site: user.site,
        user: user.id,
        epoch: user.session_epoch,
        created_at: now,
        expires_at: now + state.config.session_lifetime_ms,
    };
    state.store.create_session(token_hash(&token), rec).await?;
    Ok(set_cookie(SESSION_COOKIE, &token, Some(state.config.session_lifetime_ms / 1000), state.https()))
}

pub fn redirect_with_cookie(to: &str, cookie: String) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .header(header::SET_COOKIE, cookie)
        .finish()
}

/// Where a person lands after signing in.
pub fn home(user: &User) -> String {
    match user.role {
        Role::Owner => "/admin/sites".into(),
        Role::Admin => format!("/admin/sites/{}", user.site),
        Role::Agent => "/console".into(),
    }
}

// ---- sign in / sign out ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginQuery {
    next: String,
    ok: Option<String>,
}

#[handler]
pub async fn login_page(csrf: CsrfToken, req: &Request, Query(q): Query<LoginQuery>) -> Result<Response, WebError> {
    if let Some(p) = req.extensions().get::<Principal>() {
        return Ok(Redirect::see_other(home(&p.user)).into_response());
    }
    let notice = crate::web::layout::Notice { ok: q.ok };
    let l = Layout::new("Sign in", &csrf, None).notice(&notice);
    let page = LoginPage { l, email: String::new(), next: q.next, error: None };
    Ok(page.render()?.with_content_type("text/html; charset=utf-8").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    next: String,
    csrf_token: String,
}

#[handler]
pub async fn login(
    csrf: CsrfToken,
    req: &Request,
    state: Data<&AppState>,
    HtmlForm(form): HtmlForm<LoginForm>,
) -> Result<Response, WebError> {
    let _ = &form.csrf_token;
    let email = form.email.trim().to_lowercase();
    let account_key = format!("account:{email}");
    let ip_key = format!("ip:{}", client_ip(req, &state).map(|i| i.to_string()).unwrap_or_default());
    let render = |status: StatusCode, error: String| -> Result<Response, WebError> {
        let page = LoginPage {
            l: Layout::new("Sign in", &csrf, None),
            email: form.email.clone(),
            next: form.next.clone(),
            error: Some(error),
        };
        Ok(page.render()?.with_content_type("text/html; charset=utf-8").with_status(status).into_response())
    };
    let wait = {
        let t = state.throttle.lock().map_err(|_| WebError::Internal("throttle lock".into()))?;
        t.wait_ms(&account_key, now_ms()).max(t.wait_ms(&ip_key, now_ms()))
    };
    if wait > 0 {
        let secs = wait.div_ceil(1000);
        return render(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-ins. Try again in {secs} seconds."),
        );
    }
    let user = state.store.user_by_email(&email)?;
    let ok = verify_password(form.password.clone(), user.as_ref().map(|u| u.password_hash.clone())).await;
    let user = match user {
        Some(u) if ok && u.active => u,
        _ => {
            if let Ok(mut t) = state.throttle.lock() {
                t.failed(&account_key, now_ms());
                t.failed(&ip_key, now_ms());
            }
            state.metrics.logins_failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return render(StatusCode::UNAUTHORIZED, "Wrong email or password.".into());
        }
    };
    if let Ok(mut t) = state.throttle.lock() {
        t.succeeded(&account_key);
    }
    if let Some(old) = cookie(req, SESSION_COOKIE) {
        state.store.delete_session(token_hash(old)).await?;
    }
    let set = start_session(&state, &user).await?;
    let to = safe_next(&form.next).map(str::to_string).unwrap_or_else(|| home(&user));
    Ok(redirect_with_cookie(&to, set))
}

#[handler]
pub async fn logout(req: &Request, state: Data<&AppState>) -> Result<Response, WebError> {
    if let Some(token) = cookie(req, SESSION_COOKIE) {
        state.store.delete_session(token_hash(token)).await?;
    }
    Ok(redirect_with_cookie("/login", set_cookie(SESSION_COOKIE, "", None, state.https())))
}

// ---- first start: create the owner ----

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    l: Layout,
    token: String,
    form: AccountForm,
    errors: FormErrors,
}

fn setup_allowed(state: &AppState, token: &str) -> Result<(), WebError> {
    let current = state.setup_token.lock().map_err(|_| WebError::Internal("setup lock".into()))?;
    match current.as_deref() {
        Some(t) if t == token && !state.store.owner_exists()? => Ok(()),
        _ => Err(WebError::NotFound),
    }
}

#[handler]
pub async fn setup_page(
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    setup_allowed(&state, &token)?;
    let page = SetupPage {
        l: Layout::new("Create the owner account", &csrf, None),
        token,
        form: AccountForm::default(),
        errors: FormErrors::default(),
    };
    Ok(page.render()?.with_content_type("text/html; charset=utf-8").into_response())
}

#[handler]
pub async fn setup(
    csrf: CsrfToken,
    state: Data<&AppState>,
    Path(token): Path<String>,
    HtmlForm(form): HtmlForm<AccountForm>,
) -> Result<Response, WebError> {
    setup_allowed(&state, &token)?;
    let rerender = |form: AccountForm, errors: FormErrors| -> Result<Response, WebError> {
        let page =
            SetupPage { l: Layout::new("Create the owner account", &csrf, None), token: token.clone(), form, errors };
        Ok(page
            .render()?
            .with_content_type("text/html; charset=utf-8")
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response())
    };
    let draft = match form.validate() {
        Ok(d) => d,
        Err(e) => return rerender(form, e),
    };
    let hash = hash_password(draft.password).await?;
    let user = match state.store.create_owner(draft.name, draft.email, hash, true, now_ms()).await {
        Ok(u) => u,
        Err(StoreError::Conflict { field, message }) => {
            return rerender(form, FormErrors::single(field, message));
        }
        Err(e) => return Err(e.into()),
    };
    if let Ok(mut t) = state.setup_token.lock() {
        *t = None;
    }
    tracing::info!(email = %user.email, "owner account created through the setup page");
    let set = start_session(&state, &user).await?;
    Ok(redirect_with_cookie("/admin/sites", set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_hashes_and_the_argon2_crates_verify_each_other() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let ours = argon2_phc("correct horse battery").unwrap_or_default();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = argon2::PasswordHash::new(&ours).expect("a PHC string");
        assert!(argon2::Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(argon2_verify("correct horse battery", &ours));
        assert!(!argon2_verify("correct horse batterY", &ours));
        // A hash stored by an earlier Parley (the crate's own hasher) still verifies.
        let theirs =
            argon2::Argon2::default().hash_password(b"older password").map(|h| h.to_string()).unwrap_or_default();
        assert!(argon2_verify("older password", &theirs));
        assert!(!argon2_verify("older passwort", &theirs));
        assert!(!argon2_verify("x", "not a phc string"));
    }
}
