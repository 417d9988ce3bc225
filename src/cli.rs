//! The `gmm` command line: parse arguments, run one command, map the outcome to an exit status
//! (0 success, 1 a diagnostic, 2 bad usage).

use crate::check::{self, Checked};
use crate::console::Stopped;
use crate::diag::{Diag, Source};
use crate::files::Access;
use crate::infer::em::{Init, Options, Progress};
use crate::interp::Interp;
use crate::interp::bind::bind;
use crate::interp::data::{Dataset, load_csv, sample_rows};
use crate::interp::source::model_source;
use crate::model::Model;
use crate::model::dot::{Observed, to_dot};
use crate::syntax::{self, Program, ast};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// gmm: mixture models and their graphical models, written as math.
#[derive(Parser, Debug)]
#[command(name = "gmm", version, about)]
struct Cli {
    /// What to do; without a command, the REPL.
    #[command(subcommand)]
    command: Option<Command>,
    /// Stop a command that runs longer than this many seconds (a runaway loop, a huge fit)
    /// with an error; in the REPL the limit applies to each input.
    #[arg(display_order = 100, long = "time-limit", global = true, value_parser = positive_seconds)]
    time_limit: Option<f64>,
    /// Let the script read this file or folder (and below), besides its own folder and the
    /// working directory; repeatable.
    #[arg(
        display_order = 100,
        long = "allow-read",
        global = true,
        value_name = "PATH"
    )]
    allow_read: Vec<PathBuf>,
    /// Let the script write this file or folder (and below); repeatable.
    #[arg(
        display_order = 100,
        long = "allow-write",
        global = true,
        value_name = "PATH"
    )]
    allow_write: Vec<PathBuf>,
    /// Let the script read and write any file.
    #[arg(display_order = 100, long = "allow-all", global = true)]
    allow_all: bool,
}

impl Cli {
    /// What a script may read and write: the working directory, the folder of `script`, and
    /// what the flags allow.
    fn access(&self, script: Option<&Path>) -> Access {
        let mut access = Access::working_dir();
        if let Some(dir) = script.and_then(Path::parent) {
            access.allow_folder(dir);
        }
        for p in &self.allow_read {
            access.allow_read(p);
        }
        for p in &self.allow_write {
            access.allow_write(p);
        }
        if self.allow_all {
            access.allow_all();
        }
        access
    }
}

