//! Authentication and guards: the connect hook authenticates a bearer token
//! (`Authorization: Bearer <token>`) or a session cookie (`session=<id>`),
//! refuses anyone else with 401, and puts the `User` into the scope's
//! extensions; methods receive it as `&Ext<User>`; guards keep the admin
//! methods to admins, and a caller who is not one sees them as missing.
//!
//! ```text
//! cargo run --example auth -- --addr 127.0.0.1:8000
//! curl -s http://127.0.0.1:8000/rpc/ -H 'authorization: Bearer alice-demo-token' \
//!   -H 'content-type: application/json' -d '{"jsonrpc":"2.0","method":"whoami","id":1}'
//! ```
//!
//! The connect hook runs once per WebSocket handshake and once per HTTP
//! request, so both transports are authenticated the same way.

#[path = "support/logging.rs"]
mod logging;

use channels_rpc::{
    rpc_method, shutdown_on_signal, Consumer, ConsumerHooks, Ext, Reject, RpcContext, RpcError, Scope, Server,
};
use clap::Parser;

/// Serves the demo's methods on /ws/ and /rpc/.
#[derive(Parser, Debug)]
struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: String,
}

/// The authenticated caller, put into the scope by the connect hook.
/// (Scope extensions hold `Clone` values.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Who it is.
    pub name: String,
    /// May call the `admin.*` methods.
    pub admin: bool,
    /// How the caller logged in.
    pub by: Credential,
}

/// What the caller presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Token,
    /// The `session` cookie.
    Session,
}

/// DEMO ONLY: hard-coded credentials (secret, user name, admin). A real
/// server asks its identity provider or session store here.
pub const DEMO_TOKENS: &[(&str, &str, bool)] =
    &[("alice-demo-token", "alice", false), ("root-demo-token", "root", true)];

/// DEMO ONLY: hard-coded session ids, as a login page would have set them.
pub const DEMO_SESSIONS: &[(&str, &str, bool)] = &[
    ("alice-demo-session", "alice", false),
    ("root-demo-session", "root", true),
];

/// The user behind the request's credentials: a bearer token first, else
/// the session cookie.
fn authenticate(scope: &Scope) -> Option<User> {
    let (presented, table, by) = match scope.header("authorization") {
        Some(value) => (value.strip_prefix("Bearer ")?, DEMO_TOKENS, Credential::Token),
        None => (scope.cookie("session")?, DEMO_SESSIONS, Credential::Session),
    };
    // Every entry is compared, each without stopping at the first
    // difference, so the time taken does not tell which part was right.
    let mut found = None;
    for (secret, name, admin) in table {
        if same_secret(presented, secret) {
            found = Some(User {
                name: (*name).to_owned(),
                admin: *admin,
                by,
            });
        }
    }
    found
}

fn same_secret(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// One instance per connection; only authenticated callers get one.
#[derive(Consumer, Default, Debug)]
#[consumer(hooks)]
pub struct Api;

impl ConsumerHooks for Api {
    async fn connect(&self, scope: &mut Scope) -> Result<(), Reject> {
        let Some(user) = authenticate(scope) else {
            return Err(Reject::unauthorized(
                "send Authorization: Bearer <token>, or log in for a session cookie\n",
            ));
        };
        scope.extensions_mut().insert(user);
        Ok(())
    }
}

/// Guard: the caller is an admin. `false` answers like a missing method.
fn is_admin(cx: &RpcContext) -> bool {
    cx.extension::<User>().is_some_and(|user| user.admin)
}

/// Guard: an admin who presented a token. A non-admin still sees a missing
/// method; an admin on a session cookie is told what to do instead.
fn admin_with_token(cx: &RpcContext) -> Result<(), RpcError> {
    match cx.extension::<User>() {
        Some(user) if user.admin && user.by == Credential::Token => Ok(()),
        Some(user) if user.admin => {
            Err(RpcError::new(-32003, "Forbidden").with_data("this method needs a bearer token, not a session cookie"))
        }
        _ => Err(RpcError::method_not_found(cx.method())),
    }
}

/// The caller's name.
#[rpc_method(consumer = Api)]
fn whoami(user: &Ext<User>) -> String {
    user.name.clone()
}

/// Every user name (admins only).
#[rpc_method("admin.users", consumer = Api, guard = is_admin)]
fn users() -> Vec<&'static str> {
    DEMO_TOKENS.iter().map(|(_, name, _)| *name).collect()
}

/// Pretends to rotate the signing keys (admins with a token only).
#[rpc_method("admin.rotate_keys", consumer = Api, guard = admin_with_token)]
async fn rotate_keys(user: &Ext<User>) -> String {
    format!("keys rotated by {}", user.name)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    logging::init();
    let args = Args::parse();
    let server = Server::bind(args.addr)
        .websocket("/ws/", Api::app())
        .http("/rpc/", Api::app())
        .listen()
        .await?;
    let addr = server.local_addr();
    println!("listening on {addr}");
    println!(
        r#"try: curl -s http://{addr}/rpc/ -H 'authorization: Bearer alice-demo-token' -H 'content-type: application/json' -d '{{"jsonrpc":"2.0","method":"whoami","id":1}}'"#
    );
    server.serve_until(shutdown_on_signal()).await
}
