//! Snapshot tests of the expansions: each attribute form, expanded, parsed
//! back and pretty-printed. Review a change with `cargo insta review` (or run
//! with `INSTA_UPDATE=always` and read the diff of `src/snapshots/`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Kind;
use crate::{consumer, expand};

/// The expansion as formatted Rust source.
fn pretty(tokens: TokenStream) -> String {
    let file: syn::File =
        syn::parse2(tokens.clone()).unwrap_or_else(|e| panic!("the expansion is not a valid file: {e}\n{tokens}"));
    prettyplease::unparse(&file)
}

fn method(args: TokenStream, item: TokenStream) -> String {
    pretty(expand::rpc_fn(Kind::Method, args, item))
}

fn notification(args: TokenStream, item: TokenStream) -> String {
    pretty(expand::rpc_fn(Kind::Notification, args, item))
}

#[test]
fn method_bare() {
    let text = method(
        quote!(),
        quote! {
            /// Answers "pong".
            pub fn ping() -> &'static str {
                "pong"
            }
        },
    );
    insta::assert_snapshot!("method_bare", text);
}

#[test]
fn method_custom_name() {
    let text = method(
        quote!("math.add"),
        quote! {
            fn add(a: i64, b: Option<i64>) -> i64 {
                a + b.unwrap_or(0)
            }
        },
    );
    insta::assert_snapshot!("method_custom_name", text);
}

#[test]
fn method_consumer() {
    let text = method(
        quote!("mymodule.rpc.ping", consumer = MyConsumer),
        quote! {
            fn ping(fake_an_error: bool) -> Result<&'static str, RpcError> {
                if fake_an_error {
                    Err(RpcError::application("fake_error"))
                } else {
                    Ok("pong")
                }
            }
        },
    );
    insta::assert_snapshot!("method_consumer", text);
}

#[test]
fn method_websocket_false() {
    let text = method(
        quote!(websocket = false),
        quote! {
            fn http_only() -> bool {
                true
            }
        },
    );
    insta::assert_snapshot!("method_websocket_false", text);
}

#[test]
fn method_http_false() {
    let text = method(
        quote!("ws.only", http = false, websocket = true),
        quote! {
            fn ws_only() -> bool {
                true
            }
        },
    );
    insta::assert_snapshot!("method_http_false", text);
}

#[test]
fn method_blocking() {
    let text = method(
        quote!(blocking),
        quote! {
            fn hash(data: String, rounds: u32) -> Result<String, std::io::Error> {
                slow_hash(&data, rounds)
            }
        },
    );
    insta::assert_snapshot!("method_blocking", text);
}

#[test]
fn method_async() {
    let text = method(
        quote!(),
        quote! {
            async fn sleep(ms: u64) -> u64 {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                ms
            }
        },
    );
    insta::assert_snapshot!("method_async", text);
}

#[test]
fn method_timeout() {
    let text = method(
        quote!(timeout = "1.5s"),
        quote! {
            async fn sleep(ms: u64) -> u64 {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                ms
            }
        },
    );
    insta::assert_snapshot!("method_timeout", text);
}

#[test]
fn method_context_arguments() {
    let text = method(
        quote!(),
        quote! {
            async fn whoami(
                ctx: &RpcContext<MyConsumer>,
                scope: &Scope,
                me: &MyConsumer,
                r#type: String,
                verbose: Option<bool>,
            ) -> Option<String> {
                scope.header("x-user").map(str::to_owned)
            }
        },
    );
    insta::assert_snapshot!("method_context_arguments", text);
}

#[test]
fn method_whole_params() {
    let text = method(
        quote!(),
        quote! {
            fn sum(params: &Params) -> Result<f64, RpcError> {
                Ok(params.parse::<Vec<f64>>()?.iter().sum())
            }
        },
    );
    insta::assert_snapshot!("method_whole_params", text);
}

#[test]
fn notification_handler() {
    let text = notification(
        quote!("log.line"),
        quote! {
            /// Logs a line; never answers.
            fn log_line(ctx: &RpcContext, line: String) {
                tracing::info!(method = ctx.method(), "{line}");
            }
        },
    );
    insta::assert_snapshot!("notification_handler", text);
}

#[test]
fn method_errors() {
    // Every mistake is reported, and the function is kept as written.
    let text = method(
        quote!("rpc.add", colour = "red"),
        quote! {
            fn add<T>(a: i32, (b, c): (i32, i32)) -> i32 {
                a + b + c
            }
        },
    );
    insta::assert_snapshot!("method_errors", text);
}

#[test]
fn consumer_default() {
    let text = pretty(consumer::expand(quote! {
        #[derive(Default)]
        struct MyConsumer {
            calls: AtomicU64,
        }
    }));
    insta::assert_snapshot!("consumer_default", text);
}

#[test]
fn consumer_new_and_hooks() {
    let text = pretty(consumer::expand(quote! {
        #[consumer(new = Members::from_scope, hooks)]
        struct Members {
            user: Option<String>,
        }
    }));
    insta::assert_snapshot!("consumer_new_and_hooks", text);
}

#[test]
fn consumer_include() {
    let text = pretty(consumer::expand(quote! {
        #[derive(Default)]
        #[consumer(include(spec_methods, billing))]
        struct Api;
    }));
    insta::assert_snapshot!("consumer_include", text);
}

#[test]
fn method_guard() {
    let text = method(
        quote!("admin.stats", guard = auth::is_admin),
        quote! {
            fn stats(user: &Ext<User>) -> u64 {
                user.calls
            }
        },
    );
    insta::assert_snapshot!("method_guard", text);
}

#[test]
fn consumer_guard() {
    let text = pretty(consumer::expand(quote! {
        #[derive(Default)]
        #[consumer(guard = logged_in)]
        struct Members;
    }));
    insta::assert_snapshot!("consumer_guard", text);
}
