//! In-process dispatch, without any transport: channels-rpc's `App::handle`
//! against jsonrpsee's `RpcModule::raw_json_request` on the same work.
//!
//! Run: `cargo bench --bench dispatch`. Each group has one line per
//! framework; compare their medians within one run (absolute times depend on
//! the machine). jsonrpsee has no in-process batch call, so its "batch of
//! 100" is 100 single calls.
//!
//! The `middleware_*` groups measure what one no-op middleware costs a call
//! (`cargo bench --bench dispatch -- middleware`): ours on `App::handle`
//! and, for both frameworks, one HTTP POST through each one's tower service
//! in-process (no socket: jsonrpsee's middleware runs only inside its
//! server), jsonrpsee's middleware being a pass-through `RpcServiceT` layer.
//! The `middleware_info` group runs last: it installs a `tracing` subscriber
//! at `info` for the rest of the process.

use std::future::Future;

use bytes::Bytes;
use channels_rpc::middleware::Middleware;
use channels_rpc::{App, Connection, Consumer, RpcService, Scope, Transport};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use http_body_util::Full;
use jsonrpsee::core::middleware::{Batch, Notification, Request, RpcServiceBuilder, RpcServiceT};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::RpcModule;
use serde::Deserialize;
use serde_json::Value;
use tower_service::Service;

#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Bench;

#[derive(Deserialize)]
struct Subtract {
    minuend: i64,
    subtrahend: i64,
}

#[derive(Deserialize)]
struct Echo {
    value: Value,
}

/// The same methods as `spec-methods`' `subtract` and `echo`, written for jsonrpsee.
fn jsonrpsee_module() -> RpcModule<()> {
    let mut module = RpcModule::new(());
    module
        .register_method(
            "subtract",
            |params: Params<'_>, _, _| -> Result<i64, ErrorObjectOwned> {
                let Subtract { minuend, subtrahend } = if params.is_object() {
                    params.parse()?
                } else {
                    let mut seq = params.sequence();
                    Subtract {
                        minuend: seq.next()?,
                        subtrahend: seq.next()?,
                    }
                };
                Ok(minuend - subtrahend)
            },
        )
        .unwrap();
    module
        .register_method("echo", |params: Params<'_>, _, _| -> Result<Value, ErrorObjectOwned> {
            if params.is_object() {
                Ok(params.parse::<Echo>()?.value)
            } else {
                params.one()
            }
        })
        .unwrap();
    module
}

fn call(id: usize, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":{params},"id":{id}}}"#)
}

fn dispatch(c: &mut Criterion) {
    let app = Bench::app();
    let conn = Connection::for_consumer::<Bench>(Scope::new(Transport::InProcess, "/"));
    let module = jsonrpsee_module();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();

    let by_position = call(1, "[42,23]");
    let by_name = call(1, r#"{"subtrahend":23,"minuend":42}"#);
    let members: Vec<String> = (0..100).map(|i| call(i, &format!("[{i},1]"))).collect();
    let batch = format!("[{}]", members.join(","));
    let echo = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(16 * 1024)
    );

    // Both answer every input successfully, or the benchmark measures an error path.
    for input in [&by_position, &by_name, &batch, &echo] {
        let ours = rt.block_on(app.handle(&conn, input.as_bytes())).expect("a reply");
        assert!(!String::from_utf8_lossy(ours.body()).contains("\"error\""));
    }
    for input in [&by_position, &by_name, &echo] {
        let (theirs, _) = rt.block_on(module.raw_json_request(input, 1)).unwrap();
        assert!(!theirs.get().contains("\"error\""), "{}", theirs.get());
    }

    for (name, input) in [
        ("by_position", &by_position),
        ("by_name", &by_name),
        ("echo_16k", &echo),
    ] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        group.bench_function("channels_rpc", |b| {
            b.iter(|| rt.block_on(app.handle(&conn, input.as_bytes())))
        });
        group.bench_function("jsonrpsee", |b| {
            b.iter(|| rt.block_on(module.raw_json_request(input, 1)))
        });
        group.finish();
    }

    let mut group = c.benchmark_group("batch_100");
    group.throughput(Throughput::Elements(100));
    group.bench_function("channels_rpc", |b| {
        b.iter(|| rt.block_on(app.handle(&conn, batch.as_bytes())))
    });
    group.bench_function("jsonrpsee", |b| {
        b.iter(|| {
            rt.block_on(async {
                for member in &members {
                    module.raw_json_request(member, 1).await.unwrap();
                }
            })
        })
    });
    group.finish();
}

