//! The joint distribution of a model as a formula, factorised as its graph says: one factor per
//! variable, each plate a product over its copies, nested plates nested, variables outside
//! every plate in front. Two notations: LaTeX for `tex(m)` (the lecture's notation,
//! `\mathcal{N}(x_n \mid \mu_{z_n}, \sigma_{z_n})`) and plain Unicode for the terminal,
//! `joint(m)` and the REPL's `:joint` (`N(xₙ | μ[zₙ], σ[zₙ])`).
//!
//! Names are written as the lecture writes them: a name that spells a Greek letter becomes the
//! letter (`pi` → π, `Sigma` → Σ), a one-letter name stays itself, a Greek letter or one letter
//! followed by `_` and a suffix takes the suffix as a subscript (`theta_W` → θ_W), and any other
//! name is upright text. Vectors are bold in LaTeX. The data plate's index is `n` (up to `N`);
//! a fixed plate's index is its own name, up to its size.

use super::expr::{BinOp, Expr, Index, MathFn, UnOp};
use super::prior::Prior;
use super::{Dist, Model, ParamType, PlateId, PlateSize, Support, VarId};
use crate::array::format_number;

/// Which notation to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notation {
    /// LaTeX math, without the surrounding `$`.
    Latex,
    /// Plain Unicode for a terminal.
    Unicode,
}

/// The Greek letters a name may spell, with their Unicode characters; the LaTeX command is the
/// name with a backslash.
const GREEK: [(&str, &str); 24] = [
    ("alpha", "α"),
    ("beta", "β"),
    ("gamma", "γ"),
    ("delta", "δ"),
    ("epsilon", "ε"),
    ("eta", "η"),
    ("theta", "θ"),
    ("kappa", "κ"),
    ("lambda", "λ"),
    ("mu", "μ"),
    ("nu", "ν"),
    ("xi", "ξ"),
    ("pi", "π"),
    ("rho", "ρ"),
    ("sigma", "σ"),
    ("tau", "τ"),
    ("phi", "φ"),
    ("psi", "ψ"),
    ("omega", "ω"),
    ("Sigma", "Σ"),
    ("Gamma", "Γ"),
    ("Delta", "Δ"),
    ("Lambda", "Λ"),
    ("Omega", "Ω"),
];

/// The Greek letter a name spells, as a character: `pi` → π, `Sigma` → Σ, `theta_W` → θ_W;
/// other names unchanged. The plate diagram labels its nodes with it.
pub fn greek(name: &str) -> String {
    let letter = |n: &str| GREEK.iter().find(|(g, _)| *g == n).map(|(_, l)| *l);
    match (letter(name), name.split_once('_')) {
        (Some(l), _) => l.to_string(),
        (None, Some((head, rest))) if letter(head).is_some() => {
            format!("{}_{rest}", letter(head).unwrap_or(head))
        }
        _ => name.to_string(),
    }
}

fn is_greek(name: &str) -> bool {
    GREEK.iter().any(|(n, _)| *n == name)
}

/// The joint distribution of `model` with its parameters, in `notation`:
/// `p(z, x \mid \pi, \mu, \sigma) = \prod_{n=1}^{N} \mathrm{Cat}(z_n \mid \pi)\,\mathcal{N}(x_n \mid \mu_{z_n}, \sigma_{z_n})`.
/// A parameter with a prior (section 9.2) is random: it joins the variables on the left, and
/// its prior is a factor before the data's: `\mathrm{Dir}(\pi \mid 2)\,\prod_{k=1}^{2}
/// \mathcal{N}(\mu_k \mid 0, 10)\,…`.
pub fn joint(model: &Model, notation: Notation) -> String {
    let w = Writer::new(model, notation);
    let mut vars: Vec<String> = (0..model.vars.len()).map(|v| w.var_bare(v)).collect();
    let (random, given): (Vec<usize>, Vec<usize>) =
        (0..model.params.len()).partition(|&p| model.params[p].prior.is_some());
    vars.extend(random.iter().map(|&p| w.param_name(p).render(notation)));
    let params: Vec<String> = given
        .iter()
        .map(|&p| w.param_name(p).render(notation))
        .collect();
    let lhs = if params.is_empty() {
        format!("p({})", vars.join(", "))
    } else {
        format!("p({} {} {})", vars.join(", "), w.mid(), params.join(", "))
    };
    let mut factors: Vec<String> = random.iter().map(|&p| w.prior(p)).collect();
    factors.push(w.scope(None));
    let sep = if w.latex() { "\\," } else { " · " };
    format!("{lhs} = {}", factors.join(sep))
}

