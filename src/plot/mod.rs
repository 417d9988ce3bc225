//! `plot(...)` (section 6): a [`Figure`] built from a model, data or vectors, drawn as SVG
//! (`svg`) or as a braille chart for the terminal (`term`). Builders evaluate densities and
//! responsibilities through `infer`; the renderers only draw.

pub mod diagram;
pub mod svg;
pub mod term;

use crate::infer::{Answer, Distribution, InferError, Query, query};
use crate::model::{Model, Support, VarId};
use thiserror::Error;

/// Why a plot could not be made.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum PlotError {
    /// The model has no continuous variable in its data plate.
    #[error("model `{0}` has no continuous variable to plot")]
    NoVariable(String),
    /// More than one candidate variable.
    #[error("model `{model}` has several continuous variables ({}); plot draws one", .vars.join(", "))]
    SeveralVariables { model: String, vars: Vec<String> },
    /// A variable with more than two numbers per row.
    #[error("`{var}` has {dim} numbers per row, but a plot shows one or two dimensions")]
    Dimension { var: String, dim: usize },
    /// Data that do not fit the variable.
    #[error("{0}")]
    Data(String),
    /// An option out of range.
    #[error("{0}")]
    Option(String),
    /// Ctrl-C or the time limit.
    #[error("interrupted")]
    Interrupted,
    /// Inference failed.
    #[error(transparent)]
    Infer(#[from] InferError),
}

impl PlotError {
    /// How to fix it.
    pub fn help(&self) -> Option<String> {
        match self {
            PlotError::Dimension { var, .. } => Some(format!(
                "pick two columns and model them: table(x = columns(d, \"{var}[0]\", \"{var}[1]\"))"
            )),
            PlotError::SeveralVariables { .. } => Some(
                "plot a distribution of one of them instead, e.g. plot(linspace(a, b, 200), pdf(p(x), linspace(a, b, 200)))".into(),
            ),
            PlotError::Infer(e) => e.help(),
            PlotError::Interrupted => Some(crate::interrupt::why()),
            _ => None,
        }
    }
}

/// The options of `plot` (section 6); `None` means automatic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    pub title: Option<String>,
    pub xlabel: Option<String>,
    pub ylabel: Option<String>,
    pub bins: Option<usize>,
    pub from: Option<f64>,
    pub to: Option<f64>,
    /// Pixels for SVG, characters for the terminal.
    pub width: Option<u32>,
    /// Pixels for SVG, rows for the terminal.
    pub height: Option<u32>,
}

/// What a layer draws.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// A curve through the points (closed when the last equals the first).
    Line(Vec<(f64, f64)>),
    /// Separate points.
    Points(Vec<(f64, f64)>),
    /// Histogram bars `(from, to, height)`.
    Bars(Vec<(f64, f64, f64)>),
    /// Marked points (component means).
    Marks(Vec<(f64, f64)>),
}

/// One series of a figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Its legend entry; empty for none.
    pub name: String,
    /// Its colour, an index into the palette.
    pub colour: usize,
    /// Thin and light (a 2σ ellipse) rather than the main stroke.
    pub faint: bool,
    /// What it draws.
    pub shape: Shape,
}

/// A chart: ranges, labels and layers, drawn in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub title: String,
    pub xlabel: String,
    pub ylabel: String,
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub layers: Vec<Layer>,
}

/// Points on a density curve.
const CURVE_POINTS: usize = 400;

/// The continuous variable of `model` a plot shows, and its numbers per row.
fn observed_variable(model: &Model) -> Result<(VarId, usize), PlotError> {
    let candidates: Vec<VarId> = (0..model.vars.len())
        .filter(|&v| !model.vars[v].support.is_discrete())
        .collect();
    let v = match candidates[..] {
        [] => return Err(PlotError::NoVariable(model.name.clone())),
        [v] => v,
        _ => {
            return Err(PlotError::SeveralVariables {
                model: model.name.clone(),
                vars: candidates
                    .iter()
                    .map(|&v| model.vars[v].name.clone())
                    .collect(),
            });
        }
    };
    let lay = crate::infer::cpd::Layout::of(model, v);
    let dim = lay.inst
        * match model.vars[v].support {
            Support::RealVector(d) => d,
            _ => 1,
        };
    if dim > 2 || (lay.inst > 1) {
        return Err(PlotError::Dimension {
            var: model.vars[v].name.clone(),
            dim,
        });
    }
    Ok((v, dim))
}

