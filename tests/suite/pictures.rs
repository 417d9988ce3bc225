//! The pictures and formulas of every example model: its text diagram (`gmm graph --format
//! text`), its joint as LaTeX (`gmm tex`) and as Unicode (`gmm tex --unicode`), each against a
//! stored golden in tests/pictures/ (`BLESS=1` rewrites them); the LaTeX is typeset by KaTeX in
//! its strict mode, which fails on any unknown macro or unbalanced brace; `tex`, `joint` and the
//! REPL's `:joint` give the same text as the command line.

use crate::common;

use std::path::Path;

/// Every model an example declares, and the models of `tests/reference/em_priors.gmm` (every
/// kind of prior), as `--model` names it: a template with 2 for each argument (`mix(2)`). Read
/// off the source's `model` lines, not through gmm.
fn example_models() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let priors = common::root().join("tests/reference/em_priors.gmm");
    for f in common::gmm_files("examples").into_iter().chain([priors]) {
        let rel = f
            .strip_prefix(common::root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let Some(rest) = line.strip_prefix("model ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after = &rest[name.len()..];
            let model = match after.strip_prefix('(') {
                Some(args) => {
                    let n = args.split(')').next().unwrap().split(',').count();
                    format!("{name}({})", vec!["2"; n].join(", "))
                }
                None => name,
            };
            out.push((rel.clone(), model));
        }
    }
    out
}

