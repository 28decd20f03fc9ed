use channels_rpc::Consumer;

#[derive(Consumer, Default)]
struct Holder<T> {
    value: T,
}

fn main() {}