/// The marginal distribution of `v`: a Normal/MvNormal or a mixture, as weights and members.
fn marginal(model: &Model, v: VarId) -> Result<(Vec<f64>, Distribution), PlotError> {
    let q = Query {
        targets: vec![(v, None)],
        given: Vec::new(),
        conditional: false,
        log: false,
        entries: None,
        by: None,
    };
    Ok(match query(model, &q)? {
        Answer::Dist(Distribution::Mixture {
            weights,
            components,
        }) => (weights.into_data(), *components),
        Answer::Dist(d) => (vec![1.0], d),
        Answer::Value(_) => unreachable!("a continuous target without a value is a distribution"),
    })
}

/// Which variable `plot(m, ...)` shows and how many numbers it has per row.
pub fn variable(model: &Model) -> Result<(String, usize), PlotError> {
    let (v, dim) = observed_variable(model)?;
    Ok((model.vars[v].name.clone(), dim))
}

/// The model's figure: for a 1-D variable its density with each weighted component (over a
/// density-scaled histogram of `data`, if given); for a 2-D variable each component's 1σ and 2σ
/// ellipses and mean (over the data coloured by most probable component). `data` holds the
/// variable's values, one row of `dim` numbers each.
pub fn model_figure(model: &Model, data: Option<&[f64]>, o: &Options) -> Result<Figure, PlotError> {
    let (v, dim) = observed_variable(model)?;
    let (weights, members) = marginal(model, v)?;
    let name = model.vars[v].name.clone();
    if dim == 1 {
        density(model, &name, &weights, &members, data, o)
    } else {
        clusters(model, &name, &weights, &members, data, o)
    }
}

fn density(
    model: &Model,
    name: &str,
    weights: &[f64],
    members: &Distribution,
    data: Option<&[f64]>,
    o: &Options,
) -> Result<Figure, PlotError> {
    let (means, sds) = match members {
        Distribution::Normal { mean, sd } => (mean.data().to_vec(), sd.data().to_vec()),
        _ => unreachable!("a real variable's members are Normal"),
    };
    let values: Vec<f64> = data
        .unwrap_or(&[])
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    // The range: the options, else the data, else 99.9% of the mixture's mass.
    let (lo, hi) = if !values.is_empty() {
        let (a, b) = min_max(&values);
        let pad = 0.05 * (b - a).max(1e-9);
        (a - pad, b + pad)
    } else {
        let cdf = |x: f64| -> f64 {
            weights
                .iter()
                .zip(means.iter().zip(&sds))
                .map(|(w, (m, s))| w * crate::infer::numeric::normal_cdf(x, *m, *s))
                .sum()
        };
        let far = means
            .iter()
            .zip(&sds)
            .map(|(m, s)| m.abs() + 10.0 * s)
            .fold(1.0, f64::max);
        (
            quantile(&cdf, 0.0005, -far, far),
            quantile(&cdf, 0.9995, -far, far),
        )
    };
    let (lo, hi) = range(o, lo, hi)?;
    let xs: Vec<f64> = (0..CURVE_POINTS)
        .map(|i| lo + (hi - lo) * i as f64 / (CURVE_POINTS - 1) as f64)
        .collect();
    let comp = |k: usize, x: f64| {
        weights[k] * crate::infer::numeric::normal_logpdf(x, means[k], sds[k]).exp()
    };
    let mut layers = Vec::new();
    let mut top: f64 = 0.0;
    if !values.is_empty() {
        let bins = o
            .bins
            .unwrap_or_else(|| {
                (2.0 * (values.len() as f64).cbrt())
                    .ceil()
                    .clamp(10.0, 60.0) as usize
            })
            .max(1);
        let width = (hi - lo) / bins as f64;
        let mut counts = vec![0usize; bins];
        for &x in &values {
            if (lo..=hi).contains(&x) {
                counts[(((x - lo) / width) as usize).min(bins - 1)] += 1;
            }
        }
        let n = values.len() as f64;
        let bars: Vec<(f64, f64, f64)> = counts
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let a = lo + i as f64 * width;
                (a, a + width, c as f64 / (n * width))
            })
            .collect();
        top = bars.iter().map(|b| b.2).fold(top, f64::max);
        layers.push(Layer {
            name: format!("data ({} rows)", values.len()),
            colour: PALETTE_GREY,
            faint: false,
            shape: Shape::Bars(bars),
        });
    }
    let total: Vec<(f64, f64)> = xs
        .iter()
        .map(|&x| (x, (0..weights.len()).map(|k| comp(k, x)).sum()))
        .collect();
    top = total.iter().map(|p| p.1).fold(top, f64::max);
    if weights.len() > 1 {
        for k in 0..weights.len() {
            layers.push(Layer {
                name: format!(
                    "component {k}: {} × N({}, {})",
                    short(weights[k]),
                    short(means[k]),
                    short(sds[k])
                ),
                colour: k + 1,
                faint: false,
                shape: Shape::Line(xs.iter().map(|&x| (x, comp(k, x))).collect()),
            });
        }
    }
    // The mixture last, on top: where a component coincides with it, p(x) stays visible.
    layers.push(Layer {
        name: format!("p({name})"),
        colour: 0,
        faint: false,
        shape: Shape::Line(total),
    });
    Ok(Figure {
        title: o.title.clone().unwrap_or_else(|| model.name.clone()),
        xlabel: o.xlabel.clone().unwrap_or_else(|| name.to_string()),
        ylabel: o.ylabel.clone().unwrap_or_else(|| "density".into()),
        x: (lo, hi),
        // Headroom for the legend above the curves.
        y: (0.0, top * 1.3),
        layers,
    })
}