/// A name with its subscripts, rendered once its indices are all known.
struct Name {
    base: String,
    subs: Vec<String>,
}

impl Name {
    fn render(&self, notation: Notation) -> String {
        match (notation, self.subs.as_slice()) {
            (_, []) => self.base.clone(),
            (Notation::Latex, [one]) if one.chars().count() == 1 => format!("{}_{one}", self.base),
            (Notation::Latex, subs) => format!("{}_{{{}}}", self.base, subs.join(", ")),
            (Notation::Unicode, subs) => match subscript(&subs.join("")) {
                Some(s) if subs.len() == 1 || subs.iter().all(|s| s.chars().count() == 1) => {
                    format!("{}{s}", self.base)
                }
                _ => format!("{}[{}]", self.base, subs.join(", ")),
            },
        }
    }
}

/// `s` in Unicode subscript characters, if every character has one.
fn subscript(s: &str) -> Option<String> {
    s.chars()
        .map(|c| {
            Some(match c {
                '0'..='9' => char::from_u32('₀' as u32 + (c as u32 - '0' as u32))?,
                'a' => 'ₐ',
                'e' => 'ₑ',
                'h' => 'ₕ',
                'i' => 'ᵢ',
                'j' => 'ⱼ',
                'k' => 'ₖ',
                'l' => 'ₗ',
                'm' => 'ₘ',
                'n' => 'ₙ',
                'o' => 'ₒ',
                'p' => 'ₚ',
                'r' => 'ᵣ',
                's' => 'ₛ',
                't' => 'ₜ',
                'u' => 'ᵤ',
                'v' => 'ᵥ',
                'x' => 'ₓ',
                '=' => '₌',
                _ => return None,
            })
        })
        .collect()
}

/// `s` in Unicode superscript characters, if every character has one.
fn superscript(s: &str) -> Option<String> {
    s.chars()
        .map(|c| {
            Some(match c {
                '0' => '⁰',
                '1' => '¹',
                '2' => '²',
                '3' => '³',
                '4'..='9' => char::from_u32('⁴' as u32 + (c as u32 - '4' as u32))?,
                'D' => 'ᴰ',
                'I' => 'ᴵ',
                'J' => 'ᴶ',
                'K' => 'ᴷ',
                'M' => 'ᴹ',
                'N' => 'ᴺ',
                'T' => 'ᵀ',
                _ => return None,
            })
        })
        .collect()
}

/// Binding strength of an operator, for parentheses: higher binds tighter.
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::Range => 4,
        BinOp::Add | BinOp::Sub => 5,
        BinOp::Mul | BinOp::Div | BinOp::MatMul => 6,
        BinOp::Pow => 8,
    }
}
const UNARY: u8 = 7;
const ATOM: u8 = 9;

struct Writer<'a> {
    model: &'a Model,
    notation: Notation,
    /// The index letter of each plate, and its upper bound.
    index: Vec<(String, String)>,
}

