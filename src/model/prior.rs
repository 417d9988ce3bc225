//! Priors on parameters (LANGUAGE.md §9.2): which family fits which parameter type, the checks
//! on their arguments, and their log densities (normalised, as SciPy's `logpdf`; `InvGamma` and
//! `InvWishart` as densities of the variance or covariance matrix itself).
//!
//! | prior | on |
//! |---|---|
//! | `Dirichlet(alpha)` | `simplex[n]`, each row of an array of them |
//! | `Beta(a, b)` | `prob` |
//! | `Normal(mean, sd)` | `real`, `vector[n]` (each entry) |
//! | `InvGamma(a, b)` | `positive` used as a Normal sd (on its square), `diag[n]` (each variance), `iso[n]` (its one variance) |
//! | `InvWishart(nu, Psi)` | `cov[n]` |

use super::ParamType;
use crate::array::{Array, format_number};
use libm::lgamma;

/// A prior, its arguments checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Prior {
    /// Concentrations, one per entry of the simplex (a scalar broadcast).
    Dirichlet {
        alpha: Vec<f64>,
    },
    Beta {
        a: f64,
        b: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    /// On a variance v: density b^a / Γ(a) · v^(−a−1) · exp(−b / v).
    InvGamma {
        a: f64,
        b: f64,
    },
    /// On an n×n covariance Σ, with `psi` row-major.
    InvWishart {
        nu: f64,
        psi: Vec<f64>,
    },
}

/// The prior families, for messages and suggestions.
pub const FAMILIES: &[&str] = &["Dirichlet", "Beta", "Normal", "InvGamma", "InvWishart"];

/// Why a prior cannot be taken: the message, and how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorError {
    pub message: String,
    pub help: String,
}

fn refuse(message: impl Into<String>, help: impl Into<String>) -> PriorError {
    PriorError {
        message: message.into(),
        help: help.into(),
    }
}

/// The priors a parameter type takes, in words.
pub fn fitting(ty: ParamType) -> &'static str {
    match ty {
        ParamType::Simplex(_) => "`Dirichlet(alpha)`",
        ParamType::Prob => "`Beta(a, b)`",
        ParamType::Real | ParamType::Vector(_) => "`Normal(mean, sd)`",
        ParamType::Positive => "`InvGamma(a, b)` (on its square: a Normal's variance)",
        ParamType::Diag(_) | ParamType::Iso(_) => "`InvGamma(a, b)` (on each variance)",
        ParamType::Cov(_) => "`InvWishart(nu, Psi)`",
    }
}

