//! SBOM input (`crowsnest scan sbom FILE`): any bytes give packages or an error, never a
//! panic; a document that parses converts to an inventory without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sbom) = crowsnest_report::sbom_input::read_sbom(data, "fuzz.json") {
        let _ = sbom.into_inventory();
    }
});
