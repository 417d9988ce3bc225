//! k-means for EM's `init = "kmeans"`: k-means++ seeding, then Lloyd iterations, on rows of
//! features where NaN marks a missing feature (distances use the features a row has).

use crate::infer::numeric::{Rng, uniform};

/// Most Lloyd iterations.
const MAX_LLOYD: usize = 300;

/// Rows `n × f` (row-major, NaN missing) with weights `w`.
pub struct Points<'a> {
    /// The features.
    pub x: &'a [f64],
    /// Features per row.
    pub f: usize,
    /// Row weights (0 leaves a row out).
    pub w: &'a [f64],
}

impl Points<'_> {
    fn rows(&self) -> usize {
        self.w.len()
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.f..(i + 1) * self.f]
    }

    /// Whether row `i` takes part: positive weight and some feature.
    fn usable(&self, i: usize) -> bool {
        self.w[i] > 0.0 && self.row(i).iter().any(|v| !v.is_nan())
    }

    /// Squared distance from row `i` to `c` over the row's features.
    fn dist2(&self, i: usize, c: &[f64]) -> f64 {
        self.row(i)
            .iter()
            .zip(c)
            .filter(|(v, _)| !v.is_nan())
            .map(|(v, m)| (v - m) * (v - m))
            .sum()
    }

    /// The nearest of `centres` to row `i` (ties to the lower index).
    fn nearest(&self, i: usize, centres: &[Vec<f64>]) -> usize {
        let mut best = (0, f64::INFINITY);
        for (k, c) in centres.iter().enumerate() {
            let d = self.dist2(i, c);
            if d < best.1 {
                best = (k, d);
            }
        }
        best.0
    }
}

/// A row drawn with probability proportional to `mass` (all usable rows alike when every mass
/// is 0).
fn draw_row(p: &Points<'_>, mass: &[f64], rng: &mut Rng) -> Option<usize> {
    let usable: Vec<usize> = (0..p.rows()).filter(|&i| p.usable(i)).collect();
    let total: f64 = usable.iter().map(|&i| mass[i]).sum();
    if usable.is_empty() {
        return None;
    }
    if !(total > 0.0 && total.is_finite()) {
        let k = ((uniform(rng) * usable.len() as f64) as usize).min(usable.len() - 1);
        return Some(usable[k]);
    }
    let u = uniform(rng) * total;
    let mut acc = 0.0;
    for &i in &usable {
        acc += mass[i];
        if u < acc {
            return Some(i);
        }
    }
    usable.iter().rev().copied().find(|&i| mass[i] > 0.0)
}

/// Clusters the usable rows into `k` groups; each row's cluster, `None` for rows left out.
/// With fewer distinct points than clusters, the remaining centres are rows drawn uniformly.
pub fn kmeans(p: &Points<'_>, k: usize, rng: &mut Rng) -> Vec<Option<usize>> {
    let n = p.rows();
    // Per-feature weighted means fill a centre's features its seeding row lacks.
    let fill: Vec<f64> = (0..p.f)
        .map(|j| {
            let (mut s, mut w) = (0.0, 0.0);
            for i in (0..n).filter(|&i| p.usable(i)) {
                let v = p.row(i)[j];
                if !v.is_nan() {
                    s += p.w[i] * v;
                    w += p.w[i];
                }
            }
            if w > 0.0 { s / w } else { 0.0 }
        })
        .collect();
    let centre_at = |i: usize| -> Vec<f64> {
        p.row(i)
            .iter()
            .zip(&fill)
            .map(|(&v, &m)| if v.is_nan() { m } else { v })
            .collect()
    };
    let Some(first) = draw_row(p, p.w, rng) else {
        return vec![None; n];
    };
    let mut centres = vec![centre_at(first)];
    let mut d2: Vec<f64> = (0..n).map(|i| p.dist2(i, &centres[0])).collect();
    while centres.len() < k {
        let mass: Vec<f64> = (0..n).map(|i| p.w[i] * d2[i]).collect();
        let Some(next) = draw_row(p, &mass, rng) else {
            break;
        };
        let c = centre_at(next);
        for (i, d) in d2.iter_mut().enumerate() {
            *d = d.min(p.dist2(i, &c));
        }
        centres.push(c);
    }
    let mut labels: Vec<Option<usize>> = vec![None; n];
    for _ in 0..MAX_LLOYD {
        let mut changed = false;
        for (i, label) in labels.iter_mut().enumerate() {
            if p.usable(i) {
                let c = Some(p.nearest(i, &centres));
                changed |= *label != c;
                *label = c;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![vec![0.0; p.f]; centres.len()];
        let mut weights = vec![vec![0.0; p.f]; centres.len()];
        for (i, label) in labels.iter().enumerate() {
            if let Some(c) = label {
                for (j, &v) in p.row(i).iter().enumerate() {
                    if !v.is_nan() {
                        sums[*c][j] += p.w[i] * v;
                        weights[*c][j] += p.w[i];
                    }
                }
            }
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            for j in 0..p.f {
                if weights[c][j] > 0.0 {
                    centre[j] = sums[c][j] / weights[c][j];
                }
            }
        }
    }
    labels
}

/// Each usable row's nearest of `k` rows drawn at random (weighted by the row weights): a random
/// partition that follows the data, where random labels would give every cluster the data's
/// mean. `None` for rows left out.
pub fn random_partition(p: &Points<'_>, k: usize, rng: &mut Rng) -> Vec<Option<usize>> {
    let centres: Vec<Vec<f64>> = (0..k)
        .filter_map(|_| draw_row(p, p.w, rng))
        .map(|i| p.row(i).to_vec())
        .collect();
    (0..p.rows())
        .map(|i| (p.usable(i) && !centres.is_empty()).then(|| p.nearest(i, &centres)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::numeric::rng;

    #[test]
    fn separates_two_clear_groups() {
        let x = [0.0, 0.1, -0.1, 10.0, 10.2, 9.9];
        let w = [1.0; 6];
        let p = Points { x: &x, f: 1, w: &w };
        let l = kmeans(&p, 2, &mut rng(3));
        assert_eq!(l[0], l[1]);
        assert_eq!(l[1], l[2]);
        assert_eq!(l[3], l[4]);
        assert_ne!(l[0], l[3]);
    }

    #[test]
    fn more_clusters_than_distinct_points() {
        let x = [5.0; 4];
        let w = [1.0; 4];
        let p = Points { x: &x, f: 1, w: &w };
        let l = kmeans(&p, 3, &mut rng(0));
        assert!(l.iter().all(|c| *c == Some(0)));
    }
}
