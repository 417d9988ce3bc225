//! The REPL: `gmm` and `gmm repl [FILE]`. A [`Session`] runs one complete input at a time —
//! statements or a `:command` — against a persistent interpreter, echoing values and model
//! summaries and printing diagnostics that point into the input, and goes on after errors. On a
//! terminal, rustyline reads the input (history, highlighting, completion, continuation while
//! brackets are open); from a pipe, the same session reads stdin. The notebook kernel runs the
//! same session, with its own [`Show`] for values, and asks it for completions and help.

pub mod help;
mod helper;

use crate::diag::{Diag, Source, suggest};
use crate::files::Access;
use crate::interp::{Interp, Rich, Value};
use crate::syntax::{self, StmtKind, lex};
use helper::{GmmHelper, Scope};
use rustyline::error::ReadlineError;
use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

/// The name typed input goes by in diagnostics.
const INPUT: &str = "<repl>";

/// The meta-commands.
pub const COMMANDS: &[&str] = &[
    ":help", ":load", ":models", ":vars", ":graph", ":joint", ":reset", ":quit",
];

/// A writer shared by the session and its interpreter.
#[derive(Clone)]
struct Shared(Rc<RefCell<Box<dyn Write>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// Whether to read another input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// `:quit`, or the output is gone.
    Quit,
}

/// How a session shows the value of a bare expression. Without one, the session writes the
/// value's text to its output, as the terminal shows it; the notebook kernel sends rich
/// displays instead.
pub trait Show {
    /// Shows `value`, the value of the bare expression `stmt`; `last` when `stmt` ends the
    /// input. An empty error means the output has gone.
    fn show(&mut self, stmt: &syntax::Stmt, value: &Value, last: bool) -> Result<(), Vec<Diag>>;

    /// Shows the session's own line about an input, such as the summary of a model it
    /// declared.
    fn echo(&mut self, line: &str);
}

/// An interactive session: the interpreter, and the source of every statement that ran (so
/// the checker sees each new input as a script would).
pub struct Session {
    interp: Interp,
    past: String,
    out: Shared,
    err: Shared,
    /// The files scripts may use; kept for `:reset`.
    access: Access,
    /// Set when the output device refused what the session wrote.
    output_failed: bool,
    /// How values are shown; `None` writes their text.
    show: Option<Box<dyn Show>>,
    /// The front end that shows progress and tables its own way; `None` writes them as text.
    rich: Option<Rc<dyn Rich>>,
}

impl Session {
    /// A fresh session writing results to `out` and diagnostics to `err`.
    pub fn new(out: Box<dyn Write>, err: Box<dyn Write>) -> Session {
        let out = Shared(Rc::new(RefCell::new(out)));
        let err = Shared(Rc::new(RefCell::new(err)));
        let access = Access::working_dir();
        Session {
            interp: fresh(&out, &err, &access, None),
            past: String::new(),
            out,
            err,
            access,
            output_failed: false,
            show: None,
            rich: None,
        }
    }

    /// The same session, showing fits' progress and tables through `rich`.
    pub fn with_rich(mut self, rich: Rc<dyn Rich>) -> Session {
        self.rich = Some(rich);
        self.interp = self.fresh();
        self
    }

    /// A fresh interpreter for this session.
    fn fresh(&self) -> Interp {
        fresh(&self.out, &self.err, &self.access, self.rich.clone())
    }

    /// The same session, showing values through `show`.
    pub fn with_show(mut self, show: Box<dyn Show>) -> Session {
        self.show = Some(show);
        self
    }

    /// The same session with scripts limited to the files `access` allows.
    pub fn with_access(mut self, access: Access) -> Session {
        self.access = access;
        self.interp = self.fresh();
        self
    }

    /// Runs one complete input; returns whether to go on and whether it succeeded.
    pub fn input(&mut self, text: &str) -> (Flow, bool) {
        self.input_named(text, INPUT)
    }

