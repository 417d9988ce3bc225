//! The `gmm` command line: parse arguments, run one command, map the outcome to an exit status
//! (0 success, 1 a diagnostic, 2 bad usage).

use crate::check::{self, Checked, lower};
use crate::diag::{Diag, Source};
use crate::model::Model;
use crate::model::dot::{Observed, to_dot};
use crate::syntax::{self, Program, ast};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// gmm: mixture models and their graphical models, written as math.
#[derive(Parser, Debug)]
#[command(name = "gmm", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and check a script; print every diagnostic.
    Check {
        /// The .gmm script.
        file: PathBuf,
    },
    /// Print a script in canonical layout.
    Fmt {
        /// The .gmm script.
        file: PathBuf,
    },
    /// Print a model as a Graphviz DOT plate diagram.
    Graph {
        /// The .gmm script.
        file: PathBuf,
        /// The model to draw (default: the script's last model); a template with its
        /// arguments, e.g. `mix(3)`.
        #[arg(long)]
        model: Option<String>,
    },
}

/// A failure that ends the command with exit status 1.
struct Failed;

/// Runs the command line and returns the process exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Check { file } => cmd_check(&file),
        Command::Fmt { file } => cmd_fmt(&file),
        Command::Graph { file, model } => cmd_graph(&file, model.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed) => ExitCode::from(1),
    }
}

/// Reads a script, reporting an unreadable file as a diagnostic.
fn read_source(path: &PathBuf) -> Result<Source, Failed> {
    let name = path.display().to_string();
    let problem = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => return Ok(Source::new(name, text)),
            Err(e) => Diag::error_nowhere(format!(
                "{name} is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
            .help("save the file as UTF-8"),
        },
        Err(e) => Diag::error_nowhere(format!("cannot read {name}: {e}"))
            .help("check the path; it is relative to the working directory"),
    };
    let _ = report(&Source::new(name, ""), &[problem]);
    Err(Failed)
}

/// Prints diagnostics to stderr; fails when any is an error.
fn report(src: &Source, diags: &[Diag]) -> Result<(), Failed> {
    if !diags.is_empty() {
        eprint!("{}", src.render(diags));
    }
    if diags.iter().any(|d| d.is_error()) {
        Err(Failed)
    } else {
        Ok(())
    }
}

/// Parses and checks, printing diagnostics.
fn front_end(src: &Source) -> Result<(Program, Checked), Failed> {
    let program = syntax::parse(&src.text).map_err(|d| {
        let _ = report(src, &d);
        Failed
    })?;
    let checked = check::check_program(&program);
    report(src, &checked.diags)?;
    Ok((program, checked))
}

fn cmd_check(path: &PathBuf) -> Result<(), Failed> {
    let src = read_source(path)?;
    let (_, checked) = front_end(&src)?;
    println!("{}: ok", src.name);
    for m in &checked.models {
        match (&m.model, &m.template_params) {
            (Some(model), _) => println!("  {}", model.summary()),
            (None, Some(ps)) => println!("  template {}({})", m.name, ps.join(", ")),
            (None, None) => println!(
                "  model {}: uses values known only when the script runs",
                m.name
            ),
        }
    }
    Ok(())
}

fn cmd_fmt(path: &PathBuf) -> Result<(), Failed> {
    let src = read_source(path)?;
    let program = syntax::parse(&src.text).map_err(|d| {
        let _ = report(&src, &d);
        Failed
    })?;
    print!("{}", syntax::fmt::format_program(&program, &src.text));
    Ok(())
}

fn cmd_graph(path: &PathBuf, model: Option<&str>) -> Result<(), Failed> {
    let src = read_source(path)?;
    let (program, checked) = front_end(&src)?;
    let model = pick_model(&src, &program, &checked, model)?;
    print!("{}", to_dot(&model, Observed::Leaves));
    Ok(())
}

