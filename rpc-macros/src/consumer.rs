//! `#[derive(Consumer)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Path};

/// Options of `#[consumer(...)]` on the struct.
#[derive(Default)]
struct ConsumerOptions {
    new: Option<Path>,
    hooks: bool,
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
    let new = match &options.new {
        Some(path) => quote!(#path(scope)),
        None => quote!({
            let _ = scope;
            <Self as ::core::default::Default>::default()
        }),
    };
    let hooks = (!options.hooks).then(|| quote!(impl #rpc::ConsumerHooks for #ident {}));
    quote! {
        impl #rpc::Consumer for #ident {
            fn new(scope: &#rpc::Scope) -> Self {
                #new
            }
        }
        #hooks
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
            } else if meta.path.is_ident("hooks") {
                options.hooks = true;
                Ok(())
            } else {
                Err(meta.error("unknown option; expected `new = path` or `hooks`"))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    options
}