    /// Runs one complete input whose diagnostics call it `name` (a notebook's `In[3]`).
    pub fn input_named(&mut self, text: &str, name: &str) -> (Flow, bool) {
        crate::diag::reset_suggestions();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return (Flow::Continue, true);
        }
        if trimmed.starts_with(':') {
            return self.command(trimmed);
        }
        let text = if text.ends_with('\n') {
            text.to_string()
        } else {
            format!("{text}\n")
        };
        self.run_source(&text, name)
    }

    /// Completions for the cursor at byte `pos` of `text` (the REPL's Tab): the byte range
    /// they replace and the candidates.
    pub fn complete(&self, text: &str, pos: usize) -> (std::ops::Range<usize>, Vec<String>) {
        let pos = pos.min(text.len());
        let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let helper = GmmHelper::new(Rc::new(RefCell::new(self.scope())));
        let (start, candidates) = helper.candidates(&text[line_start..line_end], pos - line_start);
        (line_start + start..pos, candidates)
    }

    /// Help on the name around byte `pos` of `text`: a built-in's or a distribution's help, or
    /// what a name in scope holds. `None` when there is no such name.
    pub fn inspect(&self, text: &str, pos: usize) -> Option<String> {
        let pos = pos.min(text.len());
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let start = pos - lex::trailing_name(&text[..pos]).len();
        let end = text[pos..]
            .find(|c: char| !word(c))
            .map_or(text.len(), |i| pos + i);
        let name = &text[start..end];
        if name.is_empty() {
            return None;
        }
        if let Some(v) = self.interp.env.get(name) {
            // A value's kind names its shape, but for a dataset's.
            let shape = match v {
                Value::Data(_) => format!(", {}", shape_of(v)),
                _ => String::new(),
            };
            return Some(format!("{name}: {}{shape}\n{}\n", v.kind(), v.brief(2000)));
        }
        if crate::builtins::lookup(name).is_some() {
            return help::help(name);
        }
        None
    }

    /// Writes to the session's output; `Quit` when its reader has gone, or when the output
    /// cannot be written (said on stderr, and the session then fails).
    fn say(&mut self, text: &str) -> Flow {
        match write!(self.out, "{text}").and_then(|_| self.out.flush()) {
            Ok(()) => Flow::Continue,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Flow::Quit,
            Err(e) => {
                self.output_failed = true;
                self.complain(
                    INPUT,
                    "",
                    &[Diag::error_nowhere(format!("cannot write output: {e}"))],
                );
                Flow::Quit
            }
        }
    }

    /// Whether output was lost to a device that refused it.
    pub fn output_failed(&self) -> bool {
        self.output_failed
    }

    fn complain(&mut self, name: &str, text: &str, diags: &[Diag]) {
        let shown = Source::new(name, text).render(diags);
        let _ = write!(self.err, "{shown}").and_then(|_| self.err.flush());
    }

    /// Parses, checks (in the context of everything that ran before) and runs `text`,
    /// statement by statement, echoing bare expressions and model declarations.
    fn run_source(&mut self, text: &str, name: &str) -> (Flow, bool) {
        let program = match syntax::parse(text) {
            Ok(p) => p,
            Err(diags) => {
                self.complain(name, text, &diags);
                return (Flow::Continue, false);
            }
        };
        let offset = self.past.len();
        let full = format!("{}{text}", self.past);
        let checked = match syntax::parse(&full) {
            Ok(p) => crate::check::check_program(&p),
            Err(_) => crate::check::check_program(&program),
        };
        let diags: Vec<Diag> = checked
            .diags
            .into_iter()
            .filter(|d| d.span.is_none_or(|s| s.start >= offset))
            .map(|d| d.shifted_back(offset))
            .collect();
        if !diags.is_empty() {
            self.complain(name, text, &diags);
        }
        if diags.iter().any(|d| d.is_error()) {
            return (Flow::Continue, false);
        }
        self.interp.set_name(name);
        for (i, stmt) in program.stmts.iter().enumerate() {
            crate::interrupt::clear();
            let value = match self.interp.exec(stmt, text) {
                Ok(v) => v,
                // The reader of the output has gone.
                Err(diags) if diags.is_empty() => return (Flow::Quit, true),
                Err(diags) => {
                    self.complain(name, text, &diags);
                    return (Flow::Continue, false);
                }
            };
            self.past.push_str(&text[stmt.span.start..stmt.span.end]);
            self.past.push('\n');
            if let Some(v) = &value {
                let shown = match &mut self.show {
                    Some(show) => show.show(stmt, v, i + 1 == program.stmts.len()),
                    None => {
                        // A string or a picture is echoed without its last newline; other
                        // values stream.
                        let v = v.as_text().map_or_else(
                            || v.clone(),
                            |t| Value::Str(t.trim_end_matches('\n').to_string()),
                        );
                        self.interp
                            .write_values(std::slice::from_ref(&v), stmt.span)
                    }
                };
                match shown {
                    Ok(()) => continue,
                    Err(diags) if diags.is_empty() => return (Flow::Quit, true),
                    Err(diags) => {
                        self.complain(name, text, &diags);
                        return (Flow::Continue, false);
                    }
                }
            }
            let echo = match (&stmt.kind, value) {
                (StmtKind::Model(decl), None) => match self.interp.env.get(&decl.name.name) {
                    Some(Value::Model(m)) => Some(m.model.summary()),
                    Some(Value::Template(t)) => Some(template_line(t)),
                    _ => None,
                },
                _ => None,
            };
            if let Some(line) = echo {
                let line = format!("{}\n", line.trim_end_matches('\n'));
                if let Some(show) = &mut self.show {
                    show.echo(&line);
                } else if self.say(&line) == Flow::Quit {
                    return (Flow::Quit, true);
                }
            }
        }
        (Flow::Continue, true)
    }

    /// A `:command`.
    fn command(&mut self, line: &str) -> (Flow, bool) {
        let (cmd, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match cmd {
            ":quit" | ":q" | ":exit" => (Flow::Quit, true),
            ":help" | ":h" => match help::help(rest) {
                Some(text) => (self.say(&text), true),
                None => {
                    let topics: Vec<&str> = help::TOPICS
                        .iter()
                        .copied()
                        .chain(crate::builtins::BUILTINS.iter().map(|b| b.name))
                        .collect();
                    let hint = suggest(rest, topics.iter().copied())
                        .map(|s| format!(" did you mean `{s}`?"))
                        .unwrap_or_default();
                    self.error(format!(
                        "no help on `{rest}`.{hint} Topics: {}, or a built-in's name",
                        help::TOPICS.join(", ")
                    ))
                }
            },
            ":load" if !rest.is_empty() => {
                let path = PathBuf::from(rest.trim_matches('"'));
                self.load(&path)
            }
            ":models" => {
                let mut lines = String::new();
                for name in self.interp.env.names() {
                    match self.interp.env.get(&name) {
                        Some(Value::Model(m)) if m.model.name == name => {
                            lines.push_str(&format!("{}\n", m.model.summary()));
                        }
                        Some(Value::Model(m)) => {
                            lines.push_str(&format!("{name}: {}\n", m.model.summary()));
                        }
                        Some(Value::Template(t)) => {
                            lines.push_str(&format!("{}\n", template_line(t)));
                        }
                        _ => {}
                    }
                }
                if lines.is_empty() {
                    lines.push_str("no models yet; declare one with `model NAME { ... }`\n");
                }
                (self.say(&lines), true)
            }
            ":vars" => {
                let rows: Vec<(String, String, String)> = self
                    .interp
                    .env
                    .names()
                    .into_iter()
                    .filter_map(|n| {
                        let v = self.interp.env.get(&n)?;
                        Some((n, v.kind(), shape_of(v)))
                    })
                    .collect();
                let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
                let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(4).max(4);
                let mut text = format!("{:w0$}  {:w1$}  shape\n", "name", "kind");
                for (n, k, s) in &rows {
                    let line = format!("{n:w0$}  {k:w1$}  {s}");
                    text.push_str(line.trim_end());
                    text.push('\n');
                }
                if rows.is_empty() {
                    text = "no names yet\n".into();
                }
                (self.say(&text), true)
            }
            ":graph" if !rest.is_empty() => {
                self.run_source(&format!("print graph({rest}, format = \"text\")\n"), INPUT)
            }
            ":joint" if !rest.is_empty() => {
                self.run_source(&format!("print joint({rest})\n"), INPUT)
            }
            ":reset" => {
                self.interp = self.fresh();
                self.past.clear();
                (self.say("every name and model is forgotten\n"), true)
            }
            ":load" | ":graph" | ":joint" => self.error(format!(
                "{cmd} needs an argument: {}",
                match cmd {
                    ":load" => ":load FILE",
                    ":graph" => ":graph MODEL",
                    _ => ":joint MODEL",
                }
            )),
            _ => {
                let hint = suggest(cmd, COMMANDS.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                self.error(format!(
                    "unknown command `{cmd}`; {hint}the commands are {}",
                    COMMANDS.join(" ")
                ))
            }
        }
    }

    fn error(&mut self, msg: String) -> (Flow, bool) {
        self.complain(INPUT, "", &[Diag::error_nowhere(msg)]);
        (Flow::Continue, false)
    }

    /// Runs the script `path` in the session; its relative paths resolve against its folder.
    pub fn load(&mut self, path: &Path) -> (Flow, bool) {
        let shown = path.display().to_string();
        let text = match self.access.read(path, &shown) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let (line, col) = crate::diag::utf8_position(&e);
                    return self.error(format!("{shown}:{line}:{col}: the file is not UTF-8 text"));
                }
            },
            Err(e) => {
                let d = Diag::error_nowhere(e.to_string()).help(e.help());
                self.complain(INPUT, "", &[d]);
                return (Flow::Continue, false);
            }
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let before = self.interp.set_base(dir);
        let text = if text.ends_with('\n') {
            text
        } else {
            format!("{text}\n")
        };
        let result = self.run_source(&text, &shown);
        self.interp.set_base(before);
        result
    }

    /// What completion can offer: the names in scope, with their fields.
    fn scope(&self) -> Scope {
        let mut scope = Scope::default();
        for name in self.interp.env.names() {
            let fields = match self.interp.env.get(&name) {
                Some(Value::Model(m)) => {
                    let mut f: Vec<String> = m
                        .model
                        .params
                        .iter()
                        .map(|p| p.name.clone())
                        .chain(m.model.consts.iter().map(|c| c.name.clone()))
                        .collect();
                    if m.fit.is_some() {
                        f.extend(crate::interp::FIT_FIELDS.map(String::from));
                    }
                    f.extend(["p(", "logp("].map(String::from));
                    f
                }
                Some(Value::Record(r)) => r.fields.iter().map(|(n, _)| n.clone()).collect(),
                Some(Value::Data(d)) => {
                    let mut f: Vec<String> = Vec::new();
                    for c in d.names() {
                        let base = c.split('[').next().unwrap_or(&c).to_string();
                        if !f.contains(&base) {
                            f.push(base);
                        }
                    }
                    f
                }
                _ => Vec::new(),
            };
            scope.names.push((name, fields));
        }
        scope
    }
}

