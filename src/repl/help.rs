//! `:help [topic]`: the statements, models, queries, fit options, data and every built-in
//! function, each with an example. Built-in signatures come from `crate::builtins`, so help
//! and the checker never disagree.

use crate::builtins::{self, FIT_OPTIONS};

/// The topics `:help` knows besides built-in names.
pub const TOPICS: &[&str] = &[
    "statements",
    "models",
    "queries",
    "fit",
    "data",
    "builtins",
    "commands",
];

/// The help text for `topic` (empty: the overview); `None` for an unknown topic.
pub fn help(topic: &str) -> Option<String> {
    let topic = topic.trim().trim_start_matches(':');
    Some(match topic {
        "" => OVERVIEW.to_string(),
        "statements" => STATEMENTS.to_string(),
        "models" => MODELS.to_string(),
        "queries" => QUERIES.to_string(),
        "fit" => fit_help(),
        "data" => DATA.to_string(),
        "builtins" => builtin_list(),
        // The commands, by their names without the colon (`:help load`).
        "commands" | "help" | "load" | "vars" | "graph" | "joint" | "reset" | "quit" => {
            COMMANDS.to_string()
        }
        name => {
            let b = builtins::lookup(name)?;
            let mut s = format!("{}\n", b.summary);
            if !b.named.is_empty() {
                s.push_str(&format!("options: {}\n", b.named.join(", ")));
            }
            if let Some(ex) = example(name) {
                s.push_str(&format!("example:\n    {}\n", ex.replace('\n', "\n    ")));
            }
            if name == "fit" || name == "select" {
                s.push_str("see also: :help fit\n");
            }
            s
        }
    })
}

const OVERVIEW: &str = "\
gmm: mixture models and their graphical models, written as math.

Type a statement and press Enter; a bare expression prints its value, a model declaration
prints a summary. Open brackets continue on the next line. Tab completes; Ctrl-C clears the
line or stops a long computation; Ctrl-D leaves.

topics:   :help statements   :help models   :help queries   :help fit   :help data
          :help builtins     :help NAME (a built-in function, e.g. :help pdf)
commands: :help [topic]   :load FILE   :models   :vars   :graph MODEL   :joint MODEL
          :reset   :quit
";

const COMMANDS: &str = "\
:help [topic]  this help, or a topic (statements, models, queries, fit, data, builtins, NAME)
:load FILE     run a .gmm script in this session (its relative paths are from its folder)
:models        the models and templates defined, one line each
:vars          every name: its kind and shape
:graph MODEL   the model's plate diagram, drawn in text (a template with arguments: mix(3))
:joint MODEL   the model's joint distribution, factorised as its graph says (LaTeX: tex(m))
:reset         forget every name and model
:quit          leave (Ctrl-D too)
example:
    :graph grades
    :joint grades
";

const STATEMENTS: &str = "\
model NAME { ... }          declare a model (see :help models)
let NAME = EXPR             define a name (shadowing is allowed)
NAME = EXPR                 assign to an existing name
print EXPR, EXPR, ...       print values separated by spaces
assert EXPR, \"message\"      stop with an error unless EXPR is true
for NAME in EXPR { ... }    loop over a vector's elements
EXPR                        evaluate; the REPL prints the value
example:
    let xs = linspace(0, 1, 5)
    for x in xs { print x, x^2 }
";

const MODELS: &str = "\
model NAME { ITEMS }  or a template  model NAME(K) { ITEMS }  (NAME(3) makes a model)
items:  const NAME = EXPR
        param NAME[DIMS] : TYPE = VALUE      types: real positive prob simplex[n] vector[n]
                                                    cov[n] diag[n] iso[n]
        NAME ~ DIST(ARGS)                    Categorical(p) Bernoulli(p) Normal(mean, sd)
                                             MvNormal(mean, cov)
        plate NAME { ITEMS }                 the data plate: one copy per data row
        plate NAME : SIZE { ITEMS }          a fixed-size plate
