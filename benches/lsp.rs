//! How soon `gmm lsp` publishes diagnostics after a change to a 2 000-line document (the
//! target is 50 ms): the server of `gmm lsp` (`gmm::lsp::serve`, built optimised as the bench's
//! dependency) on a pair of OS pipes, driven as an editor drives it. Each change edits one line
//! (alternately breaking and fixing a name), and the time runs from writing the `didChange`
//! to reading its `publishDiagnostics`.
//!
//! ```text
//! cargo bench --profile release --bench lsp
//! ```

use std::io::{BufRead, BufReader, Write};
use std::time::Instant;

/// A script of `models` models, each with ten lines of script using it: 20 lines a model.
fn document(models: usize, broken: Option<usize>) -> String {
    let mut s = String::new();
    for k in 0..models {
        s.push_str(&format!(
            "model m{k} {{\n    param pi : simplex[2] = [0.6, 0.4]\n    param mu[2] : real = [2.5, {k}.5]\n    param sigma[2] : positive = [0.6, 0.3]\n    plate exams {{\n        z ~ Categorical(pi)\n        x ~ Normal(mu[z], sigma[z])\n    }}\n}}\n# the model's queries\n"
        ));
        let name = if broken == Some(k) { "dd" } else { "d" };
        s.push_str(&format!(
            "let d{k} = sample(m{k}, 20, seed = {k})\nlet f{k} = fit(m{k}, table(x = {name}{k}.x))\nprint m{k}.p(x = 1.5)\nprint p(z | x = 2.0)\nlet r{k} = p(z | x = d{k}.x)\nassert close(sum(r{k}, axis = 1), ones(20))\nprint f{k}.mu, f{k}.loglik\nlet mix{k} = Mixture(Categorical(m{k}.pi), Normal(m{k}.mu, m{k}.sigma))\nprint mean(mix{k})\nprint pdf(mix{k}, 3.0)\n"
        ));
    }
    s
}

fn send(w: &mut impl Write, text: &str) {
    write!(w, "Content-Length: {}\r\n\r\n{text}", text.len()).unwrap();
    w.flush().unwrap();
}

fn recv(r: &mut impl BufRead) -> String {
    let mut length = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn main() {
    let (to_server, mut w) = std::io::pipe().expect("a pipe");
    let (from_server, server_out) = std::io::pipe().expect("a pipe");
    let server = std::thread::spawn(move || gmm::lsp::serve(BufReader::new(to_server), server_out));
    let mut r = BufReader::new(from_server);
    send(
        &mut w,
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
    );
    recv(&mut r);
    let uri = "file:///bench/long.gmm";
    let text = document(100, None);
    assert_eq!(text.lines().count(), 2000);
    send(
        &mut w,
        &format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{uri}","languageId":"gmm","version":1,"text":{}}}}}}}"#,
            quoted(&text)
        ),
    );
    recv(&mut r);
    let mut times = Vec::new();
    for v in 0..40 {
        let broken = (v % 2 == 0).then_some(v % 100);
        let text = document(100, broken);
        let msg = format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didChange","params":{{"textDocument":{{"uri":"{uri}","version":{}}},"contentChanges":[{{"text":{}}}]}}}}"#,
            v + 2,
            quoted(&text)
        );
        let began = Instant::now();
        send(&mut w, &msg);
        let reply = recv(&mut r);
        times.push(began.elapsed().as_secs_f64() * 1e3);
        let errors = reply.matches("\"severity\":1").count();
        assert_eq!(errors, usize::from(broken.is_some()), "{reply}");
    }
    send(&mut w, r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#);
    recv(&mut r);
    send(&mut w, r#"{"jsonrpc":"2.0","method":"exit"}"#);
    let _ = server.join();
    times.sort_by(f64::total_cmp);
    println!(
        "diagnostics after a change to a 2000-line document: median {:.1} ms, slowest {:.1} ms of {} changes (target 50 ms)",
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );
}