#[derive(Subcommand, Debug)]
enum Jupyter {
    /// Register the `gmm` kernel with Jupyter: write its kernelspec (kernel.json and logos).
    Install {
        /// Into the user's Jupyter data folder (~/.local/share/jupyter/kernels/gmm; the
        /// default).
        #[arg(long)]
        user: bool,
        /// Into PREFIX/share/jupyter/kernels/gmm instead, e.g. a virtual environment's.
        #[arg(long, value_name = "DIR", conflicts_with = "user")]
        prefix: Option<PathBuf>,
    },
    /// Run the kernel (what Jupyter starts, with its connection file).
    Kernel {
        /// The connection file Jupyter wrote.
        #[arg(short = 'f', long = "connection-file", value_name = "CONNECTION_FILE")]
        connection_file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum Command {
    /// An interactive session (the default); reads statements from stdin when it is not a
    /// terminal.
    Repl {
        /// A script to run first.
        file: Option<PathBuf>,
    },
    /// Run a script.
    Run {
        /// The .gmm script.
        file: PathBuf,
    },
    /// Draw data-plate copies from a model by ancestral sampling; CSV to stdout or --out.
    Sample {
        /// The .gmm script.
        file: PathBuf,
        /// How many copies (rows) to draw.
        #[arg(short = 'n', long = "rows")]
        n: usize,
        /// The model to sample (default: the script's last model); a template with its
        /// arguments, e.g. `mix(3)`.
        #[arg(long)]
        model: Option<String>,
        /// Seed of the random generator.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Write the CSV here (atomically) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Name the output's columns otherwise, e.g. `x[0]=eruptions,x[1]=waiting`.
        #[arg(long, value_name = "NAME=COLUMN,...", value_delimiter = ',', value_parser = column_pair)]
        columns: Vec<(String, String)>,
    },
    /// Fit a model's parameters to a CSV by EM; print the fitted model as .gmm source.
    ///
    /// Scripts can do the same with `fit(m, data, ...)`, whose options these flags mirror.
    Fit {
        /// The .gmm script.
        file: PathBuf,
        /// The CSV data; columns bind to the model's variables by name (see --columns).
        #[arg(long)]
        data: PathBuf,
        /// The model to fit (default: the script's last model); a template with its
        /// arguments, e.g. `mix(3)`.
        #[arg(long)]
        model: Option<String>,
        /// Read the model's names from other CSV columns, e.g.
        /// `x[0]=eruptions,x[1]=waiting`.
        #[arg(long, value_name = "NAME=COLUMN,...", value_delimiter = ',', value_parser = column_pair)]
        columns: Vec<(String, String)>,
        /// Write the fitted model here (atomically) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// At most this many EM iterations.
        #[arg(long = "max-iter", default_value_t = Options::default().max_iter)]
        max_iter: usize,
        /// Stop when the log-likelihood per row changes by less than this (0: run max-iter).
        #[arg(long, default_value = "1e-6", value_parser = non_negative, allow_negative_numbers = true)]
        tol: f64,
        /// Number of initialisations; the best final log-likelihood wins.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=crate::infer::em::MAX_RESTARTS as u64))]
        restarts: u64,
        /// Sieving: run every restart this many iterations, then continue only the best
        /// --sieve-keep of them (0: no sieving).
        #[arg(long = "sieve-iter", default_value_t = 0)]
        sieve_iter: usize,
        /// How many restarts continue after sieving [default: max(1, restarts / 10)].
        #[arg(long = "sieve-keep", value_parser = clap::value_parser!(u64).range(1..))]
        sieve_keep: Option<u64>,
        /// Seed of every random choice of the fit.
        #[arg(long, default_value_t = Options::default().seed)]
        seed: u64,
        /// How to start: from the model's values (given), k-means, random responsibilities,
        /// or given when every learned parameter has a value and k-means otherwise (auto).
        #[arg(long, default_value = "auto", value_parser = ["auto", "given", "kmeans", "random"])]
        init: String,
        /// Added to every variance and covariance diagonal after each M-step.
        #[arg(long, default_value = "1e-6", value_parser = non_negative, allow_negative_numbers = true)]
        reg: f64,
        /// A CSV column of non-negative row weights (a weighted likelihood).
        #[arg(long, value_name = "COLUMN")]
        weights: Option<String>,
        /// Parameters held at their given values, e.g. `pi,mu`.
        #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
        fixed: Vec<String>,
        /// Print the log-likelihood after every iteration (on stderr).
        #[arg(long)]
        verbose: bool,
        /// Ignore the parameters' priors: maximum likelihood instead of the posterior mode.
        #[arg(long = "no-priors")]
        no_priors: bool,
    },
    /// Fill every missing cell of a CSV from the rest of its row under a model: a continuous
    /// entry by its conditional mean, a discrete one by its most probable value; CSV to
    /// stdout or --out, with the input's columns in their order.
    ///
    /// Scripts can do the same with `impute(m, data)`.
    Impute {
        /// The .gmm script.
        file: PathBuf,
        /// The CSV data; columns bind to the model's variables by name (see --columns).
        #[arg(long)]
        data: PathBuf,
        /// The model (default: the script's last model); a template with its arguments,
        /// e.g. `mix(3)`.
        #[arg(long)]
        model: Option<String>,
        /// Read the model's names from other CSV columns, e.g.
        /// `x[0]=eruptions,x[1]=waiting` (the output keeps the CSV's names).
        #[arg(long, value_name = "NAME=COLUMN,...", value_delimiter = ',', value_parser = column_pair)]
        columns: Vec<(String, String)>,
        /// Write the CSV here (atomically) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
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
    /// A language server over stdio, for editors (diagnostics, hover, completion, …).
    Lsp,
    /// The Jupyter kernel: `install` registers it, `kernel` runs it.
    Jupyter {
        #[command(subcommand)]
        what: Jupyter,
    },
    /// Print a model's joint distribution as LaTeX, factorised as its graph says.
    Tex {
        /// The .gmm script.
        file: PathBuf,
        /// The model (default: the script's last model); a template with its arguments,
        /// e.g. `mix(3)`.
        #[arg(long)]
        model: Option<String>,
        /// Plain Unicode for the terminal instead of LaTeX (what `joint(m)` prints).
        #[arg(long)]
        unicode: bool,
    },
    /// Print a model as a Graphviz DOT plate diagram.
    Graph {
        /// The .gmm script.
        file: PathBuf,
        /// The model to draw (default: the script's last model); a template with its
        /// arguments, e.g. `mix(3)`.
        #[arg(long)]
        model: Option<String>,
        /// Graphviz DOT, an SVG picture laid out by gmm (no Graphviz needed), or a drawing in
        /// text for the terminal.
        #[arg(long, default_value = "dot", value_parser = ["dot", "svg", "text"])]
        format: String,
    },
}

/// A failure that ends the command with exit status 1.
struct Failed;

/// Runs the command line and returns the process exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and usage errors take the same path as every other output; colours only
            // for a terminal.
            use std::io::IsTerminal;
            let tty = if e.use_stderr() {
                std::io::stderr().is_terminal()
            } else {
                std::io::stdout().is_terminal()
            };
            let rendered = e.render();
            let text = if tty {
                rendered.ansi().to_string()
            } else {
                rendered.to_string()
            };
            if e.use_stderr() {
                crate::console::err(&text);
                return ExitCode::from(2);
            }
            return match crate::console::out(text.as_bytes()) {
                Ok(()) | Err(Stopped::Closed) => crate::console::exit_code(true),
                Err(Stopped::Failed(_)) => ExitCode::from(1),
            };
        }
    };
    let limit = cli.time_limit.map(std::time::Duration::from_secs_f64);
    crate::interrupt::set_time_limit(limit);
    crate::files::clean_up_on_signals(true);
    let script = match &cli.command {
        Some(Command::Run { file } | Command::Repl { file: Some(file) }) => Some(file.as_path()),
        _ => None,
    };
    let access = cli.access(script);
    let result = match cli.command {
        None => return crate::repl::main(None, access),
        Some(Command::Repl { file }) => return crate::repl::main(file.as_deref(), access),
        Some(Command::Jupyter {
            what: Jupyter::Kernel { connection_file },
        }) => return crate::kernel::main(&connection_file, access),
        Some(Command::Lsp) => return crate::lsp::main(),
        Some(command) => run_command(command, access),
    };
    crate::console::exit_code(result.is_ok())
}