/// A middleware that lets every call through: what the hooks cost.
struct NoOp;

impl Middleware for NoOp {}

/// jsonrpsee's pass-through middleware, as its documentation writes one.
#[derive(Clone)]
struct PassThrough<S>(S);

impl<S: RpcServiceT + Send + Sync> RpcServiceT for PassThrough<S> {
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        self.0.call(request)
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        self.0.batch(batch)
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.0.notification(n)
    }
}

fn post(body: &str) -> http::Request<Full<Bytes>> {
    http::Request::post("/")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .unwrap()
}

/// Our HTTP service answering one POST, in-process.
fn our_http(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, name: &str, app: App<Bench>, body: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut service = RpcService::new(app);
    let response = rt.block_on(service.call(post(body))).unwrap();
    assert_eq!(response.status(), 200);
    group.bench_function(name, |b| b.iter(|| rt.block_on(service.call(post(body)))));
}

/// jsonrpsee's HTTP service answering one POST, in-process, with or
/// without the pass-through middleware.
fn their_http(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, name: &str, layered: bool, body: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (stop_handle, _server_handle) = jsonrpsee::server::stop_channel();
    let builder = jsonrpsee::server::Server::builder().to_service_builder();
    let module = jsonrpsee_module();
    if layered {
        let mut service = builder
            .set_rpc_middleware(RpcServiceBuilder::new().layer_fn(PassThrough))
            .build(module, stop_handle);
        let response = rt.block_on(service.call(post(body))).unwrap();
        assert_eq!(response.status(), 200);
        group.bench_function(name, |b| b.iter(|| rt.block_on(service.call(post(body)))));
    } else {
        let mut service = builder.build(module, stop_handle);
        let response = rt.block_on(service.call(post(body))).unwrap();
        assert_eq!(response.status(), 200);
        group.bench_function(name, |b| b.iter(|| rt.block_on(service.call(post(body)))));
    }
}

fn middleware(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let conn = Connection::for_consumer::<Bench>(Scope::new(Transport::InProcess, "/"));
    let plain = Bench::app();
    let layered = Bench::app().middleware(NoOp);
    let input = call(1, "[42,23]");
    for app in [&plain, &layered] {
        let reply = rt.block_on(app.handle(&conn, input.as_bytes())).unwrap();
        assert_eq!(reply.body(), br#"{"jsonrpc":"2.0","result":19,"id":1}"#);
    }
    let dispatch_rows = |group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, suffix: &str| {
        group.bench_function(format!("channels_rpc_dispatch_none{suffix}"), |b| {
            b.iter(|| rt.block_on(plain.handle(&conn, input.as_bytes())))
        });
        group.bench_function(format!("channels_rpc_dispatch_noop{suffix}"), |b| {
            b.iter(|| rt.block_on(layered.handle(&conn, input.as_bytes())))
        });
    };
    let http_rows = |group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, suffix: &str| {
        our_http(group, &format!("channels_rpc_http_none{suffix}"), plain.clone(), &input);
        our_http(
            group,
            &format!("channels_rpc_http_noop{suffix}"),
            layered.clone(),
            &input,
        );
        their_http(group, &format!("jsonrpsee_http_none{suffix}"), false, &input);
        their_http(group, &format!("jsonrpsee_http_noop{suffix}"), true, &input);
    };

    let mut group = c.benchmark_group("middleware");
    group.throughput(Throughput::Elements(1));
    dispatch_rows(&mut group, "");
    http_rows(&mut group, "");
    group.finish();

    // From here on, a subscriber at `info` (as the examples install) for the
    // rest of the process: callsites disabled at `info` are then cached as such.
    let mut group = c.benchmark_group("middleware_info");
    group.throughput(Throughput::Elements(1));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this bench");
    dispatch_rows(&mut group, "_info");
    http_rows(&mut group, "_info");
    group.finish();
}

criterion_group!(benches, dispatch, middleware);
criterion_main!(benches);