/// An interpreter for the session: relative paths from the working directory.
fn fresh(out: &Shared, err: &Shared, access: &Access, rich: Option<Rc<dyn Rich>>) -> Interp {
    let interp = Interp::new(PathBuf::from("."), Box::new(out.clone()))
        .interactive()
        .with_access(access.clone())
        .with_diagnostics(INPUT, Box::new(err.clone()));
    match rich {
        Some(r) => interp.with_rich(r),
        None => interp,
    }
}

/// `template mix(K)`.
fn template_line(t: &crate::interp::Template) -> String {
    let args: Vec<&str> = t
        .decl
        .params
        .iter()
        .flatten()
        .map(|p| p.name.as_str())
        .collect();
    format!("template {}({})", t.decl.name.name, args.join(", "))
}

/// A value's shape for `:vars`.
fn shape_of(v: &Value) -> String {
    match v {
        Value::Num(a) | Value::Bool(a) => crate::array::show_shape(a.shape()),
        Value::Text(t, _) => format!("[{}]", t.len()),
        Value::Data(d) => format!("{} × {}", d.rows, d.columns.len()),
        _ => String::new(),
    }
}

/// Where the history is kept: `$XDG_DATA_HOME/gmm/history`, else
/// `~/.local/share/gmm/history`.
fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("gmm").join("history"))
}