impl Prior {
    /// The prior `family(args…)` on a parameter of type `ty`.
    pub fn new(family: &str, ty: ParamType, args: &[Array]) -> Result<Prior, PriorError> {
        let ty_name = ty.to_source();
        let takes = match family {
            "Dirichlet" => matches!(ty, ParamType::Simplex(_)),
            "Beta" => ty == ParamType::Prob,
            "Normal" => matches!(ty, ParamType::Real | ParamType::Vector(_)),
            "InvGamma" => matches!(
                ty,
                ParamType::Positive | ParamType::Diag(_) | ParamType::Iso(_)
            ),
            "InvWishart" => matches!(ty, ParamType::Cov(_)),
            _ => {
                let hint = crate::diag::suggest(family, FAMILIES.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                return Err(refuse(
                    format!("`{family}` is not a prior"),
                    format!(
                        "{hint}a `{ty_name}` parameter takes {}; the priors are {}",
                        fitting(ty),
                        FAMILIES.join(", ")
                    ),
                ));
            }
        };
        if !takes {
            return Err(refuse(
                format!("`{family}` is not a prior for a `{ty_name}` parameter"),
                format!("a `{ty_name}` parameter takes {}", fitting(ty)),
            ));
        }
        let arity = if family == "Dirichlet" { 1 } else { 2 };
        if args.len() != arity {
            return Err(refuse(
                format!(
                    "`{family}` takes {arity} argument{}, got {}",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
                format!("write {}", fitting(ty)),
            ));
        }
        let scalar = |i: usize, what: &str| -> Result<f64, PriorError> {
            args[i]
                .as_scalar()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    refuse(
                        format!(
                            "`{family}`'s {what} must be one finite number, got shape {}",
                            crate::array::show_shape(args[i].shape())
                        ),
                        format!("write {}", fitting(ty)),
                    )
                })
        };
        // A mode needs concentrations of at least 1: below, the density is unbounded at the
        // edge and MAP estimation has no answer.
        let at_least_one = |x: f64, what: &str| -> Result<(), PriorError> {
            if x.is_nan() || x <= 0.0 {
                return Err(refuse(
                    format!(
                        "`{family}`'s {what} must be positive, got {}",
                        format_number(x)
                    ),
                    "use 1 for a flat prior, or more to pull towards the middle",
                ));
            }
            if x < 1.0 {
                return Err(refuse(
                    format!(
                        "`{family}`'s {what} is {}, below 1: the prior's density is unbounded at the edge, so the posterior has no mode for fit to find",
                        format_number(x)
                    ),
                    "use 1 for a flat prior, or more to pull towards the middle",
                ));
            }
            Ok(())
        };
        let positive = |x: f64, what: &str| -> Result<(), PriorError> {
            if x > 0.0 {
                Ok(())
            } else {
                Err(refuse(
                    format!(
                        "`{family}`'s {what} must be positive, got {}",
                        format_number(x)
                    ),
                    format!("write {} with positive numbers", fitting(ty)),
                ))
            }
        };
        match family {
            "Dirichlet" => {
                let ParamType::Simplex(n) = ty else {
                    unreachable!("checked above")
                };
                let a = &args[0];
                let alpha = match (a.rank(), a.len()) {
                    (0, _) => vec![a.data()[0]; n],
                    (1, m) if m == n => a.data().to_vec(),
                    _ => {
                        return Err(refuse(
                            format!(
                                "`Dirichlet`'s alpha is one number or {n} (one per entry of the simplex), got shape {}",
                                crate::array::show_shape(a.shape())
                            ),
                            format!("write Dirichlet(2.0) or Dirichlet([...]) with {n} numbers"),
                        ));
                    }
                };
                for &x in &alpha {
                    at_least_one(x, "concentration")?;
                }
                Ok(Prior::Dirichlet { alpha })
            }
            "Beta" => {
                let (a, b) = (scalar(0, "a")?, scalar(1, "b")?);
                at_least_one(a, "a")?;
                at_least_one(b, "b")?;
                Ok(Prior::Beta { a, b })
            }
            "Normal" => {
                let (mean, sd) = (scalar(0, "mean")?, scalar(1, "sd")?);
                positive(sd, "sd")?;
                Ok(Prior::Normal { mean, sd })
            }
            "InvGamma" => {
                let (a, b) = (scalar(0, "shape a")?, scalar(1, "scale b")?);
                positive(a, "shape a")?;
                positive(b, "scale b")?;
                Ok(Prior::InvGamma { a, b })
            }
            "InvWishart" => {
                let ParamType::Cov(n) = ty else {
                    unreachable!("checked above")
                };
                let nu = scalar(0, "degrees of freedom nu")?;
                if nu <= (n - 1) as f64 {
                    return Err(refuse(
                        format!(
                            "`InvWishart`'s nu must be greater than n − 1 = {} for a {n}×{n} covariance, got {}",
                            n - 1,
                            format_number(nu)
                        ),
                        format!(
                            "use nu = {} or more (n + 2 gives a prior whose mean is Psi)",
                            n + 1
                        ),
                    ));
                }
                let psi = &args[1];
                if psi.shape() != [n, n] {
                    return Err(refuse(
                        format!(
                            "`InvWishart`'s Psi must be a {n}×{n} matrix, got shape {}",
                            crate::array::show_shape(psi.shape())
                        ),
                        format!("write a {n}×{n} scale matrix, e.g. eye({n})"),
                    ));
                }
                ParamType::Cov(n).validate(psi.data()).map_err(|why| {
                    refuse(
                        format!("`InvWishart`'s Psi: {why}"),
                        "Psi is a covariance: symmetric and positive-definite, e.g. eye(n)",
                    )
                })?;
                Ok(Prior::InvWishart {
                    nu,
                    psi: psi.data().to_vec(),
                })
            }
            _ => unreachable!("checked above"),
        }
    }

