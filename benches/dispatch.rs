//! In-process dispatch, without any transport: channels-rpc's `App::handle`
//! against jsonrpsee's `RpcModule::raw_json_request` on the same work.
//!
//! Run: `cargo bench --bench dispatch`. Each group has one line per
//! framework; compare their medians within one run (absolute times depend on
//! the machine). jsonrpsee has no in-process batch call, so its "batch of
//! 100" is 100 single calls.

use channels_rpc::{Connection, Consumer, Scope, Transport};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::RpcModule;
use serde::Deserialize;
use serde_json::Value;

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

criterion_group!(benches, dispatch);
criterion_main!(benches);