/// Runs a command other than the REPL; `access` limits the files a script may use.
fn run_command(command: Command, access: Access) -> Result<(), Failed> {
    match command {
        Command::Repl { .. }
        | Command::Lsp
        | Command::Jupyter {
            what: Jupyter::Kernel { .. },
        } => unreachable!("the REPL, the kernel and the language server are started by main"),
        Command::Jupyter {
            what: Jupyter::Install { user: _, prefix },
        } => cmd_jupyter_install(prefix.as_deref()),
        Command::Run { file } => cmd_run(&file, access),
        Command::Sample {
            file,
            n,
            model,
            seed,
            out,
            columns,
        } => cmd_sample(&file, n, model.as_deref(), seed, out.as_deref(), &columns),
        Command::Fit {
            file,
            data,
            model,
            columns,
            out,
            max_iter,
            tol,
            restarts,
            sieve_iter,
            sieve_keep,
            seed,
            init,
            reg,
            weights,
            fixed,
            verbose,
            no_priors,
        } => {
            let opts = Options {
                max_iter,
                tol,
                reg,
                init: match init.as_str() {
                    "given" => Init::Given,
                    "kmeans" => Init::KMeans,
                    "random" => Init::Random,
                    _ => Init::Auto,
                },
                restarts: restarts as usize,
                sieve_iter,
                sieve_keep: sieve_keep.map(|k| k as usize),
                seed,
                priors: !no_priors,
                ..Options::default()
            };
            let how = FitRequest {
                model: model.as_deref(),
                out: out.as_deref(),
                columns: &columns,
                weights: weights.as_deref(),
                fixed: &fixed,
                verbose,
            };
            cmd_fit(&file, &data, &how, opts)
        }
        Command::Impute {
            file,
            data,
            model,
            columns,
            out,
        } => cmd_impute(&file, &data, model.as_deref(), &columns, out.as_deref()),
        Command::Check { file } => cmd_check(&file),
        Command::Fmt { file } => cmd_fmt(&file),
        Command::Graph {
            file,
            model,
            format,
        } => cmd_graph(&file, model.as_deref(), &format),
        Command::Tex {
            file,
            model,
            unicode,
        } => cmd_tex(&file, model.as_deref(), unicode),
    }
}

