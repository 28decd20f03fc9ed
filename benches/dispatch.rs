//! In-process dispatch: the cost of one call without any transport.
//!
//! Run: `cargo bench --bench dispatch`. Compare the medians between runs of the
//! same machine; the absolute numbers depend on it.

use channels_rpc::{Connection, Consumer, Scope, Transport};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use spec_methods as _;

#[derive(Consumer, Default)]
struct Bench;

fn dispatch(c: &mut Criterion) {
    let app = Bench::app();
    let conn = Connection::for_consumer::<Bench>(Scope::new(Transport::InProcess, "/"));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();

    let by_position = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#.to_vec();
    let by_name = br#"{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":1}"#.to_vec();
    let async_add = br#"{"jsonrpc":"2.0","method":"add","params":[42,23],"id":1}"#.to_vec();
    let batch = format!(
        "[{}]",
        (0..100)
            .map(|i| format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":[{i},1],"id":{i}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    )
    .into_bytes();
    let echo = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(16 * 1024)
    )
    .into_bytes();

    let mut group = c.benchmark_group("dispatch");
    for (name, input, calls) in [
        ("sync_by_position", &by_position, 1),
        ("sync_by_name", &by_name, 1),
        ("async_by_position", &async_add, 1),
        ("batch_100", &batch, 100),
        ("echo_16k", &echo, 1),
    ] {
        // Each input must get a successful answer, or the benchmark measures an error path.
        let reply = rt.block_on(app.handle(&conn, input)).expect("a reply");
        assert!(
            !String::from_utf8_lossy(reply.body()).contains("\"error\""),
            "{name} failed"
        );
        group.throughput(Throughput::Elements(calls));
        group.bench_with_input(BenchmarkId::from_parameter(name), input, |b, input| {
            b.iter(|| rt.block_on(app.handle(&conn, input)))
        });
    }
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