fn clusters(
    model: &Model,
    name: &str,
    weights: &[f64],
    members: &Distribution,
    data: Option<&[f64]>,
    o: &Options,
) -> Result<Figure, PlotError> {
    let (means, covs) = match members {
        Distribution::MvNormal { mean, cov } => (mean.data().to_vec(), cov.data().to_vec()),
        _ => unreachable!("a 2-D variable's members are MvNormal"),
    };
    let k = weights.len();
    let finite = || {
        data.unwrap_or(&[])
            .chunks(2)
            .filter(|p| p.len() == 2 && p[0].is_finite() && p[1].is_finite())
            .map(|p| (p[0], p[1]))
    };
    // Every point is counted and classified; at most MAX_POINTS of them, evenly spaced, are
    // drawn, and their legend says so.
    let total = finite().count();
    let stride = total.div_ceil(MAX_POINTS).max(1);
    let mvn: Vec<crate::infer::numeric::Mvn> = (0..k)
        .map(|j| {
            crate::infer::numeric::Mvn::new(&means[2 * j..2 * j + 2], &covs[4 * j..4 * j + 4])
                .ok_or_else(|| {
                    PlotError::Data("a component's covariance is not positive-definite".into())
                })
        })
        .collect::<Result<_, _>>()?;
    let mut layers = Vec::new();
    // Each point goes to its most probable component: argmax_k w_k N_k(x).
    let mut groups: Vec<(usize, Vec<(f64, f64)>)> = vec![(0, Vec::new()); k];
    let (mut lo, mut hi) = (
        (f64::INFINITY, f64::INFINITY),
        (f64::NEG_INFINITY, f64::NEG_INFINITY),
    );
    for (i, (a, b)) in finite().enumerate() {
        if i % 65536 == 65535 && crate::interrupt::requested() {
            return Err(PlotError::Interrupted);
        }
        let best = (0..k)
            .map(|j| (j, weights[j].ln() + mvn[j].logpdf(&[a, b])))
            .fold(
                (0, f64::NEG_INFINITY),
                |acc, x| if x.1 > acc.1 { x } else { acc },
            )
            .0;
        groups[best].0 += 1;
        if i % stride == 0 {
            groups[best].1.push((a, b));
        }
        (lo, hi) = ((lo.0.min(a), lo.1.min(b)), (hi.0.max(a), hi.1.max(b)));
    }
    for (j, (count, g)) in groups.into_iter().enumerate() {
        if count > 0 {
            let drawn = if stride > 1 {
                format!(", every {stride}th drawn")
            } else {
                String::new()
            };
            layers.push(Layer {
                name: format!("component {j} ({count} points{drawn})"),
                colour: j + 1,
                faint: false,
                shape: Shape::Points(g),
            });
        }
    }
    let mut extent: Vec<(f64, f64)> = if total > 0 { vec![lo, hi] } else { Vec::new() };
    for j in 0..k {
        let c = &covs[4 * j..4 * j + 4];
        for (sigmas, faint) in [(1.0, false), (2.0, true)] {
            let e = ellipse(means[2 * j], means[2 * j + 1], c, sigmas);
            extent.extend(&e);
            layers.push(Layer {
                name: if faint {
                    String::new()
                } else {
                    format!("component {j}: weight {}, 1σ and 2σ", short(weights[j]))
                },
                colour: j + 1,
                faint,
                shape: Shape::Line(e),
            });
        }
    }
    layers.push(Layer {
        name: "means".into(),
        colour: 0,
        faint: false,
        shape: Shape::Marks((0..k).map(|j| (means[2 * j], means[2 * j + 1])).collect()),
    });
    let xsv: Vec<f64> = extent.iter().map(|p| p.0).collect();
    let ysv: Vec<f64> = extent.iter().map(|p| p.1).collect();
    let (x0, x1) = padded(min_max(&xsv));
    let (y0, y1) = padded(min_max(&ysv));
    let (x0, x1) = range(o, x0, x1)?;
    Ok(Figure {
        title: o.title.clone().unwrap_or_else(|| model.name.clone()),
        xlabel: o.xlabel.clone().unwrap_or_else(|| format!("{name}[0]")),
        ylabel: o.ylabel.clone().unwrap_or_else(|| format!("{name}[1]")),
        x: (x0, x1),
        y: (y0, y1),
        layers,
    })
}

