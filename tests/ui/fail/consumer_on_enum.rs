use channels_rpc::Consumer;

#[derive(Consumer, Default)]
enum State {
    #[default]
    Idle,
}

fn main() {}
