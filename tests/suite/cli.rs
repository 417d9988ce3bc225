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
pub(crate) fn dot_svg(input: &str) -> Option<Output> {
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

/// A two-component full-covariance mixture for Old Faithful, started from given values.
const FAITHFUL2: &str = "model mix2 {
    param pi : simplex[2] = [0.5, 0.5]
    param mu[2] : vector[2] = [[2, 55], [4.5, 80]]
    param S[2] : cov[2] = [[[1, 0], [0, 100]], [[1, 0], [0, 100]]]
    plate rows {
        z ~ Categorical(pi)
        x ~ MvNormal(mu[z], S[z])
    }
}
";

#[test]
fn fit_help_shows_defaults_and_the_script_options() {
    let help = stdout(&gmm(&["fit", "--help"]));
    for want in [
        "[default: 1000]",
        "[default: 1e-6]",
        "[default: auto]",
        "--weights <COLUMN>",
        "--fixed <NAME,...>",
        "--sieve-iter",
        "--sieve-keep",
        "--verbose",
        "--columns <NAME=COLUMN,...>",
        "fit(m, data, ...)",
    ] {
        assert!(help.contains(want), "`{want}` missing from:\n{help}");
    }
    // The command's own options come before the global ones.
    assert!(help.find("--verbose") < help.find("--time-limit"), "{help}");
}

#[test]
fn columns_map_a_csv_with_its_own_names() {
    let dir = common::scratch("cli-columns");
    std::fs::write(dir.join("mix2.gmm"), FAITHFUL2).unwrap();
    std::fs::copy(
        common::root().join("examples/faithful.csv"),
        dir.join("faithful.csv"),
    )
    .unwrap();
    // The same data with the model's names, written by hand.
    let raw = std::fs::read_to_string(dir.join("faithful.csv")).unwrap();
    let renamed = raw.replacen("eruptions,waiting", "x[0],x[1]", 1);
    std::fs::write(dir.join("renamed.csv"), renamed).unwrap();
    let mapped = common::gmm_at(
        &dir,
        &[
            "fit",
            "mix2.gmm",
            "--data",
            "faithful.csv",
            "--columns",
            "x[0]=eruptions,x[1]=waiting",
        ],
    );
    assert!(mapped.status.success(), "{}", stderr(&mapped));
    let by_hand = common::gmm_at(&dir, &["fit", "mix2.gmm", "--data", "renamed.csv"]);
    assert!(by_hand.status.success(), "{}", stderr(&by_hand));
    assert_eq!(stdout(&mapped), stdout(&by_hand));
    assert!(
        stdout(&mapped).contains("# converged = true"),
        "{}",
        stdout(&mapped)
    );
    // A column that is not there is named, with the ones that are.
    let wrong = common::gmm_at(
        &dir,
        &[
            "fit",
            "mix2.gmm",
            "--data",
            "faithful.csv",
            "--columns",
            "x[0]=eruption,x[1]=waiting",
        ],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("--columns: faithful.csv: the dataset has no column `eruption`")
            && stderr(&wrong).contains("did you mean `eruptions`?"),
        "{}",
        stderr(&wrong)
    );
    // Not NAME=COLUMN: a usage error.
    let usage = common::gmm_at(
        &dir,
        &[
            "fit",
            "mix2.gmm",
            "--data",
            "faithful.csv",
            "--columns",
            "x[0]",
        ],
    );
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
    // sample names its output's columns the same way, and fit reads them back.
    let sampled = common::gmm_at(
        &dir,
        &[
            "sample",
            "mix2.gmm",
            "-n",
            "3",
            "--columns",
            "x[0]=eruptions,x[1]=waiting,z=kind",
        ],
    );
    assert!(
        stdout(&sampled).starts_with("kind,eruptions,waiting\n"),
        "{}",
        stdout(&sampled)
    );
}

