//! Nothing panics on any input: random bytes, mutated examples, pathological nesting, random
//! built-in calls on values of every kind, and every input a fuzz target ever failed on
//! (tests/fuzz_regressions/TARGET/, checked by the target's own properties in
//! tests/suite/common/fuzz.rs) end in a result or a diagnostic, and what `fmt` prints parses again. Runs on a thread with a 2 MiB stack, the default for test threads, so a recursion the
//! front end fails to bound shows up as a crash.

use crate::common;

use crate::common::Rng;
use crate::common::fuzz::parse_check;
use gmm::check::check_program;
use gmm::syntax;

const STACK: usize = 2 * 1024 * 1024;

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("thread starts")
        .join()
        .expect("no panic and no stack overflow");
}

/// The saved inputs of one fuzz target, sorted.
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = common::root().join("tests/fuzz_regressions").join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("folder exists")
        .map(|e| {
            let path = e.expect("entry").path();
            let bytes = std::fs::read(&path).expect("readable");
            (path.display().to_string(), bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    inputs
}

#[test]
fn fuzz_regressions_parse_check() {
    let inputs = regressions("parse_check");
    on_small_stack(move || {
        for (_, bytes) in inputs {
            parse_check(&String::from_utf8_lossy(&bytes));
        }
    });
}

#[test]
fn fuzz_regressions_run() {
    let inputs = regressions("run");
    on_small_stack(move || {
        for (_, bytes) in inputs {
            common::fuzz::run(&String::from_utf8_lossy(&bytes));
        }
    });
}

#[test]
fn fuzz_regressions_csv() {
    for (name, bytes) in regressions("csv") {
        eprintln!("{name}");
        common::fuzz::csv(&bytes);
    }
}

#[test]
fn random_bytes() {
    on_small_stack(|| {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"()[]{}=~|:;,.+-*/@^<>!#\"\\ \n\tabcpzxNA019e_";
        for _ in 0..3000 {
            let len = rng.below(80);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(4) == 0 {
                        rng.below(256) as u8
                    } else {
                        alphabet[rng.below(alphabet.len())]
                    }
                })
                .collect();
            parse_check(&String::from_utf8_lossy(&bytes));
        }
    });
}

#[test]
fn mutated_examples() {
    let mut sources = Vec::new();
    for dir in ["examples", "tests/ui"] {
        for f in common::gmm_files(dir) {
            sources.push(std::fs::read_to_string(f).expect("readable"));
        }
    }
    on_small_stack(move || {
        let mut rng = Rng(42);
        let mut parsed = 0;
        let pieces = [
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "~",
            "=",
            "|",
            ",",
            ";",
            "\n",
            "p(",
            "plate r {",
            "-",
            "^",
            "model",
            "param",
            "1e999",
            "..",
            ":",
            "z",
            "NA",
            "\"",
            "#",
        ];
        for _ in 0..3000 {
            let src = &sources[rng.below(sources.len())];
            let text = if rng.below(2) == 0 {
                mutate_chars(src, &mut rng, &pieces)
            } else {
                mutate_lines(src, &mut rng)
            };
            parsed += usize::from(parse_check(&text));
        }
        // Enough mutants stay valid for fmt's properties to be exercised.
        eprintln!("{parsed} of 3000 mutants parsed");
        assert!(parsed > 300, "only {parsed} mutants parsed");
    });
}

/// Deletes, inserts or copies a few runs of characters: mostly broken programs.
fn mutate_chars(src: &str, rng: &mut Rng, pieces: &[&str]) -> String {
    let mut text: Vec<char> = src.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(text.len() + 1);
        match rng.below(3) {
            0 if at < text.len() => {
                let n = 1 + rng.below(5);
                text.drain(at..(at + n).min(text.len()));
            }
            1 => {
                let piece = pieces[rng.below(pieces.len())];
                for (k, c) in piece.chars().enumerate() {
                    text.insert(at + k, c);
                }
            }
            _ => {
                let from = rng.below(text.len().max(1));
                let n = rng.below(20);
                let chunk: Vec<char> = text.iter().skip(from).take(n).copied().collect();
                for (k, c) in chunk.into_iter().enumerate() {
                    text.insert(at.min(text.len()) + k, c);
                }
            }
        }
    }
    text.into_iter().collect()
}

/// Deletes, repeats or swaps whole lines: often still a program, in a new layout.
fn mutate_lines(src: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<&str> = src.lines().collect();
    for _ in 0..1 + rng.below(3) {
        if lines.is_empty() {
            break;
        }
        let i = rng.below(lines.len());
        let j = rng.below(lines.len());
        match rng.below(3) {
            0 => {
                lines.remove(i);
            }
            1 => lines.insert(j, lines[i]),
            _ => lines.swap(i, j),
        }
    }
    lines.join("\n")
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    on_small_stack(|| {
        let n = 100_000;
        let cases = [
            format!("print {}1{}", "(".repeat(n), ")".repeat(n)),
            format!("print {}1{}", "[".repeat(n), "]".repeat(n)),
            format!("print {}1", "-".repeat(n)),
            format!("print {}x", "not ".repeat(n)),
            format!("print 2{}", "^2".repeat(n)),
            format!("print 1{}", "+1".repeat(n)),
            format!("print x{}", "[0]".repeat(n)),
            format!("print f{}", "(1)".repeat(n)),
            format!("print x{}", ".a".repeat(n)),
            format!("{}print 1{}", "for i in v {\n".repeat(n), "\n}".repeat(n)),
            format!(
                "model m {{ {} x ~ Normal(0, 1) {} }}",
                "plate a : 2 {\n".repeat(n),
                "\n}".repeat(n)
            ),
        ];
        for text in &cases {
            let diags = syntax::parse(text).expect_err("too deep to accept");
            // A chain (`1+1+...`) is not nesting: it is refused as too long.
            let word = if text.starts_with("print 1+1") {
                "long"
            } else {
                "deep"
            };
            assert!(
                diags.iter().any(|d| d.message.contains(word)),
                "{}: {diags:?}",
                &text[..40]
            );
        }
        // Wide but shallow input is fine.
        let wide = format!("print [{}]", vec!["1"; 100_000].join(", "));
        assert!(syntax::parse(&wide).is_ok());
    });
}

