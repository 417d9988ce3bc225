//! n-dimensional arrays of f64 with NumPy broadcasting: the numeric values of models and scripts.

use std::sync::Arc;
use thiserror::Error;

/// A dense row-major array; shape `[]` is a scalar. Its elements are shared between clones
/// (a script value used twice, a template's captured names) and never changed in place.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    shape: Vec<usize>,
    data: Arc<Vec<f64>>,
}

/// Why an array operation failed; the message says what the shapes were.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum ArrayError {
    /// Two shapes that do not broadcast together.
    #[error("shapes {} and {} do not broadcast together", show_shape(.0), show_shape(.1))]
    Broadcast(Vec<usize>, Vec<usize>),
    /// The elements of a list literal differ in shape.
    #[error("list elements differ in shape: {} and {}", show_shape(.0), show_shape(.1))]
    Ragged(Vec<usize>, Vec<usize>),
    /// More indices than the array has dimensions.
    #[error("{given} indices for an array with {rank} dimensions (shape {})", show_shape(.shape))]
    TooManyIndices {
        given: usize,
        rank: usize,
        shape: Vec<usize>,
    },
    /// An index outside `0..size`.
    #[error("index {} is out of range for an axis of size {size} (valid: {}{})", format_number(*.index), index_words(*.size), starts_at_zero(*.index, *.size))]
    OutOfRange { index: f64, size: usize },
    /// An index that is not a whole number.
    #[error("index {} is not a whole number", format_number(*.0))]
    NotInteger(f64),
    /// Inner dimensions of a matrix product that differ.
    #[error("matrix product of shapes {} and {}: inner sizes differ", show_shape(.0), show_shape(.1))]
    MatMul(Vec<usize>, Vec<usize>),
    /// An array too large to allocate.
    #[error("an array of shape {} would hold more than the limit of {MAX_ELEMENTS} numbers (400 MB)", show_shape(.0))]
    TooLarge(Vec<usize>),
    /// An array that would take the run's memory past its budget.
    #[error("an array of shape {} would take the memory in use past the limit of {}", show_shape(.0), crate::memory::budget_text())]
    OverBudget(Vec<usize>),
    /// Ctrl-C or the time limit stopped a long operation.
    #[error("interrupted")]
    Interrupted,
    /// A shape that cannot receive the value.
    #[error("a value of shape {} does not fit shape {}", show_shape(.0), show_shape(.1))]
    Reshape(Vec<usize>, Vec<usize>),
}

/// The most elements one array may hold (400 MB of f64); larger requests are refused before
/// allocating.
pub const MAX_ELEMENTS: usize = 50_000_000;

/// The number of elements of `shape`, refusing shapes larger than [`MAX_ELEMENTS`].
/// The whole run's memory budget (`memory`) is checked too, so that many large arrays alive at
/// once are refused as well.
pub fn checked_len(shape: &[usize]) -> Result<usize, ArrayError> {
    let n = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| ArrayError::TooLarge(shape.to_vec()))?;
    if !crate::memory::fits(n * std::mem::size_of::<f64>()) {
        return Err(ArrayError::OverBudget(shape.to_vec()));
    }
    Ok(n)
}

/// The shape of `a @ b` under NumPy `matmul` rules for 1-D and 2-D operands.
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ArrayError> {
    let fail = || ArrayError::MatMul(a.to_vec(), b.to_vec());
    let (rows, inner_a, a_vec) = match a {
        [n] => (1, *n, true),
        [r, c] => (*r, *c, false),
        _ => return Err(fail()),
    };
    let (inner_b, cols, b_vec) = match b {
        [n] => (*n, 1, true),
        [r, c] => (*r, *c, false),
        _ => return Err(fail()),
    };
    if inner_a != inner_b {
        return Err(fail());
    }
    Ok(match (a_vec, b_vec) {
        (true, true) => vec![],
        (true, false) => vec![cols],
        (false, true) => vec![rows],
        (false, false) => vec![rows, cols],
    })
}

/// The missing value `NA` inside arrays: a quiet NaN with its own payload (1954, as R's), so
/// that a NaN computed by arithmetic (`0/0`) is told apart from a missing value. Arithmetic on
/// NA keeps the payload on the machines gmm runs on, so `NA + 1` stays missing.
pub const NA: f64 = f64::from_bits(0x7FF8_0000_0000_07A2);

/// Whether `x` is the missing value [`NA`] (and not some other NaN).
pub fn is_na(x: f64) -> bool {
    x.is_nan() && x.to_bits() & 0xFFFF_FFFF == 0x07A2
}

