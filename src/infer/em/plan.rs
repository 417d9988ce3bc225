//! How each learned parameter enters the model, worked out once per fit: its role (a
//! Categorical's probabilities, a Bernoulli's probability, a mean, a standard deviation or a
//! covariance) and, for every table entry that reads it, which of its elements. Elements read
//! together form a *cell* (`mu[1]`, `sigma`, `S[0]`); the M-step updates cell by cell from the
//! statistics of the entries that use it.

use super::FitError;
use crate::array::unravel;
use crate::infer::cpd::{Which, positions, table_len};
use crate::model::expr::Index;
use crate::model::{Dist, Expr, Model, ParamId, ParamType, VarId};
use std::collections::BTreeMap;

/// The table entries that read each group of a parameter's elements, keyed by the elements.
type CellUses = BTreeMap<Vec<usize>, Vec<(VarId, usize)>>;

/// What a parameter is to the distributions that read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Categorical probabilities (a simplex per cell).
    Probs,
    /// A Bernoulli probability.
    Prob,
    /// A Normal or MvNormal mean.
    Mean,
    /// A Normal standard deviation.
    Sd,
    /// An MvNormal covariance of this type (`cov`, `diag` or `iso`).
    Cov(ParamType),
}

impl Role {
    fn describe(self) -> &'static str {
        match self {
            Role::Probs => "a Categorical's probabilities",
            Role::Prob => "a Bernoulli's probability",
            Role::Mean => "a mean",
            Role::Sd => "a standard deviation",
            Role::Cov(_) => "a covariance",
        }
    }
}

/// Elements of a parameter read together, and the table entries that read them.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Flat positions in the parameter's value, in the order the distribution reads them.
    pub offsets: Vec<usize>,
    /// `(variable, entry)` pairs whose distribution reads this cell.
    pub uses: Vec<(VarId, usize)>,
}

/// One learned parameter.
#[derive(Clone, Debug)]
pub struct Learned {
    /// The parameter.
    pub param: ParamId,
    /// Its role.
    pub role: Role,
    /// Its cells, ordered by position.
    pub cells: Vec<Cell>,
}

/// Everything the M-step needs to know about the model's structure.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The learned parameters that some distribution reads.
    pub learned: Vec<Learned>,
}

