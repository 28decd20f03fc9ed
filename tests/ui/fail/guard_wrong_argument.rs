use channels_rpc::{rpc_method, Scope};

/// Takes the scope, not the call's context.
fn logged_in(scope: &Scope) -> bool {
    scope.header("authorization").is_some()
}

#[rpc_method(guard = logged_in)]
fn secret() -> u64 {
    42
}

fn main() {}
