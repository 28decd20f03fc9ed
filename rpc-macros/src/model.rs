//! The checked description of one RPC function: plain data the expansion reads.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Type};

use crate::parse::Options;

/// Method or notification handler.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Method,
    Notification,
}

impl Kind {
    pub fn attribute(self) -> &'static str {
        match self {
            Kind::Method => "rpc_method",
            Kind::Notification => "rpc_notification",
        }
    }
}

/// Where an argument's value comes from.
pub enum ArgSource {
    /// A JSON parameter, by position or by this name.
    Json,
    /// `&T`: borrowed from the call by `T: Inject` (the type without the `&`).
    Injected(Box<Type>),
}

/// One argument of the function.
pub struct Arg {
    pub ident: Ident,
    pub ty: Type,
    pub source: ArgSource,
}

/// A function the attribute registers.
pub struct Method {
    pub kind: Kind,
    /// The JSON-RPC name.
    pub name: String,
    pub function: Ident,
    pub consumer: Option<Type>,
    pub websocket: bool,
    pub http: bool,
    pub blocking: bool,
    pub is_async: bool,
    /// `timeout = "5s"`, for async and blocking functions.
    pub timeout: Option<std::time::Duration>,
    /// `guard = path`.
    pub guard: Option<syn::ExprPath>,
    pub args: Vec<Arg>,
    pub doc: String,
    /// The span errors about the function as a whole point at.
    pub span: Span,
    /// The return type's span (the name's when there is none): errors about
    /// the returned value point at it.
    pub output_span: Span,
    /// The return type; `None` for `()`.
    pub output: Option<Type>,
}

impl Method {
    pub fn json_args(&self) -> impl Iterator<Item = &Arg> {
        self.args.iter().filter(|a| matches!(a.source, ArgSource::Json))
    }

    pub fn injected_types(&self) -> impl Iterator<Item = &Type> {
        self.args.iter().filter_map(|a| match &a.source {
            ArgSource::Injected(ty) => Some(&**ty),
            ArgSource::Json => None,
        })
    }
}

/// Builds the model, pushing every mistake into `errors`.
pub fn method(kind: Kind, options: Options, item: &ItemFn, errors: &mut Vec<syn::Error>) -> Method {
    let sig = &item.sig;
    let err = |errors: &mut Vec<syn::Error>, tokens: &dyn quote::ToTokens, msg: &str| {
        errors.push(syn::Error::new_spanned(tokens, msg));
    };
    let attr = kind.attribute();

    let name = match &options.name {
        Some(lit) => {
            let value = lit.value();
            if value.is_empty() {
                err(errors, lit, "the method name must not be empty");
            } else if value.starts_with("rpc.") {
                err(errors, lit, "names starting with `rpc.` are reserved for the framework");
            }
            value
        }
        None => sig.ident.to_string(),
    };

    for param in &sig.generics.params {
        match param {
            syn::GenericParam::Lifetime(_) => {}
            _ => err(
                errors,
                param,
                &format!("#[{attr}] functions cannot be generic: the registry needs one concrete function"),
            ),
        }
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        err(
            errors,
            where_clause,
            &format!("#[{attr}] functions cannot have a where clause"),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        err(errors, unsafety, &format!("#[{attr}] functions cannot be `unsafe`"));
    }
    if let Some(abi) = &sig.abi {
        err(errors, abi, &format!("#[{attr}] functions cannot have an ABI"));
    }
    if let Some(variadic) = &sig.variadic {
        err(errors, variadic, &format!("#[{attr}] functions cannot be variadic"));
    }

    let mut args = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => err(
                errors,
                receiver,
                &format!("#[{attr}] goes on a free function, not a method: remove `self`"),
            ),
            FnArg::Typed(typed) => {
                let ident = match &*typed.pat {
                    Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
                    other => {
                        err(
                            errors,
                            other,
                            "use a plain name here: argument names are the JSON-RPC parameter names",
                        );
                        continue;
                    }
                };
                let source = match &*typed.ty {
                    Type::Reference(reference) => {
                        if let Some(mutability) = &reference.mutability {
                            err(
                                errors,
                                mutability,
                                "injected arguments are shared references: remove `mut`",
                            );
                        }
                        ArgSource::Injected(reference.elem.clone())
                    }
                    Type::ImplTrait(impl_trait) => {
                        err(
                            errors,
                            impl_trait,
                            &format!("#[{attr}] functions cannot be generic: name a concrete type"),
                        );
                        continue;
                    }
                    _ => ArgSource::Json,
                };
                args.push(Arg {
                    ident,
                    ty: (*typed.ty).clone(),
                    source,
                });
            }
        }
    }

    let is_async = sig.asyncness.is_some();
    let blocking = options.blocking.is_some();
    if let Some(blocking) = &options.blocking {
        if let Some(asyncness) = &sig.asyncness {
            err(
                errors,
                asyncness,
                "`blocking` is for sync functions: remove `async` or `blocking`",
            );
        }
        if let Some(arg) = args.iter().find(|a| matches!(a.source, ArgSource::Injected(_))) {
            err(
                errors,
                &arg.ty,
                "a `blocking` function runs on another thread and cannot borrow the call context",
            );
        }
        let _ = blocking;
    }
    if let Some((text, _)) = &options.timeout {
        if !is_async && !blocking {
            err(
                errors,
                text,
                "a sync function runs inline and cannot be timed out: make it `async` or `blocking`",
            );
        }
    }

    if kind == Kind::Notification {
        if let ReturnType::Type(_, ty) = &sig.output {
            let unit = matches!(&**ty, Type::Tuple(t) if t.elems.is_empty());
            if !unit {
                err(
                    errors,
                    ty,
                    "a notification handler never answers: it must not return a value (use #[rpc_method] to answer calls)",
                );
            }
        }
    }

    Method {
        kind,
        name,
        function: sig.ident.clone(),
        consumer: options.consumer,
        websocket: options.websocket.is_none_or(|b| b.value),
        http: options.http.is_none_or(|b| b.value),
        blocking,
        is_async,
        timeout: options.timeout.map(|(_, limit)| limit),
        guard: options.guard,
        args,
        doc: doc_comment(&item.attrs),
        span: sig.ident.span(),
        output_span: match &sig.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => sig.ident.span(),
        },
        output: match &sig.output {
            ReturnType::Type(_, ty) => Some((**ty).clone()),
            ReturnType::Default => None,
        },
    }
}

/// True when `ty` is `Option<..>` (or a path ending in `Option<..>`): a
/// parameter that may be omitted.
pub fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "Option" && !last.arguments.is_empty()),
        Type::Group(group) => is_option(&group.elem),
        Type::Paren(paren) => is_option(&paren.elem),
        _ => false,
    }
}

/// True when `ty` has an `impl Trait` in it, which no other code can name.
pub fn has_impl_trait(ty: &Type) -> bool {
    struct Find(bool);
    impl syn::visit_mut::VisitMut for Find {
        fn visit_type_impl_trait_mut(&mut self, _: &mut syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    syn::visit_mut::VisitMut::visit_type_mut(&mut find, &mut ty.clone());
    find.0
}

/// The `///` lines of the function, joined.
fn doc_comment(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    lines.join("\n")
}