/// The model `--model` names (or the last plain model), lowered; a template needs arguments.
fn pick_model(
    src: &Source,
    program: &Program,
    checked: &Checked,
    spec: Option<&str>,
) -> Result<Model, Failed> {
    let (name, args) = match spec {
        Some(s) => parse_model_spec(s)?,
        None => match checked.find(None) {
            Some(m) => (m.name.clone(), None),
            None => {
                eprintln!("error: the script declares no model to draw");
                eprintln!("  = help: a template needs --model 'NAME(ARGS)'");
                return Err(Failed);
            }
        },
    };
    let Some(found) = checked.find(Some(&name)) else {
        let names: Vec<&str> = checked.models.iter().map(|m| m.name.as_str()).collect();
        eprintln!("error: no model named `{name}`");
        match crate::diag::suggest(&name, names.iter().copied()) {
            Some(s) => eprintln!("  = help: did you mean `{s}`?"),
            None => eprintln!("  = help: the models are {}", names.join(", ")),
        }
        return Err(Failed);
    };
    match (&found.template_params, args) {
        (None, None) => found.model.clone().ok_or_else(|| {
            eprintln!(
                "error: model `{name}` uses values known only when the script runs, so it cannot be drawn statically"
            );
            eprintln!("  = help: call graph({name}) inside the script instead");
            Failed
        }),
        (None, Some(_)) => {
            eprintln!("error: `{name}` is a model, not a template; it takes no arguments");
            eprintln!("  = help: write --model {name}");
            Err(Failed)
        }
        (Some(ps), None) => {
            eprintln!("error: `{name}` is a template; give its arguments");
            eprintln!("  = help: write --model '{name}({})'", ps.join(", "));
            Err(Failed)
        }
        (Some(ps), Some(values)) => {
            if ps.len() != values.len() {
                eprintln!(
                    "error: template `{name}` takes {} argument(s), got {}",
                    ps.len(),
                    values.len()
                );
                return Err(Failed);
            }
            let decl = program
                .stmts
                .iter()
                .rev()
                .find_map(|s| match &s.kind {
                    ast::StmtKind::Model(d) if d.name.name == name => Some(d),
                    _ => None,
                })
                .expect("a checked template has a declaration");
            let args: Vec<(String, Option<crate::array::Array>)> = ps
                .iter()
                .cloned()
                .zip(values.into_iter().map(|v| Some(crate::array::Array::scalar(v))))
                .collect();
            let lowered = lower::lower_model(decl, &lower::NoScript, &args);
            match lowered.model {
                Some(m) => Ok(m),
                None => {
                    eprintln!("error: cannot make the model {name}{}", render_args(&args));
                    if lowered.diags.is_empty() {
                        eprintln!("  = note: it uses values known only when the script runs");
                    }
                    eprint!("{}", src.render(&lowered.diags));
                    Err(Failed)
                }
            }
        }
    }
}

fn render_args(args: &[(String, Option<crate::array::Array>)]) -> String {
    let vals: Vec<String> = args
        .iter()
        .map(|(_, v)| {
            v.as_ref()
                .and_then(|a| a.as_scalar())
                .map_or("?".into(), crate::array::format_number)
        })
        .collect();
    format!("({})", vals.join(", "))
}

/// `NAME` or `NAME(n, ...)` with numeric arguments.
fn parse_model_spec(s: &str) -> Result<(String, Option<Vec<f64>>), Failed> {
    let bad = || {
        eprintln!("error: --model expects NAME or NAME(ARGS) with numbers, got `{s}`");
        Failed
    };
    let Some(open) = s.find('(') else {
        return Ok((s.trim().to_string(), None));
    };
    let inner = s[open + 1..].trim_end().strip_suffix(')').ok_or_else(bad)?;
    let args = inner
        .split(',')
        .filter(|a| !a.trim().is_empty())
        .map(|a| a.trim().parse::<f64>().map_err(|_| bad()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((s[..open].trim().to_string(), Some(args)))
}