#[test]
fn fit_flags_match_the_script_options() {
    let dir = common::scratch("cli-fit-flags");
    std::fs::write(dir.join("mix2.gmm"), FAITHFUL2).unwrap();
    let raw = std::fs::read_to_string(common::root().join("examples/faithful.csv")).unwrap();
    // A weight column: 1, 2, 3, 1, 2, 3, …
    let mut weighted = String::from("x[0],x[1],w\n");
    for (i, line) in raw.lines().skip(1).enumerate() {
        weighted.push_str(&format!("{line},{}\n", i % 3 + 1));
    }
    std::fs::write(dir.join("w.csv"), &weighted).unwrap();
    let flags = [
        "fit",
        "mix2.gmm",
        "--data",
        "w.csv",
        "--weights",
        "w",
        "--fixed",
        "pi",
        "--restarts",
        "4",
        "--sieve-iter",
        "2",
        "--sieve-keep",
        "2",
        "--init",
        "kmeans",
        "--seed",
        "3",
    ];
    let cli = common::gmm_at(&dir, &flags);
    assert!(cli.status.success(), "{}", stderr(&cli));
    let script = "let d = load(\"w.csv\")\n\
        let f = fit(mix2, table(x = columns(d, \"x[0]\", \"x[1]\")), weights = d.w, fixed = [\"pi\"], restarts = 4, sieve_iter = 2, sieve_keep = 2, init = \"kmeans\", seed = 3)\n\
        print \"# loglik =\", f.loglik\n";
    std::fs::write(dir.join("same.gmm"), format!("{FAITHFUL2}{script}")).unwrap();
    let run = common::gmm_at(&dir, &["run", "same.gmm"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let loglik = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("# loglik ="))
            .map(|l| l.split('=').nth(1).unwrap().trim().to_string())
            .unwrap_or_else(|| panic!("no loglik in {text}"))
    };
    assert_eq!(loglik(&stdout(&cli)), loglik(&stdout(&run)));
    // `pi` stayed where it was.
    assert!(
        stdout(&cli).contains("param pi : simplex[2] = [0.5, 0.5]"),
        "{}",
        stdout(&cli)
    );
    // --verbose prints every iteration on stderr.
    let verbose = common::gmm_at(
        &dir,
        &[
            "fit",
            "mix2.gmm",
            "--data",
            "w.csv",
            "--max-iter",
            "3",
            "--tol",
            "0",
            "--verbose",
        ],
    );
    let lines: Vec<&str> = std::str::from_utf8(&verbose.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("fit mix2: iteration"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", stderr(&verbose));
    // A weight column with a negative weight, and a parameter that does not exist.
    weighted = weighted.replacen(",1\n", ",-1\n", 1);
    std::fs::write(dir.join("bad.csv"), &weighted).unwrap();
    let bad = common::gmm_at(
        &dir,
        &["fit", "mix2.gmm", "--data", "bad.csv", "--weights", "w"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("weight 0 is -1"), "{}", stderr(&bad));
    let unknown = common::gmm_at(
        &dir,
        &["fit", "mix2.gmm", "--data", "w.csv", "--fixed", "p"],
    );
    assert!(
        stderr(&unknown).contains("--fixed: model `mix2` has no parameter `p`"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn an_accidental_supervised_fit_gets_a_note() {
    let dir = common::scratch("cli-supervised");
    std::fs::write(dir.join("grades.gmm"), common::GRADES).unwrap();
    let sample = common::gmm_at(
        &dir,
        &["sample", "grades.gmm", "-n", "500", "--out", "d.csv"],
    );
    assert!(sample.status.success(), "{}", stderr(&sample));
    let note = "`z` is observed in every row: this is a supervised fit";
    let cli = common::gmm_at(&dir, &["fit", "grades.gmm", "--data", "d.csv"]);
    assert!(stderr(&cli).contains(note), "{}", stderr(&cli));
    let script = format!(
        "{}let f = fit(grades, sample(grades, 500, seed = 1))\nlet g = fit(grades, table(x = sample(grades, 500, seed = 1).x))\n",
        common::GRADES
    );
    std::fs::write(dir.join("s.gmm"), script).unwrap();
    let run = common::gmm_at(&dir, &["run", "s.gmm"]);
    assert!(run.status.success(), "{}", stderr(&run));
    // Once: the second fit leaves `z` out.
    assert_eq!(stderr(&run).matches(note).count(), 1, "{}", stderr(&run));
}

#[test]
fn a_file_without_a_model_says_what_the_command_wanted() {
    let dir = common::scratch("cli-no-model");
    std::fs::write(dir.join("none.gmm"), "print 1\n").unwrap();
    std::fs::write(dir.join("d.csv"), "x\n1\n").unwrap();
    for (args, verb) in [
        (&["fit", "none.gmm", "--data", "d.csv"][..], "fit"),
        (&["sample", "none.gmm", "-n", "3"][..], "sample"),
        (&["graph", "none.gmm"][..], "draw"),
    ] {
        let out = common::gmm_at(&dir, args);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            format!(
                "error: none.gmm declares no model to {verb}\n = help: declare one with `model NAME {{ ... }}`\n\n"
            )
        );
    }
}

#[test]
fn a_bare_plot_draws_and_other_bare_values_are_warned_about() {
    let dir = common::scratch("cli-bare");
    let script = format!(
        "{}plot(grades, width = 40, height = 10)\np(x = 3.0)\n",
        common::GRADES
    );
    std::fs::write(dir.join("s.gmm"), script).unwrap();
    let out = common::gmm_at(&dir, &["run", "s.gmm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The chart, in the terminal's text.
    assert!(stdout(&out).contains("p(x)"), "{}", stdout(&out));
    assert!(stdout(&out).lines().count() >= 10, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("warning: value not used"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("write `print p(x = 3.0)`"),
        "{}",
        stderr(&out)
    );
}

/// `cargo test --release` reuses the build of `cargo run --release` only when the tests'
/// dependencies ask no other features of a shared crate (Cargo.toml names the union). Every
/// package built for the target must have the same features with and without the
/// dev-dependencies (proc macros and their dependencies are built for the host, apart).
#[test]
fn the_tests_build_on_the_release_build() {
    let features = |edges: &str| -> std::collections::BTreeMap<String, String> {
        let out = Command::new(env!("CARGO"))
            .args(["tree", "--offline", "--prefix", "none", "-e", edges])
            .args(["-f", "{p} {f}"])
            .current_dir(common::root())
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .filter_map(|l| {
                let mut parts = l.split(' ');
                let name = format!("{} {}", parts.next()?, parts.next()?);
                let feats = parts.next().filter(|f| !f.starts_with('(')).unwrap_or("");
                Some((name, feats.to_string()))
            })
            .collect()
    };
    let normal = features("normal,no-proc-macro");
    let with_dev = features("normal,dev,no-proc-macro");
    let differ: Vec<String> = normal
        .iter()
        .filter(|(name, f)| with_dev.get(*name).is_some_and(|g| g != *f))
        .map(|(name, f)| format!("{name}: [{f}] and with the tests [{}]", with_dev[name]))
        .collect();
    assert!(
        differ.is_empty(),
        "add these features to Cargo.toml:\n{}",
        differ.join("\n")
    );
}

#[test]
fn fit_with_priors_reports_the_log_posterior() {
    // tests/reference/em_priors.gmm's first model, whose MAP-EM em_priors.py checks.
    let dir = common::scratch("cli-priors");
    let model = "model grades {
    param pi : simplex[2] ~ Dirichlet(2.0) = [0.5, 0.5]
    param mu[2] : real ~ Normal(0.0, 10.0) = [2.0, 4.0]
    param sigma[2] : positive ~ InvGamma(2.0, 1.0) = [1.0, 1.0]
    plate exams {
        z ~ Categorical(pi)
        x ~ Normal(mu[z], sigma[z])
    }
}
";
    std::fs::write(dir.join("m.gmm"), model).unwrap();
    let data = common::root().join("examples/lecture_grades.csv");
    let fit = |extra: &[&str]| {
        let mut args = vec![
            "fit",
            "m.gmm",
            "--data",
            data.to_str().unwrap(),
            "--max-iter",
            "20",
            "--tol",
            "0",
            "--reg",
            "0",
        ];
        args.extend(extra);
        let out = common::gmm_at(&dir, &args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let number = |text: &str, key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no `{key}` in\n{text}"))
            .parse()
            .expect("a number")
    };
    let map = fit(&[]);
    // em_priors.expected: grades_logpost.
    let lp = number(&map, "# logpost = ");
    assert!((lp - -1270.804805343387).abs() < 1e-9, "{lp}");
    // The priors stay in the written model, which loads back.
    assert!(
        map.contains("param pi : simplex[2] ~ Dirichlet(2) = ["),
        "{map}"
    );
    std::fs::write(dir.join("fitted.gmm"), &map).unwrap();
    let check = common::gmm_at(&dir, &["check", "fitted.gmm"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    // --no-priors: maximum likelihood, no log posterior: the same fit as the model without
    // its priors, and not the MAP one.
    let ml = fit(&["--no-priors"]);
    assert!(!ml.contains("# logpost"), "{ml}");
    let bare = model
        .replace(" ~ Dirichlet(2.0)", "")
        .replace(" ~ Normal(0.0, 10.0)", "")
        .replace(" ~ InvGamma(2.0, 1.0)", "");
    std::fs::write(dir.join("m.gmm"), bare).unwrap();
    let plain = fit(&[]);
    assert_eq!(number(&ml, "# loglik = "), number(&plain, "# loglik = "));
    assert_ne!(number(&ml, "# loglik = "), number(&map, "# loglik = "));
}