/// A line through `ys` (against `xs`, or against their indices); `names` label the axes (how
/// x and y were written) unless the options do.
pub fn line_figure(
    xs: Option<&[f64]>,
    ys: &[f64],
    names: (&str, &str),
    o: &Options,
    groups: Option<(&str, &[f64])>,
) -> Result<Figure, PlotError> {
    if ys.is_empty() {
        return Err(PlotError::Data(
            "there is nothing to plot: the vector is empty".into(),
        ));
    }
    if let Some(x) = xs
        && x.len() != ys.len()
    {
        return Err(PlotError::Data(format!(
            "x has {} values but y has {}; give them the same length",
            x.len(),
            ys.len()
        )));
    }
    let points = || {
        ys.iter()
            .enumerate()
            .map(move |(i, &y)| (xs.map_or(i as f64, |x| x[i]), y))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let n = points().count();
    if n == 0 {
        return Err(PlotError::Data("no point has finite coordinates".into()));
    }
    let (pts, name) = if n > MAX_POINTS {
        let size = pts_size(n);
        let name = format!("{n} points, drawn as the lowest and highest of every {size}");
        (envelope(points(), size), name)
    } else {
        (points().collect::<Vec<_>>(), String::new())
    };
    let (x0, x1) = min_max(&pts.iter().map(|p| p.0).collect::<Vec<_>>());
    let (y0, y1) = padded(min_max(&pts.iter().map(|p| p.1).collect::<Vec<_>>()));
    let (x0, x1) = range(o, x0, if x1 > x0 { x1 } else { x0 + 1.0 })?;
    let mut layers = vec![Layer {
        name,
        colour: 0,
        faint: groups.is_some(),
        shape: Shape::Line(pts),
    }];
    if let Some((label, g)) = groups {
        layers.extend(group_layers(xs, ys, label, g)?);
    }
    Ok(Figure {
        title: o.title.clone().unwrap_or_default(),
        xlabel: o.xlabel.clone().unwrap_or_else(|| printable(names.0)),
        ylabel: o.ylabel.clone().unwrap_or_else(|| printable(names.1)),
        x: (x0, x1),
        y: (y0, y1),
        layers,
    })
}

/// `plot(y, color = z)`: the points of each label in a colour of their own (label k in the
/// palette's colour k + 1, the line in colour 0), as many layers as labels, in label order.
fn group_layers(
    xs: Option<&[f64]>,
    ys: &[f64],
    label: &str,
    g: &[f64],
) -> Result<Vec<Layer>, PlotError> {
    if g.len() != ys.len() {
        return Err(PlotError::Data(format!(
            "color gives {} labels for {} points; give one per point",
            g.len(),
            ys.len()
        )));
    }
    if let Some(bad) = g
        .iter()
        .find(|v| !(v.fract() == 0.0 && **v >= 0.0 && **v < 64.0))
    {
        return Err(PlotError::Data(format!(
            "color labels are whole numbers from 0 to 63 (a discrete variable's values), not {}",
            crate::array::format_number(*bad)
        )));
    }
    let mut labels: Vec<usize> = g.iter().map(|&v| v as usize).collect();
    labels.sort_unstable();
    labels.dedup();
    Ok(labels
        .into_iter()
        .map(|k| {
            let pts: Vec<(f64, f64)> = (0..ys.len())
                .filter(|&i| g[i] as usize == k)
                .map(|i| (xs.map_or(i as f64, |x| x[i]), ys[i]))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            Layer {
                name: format!("{label} = {k}"),
                colour: k + 1,
                faint: false,
                shape: Shape::Points(pts),
            }
        })
        .collect())
}

/// `plot(x, dist)`: a batch of 1-D distributions along `x` (one member per value, such as
/// `p(x[1] | x[0] = t)`, GMM regression) drawn as its mean and a band of ±1 standard
/// deviation, over the `points` (pairs, row-major) when given. Points come in x order.
pub fn band_figure(
    xs: &[f64],
    mean: &[f64],
    sd: &[f64],
    points: Option<&[f64]>,
    names: (&str, &str),
    o: &Options,
) -> Result<Figure, PlotError> {
    if xs.len() != mean.len() {
        return Err(PlotError::Data(format!(
            "x has {} values but the distribution has {} members; give one member per x (a query with x as its condition)",
            xs.len(),
            mean.len()
        )));
    }
    let mut order: Vec<usize> = (0..xs.len())
        .filter(|&i| xs[i].is_finite() && mean[i].is_finite() && sd[i].is_finite())
        .collect();
    if order.is_empty() {
        return Err(PlotError::Data("no member has a finite mean and sd".into()));
    }
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let curve = |k: f64| -> Vec<(f64, f64)> {
        order
            .iter()
            .map(|&i| (xs[i], mean[i] + k * sd[i]))
            .collect()
    };
    let thin = |pts: Vec<(f64, f64)>| {
        if pts.len() > MAX_POINTS {
            envelope(pts.into_iter(), pts_size(order.len()))
        } else {
            pts
        }
    };
    let (lower, middle, upper) = (thin(curve(-1.0)), thin(curve(0.0)), thin(curve(1.0)));
    let data: Vec<(f64, f64)> = points
        .unwrap_or(&[])
        .chunks(2)
        .filter(|p| p.len() == 2 && p[0].is_finite() && p[1].is_finite())
        .map(|p| (p[0], p[1]))
        .collect();
    let stride = data.len().div_ceil(MAX_POINTS).max(1);
    let data: Vec<(f64, f64)> = data.into_iter().step_by(stride).collect();
    let all_x: Vec<f64> = middle.iter().chain(&data).map(|p| p.0).collect();
    let all_y: Vec<f64> = lower
        .iter()
        .chain(&upper)
        .chain(&data)
        .map(|p| p.1)
        .collect();
    let (x0, x1) = min_max(&all_x);
    let (x0, x1) = range(o, x0, if x1 > x0 { x1 } else { x0 + 1.0 })?;
    let (y0, y1) = padded(min_max(&all_y));
    let mut layers = Vec::new();
    if !data.is_empty() {
        layers.push(Layer {
            name: "data".into(),
            colour: 1,
            faint: true,
            shape: Shape::Points(data),
        });
    }
    layers.push(Layer {
        name: "mean".into(),
        colour: 0,
        faint: false,
        shape: Shape::Line(middle),
    });
    layers.push(Layer {
        name: "mean ± 1 sd".into(),
        colour: 0,
        faint: true,
        shape: Shape::Line(lower),
    });
    layers.push(Layer {
        name: String::new(),
        colour: 0,
        faint: true,
        shape: Shape::Line(upper),
    });
    Ok(Figure {
        title: o.title.clone().unwrap_or_default(),
        xlabel: o.xlabel.clone().unwrap_or_else(|| printable(names.0)),
        ylabel: o.ylabel.clone().unwrap_or_else(|| printable(names.1)),
        x: (x0, x1),
        y: (y0, y1),
        layers,
    })
}

/// The run length that thins `n` points to [`MAX_POINTS`].
fn pts_size(n: usize) -> usize {
    n.div_ceil(MAX_POINTS / 2)
}

/// Text escaped for XML and HTML: an SVG's labels, a notebook's tables.
pub fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Text for a figure with control characters shown as escapes (`\u{1}`): they are not
/// allowed in XML, and in a terminal they would act instead of show.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The most points a figure draws of one series; more are thinned, and the legend says so.
pub const MAX_POINTS: usize = 20_000;

/// A long series cut into runs of `size` consecutive points, each drawn by its lowest and
/// highest point in their order: the curve's envelope survives, whatever its length. The
/// x range still covers every point: each run's first and last points bound it.
fn envelope(pts: impl Iterator<Item = (f64, f64)>, size: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::with_capacity(size);
    let mut flush = |run: &mut Vec<(f64, f64)>| {
        let low = run
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.1.total_cmp(&b.1.1));
        let high = run
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1));
        if let (Some((i, &p)), Some((j, &q))) = (low, high) {
            match i.cmp(&j) {
                std::cmp::Ordering::Less => out.extend([p, q]),
                std::cmp::Ordering::Greater => out.extend([q, p]),
                std::cmp::Ordering::Equal => out.push(p),
            }
        }
        run.clear();
    };
    for p in pts {
        run.push(p);
        if run.len() == size {
            flush(&mut run);
        }
    }
    flush(&mut run);
    out
}

