//! The in-process test communicators, as a user's own tests would use them.

mod common;

use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use channels_rpc::testing::{HttpCommunicator, WebsocketCommunicator};
use channels_rpc::{json, rpc_method, Consumer, ConsumerHooks, Reject, RpcContext, Scope};
use common::Everyone;

static LAST_CLOSE: AtomicU16 = AtomicU16::new(0);

/// Requires an `x-user` header; remembers how its connection closed.
#[derive(Consumer, Default)]
#[consumer(hooks)]
struct Guarded;

impl ConsumerHooks for Guarded {
    async fn connect(&self, scope: &mut Scope) -> Result<(), Reject> {
        let name = scope
            .header("x-user")
            .ok_or_else(|| Reject::forbidden("who are you?"))?
            .to_owned();
        // The authenticated user goes into the scope's typed extensions.
        scope.extensions_mut().insert(User { name });
        Ok(())
    }

    async fn disconnect(&self, code: u16) {
        LAST_CLOSE.store(code, Ordering::SeqCst);
    }
}

/// Who the connect hook says the peer is.
#[derive(Clone)]
struct User {
    name: String,
}

/// Greets the user the connect hook authenticated.
#[rpc_method(consumer = Guarded)]
fn greet(ctx: &RpcContext<Guarded>) -> String {
    let user = ctx.scope().extensions().get::<User>().expect("set by connect");
    format!("hello {}", user.name)
}

/// Pushes `count` ticks from a background task, after the call has answered.
#[rpc_method(consumer = Guarded)]
fn ticks(ctx: &RpcContext<Guarded>, count: u32) -> bool {
    let handle = ctx.handle().expect("a WebSocket connection").clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        for i in 0..count {
            handle.notify("tick", &[i]).expect("the connection is open");
        }
    });
    true
}

#[tokio::test]
async fn websocket_communicator_round_trip() {
    let rejected = WebsocketCommunicator::new(Guarded::app(), "/ws/")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(rejected.status, 403);

    let mut ws = WebsocketCommunicator::new(Guarded::app(), "/ws/")
        .header("x-user", "ada")
        .connect()
        .await
        .unwrap();
    ws.send_json(&json!({"jsonrpc": "2.0", "method": "greet", "id": 1}))
        .await;
    assert_eq!(
        ws.receive_json().await,
        Some(json!({"jsonrpc": "2.0", "result": "hello ada", "id": 1}))
    );
    ws.send_json(&json!({"jsonrpc": "2.0", "method": "ticks", "params": [3], "id": 2}))
        .await;
    assert_eq!(
        ws.receive_json().await,
        Some(json!({"jsonrpc": "2.0", "result": true, "id": 2}))
    );
    for i in 0..3 {
        assert_eq!(
            ws.receive_json().await,
            Some(json!({"jsonrpc": "2.0", "method": "tick", "params": [i]}))
        );
    }
    ws.send_text(r#"{"jsonrpc":"2.0","method":"greet"}"#).await;
    assert!(
        ws.receive_nothing(Duration::from_millis(200)).await,
        "a notification gets no reply"
    );
    ws.disconnect(4321).await;
    assert_eq!(
        LAST_CLOSE.load(Ordering::SeqCst),
        4321,
        "disconnect ran before disconnect() returned"
    );
}

#[tokio::test]
async fn pushes_reach_the_communicator() {
    let mut ws = WebsocketCommunicator::new(Everyone::app(), "/ws/")
        .connect()
        .await
        .unwrap();
    ws.send_json(&json!({"jsonrpc": "2.0", "method": "notify_me", "params": ["tick", [1, 2]], "id": 7}))
        .await;
    let first = ws.receive_json().await.unwrap();
    let second = ws.receive_json().await.unwrap();
    let mut got = [first, second];
    got.sort_by_key(|m| m.get("id").is_some());
    assert_eq!(got[0], json!({"jsonrpc": "2.0", "method": "tick", "params": [1, 2]}));
    assert_eq!(got[1], json!({"jsonrpc": "2.0", "result": true, "id": 7}));
}

#[tokio::test]
async fn http_communicator() {
    let http = HttpCommunicator::new(Guarded::app(), "/rpc/").header("x-user", "bob");
    let answer = http.post(r#"{"jsonrpc":"2.0","method":"greet","id":"g"}"#).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        Some(json!({"jsonrpc": "2.0", "result": "hello bob", "id": "g"}))
    );
    assert_eq!(http.post(r#"{"jsonrpc":"2.0","method":"greet"}"#).await.status, 204);
    assert_eq!(http.request("PUT", "{}").await.status, 405);
    let anonymous = HttpCommunicator::new(Guarded::app(), "/rpc/");
    assert_eq!(
        anonymous
            .post(r#"{"jsonrpc":"2.0","method":"greet","id":1}"#)
            .await
            .status,
        403
    );
}
