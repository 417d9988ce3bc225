//! The signatures of the built-in functions (section 6): arity, named options and a one-line
//! summary. The checker validates calls against this table; the interpreter and the REPL's
//! completion and help read it too.

use crate::model::Family;

/// The options of `fit` (and `select`).
pub const FIT_OPTIONS: &[&str] = &[
    "max_iter",
    "tol",
    "reg",
    "init",
    "restarts",
    "sieve_iter",
    "sieve_keep",
    "seed",
    "weights",
    "fixed",
    "verbose",
    "priors",
];

/// The options of `plot`.
pub const PLOT_OPTIONS: &[&str] = &[
    "file", "title", "xlabel", "ylabel", "bins", "from", "to", "width", "height", "points", "color",
];

/// How a built-in may be called.
#[derive(Debug)]
pub struct Builtin {
    /// Its name.
    pub name: &'static str,
    /// Fewest positional arguments.
    pub min: usize,
    /// Most positional arguments; `None` for any number.
    pub max: Option<usize>,
    /// The named arguments it accepts.
    pub named: &'static [&'static str],
    /// Whether any name is accepted (as `table(x = ..., z = ...)`).
    pub any_named: bool,
    /// The names of its positional arguments that may also be given by name, in order
    /// (`Normal(mean = 0, sd = 1)`): a distribution's, as inside a model.
    pub params: &'static [&'static str],
    /// What it does, with its call shape.
    pub summary: &'static str,
}

const fn f(
    name: &'static str,
    min: usize,
    max: usize,
    named: &'static [&'static str],
    summary: &'static str,
) -> Builtin {
    Builtin {
        name,
        min,
        max: Some(max),
        named,
        any_named: false,
        params: NONE,
        summary,
    }
}

/// A distribution: its arguments by position or by the names a model uses.
const fn dist(family: Family, summary: &'static str) -> Builtin {
    let params = family.arg_names();
    Builtin {
        name: family.name(),
        min: params.len(),
        max: Some(params.len()),
        named: NONE,
        any_named: false,
        params,
        summary,
    }
}

const AXIS: &[&str] = &["axis"];
const SEED: &[&str] = &["seed"];
const NONE: &[&str] = &[];
const WEIGHTS: &[&str] = &["weights"];