fn stdout(args: &[&str]) -> String {
    let out = common::gmm(args);
    assert!(
        out.status.success(),
        "gmm {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The LaTeX of every example model, each with the golden's name.
fn latex_of_examples() -> Vec<(String, String)> {
    example_models()
        .into_iter()
        .map(|(file, model)| {
            let tex = stdout(&["tex", &file, "--model", &model]);
            (format!("{file} {model}"), tex.trim_end().to_string())
        })
        .collect()
}

#[test]
fn every_example_model_has_its_diagram_and_formula() {
    let models = example_models();
    assert!(models.len() >= 12, "{models:?}");
    let dir = common::root().join("tests/pictures");
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for (file, model) in &models {
        let mut text = String::new();
        for args in [
            &["graph", file, "--model", model, "--format", "text"][..],
            &["tex", file, "--model", model],
            &["tex", file, "--model", model, "--unicode"],
        ] {
            text.push_str(&format!("$ gmm {}\n", args.join(" ")));
            text.push_str(&stdout(args));
            text.push('\n');
        }
        let stem = Path::new(file).file_stem().unwrap().to_str().unwrap();
        let name: String = model
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let golden = dir.join(format!("{stem}.{name}.txt"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&golden, &text).unwrap();
        } else if std::fs::read_to_string(&golden).unwrap_or_default() != text {
            failures.push(format!("{}:\n{text}", golden.display()));
        }
    }
    assert!(failures.is_empty(), "differs:\n{}", failures.join("\n"));
}

/// The lecture's joint, word for word (LANGUAGE.md §9.5), and its fixed-plate and global-latent
/// forms.
#[test]
fn the_lecture_writes_the_joint_so() {
    let grades = stdout(&["tex", "examples/grades.gmm"]);
    assert_eq!(
        grades.trim_end(),
        r"p(z, x \mid \pi, \mu, \sigma) = \prod_{n=1}^{N} \mathrm{Cat}(z_n \mid \pi)\,\mathcal{N}(x_n \mid \mu_{z_n}, \sigma_{z_n})"
    );
    let blobs = stdout(&["tex", "examples/blobs2d.gmm"]);
    assert!(
        blobs.contains(r"\mathcal{N}(\mathbf{x}_n \mid \boldsymbol{\mu}_{z_n}, S_{z_n})"),
        "{blobs}"
    );
    let features = stdout(&["tex", "examples/mixtures.gmm", "--model", "features"]);
    assert!(
        features.contains(r"\prod_{d=1}^{2} \mathcal{N}(x_{n, d} \mid \mu_{z_n, d}, 1)"),
        "{features}"
    );
    // A global latent stands outside the product over rows.
    let one = stdout(&["tex", "examples/one_group.gmm"]);
    assert!(
        one.contains(r"= \mathrm{Cat}(z \mid \pi)\,\prod_{n=1}^{N} \mathcal{N}(x_n \mid \mu_z, 1)"),
        "{one}"
    );
    // A model with a variable named N counts its rows with another letter.
    let day = stdout(&["tex", "examples/dgm_sampling.gmm"]);
    assert!(
        day.contains(r"\prod_{i=1}^{I}") && day.contains(r"\mathrm{Bern}(N_i \mid \mathrm{pN})"),
        "{day}"
    );
}

/// A parameter with a prior is random: it joins the left-hand side, and its prior is a factor
/// (section 9.2).
#[test]
fn priors_are_factors_of_the_joint() {
    let smooth = stdout(&["tex", "examples/priors.gmm", "--model", "smooth"]);
    assert_eq!(
        smooth.trim_end(),
        r"p(z, x, \pi, \mu, \sigma) = \mathrm{Dir}(\pi \mid 2)\,\prod_{k=1}^{3} \mathcal{N}(\mu_k \mid 20, 10)\,\prod_{k=1}^{3} \mathrm{InvGamma}(\sigma_k^{2} \mid 2, 1)\,\prod_{n=1}^{N} \mathrm{Cat}(z_n \mid \pi)\,\mathcal{N}(x_n \mid \mu_{z_n}, \sigma_{z_n})"
    );
    let full = stdout(&[
        "tex",
        "tests/reference/em_priors.gmm",
        "--model",
        "full",
        "--unicode",
    ]);
    assert!(
        full.contains("W⁻¹(Sₖ | 4, [[0.5, 0], [0, 0.5]])") && full.contains("∏ⱼ₌₁² N(μₖⱼ | 0, 5)"),
        "{full}"
    );
    // sigma has no prior: it stays a parameter, after the bar.
    let features = stdout(&[
        "tex",
        "tests/reference/em_priors.gmm",
        "--model",
        "features",
    ]);
    assert!(
        features.starts_with(r"p(z, c, b, x, \pi, \theta, q, \mu \mid \sigma) = "),
        "{features}"
    );
}

/// `tex(m)` and `joint(m)` in a script, and `:joint` in the REPL, say what `gmm tex` says;
/// operators, functions and literals inside a model are written out too.
#[test]
fn tex_and_joint_in_scripts_and_the_repl() {
    let dir = common::scratch("pictures-script");
    std::fs::write(
        dir.join("m.gmm"),
        format!(
            "{}model shapes {{
    const s_0 = 2.0
    param a : real = 0
    param b[2] : positive = [1, 2]
    param theta_W : prob = 0.5
    plate rows {{
        z ~ Bernoulli(theta_W)
        y ~ Normal(-a + 2 * b[z] ^ 2, sqrt(b[z] / s_0) + abs(a - (a - 1)))
    }}
}}
print tex(grades)
print joint(grades)
print tex(shapes)
print joint(shapes)
",
            common::GRADES
        ),
    )
    .unwrap();
    let text = String::from_utf8(common::gmm_in(&dir, &["run", "m.gmm"], None)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cli = |args: &[&str]| {
        String::from_utf8(common::gmm_in(&dir, args, None))
            .unwrap()
            .trim_end()
            .to_string()
    };
    assert_eq!(lines[0], cli(&["tex", "m.gmm", "--model", "grades"]));
    assert_eq!(
        lines[1],
        cli(&["tex", "m.gmm", "--model", "grades", "--unicode"])
    );
    assert_eq!(
        lines[1],
        "p(z, x | π, μ, σ) = ∏ₙ₌₁ᴺ Cat(zₙ | π) · N(xₙ | μ[zₙ], σ[zₙ])"
    );
    assert_eq!(
        lines[2],
        r"p(z, y \mid a, b, \theta_W) = \prod_{n=1}^{N} \mathrm{Bern}(z_n \mid \theta_W)\,\mathcal{N}(y_n \mid -a + 2 \cdot b_{z_n}^{2}, \sqrt{\frac{b_{z_n}}{s_0}} + \left|a - \left(a - 1\right)\right|)"
    );
    assert_eq!(
        lines[3],
        "p(z, y | a, b, θ_W) = ∏ₙ₌₁ᴺ Bern(zₙ | θ_W) · N(yₙ | -a + 2 · b[zₙ]^2, √(b[zₙ] / s_0) + |a - (a - 1)|)"
    );

    let repl = common::run_bounded(
        {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"));
            c.arg("repl").current_dir(&dir);
            c
        },
        30,
        Some(b":load m.gmm\n:joint grades\n:joint\n".to_vec()),
    )
    .0;
    let said = String::from_utf8_lossy(&repl.stdout);
    assert!(said.contains(lines[1]), "{said}");
    assert!(
        String::from_utf8_lossy(&repl.stderr).contains(":joint needs an argument: :joint MODEL"),
        "{}",
        String::from_utf8_lossy(&repl.stderr)
    );
}

/// KaTeX, installed from the npm registry into the target folder on first use (a failed
/// install fails the test), in strict mode with errors thrown.
fn katex(lines: &[&str]) -> Vec<String> {
    let tools = Path::new(env!("CARGO_TARGET_TMPDIR")).join("katex");
    if !tools.join("node_modules/katex/package.json").exists() {
        std::fs::create_dir_all(&tools).unwrap();
        let mut npm = std::process::Command::new("npm");
        npm.args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
            tools.to_str().unwrap(),
            "katex@0.16.47",
        ]);
        let (out, _) = common::run_bounded(npm, 300, None);
        assert!(
            out.status.success(),
            "npm install katex@0.16.47 failed (the LaTeX check needs Node.js and npm):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut node = std::process::Command::new("node");
    node.arg(common::root().join("tests/katex/check.js"))
        .env("NODE_PATH", tools.join("node_modules"));
    let (out, _) = common::run_bounded(node, 60, Some(lines.join("\n").into_bytes()));
    let said = String::from_utf8(out.stdout).unwrap();
    let verdicts: Vec<String> = said.lines().map(str::to_string).collect();
    assert_eq!(
        verdicts.len(),
        lines.len(),
        "a verdict per formula: {said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    verdicts
}

#[test]
fn the_latex_of_every_example_typesets_in_katex() {
    let formulas = latex_of_examples();
    let mut lines: Vec<&str> = formulas.iter().map(|(_, t)| t.as_str()).collect();
    // The checker itself fails on broken LaTeX: an open brace and an unknown macro.
    lines.push(r"\prod_{n=1}^{N \mathrm{Cat}(z_n \mid \pi)");
    lines.push(r"\mathrm{Cat}(z_n \midd \pi)");
    let verdicts = katex(&lines);
    let n = formulas.len();
    for ((name, tex), verdict) in formulas.iter().zip(&verdicts) {
        assert_eq!(verdict, "ok", "{name}: {tex}");
    }
    assert!(verdicts[n].starts_with("error"), "{}", verdicts[n]);
    assert!(verdicts[n + 1].contains("midd"), "{}", verdicts[n + 1]);
}