/// `gmm jupyter install`: writes the kernelspec and says where.
fn cmd_jupyter_install(prefix: Option<&Path>) -> Result<(), Failed> {
    let installed = crate::kernel::install::folder(prefix).and_then(|dir| {
        let exe = std::env::current_exe()
            .and_then(|e| e.canonicalize())
            .map_err(|e| format!("cannot find the gmm binary: {e}"))?;
        crate::kernel::install::write(&dir, &exe)?;
        Ok(dir)
    });
    match installed {
        Ok(dir) => write_stdout(
            format!(
                "installed the Jupyter kernel `gmm` in {}\nstart Jupyter with `jupyter lab` or `jupyter notebook` and pick the kernel gmm\n",
                dir.display()
            )
            .as_bytes(),
        ),
        Err(e) => Err(fail(Diag::error_nowhere(e).help(
            "give a folder you can write with --prefix DIR (the kernelspec goes in DIR/share/jupyter/kernels/gmm)",
        ))),
    }
}

/// Reads a script named on the command line, reporting an unreadable file as a diagnostic.
fn read_source(path: &Path) -> Result<Source, Failed> {
    let name = path.display().to_string();
    let bytes = crate::files::read_named(path).map_err(file_failure)?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(name, text)),
        Err(e) => {
            let (line, col) = crate::diag::utf8_position(&e);
            Err(fail(
                Diag::error_nowhere(format!("{name}:{line}:{col}: the file is not UTF-8 text"))
                    .help("save the file as UTF-8"),
            ))
        }
    }
}

/// A file that could not be read or written, as a failure.
fn file_failure(e: crate::files::FileError) -> Failed {
    let help = e.help();
    fail(Diag::error_nowhere(e.to_string()).help(help))
}

/// Writes a command's output to stdout. A reader that stopped early (`gmm fmt f | head`) is
/// not an error: the output simply ends.
fn write_stdout(bytes: &[u8]) -> Result<(), Failed> {
    match crate::console::out(bytes) {
        Ok(()) | Err(Stopped::Closed) => Ok(()),
        Err(Stopped::Failed(e)) => Err(fail(
            Diag::error_nowhere(format!("cannot write output: {e}"))
                .help("free space on the device the output goes to, or send it elsewhere"),
        )),
    }
}

/// Prints a diagnostic about no place in a file (a path, a flag) and fails.
fn fail(d: Diag) -> Failed {
    crate::console::err(&Source::new("", "").render(&[d]));
    Failed
}

/// Prints diagnostics to stderr; fails when any is an error.
fn report(src: &Source, diags: &[Diag]) -> Result<(), Failed> {
    if !diags.is_empty() {
        crate::console::err(&src.render(diags));
    }
    if diags.iter().any(|d| d.is_error()) {
        Err(Failed)
    } else {
        Ok(())
    }
}

/// Parses, printing diagnostics.
fn parse(src: &Source) -> Result<Program, Failed> {
    syntax::parse(&src.text).map_err(|d| {
        let _ = report(src, &d);
        Failed
    })
}

/// Parses and checks, printing diagnostics.
fn front_end(src: &Source) -> Result<(Program, Checked), Failed> {
    let program = parse(src)?;
    let checked = check::check_program(&program);
    report(src, &checked.diags)?;
    Ok((program, checked))
}

/// [`front_end`] for a script that runs: also warns about values it computes and drops.
fn front_end_script(src: &Source) -> Result<(Program, Checked), Failed> {
    let (program, checked) = check::script(&src.text);
    report(src, &checked.diags)?;
    Ok((program.ok_or(Failed)?, checked))
}

fn cmd_check(path: &Path) -> Result<(), Failed> {
    let src = read_source(path)?;
    let (_, checked) = front_end_script(&src)?;
    let mut text = format!("{}: ok\n", src.name);
    for m in &checked.models {
        let line = match (&m.model, &m.template_params) {
            (Some(model), _) => model.summary(),
            (None, Some(ps)) => format!("template {}({})", m.name, ps.join(", ")),
            (None, None) => format!(
                "model {}: uses values known only when the script runs",
                m.name
            ),
        };
        text.push_str(&format!("  {line}\n"));
    }
    write_stdout(text.as_bytes())
}

