use channels_rpc::{rpc_method, Scope};

#[rpc_method(blocking)]
fn slow(scope: &Scope) -> String {
    scope.path().to_owned()
}

fn main() {}
