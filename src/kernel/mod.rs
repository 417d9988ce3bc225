//! The Jupyter kernel: `gmm jupyter kernel -f CONNECTION_FILE` speaks the Jupyter messaging
//! protocol over ZeroMQ (the pure-Rust `zeromq` crate on a single-threaded tokio runtime), and
//! `gmm jupyter install` registers it. Cells run in the REPL's [`Session`] on a thread of their
//! own, so the control channel can interrupt a running cell as Ctrl-C does in the REPL; the
//! session's output becomes `stream` messages, its values rich displays ([`display`]), its
//! diagnostics `error` messages, and a long fit's progress one updating display.

pub mod display;
pub mod install;
pub mod wire;

use crate::files::Access;
use crate::interp::Rich as RichFrontEnd;
use crate::interp::Value;
use crate::repl::{Session, Show};
use crate::syntax::Stmt;
use bytes::Bytes;
use serde_json::{Value as Json, json};
use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;
use tokio::sync::{mpsc, oneshot};
use wire::{Connection, Message, Signer};
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

/// Runs the kernel described by the connection file until a `shutdown_request`.
pub fn main(connection_file: &Path, access: Access) -> ExitCode {
    let conn = match Connection::read(connection_file) {
        Ok(c) => c,
        Err(e) => {
            crate::console::err(&format!("error: {e}\n"));
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            crate::console::err(&format!("error: cannot start the kernel's runtime: {e}\n"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(conn, access)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::console::err(&format!("error: {e}\n"));
            ExitCode::from(1)
        }
    }
}

/// Sends messages on iopub, in order, from any thread.
#[derive(Clone)]
struct Iopub {
    tx: mpsc::UnboundedSender<Message>,
    session: String,
}

impl Iopub {
    fn send(&self, parent: &Message, msg_type: &str, content: Json) {
        let mut m = Message::new(&self.session, msg_type, Some(parent), content);
        m.identities = vec![Bytes::from(format!("kernel.{msg_type}"))];
        let _ = self.tx.send(m);
    }

    fn status(&self, parent: &Message, state: &str) {
        self.send(parent, "status", json!({ "execution_state": state }));
    }
}

/// What the shell asks of the session's thread; each answers with its reply's content.
enum Job {
    Execute(Message, oneshot::Sender<Json>),
    Complete(Message, oneshot::Sender<Json>),
    Inspect(Message, oneshot::Sender<Json>),
}

async fn bind<S: Socket>(socket: &mut S, endpoint: &str) -> Result<(), String> {
    socket
        .bind(endpoint)
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot listen on {endpoint}: {e}"))
}

async fn serve(conn: Connection, access: Access) -> Result<(), String> {
    let signer = Signer::new(&conn.key);
    let session = uuid::Uuid::new_v4().to_string();
    let mut shell = zeromq::RouterSocket::new();
    let mut control = zeromq::RouterSocket::new();
    let mut stdin = zeromq::RouterSocket::new();
    let mut iopub = zeromq::PubSocket::new();
    let mut heartbeat = zeromq::RepSocket::new();
    bind(&mut shell, &conn.endpoint(conn.shell_port)).await?;
    bind(&mut control, &conn.endpoint(conn.control_port)).await?;
    bind(&mut stdin, &conn.endpoint(conn.stdin_port)).await?;
    bind(&mut iopub, &conn.endpoint(conn.iopub_port)).await?;
    bind(&mut heartbeat, &conn.endpoint(conn.hb_port)).await?;

    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let iopub_signer = signer.clone();
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if let Ok(z) = ZmqMessage::try_from(m.frames(&iopub_signer)) {
                let _ = iopub.send(z).await;
            }
        }
    });
    tokio::spawn(async move {
        while let Ok(ping) = heartbeat.recv().await {
            if heartbeat.send(ping).await.is_err() {
                break;
            }
        }
    });
    let io = Iopub { tx, session };

    let (jobs, queue) = std::sync::mpsc::channel::<Job>();
    let worker_io = io.clone();
    std::thread::Builder::new()
        .name("gmm-session".into())
        .spawn(move || run_session(queue, worker_io, access))
        .map_err(|e| format!("cannot start the session's thread: {e}"))?;

    let (quit, mut quitting) = mpsc::unbounded_channel::<()>();
    let control_signer = signer.clone();
    let control_io = io.clone();
    let control_quit = quit.clone();
    tokio::spawn(async move {
        while let Ok(z) = control.recv().await {
            let Some(msg) = receive(z, &control_signer) else {
                continue;
            };
            control_io.status(&msg, "busy");
            let reply = match msg.msg_type() {
                "interrupt_request" => {
                    crate::interrupt::request();
                    Some(("interrupt_reply", json!({ "status": "ok" })))
                }
                "shutdown_request" => Some(shutdown_reply(&msg)),
                "kernel_info_request" => Some(("kernel_info_reply", kernel_info())),
                _ => None,
            };
            if let Some(reply) = reply {
                answer(
                    &mut control,
                    &control_signer,
                    &control_io.session,
                    &msg,
                    reply,
                )
                .await;
            }
            control_io.status(&msg, "idle");
            if msg.msg_type() == "shutdown_request" {
                let _ = control_quit.send(());
            }
        }
    });

    let _stdin = stdin;
    loop {
        let z = tokio::select! {
            z = shell.recv() => z,
            _ = quitting.recv() => break,
        };
        let Ok(z) = z else { break };
        let Some(msg) = receive(z, &signer) else {
            continue;
        };
        io.status(&msg, "busy");
        let reply = match msg.msg_type() {
            "kernel_info_request" => Some(("kernel_info_reply", kernel_info())),
            "execute_request" => ask(&jobs, |t| Job::Execute(msg.clone(), t))
                .await
                .map(|c| ("execute_reply", c)),
            "complete_request" => ask(&jobs, |t| Job::Complete(msg.clone(), t))
                .await
                .map(|c| ("complete_reply", c)),
            "inspect_request" => ask(&jobs, |t| Job::Inspect(msg.clone(), t))
                .await
                .map(|c| ("inspect_reply", c)),
            "is_complete_request" => Some(("is_complete_reply", is_complete(&msg))),
            "comm_info_request" => Some(("comm_info_reply", json!({"status": "ok", "comms": {}}))),
            "history_request" => Some(("history_reply", json!({"status": "ok", "history": []}))),
            "shutdown_request" => Some(shutdown_reply(&msg)),
            _ => None,
        };
        if let Some(reply) = reply {
            answer(&mut shell, &signer, &io.session, &msg, reply).await;
        }
        io.status(&msg, "idle");
        if msg.msg_type() == "shutdown_request" {
            break;
        }
    }
    // Let the last replies leave before the process ends.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    Ok(())
}

