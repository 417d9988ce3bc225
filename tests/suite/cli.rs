//! The `gmm` command end to end: exit statuses, `check`, `graph` and its DOT, `fmt`.

use crate::common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn gmm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gmm"))
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("gmm runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn exit_statuses() {
    let ok = gmm(&["check", "examples/grades.gmm"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("model grades: z ~ Categorical (latent), x ~ Normal (observed)"));
    let bad = gmm(&["check", "tests/ui/unknown_name_in_model.gmm"]);
    assert_eq!(bad.status.code(), Some(1));
    let missing = gmm(&["check", "no/such/file.gmm"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot read no/such/file.gmm"));
    assert_eq!(gmm(&["check"]).status.code(), Some(2));
    assert_eq!(gmm(&["check", "a.gmm", "--bogus"]).status.code(), Some(2));
    assert_eq!(gmm(&["--version"]).status.code(), Some(0));
}

/// The body of `subgraph "cluster_<name>" { ... }` in DOT text.
fn cluster<'a>(dot: &'a str, name: &str) -> &'a str {
    let head = format!("subgraph \"cluster_{name}\" {{");
    let start = dot
        .find(&head)
        .unwrap_or_else(|| panic!("no cluster {name} in\n{dot}"))
        + head.len();
    let mut depth = 1;
    for (i, c) in dot[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &dot[start..start + i];
                }
            }
            _ => {}
        }
    }
    panic!("unclosed cluster {name}");
}

