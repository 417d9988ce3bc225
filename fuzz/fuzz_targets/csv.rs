//! Fuzz target `csv`: the properties are [`fuzz::csv`], shared with the regression tests in
//! tests/robust.rs.
#![no_main]

#[path = "../../tests/suite/common/fuzz.rs"]
mod fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz::csv(data);
});
