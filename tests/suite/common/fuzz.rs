//! What the fuzz targets check, one function per target; `fuzz/fuzz_targets/` include this file
//! and `tests/robust.rs` runs every saved crash (tests/fuzz_regressions/TARGET/) through it.
//! Each panics when a property fails.
#![allow(dead_code)]

use gmm::diag::Source;
use gmm::interp::data::{Dataset, parse_csv};
use gmm::syntax::{self, fmt::format_program};
use std::sync::OnceLock;
use std::time::Duration;

/// Parse, check and fmt: every text ends in a program or located diagnostics; what fmt prints
/// parses to the same tree and formats to itself. Returns whether it parsed.
pub fn parse_check(text: &str) -> bool {
    // Each input gets the whole suggestion budget, as each run of gmm does.
    gmm::diag::reset_suggestions();
    match syntax::parse(text) {
        Ok(p) => {
            let checked = gmm::check::check_program(&p);
            let _ = Source::new("t.gmm", text).render(&checked.diags);
            let formatted = format_program(&p, text);
            let again = syntax::parse(&formatted).unwrap_or_else(|d| {
                panic!("fmt output does not parse: {d:?}\n{formatted:?}\nfrom {text:?}")
            });
            assert_eq!(
                p.without_spans(),
                again.without_spans(),
                "fmt changed the AST of {text:?}"
            );
            assert_eq!(
                format_program(&again, &formatted),
                formatted,
                "fmt is not idempotent on {text:?}"
            );
            true
        }
        Err(diags) => {
            assert!(!diags.is_empty());
            let rendered = Source::new("t.gmm", text).render(&diags);
            assert!(rendered.contains("t.gmm:"), "no location: {rendered}");
            false
        }
    }
}

/// The interpreter: a script that passes the checker runs to a result or located diagnostics
/// within half a second (the limit `gmm run --time-limit` sets: loops, fits and samples stop
/// with a located error when it runs out). Scripts that name `load`, `save` or `file` (a
/// plot's SVG) are skipped, so nothing touches files.
pub fn run(text: &str) {
    if text.contains("load") || text.contains("save") || text.contains("file") {
        return;
    }
    gmm::diag::reset_suggestions();
    let Ok(program) = syntax::parse(text) else {
        return;
    };
    if gmm::check::check_program(&program).has_errors() {
        return;
    }
    gmm::interrupt::set_time_limit(Some(Duration::from_millis(500)));
    let mut interp = gmm::interp::Interp::new(".".into(), Box::new(std::io::sink()));
    let result = interp.run(&program, text);
    gmm::interrupt::set_time_limit(None);
    if let Err(diags) = result {
        assert!(diags.iter().all(|d| d.span.is_some()), "{diags:?}");
        let _ = Source::new("fuzz.gmm", text).render(&diags);
    }
}

/// A 1-D and a 2-D mixture with labels `z` (models `one` and `two`).
const MODELS: &str = include_str!("../../malformed/models.gmm");

fn models() -> &'static [gmm::model::Model] {
    static LOWERED: OnceLock<Vec<gmm::model::Model>> = OnceLock::new();
    LOWERED.get_or_init(|| {
        let program = syntax::parse(MODELS).expect("the fuzz models parse");
        gmm::check::check_program(&program)
            .models
            .iter()
            .map(|m| m.model.clone().expect("the fuzz models lower"))
            .collect()
    })
}

/// Every cell as text, so NaN compares equal to NaN.
fn cells(d: &Dataset) -> Vec<Vec<String>> {
    d.columns
        .iter()
        .map(|c| (0..d.rows).map(|r| c.cell(r)).collect())
        .collect()
}

/// The CSV loader: any bytes load to a dataset or an error naming the file; a dataset writes
/// back to CSV that loads to the same names and cells; binding it to a 1-D and a 2-D mixture
/// (with labels `z`) and running three EM iterations ends in a finite log-likelihood or an
/// error.
pub fn csv(bytes: &[u8]) {
    let loaded = match parse_csv(bytes, "fuzz.csv") {
        Ok(d) => d,
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with("fuzz.csv"), "{shown}");
            return;
        }
    };
    let again = parse_csv(&loaded.to_csv(), "again.csv")
        .unwrap_or_else(|e| panic!("the written CSV does not load: {e}"));
    assert_eq!(loaded.names(), again.names());
    assert_eq!(loaded.rows, again.rows);
    assert_eq!(cells(&loaded), cells(&again));
    let opts = gmm::infer::em::Options {
        max_iter: 3,
        ..Default::default()
    };
    for model in models() {
        let Ok(bound) = gmm::interp::bind::bind(model, &loaded, None) else {
            continue;
        };
        if let Ok(f) = gmm::infer::em::fit(model, &bound, &opts, &mut |_| true) {
            assert!(f.loglik.is_finite(), "loglik {}", f.loglik);
        }
    }
}