    /// The family's name.
    pub fn family(&self) -> &'static str {
        match self {
            Prior::Dirichlet { .. } => "Dirichlet",
            Prior::Beta { .. } => "Beta",
            Prior::Normal { .. } => "Normal",
            Prior::InvGamma { .. } => "InvGamma",
            Prior::InvWishart { .. } => "InvWishart",
        }
    }

    /// The arguments as values, for writing the prior back as source.
    pub fn args(&self) -> Vec<Array> {
        match self {
            Prior::Dirichlet { alpha } => {
                if alpha.windows(2).all(|w| w[0] == w[1]) {
                    vec![Array::scalar(alpha[0])]
                } else {
                    vec![Array::vector(alpha.clone())]
                }
            }
            Prior::Beta { a, b } | Prior::InvGamma { a, b } => {
                vec![Array::scalar(*a), Array::scalar(*b)]
            }
            Prior::Normal { mean, sd } => vec![Array::scalar(*mean), Array::scalar(*sd)],
            Prior::InvWishart { nu, psi } => {
                let n = (psi.len() as f64).sqrt().round() as usize;
                vec![Array::scalar(*nu), Array::from_vec(vec![n, n], psi.clone())]
            }
        }
    }

    /// log prior of one element `x` of a parameter of type `ty` (a simplex, a number, a
    /// vector, a matrix): the sum over its entries where the prior is on each entry.
    pub fn logpdf(&self, ty: ParamType, x: &[f64]) -> f64 {
        match self {
            Prior::Dirichlet { alpha } => {
                let total: f64 = alpha.iter().sum();
                lgamma(total) - alpha.iter().map(|&a| lgamma(a)).sum::<f64>()
                    + alpha
                        .iter()
                        .zip(x)
                        .map(|(&a, &p)| if a == 1.0 { 0.0 } else { (a - 1.0) * p.ln() })
                        .sum::<f64>()
            }
            Prior::Beta { a, b } => {
                let t = x[0];
                lgamma(a + b) - lgamma(*a) - lgamma(*b)
                    + if *a == 1.0 { 0.0 } else { (a - 1.0) * t.ln() }
                    + if *b == 1.0 {
                        0.0
                    } else {
                        (b - 1.0) * (1.0 - t).ln()
                    }
            }
            Prior::Normal { mean, sd } => x
                .iter()
                .map(|&v| crate::infer::numeric::normal_logpdf(v, *mean, *sd))
                .sum(),
            Prior::InvGamma { a, b } => {
                let one = |v: f64| a * b.ln() - lgamma(*a) - (a + 1.0) * v.ln() - b / v;
                match ty {
                    // On the variance: the square of the sd.
                    ParamType::Positive => one(x[0] * x[0]),
                    ParamType::Diag(n) => (0..n).map(|i| one(x[i * n + i])).sum(),
                    ParamType::Iso(_) => one(x[0]),
                    _ => unreachable!("InvGamma is on positive, diag and iso"),
                }
            }
            Prior::InvWishart { nu, psi } => {
                let n = (psi.len() as f64).sqrt().round() as usize;
                let nf = n as f64;
                let log_det = |m: &[f64]| crate::linalg::det(m, n).map_or(f64::NAN, f64::ln);
                let inv = crate::linalg::inverse(x, n).unwrap_or_else(|_| vec![f64::NAN; n * n]);
                // tr(Ψ Σ⁻¹)
                let trace: f64 = (0..n)
                    .map(|i| (0..n).map(|k| psi[i * n + k] * inv[k * n + i]).sum::<f64>())
                    .sum();
                let log_gamma_n = nf * (nf - 1.0) / 4.0 * std::f64::consts::PI.ln()
                    + (0..n).map(|j| lgamma((nu - j as f64) / 2.0)).sum::<f64>();
                nu / 2.0 * log_det(psi)
                    - nu * nf / 2.0 * std::f64::consts::LN_2
                    - log_gamma_n
                    - (nu + nf + 1.0) / 2.0 * log_det(x)
                    - trace / 2.0
            }
        }
    }
}

/// The log prior of a model's parameter values: the sum over parameters with a prior and a
/// value, element by element. 0 for a model without priors.
pub fn logprior(model: &super::Model) -> f64 {
    let mut total = 0.0;
    for p in &model.params {
        let (Some(prior), Some(value)) = (&p.prior, &p.value) else {
            continue;
        };
        let elem: usize = p.ty.elem_shape().iter().product::<usize>().max(1);
        for x in value.data().chunks(elem) {
            total += prior.logpdf(p.ty, x);
        }
    }
    total
}
