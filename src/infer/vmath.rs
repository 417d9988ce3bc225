//! `exp` and `ln` written for the compiler to vectorise: branch-free, plain multiplications and
//! additions (no fused multiply-add), so a lane of a SIMD loop and a scalar call round
//! identically, and the results are the same on every machine, whatever its C library.
//!
//! Both are within 2 units in the last place of the correctly rounded result on their domain
//! (the tests compare them with the standard library's).

/// ln 2, split so that `n · LN2_HI` is exact for |n| ≤ 2048 (fdlibm's constants).
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// 1.5 · 2⁵²: adding it rounds a number below 2⁵¹ in magnitude to an integer, kept in the low
/// bits of the sum.
const SHIFT: f64 = 6_755_399_441_055_744.0;

/// eˣ. Below −708 it is 0 (the subnormal range is flushed), and `-inf` gives 0; above 709 it is
/// capped at e⁷⁰⁹. NaN gives NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Inverse factorials 1/2! … 1/13!: the Taylor series on |r| ≤ ln 2 / 2 is within 4e-18.
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let xc = x.clamp(-708.0, 709.0);
    // x = n·ln 2 + r with n an integer and |r| ≤ ln 2 / 2.
    let t = xc * std::f64::consts::LOG2_E + SHIFT;
    let n = t - SHIFT;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    // eʳ = 1 + (r + r²·P(r)), P evaluated by Estrin's scheme: short dependency chains, so
    // neighbouring lanes and iterations overlap.
    let r2 = r * r;
    let r4 = r2 * r2;
    let a: [f64; 6] = std::array::from_fn(|i| C[2 * i] + C[2 * i + 1] * r);
    let b0 = a[0] + a[1] * r2;
    let b1 = a[2] + a[3] * r2;
    let b2 = a[4] + a[5] * r2;
    let p = 1.0 + (r + r2 * (b0 + (b1 + b2 * r4) * r4));
    let k = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let scale = f64::from_bits(((k + 1023) as u64) << 52);
    let y = p * scale;
    if x < -708.0 { 0.0 } else { y }
}

/// ln x for a positive, finite, normal `x` (outside that domain the result is meaningless; the
/// callers take the log of sums whose largest term is 1).
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    // 1/3, 1/5, …, 1/25: ln m = 2·atanh f, with |f| ≤ 0.172 so f²¹² < 3e-19.
    const C: [f64; 12] = [
        1.0 / 3.0,
        1.0 / 5.0,
        1.0 / 7.0,
        1.0 / 9.0,
        1.0 / 11.0,
        1.0 / 13.0,
        1.0 / 15.0,
        1.0 / 17.0,
        1.0 / 19.0,
        1.0 / 21.0,
        1.0 / 23.0,
        1.0 / 25.0,
    ];
    let bits = x.to_bits();
    // x = 2ᵉ · m with m in [√½, √2).
    let mant = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    let big = mant > std::f64::consts::SQRT_2;
    let m = if big { mant * 0.5 } else { mant };
    let e = ((bits >> 52) as i64 - 1023 + i64::from(big)) as f64;
    let f = (m - 1.0) / (m + 1.0);
    let f2 = f * f;
    let f4 = f2 * f2;
    let f8 = f4 * f4;
    // Σ C[i]·f2ⁱ by Estrin's scheme.
    let a: [f64; 6] = std::array::from_fn(|i| C[2 * i] + C[2 * i + 1] * f2);
    let b0 = a[0] + a[1] * f4;
    let b1 = a[2] + a[3] * f4;
    let b2 = a[4] + a[5] * f4;
    let p = b0 + (b1 + b2 * f8) * f8;
    let two_f = f + f;
    e * LN2_HI + (two_f + (two_f * (f2 * p) + e * LN2_LO))
}