/// Whether `x` is a NaN that is not [`NA`]: the result of an undefined operation such as 0/0.
pub fn is_computed_nan(x: f64) -> bool {
    x.is_nan() && !is_na(x)
}

/// Renders a shape as `[2, 3]`, or `scalar` for `[]`.
pub fn show_shape(shape: &[usize]) -> String {
    if shape.is_empty() {
        "scalar".into()
    } else {
        format!(
            "[{}]",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The whole numbers `0..size` in words, for messages: "0", "0 or 1", "0 to 4". (`0..1` would
/// read as the range, which holds only 0.)
pub fn index_words(size: usize) -> String {
    match size {
        0 => "none, it is empty".into(),
        1 => "0".into(),
        2 => "0 or 1".into(),
        n => format!("0 to {}", n - 1),
    }
}

/// "; indices start at 0" when `index` is the size itself, the slip of counting from 1.
pub fn starts_at_zero(index: f64, size: usize) -> &'static str {
    if index == size as f64 {
        "; indices start at 0"
    } else {
        ""
    }
}

/// Formats a number as section 7 of the specification says: whole numbers below 1e15 as
/// integers, others in the shortest form that reads back to the same float, with an exponent
/// when |x| ≥ 1e15 or |x| < 1e-4.
///
/// ```
/// use gmm::array::format_number;
/// assert_eq!(format_number(3.0), "3");
/// assert_eq!(format_number(0.525), "0.525");
/// assert_eq!(format_number(2.5e-7), "2.5e-7");
/// ```
pub fn format_number(x: f64) -> String {
    if is_na(x) {
        "NA".into()
    } else if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else if x.abs() >= 1e15 || x.abs() < 1e-4 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

impl std::fmt::Display for Array {
    /// Nested brackets to any depth, numbers as [`format_number`] writes them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_nested(f, &self.shape, &self.data, &|x, f| {
            f.write_str(&format_number(*x))
        })
    }
}

/// Writes row-major `data` of `shape` as nested lists, each element by `item`, straight to
/// `out`: printing a large array builds no string of it. Ctrl-C or the time limit ends the
/// writing with an error.
pub fn write_nested<T>(
    out: &mut dyn std::fmt::Write,
    shape: &[usize],
    data: &[T],
    item: &dyn Fn(&T, &mut dyn std::fmt::Write) -> std::fmt::Result,
) -> std::fmt::Result {
    match shape.split_first() {
        None => item(&data[0], out),
        Some((&n, rest)) => {
            let step: usize = rest.iter().product();
            out.write_char('[')?;
            for i in 0..n {
                if i > 0 {
                    out.write_str(", ")?;
                }
                if i % 4096 == 4095 && crate::interrupt::requested() {
                    return Err(std::fmt::Error);
                }
                write_nested(out, rest, &data[i * step..(i + 1) * step], item)?;
            }
            out.write_char(']')
        }
    }
}

/// One position of an index expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Idx {
    /// `:`: the whole axis.
    All,
    /// One position; the axis disappears.
    At(f64),
    /// Several positions; the axis keeps their count.
    Many(Vec<f64>),
}

impl Array {
    /// A scalar.
    pub fn scalar(x: f64) -> Array {
        Array {
            shape: Vec::new(),
            data: Arc::new(vec![x]),
        }
    }

    /// A 1-D array.
    pub fn vector(v: Vec<f64>) -> Array {
        Array {
            shape: vec![v.len()],
            data: Arc::new(v),
        }
    }

