//! Fuzz target: any script that passes the checker runs to a result or a located diagnostic,
//! never a panic. Scripts that name `load`, `save` or `file` (a plot's SVG) are skipped, so the
//! fuzzer never touches files.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains("load") || text.contains("save") || text.contains("file") {
        return;
    }
    let Ok(program) = gmm::syntax::parse(text) else {
        return;
    };
    if gmm::check::check_program(&program).has_errors() {
        return;
    }
    let mut interp = gmm::interp::Interp::new(".".into(), Box::new(std::io::sink()));
    if let Err(diags) = interp.run(&program, text) {
        assert!(diags.iter().all(|d| d.span.is_some()), "{diags:?}");
        let _ = gmm::diag::Source::new("fuzz.gmm", text).render(&diags);
    }
});