/// Sends the reply `(kind, content)` to `request` on `socket`, signed.
async fn answer<S: SocketSend>(
    socket: &mut S,
    signer: &Signer,
    session: &str,
    request: &Message,
    (kind, content): (&str, Json),
) {
    let m = Message::new(session, kind, Some(request), content);
    if let Ok(z) = ZmqMessage::try_from(m.frames(signer)) {
        let _ = socket.send(z).await;
    }
}

/// A message read off a socket; a malformed or badly signed one is reported and dropped.
fn receive(z: ZmqMessage, signer: &Signer) -> Option<Message> {
    match Message::parse(z.into_vec(), signer) {
        Ok(m) => Some(m),
        Err(e) => {
            crate::console::err(&format!("gmm kernel: dropped {e}\n"));
            None
        }
    }
}

/// Hands a job to the session's thread and waits for its answer.
async fn ask(
    jobs: &std::sync::mpsc::Sender<Job>,
    job: impl FnOnce(oneshot::Sender<Json>) -> Job,
) -> Option<Json> {
    let (tx, rx) = oneshot::channel();
    jobs.send(job(tx)).ok()?;
    rx.await.ok()
}

fn shutdown_reply(msg: &Message) -> (&'static str, Json) {
    let restart = msg
        .content
        .get("restart")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    (
        "shutdown_reply",
        json!({ "status": "ok", "restart": restart }),
    )
}

/// What the kernel says of itself and its language.
pub fn kernel_info() -> Json {
    let version = env!("CARGO_PKG_VERSION");
    json!({
        "status": "ok",
        "protocol_version": wire::PROTOCOL_VERSION,
        "implementation": "gmm",
        "implementation_version": version,
        "language_info": {
            "name": "gmm",
            "version": version,
            "mimetype": "text/x-gmm",
            "file_extension": ".gmm",
            // Python's mode colours gmm's comments, strings, numbers and most keywords.
            "codemirror_mode": "python",
            "pygments_lexer": "text",
        },
        "banner": format!("gmm {version}: mixture models and their graphical models"),
        "help_links": [],
    })
}