/// The palette entry for data bars.
pub const PALETTE_GREY: usize = usize::MAX;

/// The x range after the `from` and `to` options.
fn range(o: &Options, lo: f64, hi: f64) -> Result<(f64, f64), PlotError> {
    let (a, b) = (o.from.unwrap_or(lo), o.to.unwrap_or(hi));
    if !(a < b && a.is_finite() && b.is_finite()) {
        return Err(PlotError::Option(format!(
            "the x range is from {a} to {b}; `from` must be less than `to`"
        )));
    }
    Ok((a, b))
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        })
}

/// A range widened by 5% on each side (1 when it is a single value).
fn padded((a, b): (f64, f64)) -> (f64, f64) {
    let pad = if b > a { 0.05 * (b - a) } else { 1.0 };
    (a - pad, b + pad)
}

/// The x where `cdf` reaches `p`, by bisection in `[lo, hi]`.
fn quantile(cdf: &dyn Fn(f64) -> f64, p: f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The `sigmas`-σ ellipse of a 2-D Normal with mean (mx, my) and covariance `c` (row-major).
fn ellipse(mx: f64, my: f64, c: &[f64], sigmas: f64) -> Vec<(f64, f64)> {
    let (a, b, d) = (c[0], c[1], c[3]);
    let mid = 0.5 * (a + d);
    let r = (0.25 * (a - d) * (a - d) + b * b).sqrt();
    let (l1, l2) = ((mid + r).max(0.0), (mid - r).max(0.0));
    let theta = 0.5 * (2.0 * b).atan2(a - d);
    let (ct, st) = (theta.cos(), theta.sin());
    (0..=100)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / 100.0;
            let (u, v) = (sigmas * l1.sqrt() * t.cos(), sigmas * l2.sqrt() * t.sin());
            (mx + ct * u - st * v, my + st * u + ct * v)
        })
        .collect()
}

/// A number for legends, ticks and axis labels: at most four decimals and no trailing zeros,
/// or three significant digits with an exponent when it is tiny or long.
fn short(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.len() > 8 || (x != 0.0 && x.abs() < 1e-3) {
        format!("{x:.2e}")
    } else {
        s.to_string()
    }
}

/// The cells of a straight line from `a` to `b`, both included (Bresenham), at most 10 000:
/// the text chart's dots and the text diagram's edges.
pub fn line_cells(a: (i64, i64), b: (i64, i64)) -> impl Iterator<Item = (i64, i64)> {
    let (mut x, mut y) = a;
    let (dx, dy) = ((b.0 - x).abs(), -(b.1 - y).abs());
    let (sx, sy) = (if x < b.0 { 1 } else { -1 }, if y < b.1 { 1 } else { -1 });
    let mut err = dx + dy;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let here = (x, y);
        if here == b {
            done = true;
        } else {
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
        Some(here)
    })
    .take(10_000)
}