    /// An array of the given shape from its row-major elements.
    ///
    /// # Panics
    /// When the element count does not match the shape (a bug in the caller).
    pub fn from_vec(shape: Vec<usize>, data: Vec<f64>) -> Array {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape and data disagree"
        );
        Array {
            shape,
            data: Arc::new(data),
        }
    }

    /// The same elements with a new shape of the same size.
    pub fn reshape(self, shape: Vec<usize>) -> Result<Array, ArrayError> {
        if shape.iter().product::<usize>() != self.data.len() {
            return Err(ArrayError::Reshape(self.shape, shape));
        }
        Ok(Array {
            shape,
            data: self.data,
        })
    }

    /// The elements, consumed.
    pub fn into_data(self) -> Vec<f64> {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The value of a scalar (or one-element array).
    pub fn as_scalar(&self) -> Option<f64> {
        (self.data.len() == 1 && self.shape.iter().all(|&d| d == 1)).then(|| self.data[0])
    }

    /// Stacks equal-shaped arrays along a new first axis (a list literal).
    pub fn stack(items: &[Array]) -> Result<Array, ArrayError> {
        let inner = items.first().map_or(Vec::new(), |a| a.shape.clone());
        let mut data = Vec::with_capacity(items.len() * inner.iter().product::<usize>());
        for a in items {
            if a.shape != inner {
                return Err(ArrayError::Ragged(inner, a.shape.clone()));
            }
            data.extend_from_slice(&a.data);
        }
        let mut shape = vec![items.len()];
        shape.extend(inner);
        Ok(Array::from_vec(shape, data))
    }

    /// [`map`](Self::map) for script values: refused when the result would pass the memory
    /// budget.
    pub fn try_map(&self, f: impl Fn(f64) -> f64) -> Result<Array, ArrayError> {
        checked_len(&self.shape)?;
        Ok(self.map(f))
    }

    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Array {
        Array {
            shape: self.shape.clone(),
            data: Arc::new(self.data.iter().map(|&x| f(x)).collect()),
        }
    }

    /// Combines two arrays element-wise with NumPy broadcasting.
    pub fn zip_with(
        &self,
        other: &Array,
        f: impl Fn(f64, f64) -> f64,
    ) -> Result<Array, ArrayError> {
        let shape = broadcast_shape(&self.shape, &other.shape)?;
        checked_len(&shape)?;
        // An operand already of the shape is shared, not copied.
        let a = self.broadcast_to(&shape)?;
        let b = other.broadcast_to(&shape)?;
        let data = a
            .data
            .iter()
            .zip(b.data.iter())
            .map(|(&x, &y)| f(x, y))
            .collect();
        Ok(Array::from_vec(shape, data))
    }

    /// The array repeated to `shape` by broadcasting.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array, ArrayError> {
        if self.shape == shape {
            return Ok(self.clone());
        }
        let fail = || ArrayError::Reshape(self.shape.clone(), shape.to_vec());
        if self.rank() > shape.len() {
            return Err(fail());
        }
        let offset = shape.len() - self.rank();
        for (i, &d) in self.shape.iter().enumerate() {
            if d != 1 && d != shape[offset + i] {
                return Err(fail());
            }
        }
        let n = checked_len(shape)?;
        let mut data = Vec::with_capacity(n);
        let src_strides = strides(&self.shape);
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..n {
            let mut off = 0;
            for (i, &d) in self.shape.iter().enumerate() {
                if d != 1 {
                    off += idx[offset + i] * src_strides[i];
                }
            }
            data.push(self.data[off]);
            increment(&mut idx, shape);
        }
        Ok(Array::from_vec(shape.to_vec(), data))
    }

    /// Selects elements: one `Idx` per leading axis; remaining axes are kept whole.
    pub fn index(&self, idx: &[Idx]) -> Result<Array, ArrayError> {
        if idx.len() > self.rank() {
            return Err(ArrayError::TooManyIndices {
                given: idx.len(),
                rank: self.rank(),
                shape: self.shape.clone(),
            });
        }
        // For each axis, the source positions it takes and whether the axis stays.
        let mut picks: Vec<(Vec<usize>, bool)> = Vec::with_capacity(self.rank());
        for (axis, &size) in self.shape.iter().enumerate() {
            match idx.get(axis).unwrap_or(&Idx::All) {
                Idx::All => picks.push(((0..size).collect(), true)),
                Idx::At(i) => picks.push((vec![position(*i, size)?], false)),
                Idx::Many(is) => {
                    let ps = is
                        .iter()
                        .map(|&i| position(i, size))
                        .collect::<Result<_, _>>()?;
                    picks.push((ps, true));
                }
            }
        }
        let shape: Vec<usize> = picks
            .iter()
            .filter(|(_, keep)| *keep)
            .map(|(p, _)| p.len())
            .collect();
        let counts: Vec<usize> = picks.iter().map(|(p, _)| p.len()).collect();
        let n = checked_len(&counts)?;
        let st = strides(&self.shape);
        let mut data = Vec::with_capacity(n);
        let mut pos = vec![0usize; counts.len()];
        for _ in 0..n {
            let off: usize = pos
                .iter()
                .enumerate()
                .map(|(a, &k)| picks[a].0[k] * st[a])
                .sum();
            data.push(self.data[off]);
            increment(&mut pos, &counts);
        }
        Ok(Array::from_vec(shape, data))
    }

    /// Matrix product with NumPy `matmul` rules for 1-D and 2-D operands.
    pub fn matmul(&self, other: &Array) -> Result<Array, ArrayError> {
        let shape = matmul_shape(&self.shape, &other.shape)?;
        let (rows, inner) = match self.shape.as_slice() {
            [n] => (1, *n),
            s => (s[0], s[1]),
        };
        let cols = match other.shape.as_slice() {
            [_] => 1,
            s => s[1],
        };
        let mut data = vec![0.0; checked_len(&[rows, cols])?];
        for i in 0..rows {
            // A row costs inner × cols: look for Ctrl-C or the time limit before each.
            if crate::interrupt::requested() {
                return Err(ArrayError::Interrupted);
            }
            for k in 0..inner {
                let x = self.data[i * inner + k];
                for j in 0..cols {
                    data[i * cols + j] += x * other.data[k * cols + j];
                }
            }
        }
        Ok(Array::from_vec(shape, data))
    }
}