/// Every built-in function.
pub const BUILTINS: &[Builtin] = &[
    f("exp", 1, 1, NONE, "exp(x): e^x, element-wise"),
    f("log", 1, 1, NONE, "log(x): natural logarithm, element-wise"),
    f("sqrt", 1, 1, NONE, "sqrt(x): square root, element-wise"),
    f("abs", 1, 1, NONE, "abs(x): absolute value, element-wise"),
    f("sum", 1, 1, AXIS, "sum(x, axis = a): sum of the elements"),
    f(
        "prod",
        1,
        1,
        AXIS,
        "prod(x, axis = a): product of the elements",
    ),
    f(
        "mean",
        1,
        1,
        AXIS,
        "mean(x, axis = a), mean(dist): the mean",
    ),
    f(
        "var",
        1,
        1,
        AXIS,
        "var(x, axis = a), var(dist): population variance",
    ),
    f(
        "sd",
        1,
        1,
        AXIS,
        "sd(x, axis = a): population standard deviation",
    ),
    f("min", 1, 1, AXIS, "min(x, axis = a): the smallest element"),
    f("max", 1, 1, AXIS, "max(x, axis = a): the largest element"),
    f(
        "len",
        1,
        1,
        NONE,
        "len(x): number of elements, or rows of a dataset",
    ),
    f(
        "argmax",
        1,
        1,
        NONE,
        "argmax(x): index of the largest element (row-wise on a matrix)",
    ),
    f("cumsum", 1, 1, NONE, "cumsum(x): running sums"),
    f("all", 1, 1, NONE, "all(x): whether every element is true"),
    f("any", 1, 1, NONE, "any(x): whether some element is true"),
    f(
        "logsumexp",
        1,
        1,
        AXIS,
        "logsumexp(M, axis = 1): log of the sum of exponentials, stably",
    ),
    f(
        "softmax",
        1,
        1,
        AXIS,
        "softmax(M, axis = 1): normalised exponentials",
    ),
    f("col", 1, 1, NONE, "col(v): v as an N×1 matrix"),
    f("row", 1, 1, NONE, "row(v): v as a 1×N matrix"),
    f(
        "linspace",
        3,
        3,
        NONE,
        "linspace(a, b, n): n evenly spaced numbers from a to b",
    ),
    f("zeros", 1, 1, NONE, "zeros(n): a vector of n zeros"),
    f("ones", 1, 1, NONE, "ones(n): a vector of n ones"),
    f("eye", 1, 1, NONE, "eye(n): the n×n identity matrix"),
    f("transpose", 1, 1, NONE, "transpose(M): rows become columns"),
    f("det", 1, 1, NONE, "det(M): determinant"),
    f("inv", 1, 1, NONE, "inv(M): matrix inverse"),
    f("chol", 1, 1, NONE, "chol(M): lower Cholesky factor"),
    f(
        "where",
        3,
        3,
        NONE,
        "where(cond, a, b): a where cond is true, else b, element by element (like NumPy's)",
    ),
    f(
        "close",
        2,
        2,
        &["tol"],
        "close(a, b, tol = 1e-9): equal within a relative tolerance",
    ),
    dist(
        Family::Normal,
        "Normal(mean, sd): normal distribution (batched for vectors)",
    ),
    dist(
        Family::Categorical,
        "Categorical(p): integers 0..n-1 with probabilities p",
    ),
    dist(
        Family::Bernoulli,
        "Bernoulli(p): 1 with probability p, else 0",
    ),
    dist(
        Family::MvNormal,
        "MvNormal(mean, cov): multivariate normal distribution",
    ),
    f(
        "Mixture",
        2,
        2,
        NONE,
        "Mixture(Categorical(pi), Normal(mu, sigma)): a mixture",
    ),
    f(
        "pdf",
        2,
        2,
        NONE,
        "pdf(dist, x): density or probability at x",
    ),
    f(
        "logpdf",
        2,
        2,
        NONE,
        "logpdf(dist, x): log density at x, stably",
    ),
    f(
        "cdf",
        2,
        2,
        NONE,
        "cdf(dist, x): cumulative probability at x",
    ),
    f(
        "sample",
        1,
        2,
        SEED,
        "sample(model or dist, n, seed = s): random draws",
    ),
    f(
        "load",
        1,
        1,
        NONE,
        "load(\"file.csv\") or load(\"file.gmm\"): read data or a model",
    ),
    Builtin {
        name: "table",
        min: 0,
        max: Some(0),
        named: NONE,
        any_named: true,
        params: NONE,
        summary: "table(x = v, z = w): a dataset from columns",
    },
    Builtin {
        name: "columns",
        min: 1,
        max: None,
        named: NONE,
        any_named: false,
        params: NONE,
        summary: "columns(d, \"a\", \"b\"): dataset columns as a matrix",
    },
    f(
        "codes",
        1,
        1,
        NONE,
        "codes(v): text labels as integers 0..k-1",
    ),
    f(
        "levels",
        1,
        1,
        NONE,
        "levels(v): the labels codes() numbers",
    ),
    f(
        "save",
        2,
        2,
        NONE,
        "save(value, \"path\"): write a dataset, model or value",
    ),
    f(
        "fit",
        2,
        2,
        FIT_OPTIONS,
        "fit(model, data, ...): fit parameters by EM",
    ),
    f(
        "decode",
        2,
        2,
        NONE,
        "decode(model, data): the latents' most probable joint values (Viterbi for a chain)",
    ),
    f(
        "impute",
        2,
        2,
        NONE,
        "impute(model, data): data with each missing cell filled from its row",
    ),
    f(
        "loglik",
        2,
        2,
        WEIGHTS,
        "loglik(model, data, weights = w): total log-likelihood",
    ),
    f(
        "stderr",
        2,
        2,
        NONE,
        "stderr(f, d): standard errors of a fit's estimates, from the exact observed information",
    ),
    f(
        "confint",
        2,
        2,
        &["level"],
        "confint(f, d, level = 0.95): Wald intervals of a fit's estimates, [lower, upper] per entry",
    ),
    f(
        "summary",
        2,
        2,
        &["level"],
        "summary(f, d, level = 0.95): a table of each estimate with its standard error and interval",
    ),
    f(
        "logprior",
        1,
        1,
        NONE,
        "logprior(model): the log prior density of the model's parameter values",
    ),
    f(
        "nparams",
        1,
        1,
        NONE,
        "nparams(model): free scalar parameters",
    ),
    f(
        "bic",
        2,
        2,
        WEIGHTS,
        "bic(model, data, weights = w): -2 loglik + nparams ln N",
    ),
    f(
        "aic",
        2,
        2,
        WEIGHTS,
        "aic(model, data, weights = w): -2 loglik + 2 nparams",
    ),
    f(
        "select",
        3,
        3,
        FIT_OPTIONS,
        "select(template, [k...], data, ...): fit each size, keep the lowest BIC",
    ),
    f(
        "graph",
        1,
        1,
        &["file", "format"],
        "graph(model, format = \"dot\"): the plate diagram as Graphviz DOT, \"svg\" or \"text\"; with file = \"m.svg\" (or .dot, .txt) written to a file",
    ),
    f(
        "tex",
        1,
        1,
        NONE,
        "tex(model): the joint distribution as LaTeX, factorised as the graph says",
    ),
    f(
        "joint",
        1,
        1,
        NONE,
        "joint(model): the joint distribution as plain Unicode for the terminal",
    ),
    f(
        "plot",
        1,
        2,
        PLOT_OPTIONS,
        "plot(model), plot(model, data), plot(v), plot(x, y), plot(x, dist, points = M), plot(v, color = labels): a chart as text, or SVG with file = \"x.svg\"",
    ),
];

