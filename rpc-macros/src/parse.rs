//! Parsing the attribute's options.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitBool, LitStr, Token, Type};

/// One option as written, before validation.
pub enum RawOption {
    /// The method name, `"math.add"`.
    Name(LitStr),
    /// `key = value`, or a bare `key`.
    Keyed { key: Ident, value: Option<Value> },
}

/// An option's value: a type for `consumer`, an expression for the others.
pub enum Value {
    Type(Box<Type>),
    Expr(Box<syn::Expr>),
}

impl Parse for RawOption {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(RawOption::Name(input.parse()?));
        }
        let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(if key == "consumer" {
                Value::Type(Box::new(input.parse()?))
            } else {
                Value::Expr(Box::new(input.parse()?))
            })
        } else {
            None
        };
        Ok(RawOption::Keyed { key, value })
    }
}

/// The options of `#[rpc_method(...)]`, validated.
#[derive(Default)]
pub struct Options {
    pub name: Option<LitStr>,
    pub consumer: Option<Type>,
    pub websocket: Option<LitBool>,
    pub http: Option<LitBool>,
    pub blocking: Option<Ident>,
    /// `timeout = "5s"`: the literal and the duration it names.
    pub timeout: Option<(LitStr, std::time::Duration)>,
    /// `guard = path`: the guard function.
    pub guard: Option<syn::ExprPath>,
}

/// Parses and validates the options, pushing each mistake into `errors`.
pub fn options(args: proc_macro2::TokenStream, errors: &mut Vec<syn::Error>) -> Options {
    let parser = Punctuated::<RawOption, Token![,]>::parse_terminated;
    let raw = match syn::parse::Parser::parse2(parser, args) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(e);
            return Options::default();
        }
    };
    let mut options = Options::default();
    for (index, option) in raw.into_iter().enumerate() {
        match option {
            RawOption::Name(lit) if index == 0 => options.name = Some(lit),
            RawOption::Name(lit) => errors.push(syn::Error::new(
                lit.span(),
                "the method name comes first: #[rpc_method(\"name\", ...)]",
            )),
            RawOption::Keyed { key, value } => keyed(&mut options, key, value, errors),
        }
    }
    options
}

fn keyed(options: &mut Options, key: Ident, value: Option<Value>, errors: &mut Vec<syn::Error>) {
    let value = match value {
        Some(Value::Type(ty)) => {
            match options.consumer {
                None => options.consumer = Some(*ty),
                Some(_) => errors.push(syn::Error::new(key.span(), format!("`{key}` is given more than once"))),
            }
            return;
        }
        Some(Value::Expr(e)) => Some(*e),
        None => None,
    };
    let twice = |key: &Ident| syn::Error::new(key.span(), format!("`{key}` is given more than once"));
    match key.to_string().as_str() {
        "consumer" => errors.push(syn::Error::new(key.span(), "expected `consumer = Type`")),
        "websocket" | "http" => {
            let slot = if key == "http" {
                &mut options.http
            } else {
                &mut options.websocket
            };
            match value {
                Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Bool(b), ..
                })) if slot.is_none() => *slot = Some(b),
                Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Bool(_), ..
                })) => errors.push(twice(&key)),
                Some(other) => errors.push(syn::Error::new_spanned(
                    other,
                    format!("`{key}` takes `true` or `false`"),
                )),
                None => errors.push(syn::Error::new(
                    key.span(),
                    format!("expected `{key} = true` or `{key} = false`"),
                )),
            }
        }
        "blocking" => match value {
            None if options.blocking.is_none() => options.blocking = Some(key),
            None => errors.push(twice(&key)),
            Some(v) => errors.push(syn::Error::new_spanned(v, "`blocking` takes no value")),
        },
        "timeout" => match value {
            Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text), ..
            })) if options.timeout.is_none() => match humantime::parse_duration(&text.value()) {
                Ok(limit) if limit.is_zero() => errors.push(syn::Error::new(
                    text.span(),
                    "a timeout of zero would refuse every call",
                )),
                Ok(limit) => options.timeout = Some((text, limit)),
                Err(e) => errors.push(syn::Error::new(
                    text.span(),
                    format!("`timeout` takes a duration such as \"5s\", \"500ms\" or \"1m 30s\": {e}"),
                )),
            },
            Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(_), ..
            })) => errors.push(twice(&key)),
            Some(other) => errors.push(syn::Error::new_spanned(
                other,
                "`timeout` takes a duration string such as \"5s\"",
            )),
            None => errors.push(syn::Error::new(key.span(), "expected `timeout = \"5s\"`")),
        },
        "guard" => match value {
            Some(syn::Expr::Path(path)) if options.guard.is_none() => options.guard = Some(path),
            Some(syn::Expr::Path(_)) => errors.push(twice(&key)),
            Some(other) => errors.push(guard_not_a_path(&other)),
            None => errors.push(syn::Error::new(key.span(), "expected `guard = path::to::function`")),
        },
        _ => errors.push(syn::Error::new(
            key.span(),
            format!("unknown option `{key}`; expected a name string, `consumer = Type`, `websocket = bool`, `http = bool`, `blocking`, `timeout = \"5s\"` or `guard = path`"),
        )),
    }
}

/// The error for `guard = <not a path>`; the derive's `#[consumer(guard = ...)]` says the same.
pub fn guard_not_a_path(value: &dyn quote::ToTokens) -> syn::Error {
    syn::Error::new_spanned(
        value,
        "`guard` takes the path of a function, `guard = is_admin`: `fn(&RpcContext) -> bool` or `-> Result<(), RpcError>`, sync or async",
    )
}
