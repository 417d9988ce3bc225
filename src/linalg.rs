//! Dense linear algebra on row-major square matrices — the Cholesky factor, LU with partial
//! pivoting, the determinant and the inverse — that stops between columns when Ctrl-C or the
//! time limit asks (`interrupt`): a 3000 × 3000 matrix takes seconds, and the user may not
//! want to wait. Row operations run over contiguous slices, which the compiler vectorises.

use thiserror::Error;

/// Why a factorisation did not finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum LinalgError {
    /// Ctrl-C or the time limit.
    #[error("interrupted")]
    Interrupted,
    /// A zero pivot: no inverse.
    #[error("the matrix is singular, so it has no inverse")]
    Singular,
    /// Not symmetric positive-definite: no Cholesky factor.
    #[error("the matrix is not symmetric positive-definite, so it has no Cholesky factor")]
    NotPositiveDefinite,
}

fn check() -> Result<(), LinalgError> {
    if crate::interrupt::requested() {
        Err(LinalgError::Interrupted)
    } else {
        Ok(())
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The lower Cholesky factor `L` of the `n × n` matrix `a` (`a = L Lᵀ`; only its lower
/// triangle is read), row-major with zeros above the diagonal.
pub fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>, LinalgError> {
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        check()?;
        let (upper, lower) = l.split_at_mut((j + 1) * n);
        let row_j = &mut upper[j * n..];
        let d = a[j * n + j] - dot(&row_j[..j], &row_j[..j]);
        if !(d > 0.0 && d.is_finite()) {
            return Err(LinalgError::NotPositiveDefinite);
        }
        row_j[j] = d.sqrt();
        let row_j = &upper[j * n..];
        for (k, row_i) in lower.chunks_exact_mut(n).enumerate() {
            let i = j + 1 + k;
            row_i[j] = (a[i * n + j] - dot(&row_i[..j], &row_j[..j])) / row_j[j];
        }
    }
    Ok(l)
}

/// Whether the symmetric `n × n` matrix `a` is positive-definite (its Cholesky factor exists).
/// An interrupted check says no; the caller's error then gives way to "interrupted".
pub fn is_positive_definite(a: &[f64], n: usize) -> bool {
    cholesky(a, n).is_ok()
}

/// The inverse of the lower-triangular `n × n` matrix `l` (row-major), built row by row:
/// row i of L⁻¹ is (eᵢ − Σ_{k<i} L[i,k] · row k of L⁻¹) / L[i,i].
pub fn inverse_lower(l: &[f64], n: usize) -> Result<Vec<f64>, LinalgError> {
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        check()?;
        let (done, rest) = inv.split_at_mut(i * n);
        let row_i = &mut rest[..n];
        for k in 0..i {
            let f = l[i * n + k];
            if f != 0.0 {
                for (v, w) in row_i[..=k].iter_mut().zip(&done[k * n..k * n + k + 1]) {
                    *v -= f * w;
                }
            }
        }
        row_i[i] += 1.0;
        let d = l[i * n + i];
        for v in &mut row_i[..=i] {
            *v /= d;
        }
    }
    Ok(inv)
}

/// An LU factorisation with partial pivoting: `P a = L U`, both stored in one matrix (`L` with
/// a unit diagonal below it), the row order, and the sign of the permutation.
struct Lu {
    lu: Vec<f64>,
    perm: Vec<usize>,
    sign: f64,
    n: usize,
}

fn lu(a: &[f64], n: usize) -> Result<Lu, LinalgError> {
    let mut lu = a.to_vec();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut sign = 1.0;
    for k in 0..n {
        check()?;
        let p = (k..n)
            .max_by(|&x, &y| lu[x * n + k].abs().total_cmp(&lu[y * n + k].abs()))
            .unwrap_or(k);
        if p != k {
            for c in 0..n {
                lu.swap(k * n + c, p * n + c);
            }
            perm.swap(k, p);
            sign = -sign;
        }
        let pivot = lu[k * n + k];
        if pivot == 0.0 {
            continue;
        }
        let (top, below) = lu.split_at_mut((k + 1) * n);
        let row_k = &top[k * n..];
        for row_i in below.chunks_exact_mut(n) {
            let f = row_i[k] / pivot;
            row_i[k] = f;
            if f != 0.0 {
                for (x, y) in row_i[k + 1..].iter_mut().zip(&row_k[k + 1..]) {
                    *x -= f * y;
                }
            }
        }
    }
    Ok(Lu { lu, perm, sign, n })
}

/// The determinant of the `n × n` matrix `a`.
pub fn det(a: &[f64], n: usize) -> Result<f64, LinalgError> {
    let f = lu(a, n)?;
    Ok((0..n).fold(f.sign, |d, i| d * f.lu[i * n + i]))
}

/// The inverse of the `n × n` matrix `a`.
pub fn inverse(a: &[f64], n: usize) -> Result<Vec<f64>, LinalgError> {
    let Lu { lu, perm, n, .. } = lu(a, n)?;
    if (0..n).any(|i| lu[i * n + i] == 0.0) {
        return Err(LinalgError::Singular);
    }
    // Solve L U X = P I, row by row over the whole right-hand side.
    let mut x = vec![0.0; n * n];
    for (i, &p) in perm.iter().enumerate() {
        x[i * n + p] = 1.0;
    }
    for i in 0..n {
        check()?;
        let (done, rest) = x.split_at_mut(i * n);
        let row_i = &mut rest[..n];
        for k in 0..i {
            let f = lu[i * n + k];
            if f != 0.0 {
                for (v, w) in row_i.iter_mut().zip(&done[k * n..k * n + n]) {
                    *v -= f * w;
                }
            }
        }
    }
    for i in (0..n).rev() {
        check()?;
        let (head, tail) = x.split_at_mut((i + 1) * n);
        let row_i = &mut head[i * n..];
        for k in i + 1..n {
            let f = lu[i * n + k];
            if f != 0.0 {
                for (v, w) in row_i.iter_mut().zip(&tail[(k - i - 1) * n..(k - i) * n]) {
                    *v -= f * w;
                }
            }
        }
        let d = lu[i * n + i];
        for v in row_i.iter_mut() {
            *v /= d;
        }
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        assert_eq!(l, vec![2.0, 0.0, 1.0, 2f64.sqrt()]);
        assert!((det(&a, 2).unwrap() - 8.0).abs() < 1e-12);
        let inv = inverse(&a, 2).unwrap();
        let want = [3.0 / 8.0, -2.0 / 8.0, -2.0 / 8.0, 4.0 / 8.0];
        for (x, y) in inv.iter().zip(want) {
            assert!((x - y).abs() < 1e-15);
        }
        // A pivot is needed: the first entry is zero.
        let b = [0.0, 1.0, 1.0, 0.0];
        assert_eq!(det(&b, 2).unwrap(), -1.0);
        assert_eq!(inverse(&b, 2).unwrap(), vec![0.0, 1.0, 1.0, 0.0]);
        assert_eq!(
            inverse(&[1.0, 2.0, 2.0, 4.0], 2),
            Err(LinalgError::Singular)
        );
        assert_eq!(
            cholesky(&[1.0, 2.0, 2.0, 1.0], 2),
            Err(LinalgError::NotPositiveDefinite)
        );
    }

    #[test]
    fn agrees_with_nalgebra() {
        let n = 7;
        let a: Vec<f64> = (0..n * n)
            .map(|k| ((k * 37 % 11) as f64 - 5.0) / 3.0 + if k % (n + 1) == 0 { 9.0 } else { 0.0 })
            .collect();
        let m = nalgebra::DMatrix::from_row_slice(n, n, &a);
        assert!((det(&a, n).unwrap() - m.determinant()).abs() < 1e-9 * m.determinant().abs());
        let inv = inverse(&a, n).unwrap();
        let want = m.clone().try_inverse().unwrap();
        for i in 0..n {
            for j in 0..n {
                assert!((inv[i * n + j] - want[(i, j)]).abs() < 1e-12);
            }
        }
        let s = &m * m.transpose();
        let sv: Vec<f64> = (0..n * n).map(|k| s[(k / n, k % n)]).collect();
        let l = cholesky(&sv, n).unwrap();
        let want = nalgebra::Cholesky::new(s).unwrap().unpack();
        for i in 0..n {
            for j in 0..n {
                assert!((l[i * n + j] - want[(i, j)]).abs() < 1e-12);
            }
        }
    }
}
