//! Fuzz target: any text through parse, check and fmt ends in a result or a diagnostic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = gmm::diag::Source::new("fuzz.gmm", text);
    match gmm::syntax::parse(text) {
        Ok(program) => {
            let checked = gmm::check::check_program(&program);
            let _ = source.render(&checked.diags);
            let formatted = gmm::syntax::fmt::format_program(&program, text);
            // What fmt prints must parse again.
            assert!(gmm::syntax::parse(&formatted).is_ok(), "fmt output does not parse:\n{formatted}");
        }
        Err(diags) => {
            assert!(!diags.is_empty());
            let _ = source.render(&diags);
        }
    }
});