/// Whether a cell's code is complete: the REPL's bracket logic.
fn is_complete(msg: &Message) -> Json {
    let code = msg.content.get("code").and_then(Json::as_str).unwrap_or("");
    if crate::syntax::lex::is_complete(code) {
        json!({ "status": "complete" })
    } else {
        json!({ "status": "incomplete", "indent": "    " })
    }
}

/// A request's code and its cursor as a byte offset (the protocol counts code points).
fn code_and_cursor(msg: &Message) -> (&str, usize) {
    let code = msg.content.get("code").and_then(Json::as_str).unwrap_or("");
    let n = msg
        .content
        .get("cursor_pos")
        .and_then(Json::as_u64)
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let byte = code.char_indices().nth(n).map_or(code.len(), |(i, _)| i);
    (code, byte)
}

fn code_points(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// The cell being run: whom its messages answer, and its number.
#[derive(Default)]
struct Cell {
    parent: Option<Message>,
    count: u64,
    silent: bool,
    /// Text written to stdout and not yet sent.
    pending: Vec<u8>,
    /// The id of the display that shows the cell's fit progress, once shown.
    progress: Option<String>,
}

/// The cell shared by the session's writers and its [`Show`].
#[derive(Clone)]
struct Shared {
    cell: Rc<RefCell<Cell>>,
    io: Iopub,
}

impl Shared {
    /// Sends what stdout holds as a `stream` message.
    fn flush_stream(&self) {
        let mut cell = self.cell.borrow_mut();
        if cell.pending.is_empty() {
            return;
        }
        // Keep a partial UTF-8 character at the end for the next message.
        let keep = match std::str::from_utf8(&cell.pending) {
            Err(e) if e.error_len().is_none() => cell.pending.len() - e.valid_up_to(),
            _ => 0,
        };
        let upto = cell.pending.len() - keep;
        let sent: Vec<u8> = cell.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&sent).into_owned();
        if let Some(parent) = &cell.parent {
            self.io
                .send(parent, "stream", json!({ "name": "stdout", "text": text }));
        }
    }

    fn send(&self, msg_type: &str, content: Json) {
        if let Some(parent) = &self.cell.borrow().parent {
            self.io.send(parent, msg_type, content);
        }
    }
}

/// The session's stdout: `stream` messages.
struct Stdout(Shared);

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let big = {
            let mut cell = self.0.cell.borrow_mut();
            cell.pending.extend_from_slice(buf);
            cell.pending.len() > 1 << 16
        };
        if big {
            self.0.flush_stream();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush_stream();
        Ok(())
    }
}

/// The session's diagnostics, kept until the cell ends: an error becomes the cell's `error`,
/// warnings a `stderr` stream.
#[derive(Clone, Default)]
struct Diagnostics(Rc<RefCell<Vec<u8>>>);

impl Write for Diagnostics {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Values as rich displays: the last value of a cell is its `execute_result`.
struct Displays(Shared);

impl Show for Displays {
    fn show(
        &mut self,
        stmt: &Stmt,
        value: &Value,
        last: bool,
    ) -> Result<(), Vec<crate::diag::Diag>> {
        self.0.flush_stream();
        let bundles = display::bundles(stmt, value);
        let (count, silent) = {
            let c = self.0.cell.borrow();
            (c.count, c.silent)
        };
        let n = bundles.len();
        for (i, data) in bundles.into_iter().enumerate() {
            if last && i + 1 == n && !silent {
                self.0.send(
                    "execute_result",
                    json!({ "execution_count": count, "data": data, "metadata": {} }),
                );
            } else {
                self.0.send(
                    "display_data",
                    json!({ "data": data, "metadata": {}, "transient": {} }),
                );
            }
        }
        Ok(())
    }