fn cmd_run(path: &Path, access: Access) -> Result<(), Failed> {
    let src = read_source(path)?;
    let (program, _) = front_end_script(&src)?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut interp = Interp::new(base, Box::new(crate::console::Stdout))
        .with_access(access)
        .with_diagnostics(src.name.clone(), Box::new(crate::console::Stderr));
    match interp.run(&program, &src.text) {
        Ok(()) => Ok(()),
        // The reader of stdout stopped early (`gmm run f | head`): the script just ends.
        Err(diags) if diags.is_empty() => Ok(()),
        Err(diags) => Err(report(&src, &diags).expect_err("a failure has an error")),
    }
}

fn cmd_sample(
    path: &Path,
    n: usize,
    model: Option<&str>,
    seed: u64,
    out: Option<&Path>,
    columns: &[(String, String)],
) -> Result<(), Failed> {
    let src = read_source(path)?;
    let (program, checked) = front_end(&src)?;
    let model = pick_model(&src, &program, &checked, model, Purpose::Sample)?;
    let mut rng = crate::infer::numeric::rng(seed);
    let mut data = sample_rows(&model, n, &mut rng).map_err(|e| {
        let help = e.help();
        fail(Diag::error_nowhere(e.to_string()).help_opt(help))
    })?;
    data.rename(columns, "--columns")
        .map_err(|e| fail(Diag::error_nowhere(e.to_string()).help(e.help())))?;
    let bytes = data.to_csv();
    match out {
        Some(p) => crate::files::write_named(p, &bytes, &[path]).map_err(file_failure),
        None => write_stdout(&bytes),
    }
}

/// `NAME=COLUMN`, for `--columns`: a model's name and a CSV column's.
fn column_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, column)) if !name.trim().is_empty() && !column.trim().is_empty() => {
            Ok((name.trim().to_string(), column.trim().to_string()))
        }
        _ => Err(format!(
            "`{s}` is not NAME=COLUMN; write e.g. x[0]=eruptions,x[1]=waiting"
        )),
    }
}

