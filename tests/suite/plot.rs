//! Plots: the SVGs the examples write are well-formed XML with the expected series, finite
//! coordinates, and a density curve that integrates to about 1 (read back through the axes
//! recorded in the SVG's metadata); the terminal chart of the grades model shows its two peaks.

use crate::common;

use roxmltree::{Document, Node};

/// Runs an example (it writes its SVG beside itself) and returns the SVG text.
fn example_svg(script: &str, svg: &str) -> String {
    let out = common::gmm(&["run", &format!("examples/{script}")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(common::root().join("examples").join(svg)).expect("the SVG exists")
}

/// The points of a `<polyline>`.
fn points(n: &Node<'_, '_>) -> Vec<(f64, f64)> {
    n.attribute("points")
        .unwrap_or("")
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().expect("a number"), y.parse().expect("a number"))
        })
        .collect()
}

/// Curves with many points (legend samples have two), by stroke colour.
fn curves<'a>(doc: &'a Document<'a>) -> Vec<(String, Vec<(f64, f64)>)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| (n.attribute("stroke").unwrap_or("").to_string(), points(&n)))
        .filter(|(_, p)| p.len() > 20)
        .collect()
}

/// Every coordinate attribute in the drawing is a finite number.
fn assert_finite(doc: &Document<'_>) {
    for n in doc.descendants().filter(|n| n.is_element()) {
        for a in [
            "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height",
        ] {
            if let Some(v) = n.attribute(a) {
                let x: f64 = v.parse().unwrap_or(f64::NAN);
                assert!(x.is_finite(), "<{}> {a}=\"{v}\"", n.tag_name().name());
            }
        }
        if n.has_tag_name("polyline") {
            assert!(
                points(&n)
                    .iter()
                    .all(|(x, y)| x.is_finite() && y.is_finite())
            );
        }
    }
}

/// The axes' data ranges and pixel positions from the SVG's metadata.
struct Axes {
    x: (f64, f64),
    px: (f64, f64),
    y: (f64, f64),
    py: (f64, f64),
}

impl Axes {
    fn read(doc: &Document<'_>) -> Axes {
        let m = doc
            .descendants()
            .find(|n| n.has_tag_name("metadata"))
            .expect("the axes metadata");
        let pair = |a: &str| -> (f64, f64) {
            let v: Vec<f64> = m
                .attribute(a)
                .expect("an axis attribute")
                .split_whitespace()
                .map(|s| s.parse().expect("a number"))
                .collect();
            (v[0], v[1])
        };
        Axes {
            x: pair("xrange"),
            px: pair("xpixels"),
            y: pair("yrange"),
            py: pair("ypixels"),
        }
    }

    /// A pixel position in data coordinates.
    fn data(&self, (px, py): (f64, f64)) -> (f64, f64) {
        let x = self.x.0 + (px - self.px.0) / (self.px.1 - self.px.0) * (self.x.1 - self.x.0);
        let y = self.y.0 + (py - self.py.0) / (self.py.1 - self.py.0) * (self.y.1 - self.y.0);
        (x, y)
    }
}

/// ∫ y dx of a curve by the trapezoid rule, in data coordinates.
fn integral(axes: &Axes, pts: &[(f64, f64)]) -> f64 {
    let d: Vec<(f64, f64)> = pts.iter().map(|&p| axes.data(p)).collect();
    d.windows(2)
        .map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0))
        .sum()
}

