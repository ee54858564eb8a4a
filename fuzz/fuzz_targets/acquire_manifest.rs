//! Registry manifests, indexes and image configs: any bytes, with any transport media type
//! (the first input byte picks it), parse or fail with an error, never a panic.
#![no_main]

use crowsnest_acquire::manifest::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1, ImageConfig, Manifest, OCI_INDEX,
    OCI_MANIFEST,
};
use libfuzzer_sys::fuzz_target;

const TRANSPORT_TYPES: [Option<&str>; 8] = [
    None,
    Some(OCI_MANIFEST),
    Some(OCI_INDEX),
    Some(DOCKER_MANIFEST),
    Some(DOCKER_MANIFEST_LIST),
    Some(DOCKER_SCHEMA1),
    Some("application/json; charset=utf-8"),
    Some("text/html"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, document)) = data.split_first() else {
        return;
    };
    let transport = TRANSPORT_TYPES[which as usize % TRANSPORT_TYPES.len()];
    if let Ok(manifest) = Manifest::parse(document, transport) {
        let version = match &manifest {
            Manifest::Image(m) => m.schema_version,
            Manifest::Index(i) => i.schema_version,
        };
        assert_eq!(version, 2, "a manifest that parses is schema version 2");
    }
    if let Ok(config) = ImageConfig::parse(document) {
        let _ = config.platform();
    }
});
