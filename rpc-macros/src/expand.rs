//! Code generation for `#[rpc_method]` and `#[rpc_notification]`.
//!
//! The expansion keeps the user's function as written and adds, inside a
//! `const _: () = { ... };` block, a monomorphic wrapper that calls one generic
//! function of the runtime, and one static registry entry.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::ItemFn;

use crate::model::{self, ArgSource, Kind, Method};
use crate::parse;

/// Entry point of both attributes.
pub fn rpc_fn(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let message = format!("#[{}] goes on a free function", kind.attribute());
            let error = syn::Error::new(proc_macro2::Span::call_site(), message).into_compile_error();
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

/// The wrapper and the registry entry for a checked method.
pub fn registration(method: &Method) -> TokenStream {
    let rpc = quote!(::channels_rpc::__private);
    let function = &method.function;

    let json_idents: Vec<_> = method.json_args().map(|a| &a.ident).collect();
    let json_types: Vec<_> = method.json_args().map(|a| &a.ty).collect();
    let json_names: Vec<String> = method.json_args().map(|a| a.ident.unraw().to_string()).collect();
    let param_checks = method.json_args().map(|a| {
        let ty = &a.ty;
        quote_spanned!(ty.span()=> #rpc::assert_param::<#ty>();)
    });
    let injected: Vec<_> = method.injected_types().map(elided).collect();
    let call_args = method.args.iter().map(|a| match &a.source {
        ArgSource::Json => a.ident.to_token_stream(),
        ArgSource::Injected(ty) => {
            let ty = elided(ty);
            quote_spanned!(ty.span()=> #rpc::inject::<#ty>(__rpc_cx)?)
        }
    });
    let pattern = quote!((#(#json_idents,)*): (#(#json_types,)*));
    let finish = quote! {
        (&__rpc_value).__rpc_kind().into_outcome(__rpc_value)
    };
    let body = if method.is_async {
        quote! {
            #rpc::call_async(__rpc_cx, move |#pattern| {
                #rpc::core::result::Result::Ok(async move {
                    let __rpc_value = #function(#(#call_args),*).await;
                    #finish
                })
            })
        }
    } else {
        let runner = if method.blocking {
            quote!(call_blocking)
        } else {
            quote!(call_sync)
        };
        quote! {
            #rpc::#runner(__rpc_cx, move |#pattern| {
                let __rpc_value = #function(#(#call_args),*);
                #finish
            })
        }
    };

    let name = &method.name;
    let kind = match method.kind {
        Kind::Method => quote!(Method),
        Kind::Notification => quote!(Notification),
    };
    let (websocket, http, blocking) = (method.websocket, method.http, method.blocking);
    let doc = &method.doc;
    let consumers = method
        .consumer
        .iter()
        .map(|c| quote_spanned!(c.span()=> #rpc::consumer_id::<#c>))
        .chain(injected.iter().map(|t| quote!(#rpc::consumer_of::<#t>)));
    let line = quote_spanned!(method.span=> line!());

    quote! {
        #[doc(hidden)]
        const _: () = {
            #[allow(clippy::unused_unit, clippy::let_unit_value, clippy::needless_borrow)]
            fn __rpc_wrapper<'a>(__rpc_cx: &'a #rpc::RpcContext) -> #rpc::Invoked<'a> {
                use #rpc::{ViaResult as _, ViaSerialize as _};
                #(#param_checks)*
                #body
            }

            #[#rpc::distributed_slice(#rpc::CHANNELS_RPC_METHODS)]
            #[linkme(crate = #rpc::linkme)]
            static __RPC_ENTRY: #rpc::MethodEntry = #rpc::MethodEntry {
                name: #name,
                rust_name: ::core::stringify!(#function),
                module: ::core::module_path!(),
                kind: #rpc::MethodKind::#kind,
                websocket: #websocket,
                http: #http,
                blocking: #blocking,
                params: &[#(#json_names),*],
                takes_params: false #(|| #rpc::takes_params::<#injected>())*,
                doc: #doc,
                file: ::core::file!(),
                line: #line,
                consumers: &[#(#consumers),*],
                call: __rpc_wrapper,
            };
        };
    }
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
