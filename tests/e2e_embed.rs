//! `RpcService` mounted on someone else's hyper server, over real sockets; and
//! HTTP/2 with prior knowledge (h2c) against our own server.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use channels_rpc::{RpcService, Server};
use common::Everyone;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use tower_service::Service;

#[tokio::test]
async fn mounted_as_a_tower_service_on_a_foreign_router() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let rpc = RpcService::new(Everyone::app());
    let server = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let rpc = rpc.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut rpc = rpc.clone();
                    async move {
                        if req.uri().path() == "/mounted" {
                            rpc.call(req).await
                        } else {
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"theirs"))))
                        }
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = hyper::Request::post(format!("http://{addr}/mounted"))
        .body(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
        )))
        .unwrap();
    let body = client
        .request(request)
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, Bytes::from_static(br#"{"jsonrpc":"2.0","result":"pong","id":1}"#));
    let theirs = client
        .get(format!("http://{addr}/elsewhere").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        theirs.into_body().collect().await.unwrap().to_bytes(),
        Bytes::from_static(b"theirs")
    );

    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/mounted"))
        .await
        .unwrap();
    socket
        .send(Message::text(
            r#"{"jsonrpc":"2.0","method":"subtract","params":[5,3],"id":1}"#,
        ))
        .await
        .unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    let reply: Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    assert_eq!(reply, json!({"jsonrpc": "2.0", "result": 2, "id": 1}));
    server.abort();
}

#[tokio::test]
async fn h2c_prior_knowledge() {
    let server = Server::bind("127.0.0.1:0")
        .config(channels_rpc::ServerConfig::builder().h2c(true).build().unwrap())
        .http("/rpc/", Everyone::app())
        .listen()
        .await
        .unwrap()
        .spawn();
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let request = hyper::Request::post(format!("http://{}/rpc/", server.local_addr()))
        .body(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
        )))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, Bytes::from_static(br#"{"jsonrpc":"2.0","result":3,"id":1}"#));
    server.shutdown().await.unwrap();
}