impl<'a> Writer<'a> {
    fn new(model: &'a Model, notation: Notation) -> Writer<'a> {
        // The data plate's index and bound must not read as one of the model's names.
        let taken = |c: &str| {
            let names = (model.plates.iter().map(|p| &p.name))
                .chain(model.vars.iter().map(|v| &v.name))
                .chain(model.params.iter().map(|p| &p.name))
                .chain(model.consts.iter().map(|c| &c.name));
            names.into_iter().any(|n| n == c)
        };
        // A chain's index is `t`, as time series write it.
        let letters = if model.chain().is_some() {
            ["t", "n", "i", "j"]
        } else {
            ["n", "i", "j", "t"]
        };
        let data = letters
            .into_iter()
            .find(|c| !taken(c) && !taken(&c.to_uppercase()))
            .unwrap_or("n");
        let mut w = Writer {
            model,
            notation,
            index: Vec::new(),
        };
        w.index = model
            .plates
            .iter()
            .map(|p| match p.size {
                PlateSize::Data => (data.to_string(), data.to_uppercase()),
                PlateSize::Fixed(k) => (w.ident(&p.name, false).base, k.to_string()),
            })
            .collect();
        w
    }

    fn latex(&self) -> bool {
        self.notation == Notation::Latex
    }

    fn mid(&self) -> &'static str {
        if self.latex() { "\\mid" } else { "|" }
    }

