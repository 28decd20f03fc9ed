//! Two methods with one name for one consumer: building the table fails and
//! names both functions with their locations. Other consumers are unaffected.

use channels_rpc::{rpc_method, rpc_notification, App, Consumer, RegistryError};

#[derive(Consumer, Default)]
struct Clashing;

#[derive(Consumer, Default)]
struct Bystander;

mod first {
    #[channels_rpc::rpc_method("dup", consumer = super::Clashing)]
    fn one() -> u8 {
        1
    }
}

mod second {
    #[channels_rpc::rpc_method("dup", consumer = super::Clashing)]
    fn two() -> u8 {
        2
    }
}

/// A method and a notification handler may share a name: they serve different messages.
#[rpc_method("shared", consumer = Bystander)]
fn shared_method() -> u8 {
    1
}

#[rpc_notification("shared", consumer = Bystander)]
fn shared_notification() {}

#[test]
fn duplicate_names_fail_naming_both_functions() {
    let err = App::<Clashing>::try_new().unwrap_err();
    let RegistryError::Duplicate {
        name, first, second, ..
    } = &err
    else {
        panic!("expected a duplicate error, got {err}");
    };
    assert_eq!(*name, "dup");
    let mut functions = [first.function.as_str(), second.function.as_str()];
    functions.sort();
    assert_eq!(
        functions,
        ["registry_duplicates::first::one", "registry_duplicates::second::two"]
    );
    assert!(first.at.starts_with("tests/registry_duplicates.rs:"), "{}", first.at);
    let message = err.to_string();
    assert!(
        message.contains("first::one") && message.contains("second::two"),
        "{message}"
    );
}

#[test]
#[should_panic(expected = "duplicate RPC method \"dup\"")]
fn app_panics_on_duplicates() {
    let _ = Clashing::app();
}

#[test]
fn other_consumers_still_build() {
    let app = Bystander::app();
    assert_eq!(app.method("shared").unwrap().rust_name(), "shared_method");
    assert_eq!(app.methods().len(), 2);
}