impl Plan {
    /// Analyses `model` with the parameters `fixed` held at their values.
    pub fn new(model: &Model, fixed: &[ParamId]) -> Result<Plan, FitError> {
        let learned_here = |e: &Expr| -> Vec<ParamId> {
            let mut ps = e.params();
            ps.retain(|p| !fixed.contains(p));
            ps
        };
        // Per parameter: its role and cells keyed by their offsets.
        let mut found: BTreeMap<ParamId, (Role, CellUses)> = BTreeMap::new();
        let dists = model.vars.iter().enumerate().flat_map(|(v, var)| {
            let next = var.next.as_ref().map(|n| (v, var, &n.dist, Which::Next));
            std::iter::once((v, var, &var.dist, Which::First)).chain(next)
        });
        for (v, var, dist, which) in dists {
            // A chained variable's `then` entries follow its first table's.
            let skip = match which {
                Which::First => 0,
                Which::Next => table_len(model, v, Which::First),
            };
            let args: Vec<(&Expr, Role, &str)> = match dist {
                Dist::Categorical { p } => vec![(p, Role::Probs, "p")],
                Dist::Bernoulli { p } => vec![(p, Role::Prob, "p")],
                Dist::Normal { mean, sd } => {
                    vec![(mean, Role::Mean, "mean"), (sd, Role::Sd, "sd")]
                }
                Dist::MvNormal { mean, cov } => vec![
                    (mean, Role::Mean, "mean"),
                    (cov, Role::Cov(ParamType::Cov(0)), "cov"),
                ],
            };
            for &(e, role, arg) in &args {
                let ps = learned_here(e);
                let Some(&first) = ps.first() else {
                    continue;
                };
                let Some(p) = direct_param(e).filter(|p| ps == [*p]) else {
                    return Err(FitError::NotDirect {
                        param: model.params[first].name.clone(),
                        var: var.name.clone(),
                        arg: arg.to_string(),
                    });
                };
                let param = &model.params[p];
                let unsupported = |why: String| FitError::Unsupported {
                    param: param.name.clone(),
                    why,
                };
                let role = match (role, param.ty) {
                    (Role::Probs, ParamType::Simplex(_))
                    | (Role::Prob, ParamType::Prob)
                    | (Role::Mean, ParamType::Real | ParamType::Vector(_))
                    | (Role::Sd, ParamType::Positive) => role,
                    (
                        Role::Cov(_),
                        t @ (ParamType::Cov(_) | ParamType::Diag(_) | ParamType::Iso(_)),
                    ) => Role::Cov(t),
                    (role, ty) => {
                        return Err(unsupported(format!(
                            "it is {} of `{}` but has type {}; declare it as {}",
                            role.describe(),
                            var.name,
                            ty.to_source(),
                            match role {
                                Role::Probs => "simplex[n]",
                                Role::Prob => "prob",
                                Role::Mean => "real (or vector[n])",
                                Role::Sd => "positive",
                                Role::Cov(_) => "cov[n], diag[n] or iso[n]",
                            }
                        )));
                    }
                };
                let per_entry = positions(model, v, which, e, p).map_err(FitError::Infer)?;
                // A simplex or covariance cell must be one whole element of the parameter.
                let elem: usize = param.ty.elem_shape().iter().product();
                if matches!(role, Role::Probs | Role::Cov(_))
                    && per_entry.iter().any(|o| {
                        o.len() != elem
                            || o[0] % elem != 0
                            || o.iter().enumerate().any(|(j, &x)| x != o[0] + j)
                    })
                {
                    return Err(unsupported(format!(
                        "`{}` must read one whole element of it",
                        var.name
                    )));
                }
                let entry = found.entry(p).or_insert((role, BTreeMap::new()));
                if entry.0 != role {
                    return Err(unsupported(format!(
                        "it is {} in one place and {} in another",
                        entry.0.describe(),
                        role.describe()
                    )));
                }
                for (e_idx, offs) in per_entry.into_iter().enumerate() {
                    entry.1.entry(offs).or_default().push((v, skip + e_idx));
                }
            }
        }
        let mut learned = Vec::new();
        for (param, (role, cells)) in found {
            let cells: Vec<Cell> = cells
                .into_iter()
                .map(|(offsets, uses)| Cell { offsets, uses })
                .collect();
            let len: usize = model.params[param].shape().iter().product();
            let mut seen = vec![false; len];
            for c in &cells {
                for &o in &c.offsets {
                    if std::mem::replace(&mut seen[o], true) {
                        return Err(FitError::Unsupported {
                            param: model.params[param].name.clone(),
                            why: "its elements are read in overlapping groups".into(),
                        });
                    }
                }
            }
            learned.push(Learned { param, role, cells });
        }
        Ok(Plan { learned })
    }
}

/// The parameter `e` reads directly: `theta` or an indexing of it (`mu[z]`, `S[z, :, :]`)
/// whose indices involve no parameter.
fn direct_param(e: &Expr) -> Option<ParamId> {
    match e {
        Expr::Param(p) => Some(*p),
        Expr::Index(base, idx) => {
            let clean = idx.iter().all(|i| match i {
                Index::All => true,
                Index::At(x) => x.params().is_empty(),
            });
            if clean { direct_param(base) } else { None }
        }
        _ => None,
    }
}

/// A cell's name for messages: `mu[1]`, `S[0]`, or `sigma` for a whole parameter.
pub fn cell_name(model: &Model, param: ParamId, offsets: &[usize]) -> String {
    let p = &model.params[param];
    let shape = p.shape();
    // The leading dimensions that pick the cell: drop trailing ones the cell spans.
    let mut lead = shape.len();
    let mut span = 1;
    while lead > 0 && span * shape[lead - 1] <= offsets.len() {
        span *= shape[lead - 1];
        lead -= 1;
    }
    if lead == 0 {
        return p.name.clone();
    }
    let idx = unravel(offsets[0] / span, &shape[..lead]);
    let parts: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
    format!("{}[{}]", p.name, parts.join(", "))
}
