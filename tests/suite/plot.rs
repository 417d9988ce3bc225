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
    // The components in their colours, then p(x) in near-black, drawn last so that it stays
    // on top where a component coincides with it.
    let strokes: Vec<&str> = c.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(strokes, ["#1F77B4", "#D62728", "#141414"], "drawing order");
    // The plotted range covers the sample (about 99.9% of the mixture): the density integrates
    // to about 1 and each component to its weight. The tolerance is the curve's pixel rounding.
    let total = integral(&axes, &c[2].1);
    assert!((total - 1.0).abs() < 0.01, "∫ p(x) dx = {total}");
    let w0 = integral(&axes, &c[0].1);
    let w1 = integral(&axes, &c[1].1);
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

/// The plot area of a chart in marks (what a pipe gets): its rows, as characters after the
/// y axis, down to the x axis; then the axis line and the tick labels under it.
fn plot_area(chart: &str) -> (Vec<Vec<char>>, Vec<char>, String) {
    let after_axis = |l: &str, axis: &[char]| -> Vec<char> {
        l.chars()
            .skip_while(|c| !axis.contains(c))
            .skip(1)
            .collect()
    };
    let lines: Vec<&str> = chart.lines().collect();
    let bottom = lines
        .iter()
        .position(|l| l.contains('└'))
        .expect("an x axis");
    let rows = lines[..bottom]
        .iter()
        .filter(|l| l.contains('┤') || l.contains('│'))
        .map(|l| after_axis(l, &['┤', '│']))
        .collect();
    let axis = after_axis(lines[bottom], &['└']);
    // The labels line is indented like the axis: the character after `└` is column 0.
    let indent = lines[bottom].chars().position(|c| c == '└').unwrap() + 1;
    let labels: String = lines[bottom + 1].chars().skip(indent).collect();
    (rows, axis, labels)
}

/// For each column of a chart, the row of its topmost mark; and the x value of each column,
/// read from the `┬` ticks and the numbers centred under them.
fn envelope(chart: &str) -> (Vec<Option<usize>>, Vec<f64>) {
    let (rows, axis, labels) = plot_area(chart);
    let cols = axis.len();
    let tops = (0..cols)
        .map(|x| (0..rows.len()).find(|&y| rows[y].get(x).is_some_and(|c| *c != ' ')))
        .collect();
    let ticks: Vec<usize> = (0..cols).filter(|&x| axis[x] == '┬').collect();
    let chars: Vec<char> = labels.chars().collect();
    // Each label: its number and its centre column.
    let mut numbers = Vec::new();
    let mut x = 0;
    while x < chars.len() {
        if chars[x] == ' ' {
            x += 1;
            continue;
        }
        let start = x;
        while x < chars.len() && chars[x] != ' ' {
            x += 1;
        }
        let text: String = chars[start..x].iter().collect();
        numbers.push((
            (start + x - 1) as f64 / 2.0,
            text.parse::<f64>().expect("a tick number"),
        ));
    }
    // Each label sits under a tick (centred, so within one column).
    let labelled: Vec<(f64, f64)> = numbers
        .iter()
        .map(|&(centre, v)| {
            let t = ticks
                .iter()
                .min_by(|a, b| {
                    (**a as f64 - centre)
                        .abs()
                        .total_cmp(&(**b as f64 - centre).abs())
                })
                .expect("ticks");
            assert!((*t as f64 - centre).abs() <= 1.0, "label {v} off its tick");
            (*t as f64, v)
        })
        .collect();
    assert!(
        labelled.len() >= 3,
        "at least three labelled ticks: {labels}"
    );
    // Round numbers, evenly spaced.
    let step = labelled[1].1 - labelled[0].1;
    for w in labelled.windows(2) {
        assert!(
            ((w[1].1 - w[0].1) - step).abs() < 1e-9,
            "even ticks: {labelled:?}"
        );
    }
    assert!(
        [1.0, 2.0, 2.5, 5.0].iter().any(|m| {
            let r = step / m;
            (r.log10() - r.log10().round()).abs() < 1e-9
        }),
        "a round step: {step}"
    );
    let (a, b) = (labelled[0], labelled[labelled.len() - 1]);
    let x_of = (0..cols)
        .map(|c| a.1 + (c as f64 - a.0) * (b.1 - a.1) / (b.0 - a.0))
        .collect();
    (tops, x_of)
}