example:
    model grades {
        param pi : simplex[2] = [0.6, 0.4]
        param mu[2] : real = [2.5, 4.8]
        param sigma[2] : positive = [0.6, 0.3]
        plate exams {
            z ~ Categorical(pi)
            x ~ Normal(mu[z], sigma[z])
        }
    }
";

const QUERIES: &str = "\
p(x = 3.0)          marginal density: every other variable summed or integrated out
p(z = 1, x = 3.0)   joint
p(z = 1 | x = 3.0)  conditional
p(z | x = 3.0)      posterior of a discrete target: a vector over its values
p(x | z = 1)        a continuous target without a value: its distribution
logp(...)           the same in log space
m.p(...)            ask the model m instead of the current model
Values may carry a leading copy dimension: p(z | x = d.x) is an N×K matrix.
example:
    p(z | x = [1.0, 3.0, 5.0])
";

const DATA: &str = "\
load(\"file.csv\")       a dataset (empty or NA cells are missing; text columns stay text)
table(x = v, z = w)    a dataset from values (a matrix makes columns x[0], x[1], ...)
d.x                    a column (x[0], x[1], ... gathered into a matrix)
columns(d, \"a\", \"b\")   a matrix of columns
sample(m, n, seed = s) n rows drawn from a model, latent columns included
save(d, \"out.csv\")     write a dataset (atomically)
example:
    let d = sample(grades, 100, seed = 1)
    mean(d.x)
";

fn fit_help() -> String {
    let mut s = String::from(
        "fit(model, data, OPTIONS) fits the model's params by EM and returns a new model with\n\
         .loglik, .iterations, .converged and .trace. Columns bind to variables by name; a\n\
         variable no column names is latent, and so is a missing cell.\noptions:\n",
    );
    let meaning = |o: &str| match o {
        "max_iter" => "at most this many iterations (default 1000)",
        "tol" => {
            "stop when the log-likelihood per row changes less (default 1e-6; 0 runs max_iter)"
        }
        "reg" => "added to every variance after each M-step (default 1e-6)",
        "init" => "\"auto\", \"given\", \"kmeans\" or \"random\" (default \"auto\")",
        "restarts" => "number of initialisations; the best wins (default 1)",
        "sieve_iter" => "run every restart this many iterations first (default 0)",
        "sieve_keep" => "then continue only this many (default restarts/10)",
        "seed" => "seeds every random choice (default 0)",
        "weights" => "one non-negative weight per row",
        "fixed" => "parameters held at their values, e.g. [\"pi\"]",
        "verbose" => "print the log-likelihood every iteration",
        _ => "",
    };
    for o in FIT_OPTIONS {
        s.push_str(&format!("  {o:<11} {}\n", meaning(o)));
    }
    s.push_str(
        "related: loglik(m, d), bic(m, d), aic(m, d), nparams(m), select(template, [1, 2, 3], d)\n\
         example:\n    let f = fit(grades, table(x = [2.1, 2.9, 4.7, 5.0]), restarts = 5, seed = 1)\n    f.mu\n",
    );
    s
}

fn builtin_list() -> String {
    let mut s = String::new();
    for b in builtins::BUILTINS {
        s.push_str(&format!("  {}\n", b.summary));
    }
    s.push_str("(:help NAME shows one with an example)\n");
    s
}

/// A short example of each built-in.
fn example(name: &str) -> Option<&'static str> {
    Some(match name {
        "exp" => "exp([0, 1])",
        "log" => "log(2.718281828459045)",
        "sqrt" => "sqrt([4, 9])",
        "abs" => "abs(-3)",
        "sum" => "sum([[1, 2], [3, 4]], axis = 0)",
        "prod" => "prod([1, 2, 3])",
        "mean" => "mean([1, 2, 3, 4])",
        "var" => "var([1, 2, 3, 4])",
        "sd" => "sd([1, 2, 3, 4])",
        "min" => "min([3, 1, 2])",
        "max" => "max([3, 1, 2])",
        "len" => "len([5, 6, 7])",
        "argmax" => "argmax([[0.2, 0.8], [0.9, 0.1]])",
        "cumsum" => "cumsum([1, 2, 3])",
        "all" => "all([1, 2] > 0)",
        "any" => "any([1, -2] < 0)",
        "logsumexp" => "logsumexp([[0, 0], [1, 2]], axis = 1)",
        "softmax" => "softmax([[0, 0], [1, 2]], axis = 1)",
        "col" => "col([1, 2, 3])",
        "row" => "row([1, 2, 3])",
        "linspace" => "linspace(0, 1, 5)",
        "zeros" => "zeros(3)",
        "ones" => "ones([2, 2])",
        "eye" => "eye(2)",
        "transpose" => "transpose([[1, 2], [3, 4]])",
        "det" => "det([[2, 1], [1, 2]])",
        "inv" => "inv([[2, 1], [1, 2]])",
        "chol" => "chol([[4, 2], [2, 3]])",
        "close" => "close(0.1 + 0.2, 0.3)",
        "where" => "where([1, 5, 2] > 1, NA, [1, 5, 2])",
        "Normal" => "pdf(Normal([0, 1], [1, 2]), 0.5)",
        "Categorical" => "sample(Categorical([0.2, 0.8]), 5, seed = 1)",
        "Bernoulli" => "pdf(Bernoulli(0.3), [0, 1])",
        "MvNormal" => "logpdf(MvNormal([0, 0], eye(2)), [1, 1])",
        "Mixture" => "pdf(Mixture(Categorical([0.6, 0.4]), Normal([2.5, 4.8], [0.6, 0.3])), 3.0)",
        "pdf" => "pdf(Normal(0, 1), [0, 1])",
        "logpdf" => "logpdf(Normal(0, 1), 40)",
        "cdf" => "cdf(Normal(0, 1), 1.96)",
        "sample" => "sample(Normal(0, 1), 3, seed = 2)",
        "load" => "let d = load(\"examples/lecture_grades.csv\")",
        "save" => "save(table(x = [1, 2]), \"x.csv\")",
        "table" => "table(x = [1.5, 2.5], z = [0, 1])",
        "columns" => "columns(table(a = [1, 2], b = [3, 4]), \"a\", \"b\")",
        "codes" => "codes([\"b\", \"a\", \"b\"])",
        "levels" => "levels([\"b\", \"a\", \"b\"])",
        "fit" => "let f = fit(grades, table(x = [2.1, 2.9, 4.7, 5.0]))",
        "impute" => "impute(grades, table(x = [2.1, NA], z = [NA, 1]))",
        "decode" => "decode(grades, table(x = [2.1, 4.7]))",
        "loglik" => "loglik(grades, table(x = [2.1, 4.7]))",
        "nparams" => "nparams(grades)",
        "logprior" => "logprior(grades)",
        "stderr" => "print stderr(f, d).mu",
        "confint" => "print confint(f, d, level = 0.9).mu",
        "summary" => "print summary(f, d)",
        "bic" => "bic(grades, table(x = [2.1, 4.7]))",
        "aic" => "aic(grades, table(x = [2.1, 4.7]))",
        "select" => "let best = select(mix, [1, 2, 3], d, restarts = 5)",
        "graph" => "print graph(grades)",
        "tex" => "print tex(grades)",
        "joint" => "print joint(grades)",
        "plot" => "plot(grades)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_has_help_with_an_example() {
        for b in builtins::BUILTINS {
            let h = help(b.name).expect("a topic");
            assert!(h.contains("example:"), "{}", b.name);
        }
        for t in TOPICS {
            assert!(help(t).is_some_and(|h| h.contains("example")), "{t}");
        }
        assert!(help("no_such_topic").is_none());
    }
}
