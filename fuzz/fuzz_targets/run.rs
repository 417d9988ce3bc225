//! Fuzz target `run`: the properties are [`fuzz::run`], shared with the regression tests in
//! tests/robust.rs.
#![no_main]

#[path = "../../tests/suite/common/fuzz.rs"]
mod fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        fuzz::run(text);
    }
});