    /// A name as the lecture writes it (see the module's documentation), bold if `bold`.
    fn ident(&self, name: &str, bold: bool) -> Name {
        let (head, suffix) = match name.split_once('_') {
            Some((h, s))
                if (is_greek(h) || h.chars().count() == 1)
                    && !s.is_empty()
                    && s.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                (h, Some(s))
            }
            _ => (name, None),
        };
        let base = match self.notation {
            Notation::Unicode => greek(head).to_string(),
            Notation::Latex if is_greek(head) && bold => format!("\\boldsymbol{{\\{head}}}"),
            Notation::Latex if is_greek(head) => format!("\\{head}"),
            Notation::Latex if head.chars().count() == 1 && bold => format!("\\mathbf{{{head}}}"),
            Notation::Latex if head.chars().count() == 1 => head.to_string(),
            Notation::Latex if bold => format!("\\mathbf{{{}}}", head.replace('_', "\\_")),
            Notation::Latex => format!("\\mathrm{{{}}}", head.replace('_', "\\_")),
        };
        match (suffix, self.notation) {
            (Some(s), Notation::Latex) if s.chars().count() > 1 => Name {
                base,
                subs: vec![format!("\\mathrm{{{s}}}")],
            },
            (Some(s), Notation::Latex) => Name {
                base,
                subs: vec![s.to_string()],
            },
            // θ_W keeps its own subscript as written; indices follow it in brackets.
            (Some(s), Notation::Unicode) => Name {
                base: format!("{base}_{s}"),
                subs: vec![],
            },
            (None, _) => Name { base, subs: vec![] },
        }
    }

    fn param_name(&self, p: usize) -> Name {
        let param = &self.model.params[p];
        self.ident(&param.name, matches!(param.ty, ParamType::Vector(_)))
    }

    /// A variable's name without its plate indices (for the left-hand side).
    fn var_bare(&self, v: VarId) -> String {
        let var = &self.model.vars[v];
        self.ident(&var.name, matches!(var.support, Support::RealVector(_)))
            .render(self.notation)
    }

    /// A variable with its plates' indices: `z_n`, `x_{n, d}`.
    fn var(&self, v: VarId) -> String {
        let var = &self.model.vars[v];
        let mut name = self.ident(&var.name, matches!(var.support, Support::RealVector(_)));
        name.subs
            .extend(var.plates.iter().map(|&p| self.index[p].0.clone()));
        name.render(self.notation)
    }

    /// `z_{t-1}`: a chained variable in the previous row.
    fn prev_var(&self, v: VarId) -> String {
        let var = &self.model.vars[v];
        let mut name = self.ident(&var.name, false);
        name.subs
            .extend(var.plates.iter().map(|&p| format!("{}-1", self.index[p].0)));
        name.render(self.notation)
    }

    /// The factors of the variables directly in `plate` (or in no plate), then a product over
    /// each plate nested in it; a product that other factors follow is bracketed.
    fn scope(&self, plate: Option<PlateId>) -> String {
        let mut factors: Vec<String> = (0..self.model.vars.len())
            .filter(|&v| self.model.vars[v].plates.last().copied() == plate)
            .filter(|&v| self.model.vars[v].next.is_none())
            .map(|v| self.factor(v))
            .collect();
        let children: Vec<PlateId> = (0..self.model.plates.len())
            .filter(|&p| self.model.plates[p].parent == plate)
            .collect();
        for (k, &c) in children.iter().enumerate() {
            let body = self.scope(Some(c));
            if self.model.plates[c].chain.is_some() {
                factors.extend(self.transitions(c));
            }
            let last = k + 1 == children.len();
            factors.push(match (last, self.notation) {
                (true, _) => format!("{} {body}", self.product(c)),
                (false, Notation::Latex) => {
                    format!("{} \\left( {body} \\right)", self.product(c))
                }
                (false, Notation::Unicode) => format!("{} ({body})", self.product(c)),
            });
        }
        let sep = if self.latex() { "\\," } else { " · " };
        if factors.is_empty() {
            "1".to_string()
        } else {
            factors.join(sep)
        }
    }

    /// `\prod_{n=1}^{N}`, or `∏ₙ₌₁ᴺ` (`∏(d = 1…2)` where Unicode has no small letters for it).
    fn product(&self, p: PlateId) -> String {
        self.product_from(p, 1)
    }

    /// `\prod_{t=2}^{T}`: a product over the copies of `p` from `start` on.
    fn product_from(&self, p: PlateId, start: usize) -> String {
        let (i, bound) = &self.index[p];
        match self.notation {
            Notation::Latex => format!("\\prod_{{{i}={start}}}^{{{bound}}}"),
            Notation::Unicode => match (subscript(&format!("{i}={start}")), superscript(bound)) {
                (Some(sub), Some(sup)) => format!("∏{sub}{sup}"),
                _ => format!("∏({i} = {start}…{bound})"),
            },
        }
    }

    /// A chain's chained variables: their first-row factors (at index 1), then the product of
    /// their transition factors from the second row on, which reads `prev(z)` as `z_{t-1}`.
    fn transitions(&self, c: PlateId) -> Vec<String> {
        let chained: Vec<VarId> = (0..self.model.vars.len())
            .filter(|&v| self.model.vars[v].next.is_some() && self.model.vars[v].plates == [c])
            .collect();
        if chained.is_empty() {
            return Vec::new();
        }
        let mut first = Writer {
            model: self.model,
            notation: self.notation,
            index: self.index.clone(),
        };
        first.index[c].0 = "1".to_string();
        let mut out: Vec<String> = chained.iter().map(|&v| first.factor(v)).collect();
        let sep = if self.latex() { "\\," } else { " · " };
        let next: Vec<String> = chained
            .iter()
            .filter_map(|&v| Some(self.factor_of(v, &self.model.vars[v].next.as_ref()?.dist)))
            .collect();
        out.push(format!("{} {}", self.product_from(c, 2), next.join(sep)));
        out
    }

    /// Index letters for a parameter's dimensions that read as none of the model's names or
    /// plate indices.
    fn letters(&self, count: usize) -> Vec<String> {
        let taken = |c: &str| {
            let m = self.model;
            (m.plates.iter().map(|p| p.name.as_str()))
                .chain(m.vars.iter().map(|v| v.name.as_str()))
                .chain(m.params.iter().map(|p| p.name.as_str()))
                .chain(m.consts.iter().map(|c| c.name.as_str()))
                .chain(self.index.iter().map(|(i, _)| i.as_str()))
                .any(|n| n == c)
        };
        ["k", "j", "l", "m", "q", "r", "s", "u"]
            .into_iter()
            .filter(|c| !taken(c))
            .take(count)
            .map(String::from)
            .collect()
    }

    /// A parameter's prior factor, under products over its dimensions (and a vector's
    /// entries, a diagonal's variances).
    fn prior(&self, p: usize) -> String {
        let param = &self.model.params[p];
        let prior = param.prior.as_ref().expect("a parameter with a prior");
        let inner = match (prior, param.ty) {
            (Prior::Normal { .. }, ParamType::Vector(n))
            | (Prior::InvGamma { .. }, ParamType::Diag(n)) => Some(n),
            _ => None,
        };
        let letters = self.letters(param.dims.len() + usize::from(inner.is_some()));
        let mut name = self.ident(&param.name, false);
        let mut products = String::new();
        for (i, &d) in param.dims.iter().enumerate() {
            let k = &letters[i.min(letters.len().saturating_sub(1))];
            name.subs.push(k.clone());
            products.push_str(&self.product_over(k, &d.to_string()));
        }
        if let Some(n) = inner {
            let j = letters.last().cloned().unwrap_or_else(|| "j".into());
            // A diagonal's variance is its (j, j) entry.
            name.subs.push(match prior {
                Prior::InvGamma { .. } => format!("{j}{j}"),
                _ => j.clone(),
            });
            products.push_str(&self.product_over(&j, &n.to_string()));
        } else if let (Prior::InvGamma { .. }, ParamType::Iso(_)) = (prior, param.ty) {
            name.subs.push("11".into());
        }
        let value = name.render(self.notation);
        let square = |v: String| match self.notation {
            Notation::Latex => format!("{v}^{{2}}"),
            Notation::Unicode => format!("{v}²"),
        };
        let family = |latex: &str, plain: &str| match self.notation {
            Notation::Latex => latex.to_string(),
            Notation::Unicode => plain.to_string(),
        };
        let (head, value, args) = match prior {
            Prior::Dirichlet { alpha } => {
                let a = if alpha.windows(2).all(|w| w[0] == w[1]) {
                    self.number(alpha[0])
                } else {
                    let items: Vec<String> = alpha.iter().map(|&x| self.number(x)).collect();
                    format!("({})", items.join(", "))
                };
                (family("\\mathrm{Dir}", "Dir"), value, vec![a])
            }
            Prior::Beta { a, b } => (
                family("\\mathrm{Beta}", "Beta"),
                value,
                vec![self.number(*a), self.number(*b)],
            ),
            Prior::Normal { mean, sd } => (
                family("\\mathcal{N}", "N"),
                value,
                vec![self.number(*mean), self.number(*sd)],
            ),
            Prior::InvGamma { a, b } => {
                let v = if param.ty == ParamType::Positive {
                    square(value)
                } else {
                    value
                };
                (
                    family("\\mathrm{InvGamma}", "InvGamma"),
                    v,
                    vec![self.number(*a), self.number(*b)],
                )
            }
            Prior::InvWishart { nu, psi } => {
                let n = (psi.len() as f64).sqrt().round() as usize;
                let rows: Vec<Vec<String>> = psi
                    .chunks(n)
                    .map(|r| r.iter().map(|&x| self.number(x)).collect())
                    .collect();
                let matrix = match self.notation {
                    Notation::Latex => format!(
                        "\\begin{{pmatrix}} {} \\end{{pmatrix}}",
                        rows.iter()
                            .map(|r| r.join(" & "))
                            .collect::<Vec<_>>()
                            .join(" \\\\ ")
                    ),
                    Notation::Unicode => format!(
                        "[{}]",
                        rows.iter()
                            .map(|r| format!("[{}]", r.join(", ")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                (
                    family("\\mathcal{W}^{-1}", "W⁻¹"),
                    value,
                    vec![self.number(*nu), matrix],
                )
            }
        };
        format!(
            "{products}{head}({value} {} {})",
            self.mid(),
            args.join(", ")
        )
    }

    /// `\prod_{k=1}^{K} `, or `∏ₖ₌₁ᴷ `, over the index `i` up to `bound`.
    fn product_over(&self, i: &str, bound: &str) -> String {
        match self.notation {
            Notation::Latex => format!("\\prod_{{{i}=1}}^{{{bound}}} "),
            Notation::Unicode => match (subscript(&format!("{i}=1")), superscript(bound)) {
                (Some(sub), Some(sup)) => format!("∏{sub}{sup} "),
                _ => format!("∏({i} = 1…{bound}) "),
            },
        }
    }

    /// One variable's factor: `\mathrm{Cat}(z_n \mid \pi)`.
    fn factor(&self, v: VarId) -> String {
        self.factor_of(v, &self.model.vars[v].dist)
    }

    /// `v`'s factor under distribution `dist` (its own, or a chained variable's `then`).
    fn factor_of(&self, v: VarId, dist: &Dist) -> String {
        let (family, args): (&str, Vec<&Expr>) = match dist {
            Dist::Categorical { p } => ("Cat", vec![p]),
            Dist::Bernoulli { p } => ("Bern", vec![p]),
            Dist::Normal { mean, sd } => ("N", vec![mean, sd]),
            Dist::MvNormal { mean, cov } => ("N", vec![mean, cov]),
        };
        let family = match (self.notation, family) {
            (Notation::Latex, "N") => "\\mathcal{N}".to_string(),
            (Notation::Latex, f) => format!("\\mathrm{{{f}}}"),
            (Notation::Unicode, f) => f.to_string(),
        };
        let args: Vec<String> = args.iter().map(|e| self.expr(e, 0)).collect();
        format!(
            "{family}({} {} {})",
            self.var(v),
            self.mid(),
            args.join(", ")
        )
    }

    /// An expression, bracketed if it binds more loosely than `outer`.
    fn expr(&self, e: &Expr, outer: u8) -> String {
        let (text, strength) = self.expr_bare(e);
        if strength < outer {
            match self.notation {
                Notation::Latex => format!("\\left({text}\\right)"),
                Notation::Unicode => format!("({text})"),
            }
        } else {
            text
        }
    }

    fn expr_bare(&self, e: &Expr) -> (String, u8) {
        let latex = self.latex();
        match e {
            Expr::Lit(a) => {
                if let Some(x) = a.as_scalar() {
                    let text = self.number(x);
                    let strength = if x < 0.0 { UNARY } else { ATOM };
                    (text, strength)
                } else {
                    (self.array(a.shape(), a.data()), ATOM)
                }
            }
            Expr::Const(c) => (
                self.ident(&self.model.consts[*c].name, false)
                    .render(self.notation),
                ATOM,
            ),
            Expr::Param(p) => (self.param_name(*p).render(self.notation), ATOM),
            Expr::Var(v) => (self.var(*v), ATOM),
            Expr::Prev(v) => (self.prev_var(*v), ATOM),
            Expr::PlateIndex(p) => (self.index[*p].0.clone(), ATOM),
            Expr::List(items) => {
                let items: Vec<String> = items.iter().map(|x| self.expr(x, 0)).collect();
                (self.bracket(&items.join(", ")), ATOM)
            }
            Expr::Unary(op, a) => {
                let sign = match (op, latex) {
                    (UnOp::Neg, _) => "-",
                    (UnOp::Not, true) => "\\lnot ",
                    (UnOp::Not, false) => "¬",
                };
                (format!("{sign}{}", self.expr(a, UNARY)), UNARY)
            }
            Expr::Binary(op, a, b) => self.binary(*op, a, b),
            Expr::Index(base, idx) => {
                let subs: Vec<String> = idx
                    .iter()
                    .map(|i| match i {
                        Index::All if latex => "\\cdot".to_string(),
                        Index::All => ":".to_string(),
                        Index::At(x) => self.expr(x, 0),
                    })
                    .collect();
                let mut name = match base.as_ref() {
                    Expr::Param(p) => self.param_name(*p),
                    Expr::Const(c) => self.ident(&self.model.consts[*c].name, false),
                    other => Name {
                        base: self.expr(other, ATOM),
                        subs: vec![],
                    },
                };
                if latex {
                    name.subs.extend(subs);
                    (name.render(self.notation), ATOM)
                } else {
                    (
                        format!("{}[{}]", name.render(self.notation), subs.join(", ")),
                        ATOM,
                    )
                }
            }
            Expr::Call(f, a) => {
                let text = match (f, latex) {
                    (MathFn::Sqrt, true) => format!("\\sqrt{{{}}}", self.expr(a, 0)),
                    (MathFn::Sqrt, false) => format!("√{}", self.expr(a, ATOM)),
                    (MathFn::Abs, true) => format!("\\left|{}\\right|", self.expr(a, 0)),
                    (MathFn::Abs, false) => format!("|{}|", self.expr(a, 0)),
                    (f, true) => format!("\\{}\\left({}\\right)", f.name(), self.expr(a, 0)),
                    (f, false) => format!("{}({})", f.name(), self.expr(a, 0)),
                };
                (text, ATOM)
            }
        }
    }

    fn binary(&self, op: BinOp, a: &Expr, b: &Expr) -> (String, u8) {
        let latex = self.latex();
        let strength = precedence(op);
        if op == BinOp::Div && latex {
            return (
                format!("\\frac{{{}}}{{{}}}", self.expr(a, 0), self.expr(b, 0)),
                ATOM,
            );
        }
        if op == BinOp::Pow {
            // Right-associative: the base must bind tighter, the exponent may be a power.
            let base = self.expr(a, ATOM);
            return if latex {
                (format!("{base}^{{{}}}", self.expr(b, 0)), strength)
            } else {
                (format!("{base}^{}", self.expr(b, strength)), strength)
            };
        }
        let symbol = match (op, latex) {
            (BinOp::Or, true) => "\\lor",
            (BinOp::Or, false) => "∨",
            (BinOp::And, true) => "\\land",
            (BinOp::And, false) => "∧",
            (BinOp::Eq, _) => "=",
            (BinOp::Ne, true) => "\\neq",
            (BinOp::Ne, false) => "≠",
            (BinOp::Lt, _) => "<",
            (BinOp::Le, true) => "\\le",
            (BinOp::Le, false) => "≤",
            (BinOp::Gt, _) => ">",
            (BinOp::Ge, true) => "\\ge",
            (BinOp::Ge, false) => "≥",
            (BinOp::Range, _) => "..",
            (BinOp::Add, _) => "+",
            (BinOp::Sub, _) => "-",
            (BinOp::Mul, true) => "\\cdot",
            (BinOp::Mul | BinOp::MatMul, false) => "·",
            (BinOp::MatMul, true) => "\\,",
            (BinOp::Div, _) => "/",
            (BinOp::Pow, _) => "^",
        };
        // Left-associative: the right operand of `a - (b - c)` keeps its brackets.
        let left = self.expr(a, strength);
        let right = self.expr(b, strength + 1);
        let text = if op == BinOp::MatMul && latex {
            format!("{left}\\,{right}")
        } else {
            format!("{left} {symbol} {right}")
        };
        (text, strength)
    }

    /// A number as the lecture writes it: `0.5`, `1.5 \times 10^{-5}`.
    fn number(&self, x: f64) -> String {
        let text = format_number(x);
        match text.split_once('e') {
            Some((m, e)) if self.latex() => format!("{m} \\times 10^{{{e}}}"),
            Some((m, e)) => format!("{m}·10^{e}"),
            None => text,
        }
    }

    /// A literal array: nested brackets, row by row.
    fn array(&self, shape: &[usize], data: &[f64]) -> String {
        match shape.split_first() {
            None => self.number(data[0]),
            Some((&n, rest)) => {
                let step: usize = rest.iter().product();
                let items: Vec<String> = (0..n)
                    .map(|i| self.array(rest, &data[i * step..(i + 1) * step]))
                    .collect();
                self.bracket(&items.join(", "))
            }
        }
    }

    fn bracket(&self, inner: &str) -> String {
        if self.latex() {
            format!("\\left[{inner}\\right]")
        } else {
            format!("[{inner}]")
        }
    }
}