/// Runs the REPL, after the script `file` if given: interactive on a terminal, else reading
/// statements from stdin (exit status 1 if any failed). `access` says which files scripts may
/// use.
pub fn main(file: Option<&Path>, access: Access) -> ExitCode {
    let mut session = Session::new(
        Box::new(crate::console::Stdout),
        Box::new(crate::console::Stderr),
    )
    .with_access(access);
    let mut ok = true;
    if let Some(f) = file {
        let (flow, loaded) = session.load(f);
        ok &= loaded;
        if flow == Flow::Quit {
            return crate::console::exit_code(ok);
        }
    }
    if std::io::stdin().is_terminal() {
        interactive(session)
    } else {
        let read = piped(&mut session, std::io::stdin().lock());
        crate::console::exit_code(read && ok && !session.output_failed())
    }
}

/// Statements from a pipe: each complete input runs as it is read. A line that is not UTF-8
/// is reported and skipped; the run then ends with status 1.
fn piped(session: &mut Session, mut input: impl BufRead) -> bool {
    let mut ok = true;
    let mut buf = String::new();
    let mut open = lex::Openness::default();
    let mut bytes = Vec::new();
    for number in 1.. {
        bytes.clear();
        match input.read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                session.error(format!("cannot read the input: {e}"));
                return false;
            }
        }
        let line = match std::str::from_utf8(&bytes) {
            Ok(line) => line.trim_end_matches(['\n', '\r']),
            Err(e) => {
                let good = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
                let col = good.chars().count() + 1;
                session.error(format!(
                    "<stdin>:{number}:{col}: the line is not UTF-8 text, so it was skipped"
                ));
                ok = false;
                continue;
            }
        };
        buf.push_str(line);
        buf.push('\n');
        open.feed(line);
        open.feed("\n");
        if open.is_complete() {
            let (flow, good) = session.input(&buf);
            ok &= good;
            buf.clear();
            open = lex::Openness::default();
            if flow == Flow::Quit {
                return ok;
            }
        }
    }
    if !buf.trim().is_empty() {
        ok &= session.input(&buf).1;
    }
    ok
}