/// The built-in named `name`.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

impl Builtin {
    /// Puts arguments given by the name of a positional parameter (`sd = 2`) in their
    /// places after the positional ones. `names[i]` is the name of argument `i`, or `None`
    /// for a positional one. Returns, for each filled place, the index of the argument that
    /// fills it; or the index of an argument that names a place already filled.
    pub fn bind(&self, names: &[Option<&str>]) -> Result<Vec<usize>, usize> {
        let mut order: Vec<usize> = (0..names.len()).filter(|&i| names[i].is_none()).collect();
        let first_named = order.len();
        for (i, n) in names.iter().enumerate() {
            if let Some(k) = n.and_then(|n| self.params.iter().position(|p| *p == n))
                && k < first_named
            {
                return Err(i);
            }
        }
        for p in self.params.iter().skip(first_named) {
            match names.iter().position(|n| *n == Some(*p)) {
                Some(i) => order.push(i),
                None => break,
            }
        }
        Ok(order)
    }

    /// Whether `name` is one of its positional parameters' names.
    pub fn is_param(&self, name: &str) -> bool {
        self.params.contains(&name)
    }

    /// Describes the accepted positional count, e.g. `2 arguments` or `1 or 2 arguments`.
    pub fn arity_text(&self) -> String {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match self.max {
            Some(max) if max == self.min => format!("{max} argument{}", plural(max)),
            Some(max) if max == self.min + 1 => {
                format!("{} or {max} argument{}", self.min, plural(max))
            }
            Some(max) => format!("{} to {max} arguments", self.min),
            None => format!("at least {} argument{}", self.min, plural(self.min)),
        }
    }
}
