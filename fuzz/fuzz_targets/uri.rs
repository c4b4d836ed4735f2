//! Any bytes as a URI: parsing never panics, and a parsed URI is equivalent to itself
//! and to what its text re-parses to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipwarden_wire::uri::{Host, Uri};

fuzz_target!(|data: &[u8]| {
    if let Ok(uri) = Uri::parse_bytes(data) {
        sipwarden_fuzz::touch_uri(&uri);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Host::parse(s).map(|h| (h.ip(), h.to_string()));
    }
});
