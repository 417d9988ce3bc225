//! Fuzz target: any text through parse, check and fmt ends in a result or a diagnostic, and
//! fmt keeps the tree and is idempotent.
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
            // What fmt prints parses to the same tree and formats to itself.
            let formatted = gmm::syntax::fmt::format_program(&program, text);
            let again = gmm::syntax::parse(&formatted)
                .unwrap_or_else(|d| panic!("fmt output does not parse: {d:?}\n{formatted}"));
            assert_eq!(
                program.without_spans(),
                again.without_spans(),
                "fmt changed the tree"
            );
            assert_eq!(
                gmm::syntax::fmt::format_program(&again, &formatted),
                formatted
            );
        }
        Err(diags) => {
            assert!(!diags.is_empty());
            let _ = source.render(&diags);
        }
    }
});
