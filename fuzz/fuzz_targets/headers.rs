//! Any bytes as the value of a typed header: the first byte picks the decoder, the rest
//! is the value. Every decoder refuses or decodes; none panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, value)) = data.split_first() else {
        return;
    };
    let names = sipwarden_fuzz::DECODED;
    if let Some(&name) = names.get(usize::from(pick) % names.len()) {
        sipwarden_fuzz::decode(name, value);
    }
});
