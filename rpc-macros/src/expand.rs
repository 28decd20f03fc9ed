//! Code generation for `#[rpc_method]` and `#[rpc_notification]`.
//!
//! The expansion keeps the user's function as written and adds, inside a
//! `const _: () = { ... };` block, a newtype per JSON parameter and one static
//! registry entry, whose `call` is a monomorphic closure that calls one generic
//! function of the runtime.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::ItemFn;

use crate::model::{self, ArgSource, Kind, Method};
use crate::parse;

/// Entry point of both attributes.
pub fn rpc_fn(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let error = not_a_function(kind, item.clone(), error).into_compile_error();
            return quote!(#item #error);
        }
    };
    let mut errors = Vec::new();
    let options = parse::options(args, &mut errors);
    let method = model::method(kind, options, &function, &mut errors);
    if !errors.is_empty() {
        // Keep the user's function so one mistake does not cascade into others.
        let errors = errors.iter().map(syn::Error::to_compile_error);
        return quote!(#function #(#errors)*);
    }
    let registration = registration(&method);
    quote!(#function #registration)
}

/// The error for an item that does not parse as a function: syn's own error
/// when it is a function (a syntax error in it), otherwise one that points at
/// the item's keyword (`struct`, `impl`, ...) rather than at the attribute.
fn not_a_function(kind: Kind, item: TokenStream, parse_error: syn::Error) -> syn::Error {
    // The tokens after the outer attributes and the visibility, up to the body.
    let head = |input: ParseStream| -> syn::Result<Vec<TokenTree>> {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        let rest = input.parse::<TokenStream>()?;
        Ok(rest
            .into_iter()
            .take_while(|tt| match tt {
                TokenTree::Group(g) => g.delimiter() != Delimiter::Brace,
                TokenTree::Punct(p) => p.as_char() != ';',
                _ => true,
            })
            .collect())
    };
    let Ok(head) = Parser::parse2(head, item) else {
        return parse_error;
    };
    let is_ident = |tt: &TokenTree, word: &str| matches!(tt, TokenTree::Ident(i) if i == word);
    if head.iter().any(|tt| is_ident(tt, "fn")) {
        // A function with a syntax error: syn says where.
        return parse_error;
    }
    let qualifier = |tt: &&TokenTree| ["unsafe", "auto", "default"].iter().any(|w| is_ident(tt, w));
    let Some(keyword) = head.iter().find(|tt| !qualifier(tt)).or(head.first()) else {
        return parse_error;
    };
    let what = match keyword {
        TokenTree::Ident(ident) => format!(", not on `{ident}` items"),
        _ => String::new(),
    };
    syn::Error::new(
        keyword.span(),
        format!("#[{}] goes on a free function{what}", kind.attribute()),
    )
}

/// The wrapper and the registry entry for a checked method.
pub fn registration(method: &Method) -> TokenStream {
    let rpc = quote!(::channels_rpc::__private);
    let function = &method.function;

    let json_idents: Vec<_> = method.json_args().map(|a| &a.ident).collect();
    let json_names: Vec<String> = method.json_args().map(|a| a.ident.unraw().to_string()).collect();
    // Each JSON parameter is decoded through its own non-generic newtype, whose
    // `Deserialize` impl is the one place that requires the user's type to be
    // deserializable: a type that is not is reported once, at that type, and
    // the tuple of newtypes the runtime decodes is always `FromParams`.
    let wrappers: Vec<_> = (0..json_idents.len())
        .map(|i| format_ident!("__RpcParam{}", i))
        .collect();
    let param_items = method.json_args().zip(&wrappers).map(|(a, wrapper)| {
        let ty = &a.ty;
        let decode = quote_spanned!(ty.span()=> #rpc::decode_param::<#ty, __D>);
        quote! {
            struct #wrapper(#ty);

            impl<'de> #rpc::serde::Deserialize<'de> for #wrapper {
                fn deserialize<__D: #rpc::serde::Deserializer<'de>>(
                    __rpc_de: __D,
                ) -> #rpc::core::result::Result<Self, __D::Error> {
                    #rpc::core::result::Result::map(#decode(__rpc_de), #wrapper)
                }
            }
        }
    });
    let injected: Vec<_> = method.injected_types().map(elided).collect();
    let call_args = method.args.iter().map(|a| match &a.source {
        ArgSource::Json => a.ident.to_token_stream(),
        ArgSource::Injected(ty) => {
            let ty = elided(ty);
            quote_spanned!(ty.span()=> #rpc::inject::<#ty>(__rpc_cx)?)
        }
    });
    let pattern = quote!((#(#wrappers(#json_idents),)*): (#(#wrappers,)*));
    // Spanned at the return type, so that a return value that is neither
    // `Serialize` nor a `Result` is reported there.
    let finish = quote_spanned! {method.output_span=>
        (&__rpc_value).__rpc_kind().into_outcome(__rpc_value)
    };
    let runner = match (method.is_async, method.blocking) {
        (true, _) => quote!(call_async),
        (false, true) => quote!(call_blocking),
        (false, false) => quote!(call_sync),
    };
    // The runner's bounds are on what the function returns (`Serialize`, and
    // `Send` for an async or blocking function), and rustc reports an unmet one
    // at the runner's call, or at the async block for a future that is not
    // `Send`: both are spanned at the return type, so the error points there,
    // and is reported once with the same error from `into_outcome`.
    let output = method.output_span;
    let braced = |tokens: TokenStream| {
        let mut group = Group::new(Delimiter::Brace, tokens);
        group.set_span(output);
        group
    };
    let call = if method.is_async {
        let future = braced(quote! {
            let __rpc_value = #function(#(#call_args),*).await;
            #finish
        });
        let future = quote_spanned!(output=> async move #future);
        quote!(#rpc::core::result::Result::Ok(#future))
    } else {
        quote! {
            let __rpc_value = #function(#(#call_args),*);
            #finish
        }
    };
    let call = braced(call);
    let body = quote_spanned! {output=>
        ::channels_rpc::__private::#runner(__rpc_cx, move |#pattern| #call)
    };

    let name = &method.name;
    let kind = match method.kind {
        Kind::Method => quote!(Method),
        Kind::Notification => quote!(Notification),
    };
    let (websocket, http, blocking, is_async) = (method.websocket, method.http, method.blocking, method.is_async);
    let timeout = match method.timeout {
        Some(limit) => {
            let (secs, nanos) = (limit.as_secs(), limit.subsec_nanos());
            quote!(::core::option::Option::Some(::core::time::Duration::new(#secs, #nanos)))
        }
        None => quote!(::core::option::Option::None),
    };
    let guard = guard(method.guard.as_ref());
    let doc = &method.doc;
    let consumers = method
        .consumer
        .iter()
        .map(|c| quote_spanned!(c.span()=> #rpc::consumer_id::<#c>))
        .chain(injected.iter().map(|t| quote!(#rpc::consumer_of::<#t>)));
    let line = quote_spanned!(method.span=> ::core::line!());
    let probe = |ty: &syn::Type| {
        let ty = elided(ty);
        quote!(|__rpc_gen: &mut #rpc::SchemaGen| (&&&#rpc::SchemaProbe::<#ty>::new()).__rpc_schema(__rpc_gen))
    };
    let param_schemas = method.json_args().map(|a| {
        let required = !model::is_option(&a.ty);
        let schema = probe(&a.ty);
        quote!(#rpc::ParamSchema { required: #required, schema: #schema })
    });
    let result_schema = match &method.output {
        None => quote!(#rpc::unit_schema),
        Some(ty) if model::has_impl_trait(ty) => quote!(#rpc::any_schema),
        Some(ty) => probe(ty),
    };

    quote! {
        #[doc(hidden)]
        const _: () = {
            #[allow(unused_imports)]
            use #rpc::{ViaJsonSchema as _, ViaNoSchema as _, ViaResultSchema as _};
            #(#param_items)*

            // The wrapper is a closure in the entry's initializer, not a separate
            // function, so that the entry and the wrapper are type-checked as one
            // body and a type error in an argument is reported once, not twice.
            #[#rpc::distributed_slice(#rpc::CHANNELS_RPC_METHODS)]
            #[linkme(crate = #rpc::linkme)]
            #[allow(clippy::unused_unit, clippy::let_unit_value, clippy::needless_borrow)]
            static __RPC_ENTRY: #rpc::MethodEntry = #rpc::MethodEntry::__new(#rpc::EntryParts {
                name: #name,
                rust_name: ::core::stringify!(#function),
                module: ::core::module_path!(),
                kind: #rpc::MethodKind::#kind,
                websocket: #websocket,
                http: #http,
                blocking: #blocking,
                is_async: #is_async,
                timeout: #timeout,
                params: &[#(#json_names),*],
                takes_params: false #(|| #rpc::takes_params::<#injected>())*,
                param_schemas: &[#(#param_schemas),*],
                result_schema: #result_schema,
                doc: #doc,
                file: ::core::file!(),
                line: #line,
                consumers: &[#(#consumers),*],
                guard: #guard,
                call: |__rpc_cx| {
                    use #rpc::{ViaResult as _, ViaSerialize as _};
                    #body
                },
            });
        };
    }
}

/// The entry's `guard`: a function that makes the `GuardFn` of the path.
fn guard(path: Option<&syn::ExprPath>) -> TokenStream {
    match path.map(guard_of) {
        Some(of) => quote!(::core::option::Option::Some(|| #of)),
        None => quote!(::core::option::Option::None),
    }
}

/// `GuardFn::of(&path)`, spanned at the path so that a function of the wrong
/// shape is reported there. Shared with `#[consumer(guard = path)]`.
pub fn guard_of(path: &syn::ExprPath) -> TokenStream {
    quote_spanned!(path.span()=> ::channels_rpc::__private::GuardFn::of(&#path))
}

/// The type with every lifetime made `'_`, so it can be named outside the
/// function's signature.
fn elided(ty: &syn::Type) -> syn::Type {
    struct Elide;
    impl VisitMut for Elide {
        fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
            lifetime.ident = syn::Ident::new("_", lifetime.ident.span());
        }
    }
    let mut ty = ty.clone();
    Elide.visit_type_mut(&mut ty);
    ty
}