/// A number of seconds > 0, for `--time-limit`.
fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 1e9 => Ok(x),
        Ok(_) => Err("must be a number of seconds > 0 (at most 1e9)".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A number ≥ 0, for `--tol` and `--reg`.
fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
        Ok(_) => Err("must be a finite number ≥ 0".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// What `gmm fit` was asked besides the script, the data and the EM options.
struct FitRequest<'a> {
    model: Option<&'a str>,
    out: Option<&'a Path>,
    /// The model's names read from other columns: (name, column).
    columns: &'a [(String, String)],
    /// The column of row weights.
    weights: Option<&'a str>,
    /// Parameters held fixed, by name.
    fixed: &'a [String],
    verbose: bool,
}

fn cmd_fit(
    path: &Path,
    data_path: &Path,
    how: &FitRequest,
    mut opts: Options,
) -> Result<(), Failed> {
    let src = read_source(path)?;
    let (program, checked) = front_end(&src)?;
    let model = pick_model(&src, &program, &checked, how.model, Purpose::Fit)?;
    let out = how.out;
    let shown = data_path.display().to_string();
    let data = load_data(data_path, how.columns)?;
    let weights = match how.weights {
        None => None,
        Some(column) => {
            let w = data.column_numbers(column).map_err(|e| {
                fail(Diag::error_nowhere(format!("--weights: {shown}: {e}")).help(e.help()))
            })?;
            crate::interp::check_weights(&w).map_err(|why| {
                fail(
                    Diag::error_nowhere(format!("{shown}, column `{column}`: {why}"))
                        .help("--weights names a column of non-negative numbers, not all zero"),
                )
            })?;
            Some(w)
        }
    };
    opts.fixed = crate::interp::fixed_params(&model, how.fixed)
        .map_err(|(what, help)| fail(Diag::error_nowhere(format!("--fixed: {what}")).help(help)))?;
    let bound = bind(&model, &data, weights).map_err(data_failure)?;
    let opts = &opts;
    let posterior = opts.maximises_posterior(&model);
    let mut report = crate::interp::Reporter::new(&model.name, opts.restarts, how.verbose, true)
        .posterior(posterior);
    let mut progress = |p: Progress| {
        if let Some(line) = report.line(&p) {
            crate::console::err(&format!("{line}\n"));
        }
        true
    };
    let fitted = crate::infer::em::fit(&model, &bound, opts, &mut progress).map_err(|e| {
        let help = e.help();
        fail(Diag::error_nowhere(format!("fit of `{}`: {e}", model.name)).help_opt(help))
    })?;
    if let Some(line) = report.closing(fitted.iterations, fitted.logpost.unwrap_or(fitted.loglik)) {
        // After progress lines, the final state, so the last line on stderr is the result.
        crate::console::err(&format!("{line}\n"));
    }
    if let Some(note) = crate::interp::supervised_note(&model, &bound) {
        crate::console::err(&format!("note: {note}\n"));
    }
    for w in &fitted.warnings {
        let d = Diag::warning_nowhere(format!("fit of `{}`: {w}", model.name));
        crate::console::err(&src.render(&[d]));
    }
    let logpost = fitted.logpost.map_or(String::new(), |lp| {
        format!("# logpost = {}\n", crate::array::format_number(lp))
    });
    let text = format!(
        "{}# loglik = {}\n{logpost}# iterations = {}\n# converged = {}\n",
        model_source(&fitted.model),
        crate::array::format_number(fitted.loglik),
        fitted.iterations,
        fitted.converged
    );
    match out {
        Some(p) => {
            crate::files::write_named(p, text.as_bytes(), &[path, data_path]).map_err(file_failure)
        }
        None => write_stdout(text.as_bytes()),
    }
}

fn data_failure(e: crate::interp::data::DataError) -> Failed {
    let help = e.help();
    fail(Diag::error_nowhere(e.to_string()).help(help))
}

/// Reads the CSV `data_path` with at least one row, its columns renamed to the model's names
/// by `--columns` (`NAME=COLUMN` pairs).
fn load_data(data_path: &Path, columns: &[(String, String)]) -> Result<Dataset, Failed> {
    let shown = data_path.display().to_string();
    let mut data = load_csv(data_path, &shown).map_err(data_failure)?;
    if data.rows == 0 {
        return Err(fail(
            Diag::error_nowhere(format!(
                "{shown}, line 2: the file has a header but no rows"
            ))
            .help("add the data below the header line"),
        ));
    }
    let to_model: Vec<(String, String)> = columns
        .iter()
        .map(|(name, column)| (column.clone(), name.clone()))
        .collect();
    data.rename(&to_model, "--columns").map_err(|e| {
        fail(Diag::error_nowhere(format!("--columns: {shown}: {e}")).help(e.help()))
    })?;
    Ok(data)
}

/// `gmm impute`: the CSV with every missing cell of the model's variables filled, its columns
/// (and their names) as in the input.
fn cmd_impute(
    path: &Path,
    data_path: &Path,
    model: Option<&str>,
    columns: &[(String, String)],
    out: Option<&Path>,
) -> Result<(), Failed> {
    let src = read_source(path)?;
    let (program, checked) = front_end(&src)?;
    let model = pick_model(&src, &program, &checked, model, Purpose::Impute)?;
    let data = load_data(data_path, columns)?;
    let mut filled = crate::interp::bind::impute(&model, &data).map_err(|e| match e {
        crate::interp::bind::RowsError::Data(e) => data_failure(e),
        crate::interp::bind::RowsError::Infer(e) => {
            let help = e.help();
            fail(Diag::error_nowhere(format!("impute with `{}`: {e}", model.name)).help_opt(help))
        }
    })?;
    filled
        .rename(columns, "--columns")
        .map_err(|e| fail(Diag::error_nowhere(e.to_string()).help(e.help())))?;
    let bytes = filled.to_csv();
    match out {
        Some(p) => crate::files::write_named(p, &bytes, &[path, data_path]).map_err(file_failure),
        None => write_stdout(&bytes),
    }
}

fn cmd_fmt(path: &Path) -> Result<(), Failed> {
    let src = read_source(path)?;
    let program = parse(&src)?;
    write_stdout(syntax::fmt::format_program(&program, &src.text).as_bytes())
}

fn cmd_graph(path: &Path, model: Option<&str>, format: &str) -> Result<(), Failed> {
    let src = read_source(path)?;
    let (program, checked) = front_end(&src)?;
    let model = pick_model(&src, &program, &checked, model, Purpose::Draw)?;
    let text = match format {
        "svg" => {
            crate::plot::diagram::to_svg(&crate::plot::diagram::layout(&model, Observed::Leaves))
        }
        "text" => {
            crate::plot::diagram::to_text(&crate::plot::diagram::layout(&model, Observed::Leaves))
        }
        _ => to_dot(&model, Observed::Leaves),
    };
    write_stdout(text.as_bytes())
}

fn cmd_tex(path: &Path, model: Option<&str>, unicode: bool) -> Result<(), Failed> {
    use crate::model::tex::{Notation, joint};
    let src = read_source(path)?;
    let (program, checked) = front_end(&src)?;
    let model = pick_model(&src, &program, &checked, model, Purpose::Tex)?;
    let notation = if unicode {
        Notation::Unicode
    } else {
        Notation::Latex
    };
    write_stdout(format!("{}\n", joint(&model, notation)).as_bytes())
}

/// What a command does with the model it picks, for messages.
#[derive(Clone, Copy)]
enum Purpose {
    Fit,
    Impute,
    Sample,
    Draw,
    Tex,
}

impl Purpose {
    fn verb(self) -> &'static str {
        match self {
            Purpose::Fit => "fit",
            Purpose::Impute => "impute with",
            Purpose::Sample => "sample",
            Purpose::Draw => "draw",
            Purpose::Tex => "write as a formula",
        }
    }

    /// The script's own way to do it.
    fn call(self, name: &str) -> String {
        match self {
            Purpose::Fit => format!("fit({name}, data)"),
            Purpose::Impute => format!("impute({name}, data)"),
            Purpose::Sample => format!("sample({name}, n)"),
            Purpose::Draw => format!("graph({name})"),
            Purpose::Tex => format!("tex({name})"),
        }
    }
}