    fn echo(&mut self, line: &str) {
        self.0.flush_stream();
        self.0.send(
            "display_data",
            json!({ "data": { "text/plain": line }, "metadata": {}, "transient": {} }),
        );
    }
}

/// A fit's progress as one updating display per cell; `select`'s table in HTML.
struct Rich(Shared);

impl RichFrontEnd for Rich {
    fn progress(&self, line: &str) {
        self.0.flush_stream();
        let id = self.0.cell.borrow().progress.clone();
        let data = json!({ "text/plain": line });
        match id {
            Some(id) => self.0.send(
                "update_display_data",
                json!({ "data": data, "metadata": {}, "transient": { "display_id": id } }),
            ),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                self.0.send(
                    "display_data",
                    json!({ "data": data, "metadata": {}, "transient": { "display_id": id } }),
                );
                self.0.cell.borrow_mut().progress = Some(id);
            }
        }
    }

    fn table(&self, header: &[String], rows: &[Vec<String>], text: &str) {
        self.0.flush_stream();
        self.0.send(
            "display_data",
            json!({
                "data": { "text/html": display::html_table(header, rows), "text/plain": text },
                "metadata": {},
                "transient": {},
            }),
        );
    }
}

/// The session's thread: runs the jobs the shell hands it, one at a time.
fn run_session(queue: std::sync::mpsc::Receiver<Job>, io: Iopub, access: Access) {
    let shared = Shared {
        cell: Rc::new(RefCell::new(Cell::default())),
        io,
    };
    let diagnostics = Diagnostics::default();
    let mut session = Session::new(
        Box::new(Stdout(shared.clone())),
        Box::new(diagnostics.clone()),
    )
    .with_access(access)
    .with_rich(Rc::new(Rich(shared.clone())))
    .with_show(Box::new(Displays(shared.clone())));
    let mut count = 0u64;
    for job in queue {
        match job {
            Job::Execute(msg, reply) => {
                let code = msg.content.get("code").and_then(Json::as_str).unwrap_or("");
                let silent = msg
                    .content
                    .get("silent")
                    .and_then(Json::as_bool)
                    .unwrap_or(false);
                let store = msg
                    .content
                    .get("store_history")
                    .and_then(Json::as_bool)
                    .unwrap_or(!silent);
                if store && !silent {
                    count += 1;
                }
                {
                    let mut cell = shared.cell.borrow_mut();
                    cell.parent = Some(msg.clone());
                    cell.count = count;
                    cell.silent = silent;
                    cell.progress = None;
                }
                if !silent {
                    shared.send(
                        "execute_input",
                        json!({ "code": code, "execution_count": count }),
                    );
                }
                diagnostics.0.borrow_mut().clear();
                let (_, ok) = session.input_named(code, &format!("In[{count}]"));
                shared.flush_stream();
                let said = String::from_utf8_lossy(&diagnostics.0.borrow()).into_owned();
                let content = if ok {
                    if !said.is_empty() {
                        shared.send("stream", json!({ "name": "stderr", "text": said }));
                    }
                    json!({
                        "status": "ok",
                        "execution_count": count,
                        "user_expressions": {},
                        "payload": [],
                    })
                } else {
                    let error = error_content(&said);
                    shared.send("error", error.clone());
                    let mut reply = error;
                    reply["status"] = json!("error");
                    reply["execution_count"] = json!(count);
                    reply
                };
                let _ = reply.send(content);
            }
            Job::Complete(msg, reply) => {
                let (code, cursor) = code_and_cursor(&msg);
                let (range, matches) = session.complete(code, cursor);
                let _ = reply.send(json!({
                    "status": "ok",
                    "matches": matches,
                    "cursor_start": code_points(code, range.start),
                    "cursor_end": code_points(code, range.end),
                    "metadata": {},
                }));
            }
            Job::Inspect(msg, reply) => {
                let (code, cursor) = code_and_cursor(&msg);
                let content = match session.inspect(code, cursor) {
                    Some(text) => json!({
                        "status": "ok",
                        "found": true,
                        "data": { "text/plain": text },
                        "metadata": {},
                    }),
                    None => json!({ "status": "ok", "found": false, "data": {}, "metadata": {} }),
                };
                let _ = reply.send(content);
            }
        }
    }
}

/// The `error` content of a failed cell: its diagnostics as the traceback, the first error's
/// message as the value.
fn error_content(said: &str) -> Json {
    let first = said
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .or_else(|| said.lines().next())
        .unwrap_or("the cell failed")
        .to_string();
    let ename = if first.contains("interrupted") {
        "Interrupted"
    } else {
        "Error"
    };
    json!({
        "ename": ename,
        "evalue": first,
        "traceback": said.lines().collect::<Vec<_>>(),
    })
}