#[test]
fn grades_density_over_the_histogram() {
    let text = example_svg("grades.gmm", "grades.svg");
    let doc = Document::parse(&text).expect("well-formed XML");
    assert_finite(&doc);
    let axes = Axes::read(&doc);
    // The mixture and its two components; the histogram's bars.
    let c = curves(&doc);
    assert_eq!(
        c.len(),
        3,
        "three curves: {:?}",
        c.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    let bars = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#AAAAAA"))
        .count();
    assert!(bars >= 10, "{bars} bars");
    // The plotted range covers the sample (about 99.9% of the mixture): the density integrates
    // to about 1 and each component to its weight. The tolerance is the curve's pixel rounding.
    let total = integral(&axes, &c[0].1);
    assert!((total - 1.0).abs() < 0.01, "∫ p(x) dx = {total}");
    let w0 = integral(&axes, &c[1].1);
    let w1 = integral(&axes, &c[2].1);
    assert!(
        (w0 - 0.6).abs() < 0.01 && (w1 - 0.4).abs() < 0.01,
        "{w0}, {w1}"
    );
}

#[test]
fn em_trace_is_one_rising_line() {
    let text = example_svg("em_lecture.gmm", "em_lecture_trace.svg");
    let doc = Document::parse(&text).expect("well-formed XML");
    assert_finite(&doc);
    let axes = Axes::read(&doc);
    let c = curves(&doc);
    assert_eq!(c.len(), 1);
    let data: Vec<(f64, f64)> = c[0].1.iter().map(|&p| axes.data(p)).collect();
    assert_eq!(data.len(), 100, "one point per iteration");
    assert!(
        data.windows(2).all(|w| w[1].1 >= w[0].1 - 0.5),
        "the trace does not fall"
    );
    assert!(
        (data[99].1 - -1261.3451405524047).abs() < 1.0,
        "{:?}",
        data[99]
    );
}

#[test]
fn faithful_clusters_with_ellipses() {
    let text = example_svg("faithful.gmm", "faithful.svg");
    let doc = Document::parse(&text).expect("well-formed XML");
    assert_finite(&doc);
    // A 1σ and a 2σ ellipse per component, each closed.
    let c = curves(&doc);
    assert_eq!(c.len(), 4);
    for (_, p) in &c {
        let (a, b) = (p[0], p[p.len() - 1]);
        assert!((a.0 - b.0).abs() < 1.0 && (a.1 - b.1).abs() < 1.0, "closed");
    }
    // Every eruption is a point (the legend adds one per component).
    let circles = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    assert_eq!(circles, 272 + 2);
}

/// The braille dots of a chart: for each dot column, the topmost dot's row.
fn tops(chart: &str) -> Vec<Option<usize>> {
    let rows: Vec<Vec<u32>> = chart
        .lines()
        .filter(|l| l.contains('┤') || l.contains('│'))
        .map(|l| {
            l.chars()
                .skip_while(|c| *c != '┤' && *c != '│')
                .skip(1)
                .map(|c| c as u32 - 0x2800)
                .collect()
        })
        .collect();
    let cols = rows[0].len() * 2;
    // Braille dot bits by (column, row within the cell).
    const BITS: [[u32; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
    (0..cols)
        .map(|x| (0..rows.len() * 4).find(|&y| rows[y / 4][x / 2] & BITS[x % 2][y % 4] != 0))
        .collect()
}

#[test]
fn terminal_chart_shows_the_two_peaks() {
    let out = common::gmm(&["run", "examples/grades.gmm"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let chart = &text[text.rfind("grades\n").expect("the chart's title")..];
    let t = tops(chart);
    // The x range, from the labels under the axis.
    let labels: Vec<f64> = chart
        .lines()
        .skip_while(|l| !l.contains('└'))
        .nth(1)
        .expect("x labels")
        .split_whitespace()
        .map(|s| s.parse().expect("a number"))
        .collect();
    let (x0, x1) = (labels[0], labels[labels.len() - 1]);
    let x_of = |col: usize| x0 + (x1 - x0) * col as f64 / (t.len() - 1) as f64;
    // Local maxima of the envelope (smallest row index = highest dot), away from the floor.
    let floor = t.iter().flatten().max().copied().unwrap_or(0);
    let mut peaks = Vec::new();
    for i in 1..t.len() - 1 {
        if let (Some(a), Some(b), Some(c)) = (t[i - 1], t[i], t[i + 1])
            && b < floor.saturating_sub(4)
            && b <= a
            && b <= c
            && (b < a || b < c || peaks.last().is_none_or(|&(j, _)| j + 1 != i))
        {
            peaks.push((i, b));
        }
    }
    let xs: Vec<f64> = peaks.iter().map(|&(i, _)| x_of(i)).collect();
    assert!(
        xs.iter().any(|x| (x - 2.5).abs() < 0.15) && xs.iter().any(|x| (x - 4.8).abs() < 0.15),
        "peaks at {xs:?}\n{chart}"
    );
}