#[test]
fn terminal_chart_shows_the_two_peaks() {
    let out = common::gmm(&["run", "examples/grades.gmm"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let chart = &text[text.rfind("grades\n").expect("the chart's title")..];
    // A pipe gets marks, not colours: `*` is p(x), `o` and `+` the components.
    assert!(!chart.contains('\x1b'), "{chart}");
    for key in ["* p(x)", "o component 0", "+ component 1"] {
        assert!(chart.contains(key), "`{key}` in the legend\n{chart}");
    }
    let (t, x_of) = envelope(chart);
    // Local maxima of the envelope (smallest row index = highest mark), away from the floor.
    let floor = t.iter().flatten().max().copied().unwrap_or(0);
    let mut peaks = Vec::new();
    for i in 1..t.len() - 1 {
        if let (Some(a), Some(b), Some(c)) = (t[i - 1], t[i], t[i + 1])
            && b + 2 < floor
            && b <= a
            && b <= c
            && (b < a || b < c || peaks.last().is_none_or(|&(j, _)| j + 1 != i))
        {
            peaks.push((i, b));
        }
    }
    let xs: Vec<f64> = peaks.iter().map(|&(i, _)| x_of[i]).collect();
    assert!(
        xs.iter().any(|x| (x - 2.5).abs() < 0.2) && xs.iter().any(|x| (x - 4.8).abs() < 0.2),
        "peaks at {xs:?}\n{chart}"
    );
}

#[test]
fn terminal_charts_colour_a_terminal_and_mark_a_pipe() {
    let dir = common::scratch("plot-terminal");
    let script = format!(
        "{}let d = sample(grades, 400, seed = 3)\nplot(grades, d, width = 80, height = 14)\nlet xs = linspace(0, 6, 61)\nplot(xs, pdf(p(x), xs), width = 60, height = 8)\n",
        common::GRADES
    );
    std::fs::write(dir.join("t.gmm"), &script).unwrap();
    let run = |force: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gmm"));
        cmd.args(["run", "t.gmm"])
            .current_dir(&dir)
            .env_remove("NO_COLOR");
        if force {
            cmd.env("CLICOLOR_FORCE", "1");
        } else {
            cmd.env_remove("CLICOLOR_FORCE");
        }
        let out = cmd.output().expect("gmm runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // A terminal (forced here): each series in its ANSI colour, in the chart and the legend.
    let colour = run(true);
    for (code, what) in [
        ("\x1b[34m", "component 0"),
        ("\x1b[31m", "component 1"),
        ("\x1b[1m", "p(x)"),
        ("\x1b[90m", "data"),
    ] {
        let in_chart = colour
            .lines()
            .filter(|l| l.contains('┤') || l.contains('│'))
            .any(|l| l.contains(code));
        assert!(in_chart, "{what} drawn in {code:?}\n{colour}");
        assert!(
            colour.contains(&format!("{code}━\x1b[0m {what}")),
            "{what} in the legend"
        );
    }
    // A pipe: marks, one per series, and the same chart shape.
    let marks = run(false);
    assert!(!marks.contains('\x1b'));
    let first = &marks[..marks.find("xs\n").expect("the second chart's x label")];
    for (mark, what) in [
        (':', "data (400 rows)"),
        ('o', "component 0"),
        ('+', "component 1"),
        ('*', "p(x)"),
    ] {
        let (rows, _, _) = plot_area(first);
        assert!(
            rows.iter().flatten().any(|c| *c == mark),
            "`{mark}` drawn\n{first}"
        );
        assert!(
            first.contains(&format!("{mark} {what}")),
            "`{mark} {what}` in the legend\n{first}"
        );
    }
    // plot(x, y) labels its axes with how x and y were written.
    let second = &marks[marks.find("xs\n").unwrap() - 60..];
    assert!(second.lines().any(|l| l.trim() == "xs"), "{second}");
    assert!(second.contains("(y: pdf(p(x), xs))"), "{second}");
    let (_, x_of) = envelope(&marks[marks.rfind("density").unwrap()..]);
    assert!(
        x_of[0].abs() < 0.2 && (x_of[x_of.len() - 1] - 6.0).abs() < 0.2,
        "{x_of:?}"
    );
}

#[test]
fn a_two_dimensional_scatter_stays_readable() {
    let out = common::gmm(&["run", "examples/faithful.gmm"]);
    assert!(out.status.success());
    let dir = common::scratch("plot-scatter");
    let script = format!(
        "let raw = load(\"{}\")\nlet d = table(x = columns(raw, \"eruptions\", \"waiting\"))\n{}plot(fit(mix2, d), d, width = 80, height = 20)\n",
        common::root().join("examples/faithful.csv").display(),
        "model mix2 {\n param pi : simplex[2] = [0.5, 0.5]\n param mu[2] : vector[2] = [[2, 55], [4.5, 80]]\n param S[2] : cov[2] = [[[1, 0], [0, 100]], [[1, 0], [0, 100]]]\n plate rows {\n z ~ Categorical(pi)\n x ~ MvNormal(mu[z], S[z])\n }\n}\n"
    );
    std::fs::write(dir.join("s.gmm"), script).unwrap();
    let out = common::gmm_at(
        &dir,
        &[
            "run",
            "--allow-read",
            common::root().to_str().unwrap(),
            "s.gmm",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chart = String::from_utf8(out.stdout).unwrap();
    let (rows, _, _) = plot_area(&chart);
    let count = |m: char| rows.iter().flatten().filter(|c| **c == m).count();
    // Each cluster in its own mark, the ellipses as dots, the means as `@`.
    assert!(count('o') > 20 && count('+') > 20, "{chart}");
    assert!(count('.') > 20, "{chart}");
    assert!(count('@') >= 2, "{chart}");
    // The clusters do not mix: the short eruptions (left) are one mark, the long ones another.
    let side = |m: char| {
        let cols: Vec<usize> = rows
            .iter()
            .flat_map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(_, c)| **c == m)
                    .map(|(x, _)| x)
            })
            .collect();
        cols.iter().sum::<usize>() as f64 / cols.len() as f64
    };
    let (a, b) = (side('o'), side('+'));
    assert!(
        (a - b).abs() > 20.0,
        "cluster centres at columns {a} and {b}\n{chart}"
    );
}

/// The pixels of a PNG file: width, height and RGB bytes.
fn decode_png(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("the PNG exists"),
    ));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn png_files_are_real_pngs_with_the_curves_and_the_text() {
    let dir = common::scratch("plot-png");
    let script = format!(
        "{}plot(grades, sample(grades, 300, seed = 2), file = \"g.png\", title = \"Grades: π and μ\")\nplot(grades, file = \"small.PNG\", width = 300, height = 200)\n",
        common::GRADES
    );
    std::fs::write(dir.join("p.gmm"), script).unwrap();
    let out = common::gmm_at(&dir, &["run", "p.gmm"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (w, h, px) = decode_png(&dir.join("g.png"));
    assert_eq!((w, h), (800, 500));
    let at = |x: u32, y: u32| {
        let i = ((y * w + x) * 3) as usize;
        (px[i], px[i + 1], px[i + 2])
    };
    let count =
        |pred: &dyn Fn((u8, u8, u8)) -> bool, x: std::ops::Range<u32>, y: std::ops::Range<u32>| {
            y.flat_map(|y| x.clone().map(move |x| (x, y)))
                .filter(|&(x, y)| pred(at(x, y)))
                .count()
        };
    let near = |c: (u8, u8, u8), t: (u8, u8, u8)| {
        c.0.abs_diff(t.0) < 40 && c.1.abs_diff(t.1) < 40 && c.2.abs_diff(t.2) < 40
    };
    // A white background, the grey histogram, both components' hues and the near-black p(x).
    let all = |pred: &dyn Fn((u8, u8, u8)) -> bool| count(pred, 0..w, 0..h);
    assert!(all(&|c| c == (255, 255, 255)) > (w * h / 2) as usize);
    assert!(all(&|c| near(c, (170, 170, 170))) > 2000, "histogram bars");
    assert!(all(&|c| near(c, (31, 119, 180))) > 300, "component 0");
    assert!(all(&|c| near(c, (214, 39, 40))) > 300, "component 1");
    assert!(all(&|c| near(c, (20, 20, 20))) > 300, "p(x) and text");
    // The title is drawn text: dark pixels in the band above the plot, centred.
    let title = count(&|c| c.0 < 128 && c.1 < 128 && c.2 < 128, 250..550, 0..40);
    assert!(title > 100, "{title} dark pixels where the title is");
    let (w2, h2, _) = decode_png(&dir.join("small.PNG"));
    assert_eq!((w2, h2), (300, 200));
    // Any other extension is refused, and nothing is written.
    std::fs::write(
        dir.join("bad.gmm"),
        format!("{}plot(grades, file = \"g.jpg\")\n", common::GRADES),
    )
    .unwrap();
    let bad = common::gmm_at(&dir, &["run", "bad.gmm"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("plot writes .svg or .png files, not `g.jpg`"),
        "{err}"
    );
    assert!(!dir.join("g.jpg").exists());
}

#[test]
fn regression_band_follows_the_conditional_mean() {
    let text = example_svg("regression.gmm", "regression.svg");
    let doc = Document::parse(&text).expect("well-formed XML");
    assert_finite(&doc);
    let axes = Axes::read(&doc);
    // The mean and the two edges of the ±1 sd band, 200 points each along x.
    let c = curves(&doc);
    assert_eq!(c.len(), 3, "the mean and the band's two edges");
    let data = |i: usize| -> Vec<(f64, f64)> { c[i].1.iter().map(|&p| axes.data(p)).collect() };
    let (mean, lower, upper) = (data(0), data(1), data(2));
    // Points sit on whole pixels: a value read back is within half a pixel.
    let pixel = (axes.y.1 - axes.y.0) / (axes.py.0 - axes.py.1).abs();
    for ((m, l), u) in mean.iter().zip(&lower).zip(&upper) {
        assert_eq!(m.0.to_bits(), l.0.to_bits());
        assert!(
            l.1 < m.1 && m.1 < u.1,
            "the mean inside its band at x = {}",
            m.0
        );
        // The band is symmetric: the mean ± the same sd (three roundings).
        assert!(
            ((u.1 - m.1) - (m.1 - l.1)).abs() <= 2.0 * pixel,
            "at x = {}",
            m.0
        );
    }
    // The example prints E[waiting | eruption = 2] = 54.49 and sd 6.01; the curves pass
    // there, to the pixel grid.
    let at = |curve: &[(f64, f64)], x: f64| {
        let w = curve
            .windows(2)
            .find(|w| w[0].0 <= x && x <= w[1].0)
            .expect("x is drawn");
        w[0].1 + (w[1].1 - w[0].1) * (x - w[0].0) / (w[1].0 - w[0].0)
    };
    assert!(
        (at(&mean, 2.0) - 54.49).abs() <= pixel,
        "{}",
        at(&mean, 2.0)
    );
    assert!((at(&upper, 2.0) - at(&mean, 2.0) - 6.01).abs() <= 1.5 * pixel);
    // Every eruption is a point, and one more in the legend.
    let circles = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    assert_eq!(circles, 272 + 1);
}