#[test]
fn long_chains_within_the_limits_run_on_a_small_stack() {
    on_small_stack(|| {
        let chain = |n: usize, op: &str| vec!["a"; n].join(op);
        let cases = [
            // The reviewers' chains: 250 `+` and 220 `-` terms.
            format!("let a = 1\nprint {}", chain(250, " + ")),
            format!("let a = 1\nprint {}", chain(220, " - ")),
            // At the limits: 499 operators in a row, and nesting with chains inside.
            format!("let a = 1\nprint {}", chain(499, " * ")),
            format!(
                "let a = 1\nprint {}({}){}",
                "-(".repeat(60),
                chain(300, " + "),
                ")".repeat(60)
            ),
            format!(
                "let a = [1, 2]\nprint sum({}) + {}",
                chain(200, " + "),
                chain(250, " - ")
            ),
        ];
        for text in &cases {
            let program = syntax::parse(text).unwrap_or_else(|d| panic!("{d:?}"));
            let checked = check_program(&program);
            assert!(checked.diags.is_empty(), "{:?}", checked.diags);
            let shown = syntax::fmt::format_program(&program, text);
            assert!(syntax::parse(&shown).is_ok());
            let mut interp = gmm::interp::Interp::new(".".into(), Box::new(std::io::sink()));
            assert!(interp.run(&program, text).is_ok());
            drop(program.clone());
        }
    });
}

/// Values of every kind, for random calls.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "0.5",
    "1e300",
    "NA",
    "\"s\"",
    "[]",
    "[1, 2]",
    "[0.3, 0.7]",
    "[[1, 2], [3, 4]]",
    "[[[1]]]",
    "zeros(0)",
    "eye(2)",
    "0..3",
    "[true, false]",
    "true",
    "[\"a\", NA]",
    "Normal([0, 1], [1, 2])",
    "Categorical([0.2, 0.8])",
    "Bernoulli(0.3)",
    "MvNormal([0, 0], eye(2))",
    "Mixture(Categorical([0.5, 0.5]), Normal([0, 1], [1, 1]))",
    "g",
    "d",
    "mix",
    "1 / 0",
    "0 / 0",
    "col([1, 2])",
];

const PRELUDE: &str = "model g {
    param pi : simplex[2] = [0.6, 0.4]
    param mu[2] : real = [2.5, 4.8]
    plate rows {
        z ~ Categorical(pi)
        x ~ Normal(mu[z], 1.0)
    }
}
model mix(K) {
    param pi : simplex[K]
    plate rows { z ~ Categorical(pi) }
}
let d = table(x = [1, 2, 3], z = [0, 1, 0], v = [[1, 2], [3, 4], [5, 6]], s = [\"a\", \"b\", \"c\"])
";

/// Random calls of every built-in (but the ones that touch files), operators, indexing and
/// queries on values of every kind: each ends in a value or a diagnostic, never a panic.
#[test]
fn random_calls_never_panic() {
    on_small_stack(|| {
        let mut rng = Rng(0x5eed);
        let names: Vec<&str> = gmm::builtins::BUILTINS
            .iter()
            .map(|b| b.name)
            .filter(|n| !matches!(*n, "save" | "load"))
            .collect();
        let pick = |rng: &mut Rng| VALUES[rng.below(VALUES.len())];
        for _ in 0..1500 {
            let line = match rng.below(4) {
                0 => {
                    let op = ["+", "-", "*", "/", "@", "^", "..", "==", "<", "and"][rng.below(10)];
                    format!("{} {op} {}", pick(&mut rng), pick(&mut rng))
                }
                1 => format!("{}[{}]", pick(&mut rng), pick(&mut rng)),
                2 => format!(
                    "p({} = {} | {} = {})",
                    ["z", "x"][rng.below(2)],
                    pick(&mut rng),
                    ["z", "x"][rng.below(2)],
                    pick(&mut rng)
                ),
                _ => {
                    let mut args: Vec<String> = (0..rng.below(4))
                        .map(|_| pick(&mut rng).to_string())
                        .collect();
                    if rng.below(3) == 0 {
                        let opt = ["axis", "seed", "tol"][rng.below(3)];
                        args.push(format!("{opt} = {}", pick(&mut rng)));
                    }
                    format!("{}({})", names[rng.below(names.len())], args.join(", "))
                }
            };
            let text = format!("{PRELUDE}print {line}\n");
            let Ok(program) = syntax::parse(&text) else {
                continue;
            };
            if check_program(&program).has_errors() {
                continue;
            }
            let mut interp = gmm::interp::Interp::new(".".into(), Box::new(std::io::sink()));
            if let Err(diags) = interp.run(&program, &text) {
                assert!(
                    diags.iter().all(|d| d.span.is_some()),
                    "a runtime error without a place: {diags:?} in {line}"
                );
            }
        }
    });
}