#[test]
fn grades_plate_diagram() {
    let o = gmm(&["graph", "examples/grades.gmm"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dot = stdout(&o);
    let plate = cluster(&dot, "exams");
    assert!(plate.contains("label=\"exams (N)\""), "{plate}");
    assert!(
        plate.contains("\"z\" [shape=circle];"),
        "z is latent: plain\n{plate}"
    );
    assert!(
        plate.contains("\"x\" [shape=circle, style=filled"),
        "x is observed: shaded\n{plate}"
    );
    for edge in [
        "\"z\" -> \"x\";",
        "\"pi\" -> \"z\";",
        "\"mu\" -> \"x\";",
        "\"sigma\" -> \"x\";",
    ] {
        assert!(dot.contains(edge), "missing {edge} in\n{dot}");
    }
    for p in ["pi", "mu", "sigma"] {
        let node = format!("\"{p}\" [shape=circle, width=0.1");
        assert!(dot.contains(&node), "parameter {p} is a small node\n{dot}");
        assert!(!plate.contains(&node), "parameters stay outside the plate");
    }
}

#[test]
fn nested_plates_and_templates() {
    let o = gmm(&["graph", "examples/mixtures.gmm", "--model", "features"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dot = stdout(&o);
    let rows = cluster(&dot, "rows");
    let d = cluster(&dot, "d");
    assert!(rows.contains("subgraph \"cluster_d\""), "d nests in rows");
    assert!(d.contains("label=\"d (2)\"") && d.contains("\"x\""));
    let t = gmm(&["graph", "examples/mixtures.gmm", "--model", "mix(3)"]);
    assert_eq!(t.status.code(), Some(0), "{}", stderr(&t));
    assert!(stdout(&t).contains("digraph \"mix\""));
    let needs_args = gmm(&["graph", "examples/mixtures.gmm", "--model", "mix"]);
    assert_eq!(needs_args.status.code(), Some(1));
    assert!(stderr(&needs_args).contains("--model 'mix(K)'"));
    let zero = gmm(&["graph", "examples/mixtures.gmm", "--model", "mix(0)"]);
    assert_eq!(zero.status.code(), Some(1));
    assert!(
        stderr(&zero).contains("examples/mixtures.gmm:3:24"),
        "{}",
        stderr(&zero)
    );
    let unknown = gmm(&["graph", "examples/mixtures.gmm", "--model", "mixx"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("did you mean `mix`?"));
}

#[test]
fn global_latent_stays_outside_the_plate() {
    let o = gmm(&["graph", "examples/one_group.gmm"]);
    let dot = stdout(&o);
    let rows = cluster(&dot, "rows");
    assert!(!rows.contains("\"z\""), "{dot}");
    assert!(rows.contains("\"x\""));
    assert!(dot.contains("\"z\" -> \"x\";"));
}

/// Runs Graphviz `dot -Tsvg` on `input`; `None` when `dot` is not installed.
fn dot_svg(input: &str) -> Option<Output> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(input.as_bytes())
        .expect("dot reads its input");
    Some(child.wait_with_output().expect("dot finishes"))
}

#[test]
fn graphviz_renders_the_dot() {
    for (example, plate) in [
        ("examples/grades.gmm", "exams (N)"),
        ("examples/blobs2d.gmm", "points (N)"),
    ] {
        let dot = stdout(&gmm(&["graph", example]));
        let Some(out) = dot_svg(&dot) else {
            eprintln!("skipped: Graphviz `dot` is not installed (Debian package graphviz)");
            return;
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(svg.contains("<svg") && svg.contains(plate), "{svg}");
    }
}

#[test]
fn byte_order_mark_and_crlf_line_endings() {
    let dir = common::scratch("cli-windows");
    let path = dir.join("windows.gmm");
    std::fs::write(
        &path,
        "\u{feff}model m {\r\n    param mu : real = 0  # c\r\n    plate r { x ~ Normal(mu, 1) }\r\n}\r\n",
    )
    .expect("written");
    let p = path.to_str().expect("utf-8 path");
    let checked = gmm(&["check", p]);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    let formatted = stdout(&gmm(&["fmt", p]));
    assert!(!formatted.contains('\r') && formatted.starts_with("model m {\n"));
}

/// A reader that stops early (`gmm sample … | head`) ends the output quietly: exit 0, nothing
/// on stderr.
#[test]
fn closed_output_ends_quietly() {
    use std::io::Read;
    // Both write far more than a pipe holds, so the writes after the reader leaves fail.
    let script = common::scratch("cli-pipe").join("pipe.gmm");
    std::fs::write(&script, "for i in 0..200000 { print i, i^2 }\n").expect("written");
    let script = script.to_str().expect("UTF-8 path").to_string();
    for args in [
        &["sample", "examples/grades.gmm", "-n", "200000"][..],
        &["run", &script][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gmm"))
            .args(args)
            .current_dir(common::root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gmm starts");
        let mut first = [0u8; 16];
        child
            .stdout
            .take()
            .expect("piped")
            .read_exact(&mut first)
            .expect("some output");
        // The read end is dropped here, so every later write fails with a broken pipe.
        let out = child.wait_with_output().expect("gmm ends");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_file(&script).ok();
}

#[test]
fn fit_prints_a_loadable_model_with_its_fit_report() {
    let args = [
        "fit",
        "examples/em_lecture.gmm",
        "--data",
        "examples/lecture_grades.csv",
        "--init",
        "given",
        "--max-iter",
        "100",
        "--tol",
        "0",
        "--reg",
        "0",
    ];
    let out = gmm(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("model lecture {"), "{text}");
    let report: Vec<&str> = text.lines().rev().take(3).collect();
    assert_eq!(report[0], "# converged = false");
    assert_eq!(report[1], "# iterations = 100");
    // The lecture's log-likelihood after 100 iterations (tests/reference/em.expected).
    let ll: f64 = report[2]
        .strip_prefix("# loglik = ")
        .expect("a loglik line")
        .parse()
        .expect("a number");
    assert!((ll - -1261.345140552406).abs() < 1e-9, "{ll}");
    // The output is itself a .gmm file, and --out writes the same text.
    let dir = common::scratch("cli-fit");
    let path = dir.join("fitted.gmm");
    let with_out: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--out", path.to_str().unwrap()])
        .collect();
    let written = gmm(&with_out);
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    assert!(written.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    let check = gmm(&["check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    // Fitting from the fitted model with tol = 0 and no iterations reports the same likelihood.
    let again = gmm(&[
        "fit",
        path.to_str().unwrap(),
        "--data",
        "examples/lecture_grades.csv",
        "--init",
        "given",
        "--max-iter",
        "0",
    ]);
    assert!(stdout(&again).contains(report[2]), "{}", stdout(&again));
}

#[test]
fn fit_refuses_bad_flags_data_and_paths() {
    let base = ["fit", "examples/em_lecture.gmm", "--data"];
    let with = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        gmm(&args)
    };
    let neg = with(&["examples/lecture_grades.csv", "--tol", "-1"]);
    assert_eq!(neg.status.code(), Some(2));
    assert!(
        stderr(&neg).contains("must be a finite number ≥ 0"),
        "{}",
        stderr(&neg)
    );
    let init = with(&["examples/lecture_grades.csv", "--init", "best"]);
    assert_eq!(init.status.code(), Some(2));
    let restarts = with(&["examples/lecture_grades.csv", "--restarts", "0"]);
    assert_eq!(restarts.status.code(), Some(2));
    let missing = with(&["no/such.csv"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot read no/such.csv"));
    let unbound = with(&["examples/faithful.csv"]);
    assert_eq!(unbound.status.code(), Some(1));
    assert!(
        stderr(&unbound).contains("model `lecture`")
            && stderr(&unbound).contains("eruptions, waiting"),
        "{}",
        stderr(&unbound)
    );
    // A write that cannot happen leaves nothing behind.
    let out = with(&[
        "examples/lecture_grades.csv",
        "--out",
        "no/such/folder/fitted.gmm",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot write"));
    assert!(!std::path::Path::new("no/such/folder").exists());
}