/// The model `--model` names (or the last plain model), lowered; a template needs arguments.
fn pick_model(
    src: &Source,
    program: &Program,
    checked: &Checked,
    spec: Option<&str>,
    purpose: Purpose,
) -> Result<Model, Failed> {
    let (name, args) = match spec {
        Some(s) => parse_model_spec(s)?,
        None => match checked.find(None) {
            Some(m) => (m.name.clone(), None),
            None => {
                let help = match checked.models.iter().find(|m| m.template_params.is_some()) {
                    Some(t) => format!(
                        "`{}` is a template: give its arguments with --model '{}({})'",
                        t.name,
                        t.name,
                        t.template_params.as_deref().unwrap_or_default().join(", ")
                    ),
                    None => "declare one with `model NAME { ... }`".into(),
                };
                return Err(fail(
                    Diag::error_nowhere(format!(
                        "{} declares no model to {}",
                        src.name,
                        purpose.verb()
                    ))
                    .help(help),
                ));
            }
        },
    };
    let Some(found) = checked.find(Some(&name)) else {
        let names: Vec<&str> = checked.models.iter().map(|m| m.name.as_str()).collect();
        let hint = crate::diag::suggest(&name, names.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| format!("the models are {}", names.join(", ")));
        return Err(fail(
            Diag::error_nowhere(format!("no model named `{name}`")).help(hint),
        ));
    };
    match (&found.template_params, args) {
        (None, None) => found.model.clone().ok_or_else(|| {
            fail(
                Diag::error_nowhere(format!(
                    "model `{name}` uses values known only when the script runs, so `gmm` cannot {} it before running",
                    purpose.verb()
                ))
                .help(format!("call {} inside the script instead", purpose.call(&name))),
            )
        }),
        (None, Some(_)) => Err(fail(
            Diag::error_nowhere(format!(
                "`{name}` is a model, not a template; it takes no arguments"
            ))
            .help(format!("write --model {name}")),
        )),
        (Some(ps), None) => Err(fail(
            Diag::error_nowhere(format!("`{name}` is a template; give its arguments"))
                .help(format!("write --model '{name}({})'", ps.join(", "))),
        )),
        (Some(ps), Some(values)) if ps.len() != values.len() => Err(fail(
            Diag::error_nowhere(format!(
                "template `{name}` takes {} argument(s), got {}",
                ps.len(),
                values.len()
            ))
            .help(format!("write --model '{name}({})'", ps.join(", "))),
        )),
        (Some(ps), Some(values)) => {
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
            let interp = Interp::new(PathBuf::from("."), Box::new(std::io::sink()));
            interp.lower_alone(decl, &args).map_err(|diags| {
                let spec = spec.unwrap_or_default();
                let _ = fail(Diag::error_nowhere(format!("cannot make the model {spec}")));
                let _ = report(src, &diags);
                Failed
            })
        }
    }
}

/// `NAME` or `NAME(n, ...)` with numeric arguments.
fn parse_model_spec(s: &str) -> Result<(String, Option<Vec<f64>>), Failed> {
    let bad = || {
        fail(Diag::error_nowhere(format!(
            "--model expects NAME or NAME(ARGS) with numbers, got `{s}`"
        )))
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
