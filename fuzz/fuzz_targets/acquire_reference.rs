//! Image references (`debian:12`, `docker://…`, `oci:DIR:REF`, …): any string parses or
//! fails with an error, and a registry reference that parses prints as a reference that
//! parses back to the same value.
#![no_main]

use crowsnest_acquire::reference::{ImageRef, RegistryRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(image) = text.parse::<ImageRef>() {
        let _ = image.to_string();
    }
    if let Ok(registry_ref) = text.parse::<RegistryRef>() {
        let printed = registry_ref.to_string();
        let reparsed = printed.parse::<RegistryRef>();
        assert_eq!(
            reparsed.as_ref(),
            Ok(&registry_ref),
            "{text:?} printed as {printed:?}"
        );
        let _ = registry_ref.reference();
        let _ = registry_ref.api_host();
    }
});
