//! Expressions inside a model, with names resolved to constants, parameters, variables and plate
//! indices; evaluated on arrays, and shaped without evaluating.

use super::{ConstId, ParamId, PlateId, VarId};
use crate::array::{
    Array, ArrayError, Idx, broadcast_shape, checked_len, format_number, matmul_shape,
};
use thiserror::Error;

/// A resolved expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal value.
    Lit(Array),
    /// A `const` of the model (or a template argument or script value it captured).
    Const(ConstId),
    /// A `param`.
    Param(ParamId),
    /// A random variable.
    Var(VarId),
    /// The index of a fixed-size plate.
    PlateIndex(PlateId),
    /// `prev(v)`: a chained variable's value in the previous row (section 9.4).
    Prev(VarId),
    /// `[a, b, ...]`.
    List(Vec<Expr>),
    /// `-a` or `not a`.
    Unary(UnOp, Box<Expr>),
    /// `a op b`, element-wise with broadcasting (`@` is the matrix product).
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `a[i, :, j]`.
    Index(Box<Expr>, Vec<Index>),
    /// `exp(a)` and the other element-wise functions.
    Call(MathFn, Box<Expr>),
}

impl Expr {
    /// Every parameter the expression mentions, in order of first appearance.
    pub fn params(&self) -> Vec<ParamId> {
        fn walk(e: &Expr, out: &mut Vec<ParamId>) {
            match e {
                Expr::Param(p) => {
                    if !out.contains(p) {
                        out.push(*p);
                    }
                }
                Expr::Lit(_)
                | Expr::Const(_)
                | Expr::Var(_)
                | Expr::PlateIndex(_)
                | Expr::Prev(_) => {}
                Expr::List(items) => items.iter().for_each(|x| walk(x, out)),
                Expr::Unary(_, a) | Expr::Call(_, a) => walk(a, out),
                Expr::Binary(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Index(base, idx) => {
                    walk(base, out);
                    for i in idx {
                        if let Index::At(x) = i {
                            walk(x, out);
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }
}

/// One position of an index.
#[derive(Clone, Debug, PartialEq)]
pub enum Index {
    /// `:`.
    All,
    /// An integer or a vector of integers.
    At(Expr),
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Range,
    Add,
    Sub,
    Mul,
    Div,
    MatMul,
    Pow,
}

/// Element-wise functions allowed inside a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathFn {
    Exp,
    Log,
    Sqrt,
    Abs,
}

impl MathFn {
    /// The function named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<MathFn> {
        match name {
            "exp" => Some(MathFn::Exp),
            "log" => Some(MathFn::Log),
            "sqrt" => Some(MathFn::Sqrt),
            "abs" => Some(MathFn::Abs),
            _ => None,
        }
    }

    /// The function's name.
    pub fn name(self) -> &'static str {
        match self {
            MathFn::Exp => "exp",
            MathFn::Log => "log",
            MathFn::Sqrt => "sqrt",
            MathFn::Abs => "abs",
        }
    }

    fn apply(self, x: f64) -> f64 {
        match self {
            MathFn::Exp => x.exp(),
            MathFn::Log => x.ln(),
            MathFn::Sqrt => x.sqrt(),
            MathFn::Abs => x.abs(),
        }
    }
}

/// Why an expression could not be evaluated or shaped.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum EvalError {
    /// An array operation failed.
    #[error(transparent)]
    Array(#[from] ArrayError),
    /// The expression needs a value that is not available here.
    #[error("{0}")]
    Unavailable(String),
    /// A range whose ends are not whole numbers.
    #[error("a range needs whole-number ends, got {} and {}", format_number(*.0), format_number(*.1))]
    Range(f64, f64),
    /// A range with an end beyond ±2^53, where floats no longer hold every whole number.
    #[error("the range {}..{} is too long: a range's ends must lie within ±9007199254740992 (2^53), where every whole number is exact", format_number(*.0), format_number(*.1))]
    RangeTooLong(f64, f64),
}

/// Supplies the values of an expression's leaves.
pub trait Env {
    /// The value of a constant.
    fn constant(&self, id: ConstId) -> Result<Array, EvalError>;
    /// The value of a parameter.
    fn param(&self, id: ParamId) -> Result<Array, EvalError>;
    /// The value of a variable.
    fn var(&self, id: VarId) -> Result<Array, EvalError>;
    /// The value of a plate index.
    fn plate_index(&self, id: PlateId) -> Result<Array, EvalError>;
    /// The value of `prev(v)`: only a chained variable's next-row distribution reads it.
    fn prev(&self, id: VarId) -> Result<Array, EvalError> {
        let _ = id;
        Err(EvalError::Unavailable(
            "`prev(...)` has a value only in a chained variable's `then` distribution".into(),
        ))
    }
}

/// Supplies the shapes of an expression's leaves.
pub trait ShapeEnv {
    /// The shape of a constant.
    fn constant(&self, id: ConstId) -> Vec<usize>;
    /// The shape of a parameter (dimensions, then the element's own shape).
    fn param(&self, id: ParamId) -> Vec<usize>;
    /// The shape of one copy of a variable.
    fn var(&self, id: VarId) -> Vec<usize>;
}

impl Expr {
    /// Evaluates the expression.
    pub fn eval(&self, env: &dyn Env) -> Result<Array, EvalError> {
        Ok(match self {
            Expr::Lit(a) => a.clone(),
            Expr::Const(id) => env.constant(*id)?,
            Expr::Param(id) => env.param(*id)?,
            Expr::Var(id) => env.var(*id)?,
            Expr::PlateIndex(id) => env.plate_index(*id)?,
            Expr::Prev(id) => env.prev(*id)?,
            Expr::List(items) => {
                let vals = items
                    .iter()
                    .map(|e| e.eval(env))
                    .collect::<Result<Vec<_>, _>>()?;
                Array::stack(&vals)?
            }
            Expr::Unary(op, a) => {
                let a = a.eval(env)?;
                match op {
                    UnOp::Neg => a.map(|x| -x),
                    UnOp::Not => a.map(|x| f64::from(x == 0.0)),
                }
            }
            Expr::Binary(op, a, b) => binary(*op, &a.eval(env)?, &b.eval(env)?)?,
            Expr::Index(base, items) => {
                let base = base.eval(env)?;
                let mut idx = Vec::with_capacity(items.len());
                for it in items {
                    idx.push(match it {
                        Index::All => Idx::All,
                        Index::At(e) => {
                            let v = e.eval(env)?;
                            match v.rank() {
                                0 => Idx::At(v.data()[0]),
                                _ => Idx::Many(v.data().to_vec()),
                            }
                        }
                    });
                }
                base.index(&idx)?
            }
            Expr::Call(f, a) => a.eval(env)?.map(|x| f.apply(x)),
        })
    }

    /// The shape the expression evaluates to, without evaluating it. Ranges and index vectors
    /// must be literal to have a known length.
    pub fn shape(&self, env: &dyn ShapeEnv) -> Result<Vec<usize>, EvalError> {
        Ok(match self {
            Expr::Lit(a) => a.shape().to_vec(),
            Expr::Const(id) => env.constant(*id),
            Expr::Param(id) => env.param(*id),
            Expr::Var(id) | Expr::Prev(id) => env.var(*id),
            Expr::PlateIndex(_) => Vec::new(),
            Expr::List(items) => {
                let mut inner: Option<Vec<usize>> = None;
                for e in items {
                    let s = e.shape(env)?;
                    match &inner {
                        Some(i) if *i != s => return Err(ArrayError::Ragged(i.clone(), s).into()),
                        _ => inner = Some(s),
                    }
                }
                let mut shape = vec![items.len()];
                shape.extend(inner.unwrap_or_default());
                shape
            }
            Expr::Unary(_, a) | Expr::Call(_, a) => a.shape(env)?,
            Expr::Binary(BinOp::MatMul, a, b) => matmul_shape(&a.shape(env)?, &b.shape(env)?)?,
            Expr::Binary(BinOp::Range, a, b) => {
                let len = match (a.as_literal(), b.as_literal()) {
                    (Some(x), Some(y)) => range(x, y)?.shape()[0],
                    _ => {
                        return Err(EvalError::Unavailable(
                            "a range inside a model needs constant ends".into(),
                        ));
                    }
                };
                vec![len]
            }
            Expr::Binary(_, a, b) => broadcast_shape(&a.shape(env)?, &b.shape(env)?)?,
            Expr::Index(base, items) => {
                let shape = base.shape(env)?;
                if items.len() > shape.len() {
                    return Err(ArrayError::TooManyIndices {
                        given: items.len(),
                        rank: shape.len(),
                        shape,
                    }
                    .into());
                }
                let mut out = Vec::new();
                for (axis, &size) in shape.iter().enumerate() {
                    match items.get(axis) {
                        None | Some(Index::All) => out.push(size),
                        Some(Index::At(e)) => match e.shape(env)?.as_slice() {
                            [] => {}
                            [k] => out.push(*k),
                            s => {
                                return Err(EvalError::Unavailable(format!(
                                    "an index must be a number or a vector, not an array of shape {}",
                                    crate::array::show_shape(s)
                                )));
                            }
                        },
                    }
                }
                out
            }
        })
    }

    /// The scalar value of a literal, if this is one.
    pub fn as_literal(&self) -> Option<f64> {
        match self {
            Expr::Lit(a) => a.as_scalar(),
            _ => None,
        }
    }
}

/// Applies an infix operator to two values.
pub fn binary(op: BinOp, a: &Array, b: &Array) -> Result<Array, EvalError> {
    let truth = |x: bool| f64::from(u8::from(x));
    Ok(match op {
        BinOp::Add => a.zip_with(b, |x, y| x + y)?,
        BinOp::Sub => a.zip_with(b, |x, y| x - y)?,
        BinOp::Mul => a.zip_with(b, |x, y| x * y)?,
        BinOp::Div => a.zip_with(b, |x, y| x / y)?,
        BinOp::Pow => a.zip_with(b, f64::powf)?,
        BinOp::Eq => a.zip_with(b, |x, y| truth(x == y))?,
        BinOp::Ne => a.zip_with(b, |x, y| truth(x != y))?,
        BinOp::Lt => a.zip_with(b, |x, y| truth(x < y))?,
        BinOp::Le => a.zip_with(b, |x, y| truth(x <= y))?,
        BinOp::Gt => a.zip_with(b, |x, y| truth(x > y))?,
        BinOp::Ge => a.zip_with(b, |x, y| truth(x >= y))?,
        BinOp::And => a.zip_with(b, |x, y| truth(x != 0.0 && y != 0.0))?,
        BinOp::Or => a.zip_with(b, |x, y| truth(x != 0.0 || y != 0.0))?,
        BinOp::MatMul => a.matmul(b)?,
        BinOp::Range => match (a.as_scalar(), b.as_scalar()) {
            (Some(x), Some(y)) => range(x, y)?,
            _ => {
                return Err(EvalError::Unavailable(
                    "a range needs two numbers as its ends".into(),
                ));
            }
        },
    })
}

/// The vector `a, a+1, ..., b-1`.
pub fn range(a: f64, b: f64) -> Result<Array, EvalError> {
    let n = range_len(a, b)?;
    checked_len(&[n])?;
    Ok(Array::vector((0..n).map(|i| a + i as f64).collect()))
}

/// The largest magnitude of a range's end: 2^53, up to which every whole number is a float.
pub const MAX_RANGE_END: f64 = 9_007_199_254_740_992.0;

/// How many numbers `a..b` holds; its ends must be whole numbers within ±2^53.
pub fn range_len(a: f64, b: f64) -> Result<usize, EvalError> {
    if a.is_finite() && b.is_finite() && (a.abs() > MAX_RANGE_END || b.abs() > MAX_RANGE_END) {
        return Err(EvalError::RangeTooLong(a, b));
    }
    if a.fract() != 0.0 || b.fract() != 0.0 || !a.is_finite() || !b.is_finite() {
        return Err(EvalError::Range(a, b));
    }
    Ok((b - a).max(0.0) as usize)
}