/// The shape two shapes broadcast to, as NumPy defines it.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ArrayError> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() {
            1
        } else {
            a[i - (n - a.len())]
        };
        let db = if i < n - b.len() {
            1
        } else {
            b[i - (n - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(ArrayError::Broadcast(a.to_vec(), b.to_vec())),
        };
    }
    Ok(out)
}

/// The multi-index of the `k`-th element (row-major) of an array of shape `dims`.
pub fn unravel(mut k: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for i in (0..dims.len()).rev() {
        idx[i] = k % dims[i];
        k /= dims[i];
    }
    idx
}

/// Checks that `i` is a whole number in `0..size`.
fn position(i: f64, size: usize) -> Result<usize, ArrayError> {
    if i.fract() != 0.0 || !i.is_finite() {
        return Err(ArrayError::NotInteger(i));
    }
    if i < 0.0 || i >= size as f64 {
        return Err(ArrayError::OutOfRange { index: i, size });
    }
    Ok(i as usize)
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut st = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        st[i] = st[i + 1] * shape[i + 1];
    }
    st
}

/// Advances a row-major multi-index.
fn increment(idx: &mut [usize], shape: &[usize]) {
    for i in (0..idx.len()).rev() {
        idx[i] += 1;
        if idx[i] < shape[i] {
            return;
        }
        idx[i] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: &[&[f64]]) -> Array {
        Array::stack(
            &rows
                .iter()
                .map(|r| Array::vector(r.to_vec()))
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn broadcasting_rows() {
        let a = m(&[&[1.0, 2.0], &[3.0, 4.0], &[5.0, 6.0]]);
        let v = Array::vector(vec![10.0, 20.0]);
        let s = a.zip_with(&v, |x, y| x + y).unwrap();
        assert_eq!(s.shape(), &[3, 2]);
        assert_eq!(s.data(), &[11.0, 22.0, 13.0, 24.0, 15.0, 26.0]);
        assert!(
            a.zip_with(&Array::vector(vec![1.0; 3]), |x, y| x + y)
                .is_err()
        );
    }

    #[test]
    fn indexing() {
        let a = m(&[&[1.0, 2.0], &[3.0, 4.0]]);
        assert_eq!(
            a.index(&[Idx::All, Idx::At(1.0)]).unwrap().data(),
            &[2.0, 4.0]
        );
        assert_eq!(a.index(&[Idx::At(1.0)]).unwrap().data(), &[3.0, 4.0]);
        assert_eq!(
            a.index(&[Idx::At(1.0), Idx::At(0.0)]).unwrap().shape(),
            &[] as &[usize]
        );
        assert!(matches!(
            a.index(&[Idx::At(2.0)]),
            Err(ArrayError::OutOfRange { .. })
        ));
        assert!(matches!(
            a.index(&[Idx::At(0.5)]),
            Err(ArrayError::NotInteger(_))
        ));
    }

    #[test]
    fn number_format() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-12.0), "-12");
        assert_eq!(format_number(0.525), "0.525");
        assert_eq!(format_number(2.5e-7), "2.5e-7");
        assert_eq!(
            format_number(-1.3888888888888889e200),
            "-1.3888888888888889e200"
        );
        assert_eq!(format_number(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_number(-0.0), "0");
    }

    #[test]
    fn matmul_vectors() {
        let a = m(&[&[1.0, 2.0], &[3.0, 4.0]]);
        let v = Array::vector(vec![1.0, 1.0]);
        assert_eq!(a.matmul(&v).unwrap().data(), &[3.0, 7.0]);
        assert_eq!(v.matmul(&v).unwrap().as_scalar(), Some(2.0));
    }
}
