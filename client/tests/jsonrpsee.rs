//! The client against jsonrpsee 0.26's server, over HTTP and WebSocket:
//! another implementation's framing, errors, batches and subscriptions.

mod common;

use std::time::Duration;

use channels_rpc_client::{Batch, Client, Error, RpcError};
use serde_json::{json, Value};

#[tokio::test]
async fn calls_errors_batches_notifications_and_timeouts_over_both_transports() {
    let (addr, server) = common::jsonrpsee().await;
    for url in [format!("http://{addr}/"), format!("ws://{addr}/")] {
        let client = Client::builder(&url)
            .header("authorization", "Bearer test")
            .timeout(Duration::from_millis(300))
            .connect()
            .await
            .unwrap();
        assert_eq!(client.call::<i64>("add", (2, 3)).await.unwrap(), 5, "{url}");
        assert_eq!(client.call::<i64>("add", json!({"a": 4, "b": 5})).await.unwrap(), 9);
        assert_eq!(
            client.call::<String>("greet", json!({"name": "Ada"})).await.unwrap(),
            "Hello, Ada!"
        );
        assert_eq!(
            client.call::<()>("fail", ()).await.unwrap_err().rpc(),
            Some(&RpcError {
                code: 4000,
                message: "it failed".into(),
                data: Some(json!({"why": "asked to"})),
            })
        );
        let unknown = client.call::<Value>("no.such", ()).await.unwrap_err();
        assert_eq!(unknown.rpc().map(|e| e.code), Some(-32601), "{unknown}");
        assert!(matches!(
            client.call::<String>("add", (1, 2)).await,
            Err(Error::Decode(_))
        ));

        client.notify("add", (1, 2)).await.unwrap();
        let outcomes = client
            .batch(
                Batch::new()
                    .call("add", (1, 2))
                    .notify("add", (0, 0))
                    .call("fail", ())
                    .call("add", (3, 4)),
            )
            .await
            .unwrap();
        assert_eq!(outcomes.len(), 3);
        assert_eq!(outcomes[0].as_ref().unwrap(), &json!(3));
        assert_eq!(outcomes[1].as_ref().unwrap_err().rpc().map(|e| e.code), Some(4000));
        assert_eq!(outcomes[2].as_ref().unwrap(), &json!(7));

        let late = client.call::<u64>("sleep", (2000,)).await.unwrap_err();
        assert!(matches!(late, Error::Timeout { .. }), "{late}");
        assert_eq!(
            client
                .call_with_timeout::<u64>("sleep", (10,), Duration::from_secs(5))
                .await
                .unwrap(),
            10
        );
    }
    server.stop().unwrap();
}

#[tokio::test]
async fn a_subscriptions_notifications_reach_the_stream_and_the_handler() {
    let (addr, server) = common::jsonrpsee().await;
    let client = Client::connect(&format!("ws://{addr}/")).await.unwrap();
    let (tx, mut handled) = tokio::sync::mpsc::unbounded_channel();
    client.on("ticks", move |params| {
        let _ = tx.send(params["result"].clone());
    });
    let mut stream = client.notifications();
    let subscription: Value = client.call("subscribe_ticks", (3,)).await.unwrap();
    for tick in 0..3 {
        let pushed = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pushed.method, "ticks");
        assert_eq!(pushed.params, json!({"subscription": subscription, "result": tick}));
        assert_eq!(handled.recv().await.unwrap(), json!(tick));
    }
    server.stop().unwrap();
}