/// Σ f(xⱼ, yⱼ): term j goes to partial sum j mod 8, and the eight are combined in a fixed order,
/// so the result does not depend on how (or whether) the loop is vectorised.
#[inline(always)]
pub fn sum8_zip(xs: &[f64], ys: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let n = xs.len().min(ys.len());
    let mut a = [0.0; 8];
    for (x, y) in xs[..n].chunks_exact(8).zip(ys[..n].chunks_exact(8)) {
        for i in 0..8 {
            a[i] += f(x[i], y[i]);
        }
    }
    let tail = n / 8 * 8;
    for (a, (&x, &y)) in a.iter_mut().zip(xs[tail..n].iter().zip(&ys[tail..n])) {
        *a += f(x, y);
    }
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

/// Σ xs, in the partial sums of [`sum8_zip`].
#[inline(always)]
pub fn sum8(xs: &[f64]) -> f64 {
    sum8_zip(xs, xs, |x, _| x)
}

/// Σ xs·ys, in the partial sums of [`sum8_zip`].
#[inline(always)]
pub fn dot8(xs: &[f64], ys: &[f64]) -> f64 {
    sum8_zip(xs, ys, |x, y| x * y)
}

/// The vector instructions the vectorised loops (the flat path's jobs, a chain's posterior
/// blocks) are compiled for besides plain code. Their lanes round as scalar code does (no fused
/// multiply-add, the same order), so which one runs changes the speed only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    Avx512,
    Avx2,
    Plain,
}

/// The widest [`Simd`] this processor has: the one check before a vectorised loop is entered.
pub fn widest() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            return Simd::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Simd::Avx2;
        }
    }
    Simd::Plain
}

/// `[Σ r, Σ r·d, Σ (r·d)·d]` in one pass, each in the partial sums of [`sum8_zip`]: the same
/// numbers as `sum8(r)`, `sum8(z)` and `dot8(z, d)` with z = r·d, without three trips over
/// the arrays, each waiting on its one chain of additions.
#[inline(always)]
pub fn moments8(r: &[f64], d: &[f64]) -> [f64; 3] {
    let n = r.len().min(d.len());
    let mut a = [[0.0; 8]; 3];
    let mut add = |i: usize, x: f64, y: f64| {
        let z = x * y;
        a[0][i] += x;
        a[1][i] += z;
        a[2][i] += z * y;
    };
    for (x, y) in r[..n].chunks_exact(8).zip(d[..n].chunks_exact(8)) {
        for i in 0..8 {
            add(i, x[i], y[i]);
        }
    }
    let tail = n / 8 * 8;
    for (i, (&x, &y)) in r[tail..n].iter().zip(&d[tail..n]).enumerate() {
        add(i, x, y);
    }
    a.map(|a| ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One pass of [`moments8`] gives the three separate sums bit for bit, with and without a
    /// tail.
    #[test]
    fn moments_in_one_pass_equal_three() {
        for n in [0, 5, 8, 256, 253] {
            let r: Vec<f64> = uniforms(n).collect();
            let d: Vec<f64> = uniforms(n + 7).skip(7).map(|x| 3.0 * x - 1.0).collect();
            let z: Vec<f64> = r.iter().zip(&d).map(|(r, d)| r * d).collect();
            assert_eq!(moments8(&r, &d), [sum8(&r), sum8(&z), dot8(&z, &d)]);
        }
    }

    /// How many representable doubles lie between `a` and `b` (both finite, same sign).
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// A fixed sequence of uniform numbers in [0, 1), without a generator dependency.
    fn uniforms(n: usize) -> impl Iterator<Item = f64> {
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..n).map(move |_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
    }

    #[test]
    fn exp_is_within_two_ulps_of_std() {
        let mut worst = 0;
        for u in uniforms(200_000) {
            // Mostly the E-step's range (−40, 0], and the whole domain.
            for x in [-40.0 * u, 1416.0 * u - 707.0] {
                worst = worst.max(ulps(exp(x), x.exp()));
            }
        }
        assert!(worst <= 2, "worst {worst} ulps");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(-1000.0), 0.0);
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn ln_is_within_two_ulps_of_std() {
        let mut worst = 0;
        for u in uniforms(200_000) {
            // The sums of the E-step, [1, 64), and numbers across the exponent range.
            for x in [1.0 + 63.0 * u, (1400.0 * u - 700.0).exp()] {
                let (a, b) = (ln(x), x.ln());
                // Near x = 1 the result is tiny; compare there in absolute terms.
                if b.abs() < 1e-3 {
                    assert!((a - b).abs() <= 4.0 * f64::EPSILON * b.abs().max(1e-300));
                } else {
                    worst = worst.max(ulps(a, b));
                }
            }
        }
        assert!(worst <= 2, "worst {worst} ulps");
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(2.0), std::f64::consts::LN_2);
    }
}
