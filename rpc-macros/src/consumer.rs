//! `#[derive(Consumer)]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::{Data, DeriveInput, Ident, Path, Token};

/// Options of `#[consumer(...)]` on the struct.
#[derive(Default)]
struct ConsumerOptions {
    new: Option<Path>,
    hooks: bool,
    /// `guard = path`: asked before every method of the consumer.
    guard: Option<syn::ExprPath>,
    /// Crates whose unbound methods the consumer serves, as written.
    include: Vec<Ident>,
    /// `include` was given (perhaps empty, which is an error reported once).
    include_given: bool,
}

pub fn expand(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.into_compile_error(),
    };
    let mut errors = Vec::new();
    match &input.data {
        Data::Struct(_) => {}
        Data::Enum(e) => errors.push(syn::Error::new_spanned(
            e.enum_token,
            "#[derive(Consumer)] is for structs: a consumer holds one connection's state",
        )),
        Data::Union(u) => errors.push(syn::Error::new_spanned(
            u.union_token,
            "#[derive(Consumer)] is for structs: a consumer holds one connection's state",
        )),
    }
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "a consumer cannot be generic: methods are registered for one concrete type",
        ));
    }
    let options = options(&input.attrs, &mut errors);
    if !errors.is_empty() {
        let errors = errors.iter().map(syn::Error::to_compile_error);
        return quote!(#(#errors)*);
    }

    let rpc = quote!(::channels_rpc::__private);
    let ident = &input.ident;
    let vis = &input.vis;
    let new = match &options.new {
        Some(path) => quote!(#path(scope)),
        None => quote!({
            let _ = scope;
            <Self as ::core::default::Default>::default()
        }),
    };
    let guard = options.guard.as_ref().map(|path| {
        let of = crate::expand::guard_of(path);
        quote! {
            fn guard() -> ::core::option::Option<#rpc::GuardFn> {
                ::core::option::Option::Some(#of)
            }
        }
    });
    let hooks = (!options.hooks).then(|| quote!(impl #rpc::ConsumerHooks for #ident {}));
    let names: Vec<String> = options.include.iter().map(ToString::to_string).collect();
    // Naming each included crate in a `use` makes sure it is linked, so its
    // methods are in the registry; one that does not resolve is reported at
    // the user's token.
    let links = options.include.iter().map(|krate| {
        quote_spanned! {krate.span()=>
            #[allow(unused_imports)]
            use ::#krate as _;
        }
    });
    let links = (!options.include.is_empty()).then(|| {
        quote! {
            #[doc(hidden)]
            const _: () = {
                #(#links)*
            };
        }
    });
    quote! {
        impl #rpc::Consumer for #ident {
            const METHOD_SOURCES: #rpc::MethodSources =
                #rpc::MethodSources::new(::core::module_path!(), &[#(#names),*]);

            fn new(scope: &#rpc::Scope) -> Self {
                #new
            }
            #guard
        }
        impl #ident {
            /// This consumer's method table and settings, built from every
            /// method it serves. Panics if two methods claim the same name
            /// (`App::try_new` returns the error instead).
            #vis fn app() -> #rpc::App<Self> {
                #rpc::App::new()
            }
        }
        #hooks
        #links
    }
}

fn options(attrs: &[syn::Attribute], errors: &mut Vec<syn::Error>) -> ConsumerOptions {
    let mut options = ConsumerOptions::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("consumer")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("new") {
                if options.new.is_some() {
                    return Err(meta.error("`new` is given more than once"));
                }
                options.new = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("guard") {
                if options.guard.is_some() {
                    return Err(meta.error("`guard` is given more than once"));
                }
                let value: syn::Expr = meta.value()?.parse()?;
                match value {
                    syn::Expr::Path(path) => options.guard = Some(path),
                    other => return Err(crate::parse::guard_not_a_path(&other)),
                }
                Ok(())
            } else if meta.path.is_ident("hooks") {
                options.hooks = true;
                Ok(())
            } else if meta.path.is_ident("include") {
                include(&meta, &mut options)
            } else {
                Err(meta
                    .error("unknown option; expected `new = path`, `hooks`, `include(crate, ...)` or `guard = path`"))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    options
}

/// `include(crate_a, crate_b)`: crate names, each once, never this crate.
fn include(meta: &syn::meta::ParseNestedMeta, options: &mut ConsumerOptions) -> syn::Result<()> {
    if options.include_given {
        return Err(meta.error("`include` is given more than once; list every crate in one `include(...)`"));
    }
    options.include_given = true;
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error("expected `include(crate, ...)`: the crates whose unbound methods this consumer serves"));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let names = Punctuated::<Path, Token![,]>::parse_terminated(&content)?;
    if names.is_empty() {
        return Err(meta.error("`include()` names no crate; name at least one, or leave it out"));
    }
    for path in names {
        let Some(name) = path.get_ident() else {
            return Err(syn::Error::new_spanned(
                &path,
                "`include` takes crate names, not paths: methods are selected by the crate they are declared in",
            ));
        };
        if name == "crate" || name == "self" || name == "super" {
            return Err(syn::Error::new_spanned(
                name,
                "this crate's unbound methods are always served; `include` names other crates",
            ));
        }
        if options.include.contains(name) {
            return Err(syn::Error::new_spanned(
                name,
                format!("crate `{name}` is included more than once"),
            ));
        }
        options.include.push(name.clone());
    }
    Ok(())
}