/// The terminal session.
fn interactive(mut session: Session) -> ExitCode {
    crate::interrupt::install();
    let scope = Rc::new(RefCell::new(session.scope()));
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .completion_type(rustyline::CompletionType::List)
        .max_history_size(10_000)
        .map(|b| b.build())
        .unwrap_or_default();
    let mut rl =
        match rustyline::Editor::<GmmHelper, rustyline::history::DefaultHistory>::with_config(
            config,
        ) {
            Ok(rl) => rl,
            Err(e) => {
                crate::console::err(&format!("error: cannot start the line editor: {e}\n"));
                return ExitCode::from(1);
            }
        };
    rl.set_helper(Some(GmmHelper::new(scope.clone())));
    let history = history_path();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let banner = format!(
        "gmm {} — :help for help, Tab completes, Ctrl-D leaves\n",
        env!("CARGO_PKG_VERSION")
    );
    if session.say(&banner) == Flow::Quit {
        return crate::console::exit_code(true);
    }
    'session: loop {
        let mut buf = String::new();
        let mut open = lex::Openness::default();
        loop {
            let prompt = if buf.is_empty() { "gmm> " } else { "...> " };
            match rl.readline(prompt) {
                Ok(line) => {
                    buf.push_str(&line);
                    buf.push('\n');
                    open.feed(&line);
                    open.feed("\n");
                    if open.is_complete() {
                        break;
                    }
                }
                // Ctrl-C at the prompt: drop what was typed.
                Err(ReadlineError::Interrupted) => continue 'session,
                Err(ReadlineError::Eof) => break 'session,
                Err(e) => {
                    crate::console::err(&format!("error: {e}\n"));
                    break 'session;
                }
            }
        }
        let entry = buf.trim_end();
        if !entry.is_empty() {
            let _ = rl.add_history_entry(entry);
            if let Some(h) = &history {
                if let Some(dir) = h.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                let _ = rl.save_history(h);
            }
        }
        let (flow, _) = session.input(&buf);
        *scope.borrow_mut() = session.scope();
        if flow == Flow::Quit {
            break;
        }
    }
    crate::console::exit_code(!session.output_failed())
}
