fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let src = gmm::diag::Source::new(path, text.clone());
    match gmm::syntax::parse(&text) {
        Ok(p) => print!("{}", gmm::syntax::fmt::format_program(&p, &text)),
        Err(d) => eprint!("{}", src.render(&d)),
    }
}
