use channels_rpc::Consumer;

#[derive(Consumer)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
