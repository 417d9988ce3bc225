//! A figure as text for the terminal: tick labels at round numbers on both axes, then the
//! legend. Two inks:
//!
//! - [`Ink::Colour`], for a terminal: a braille canvas (2 × 4 dots per character), each
//!   character in the ANSI colour of the last layer drawn through it (so p(x), drawn last, stays
//!   on top), the legend in the same colours;
//! - [`Ink::Marks`], for a file or a pipe: one mark per character, a different one per series
//!   (`*` the total, `o + x #` … the components, `:` a histogram, `.` an ellipse, `@` a mean),
//!   the legend naming each mark.

use super::{Figure, Layer, PALETTE_GREY, Shape};

/// Dots per character across and down.
const DX: usize = 2;
const DY: usize = 4;

/// Width of the y-axis labels.
const LABEL: usize = 10;

/// No layer at a dot.
const EMPTY: u8 = u8::MAX;

/// How a chart tells its series apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ink {
    /// Braille dots in ANSI colours, for a terminal.
    Colour,
    /// A mark per character and series, for text read anywhere.
    Marks,
}

impl Ink {
    /// Colour when stdout is a terminal, marks otherwise; `NO_COLOR` turns colour off and
    /// `CLICOLOR_FORCE` (other than `0`) on, as the conventions of those variables say.
    pub fn for_stdout() -> Ink {
        use std::io::IsTerminal;
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            Ink::Marks
        } else if set("CLICOLOR_FORCE") || std::io::stdout().is_terminal() {
            Ink::Colour
        } else {
            Ink::Marks
        }
    }
}

/// A grid of dots, each remembering the last layer drawn through it.
struct Canvas {
    w: usize,
    h: usize,
    dots: Vec<u8>,
    /// The layer drawing now.
    pen: u8,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            self.dots[y as usize * self.w + x as usize] = self.pen;
        }
    }

    /// A straight run of dots from `a` to `b`.
    fn line(&mut self, a: (i64, i64), b: (i64, i64)) {
        for (x, y) in super::line_cells(a, b) {
            self.set(x, y);
        }
    }

    /// The braille pattern of the cell at (`cx`, `cy`), and the last layer drawn in it.
    fn cell(&self, cx: usize, cy: usize) -> (char, Option<u8>) {
        const BITS: [[u32; DY]; DX] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        let mut code = 0;
        let mut top: Option<u8> = None;
        for (i, col) in BITS.iter().enumerate() {
            for (j, bit) in col.iter().enumerate() {
                let d = self.dots[(cy * DY + j) * self.w + cx * DX + i];
                if d != EMPTY {
                    code |= bit;
                    top = Some(top.map_or(d, |t| t.max(d)));
                }
            }
        }
        (char::from_u32(0x2800 + code).unwrap_or(' '), top)
    }
}

/// The terminal's width in characters: `COLUMNS`, else what the terminal on stdout reports,
/// else 80.
pub fn terminal_width() -> usize {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return c;
    }
    #[cfg(unix)]
    {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ fills the winsize struct it is given and touches nothing else.
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_col > 0 {
            return ws.ws_col as usize;
        }
    }
    80
}

/// Round tick values in `[lo, hi]`, about `target` intervals apart, at steps of 1, 2, 2.5 or
/// 5 times a power of ten (the steps matplotlib's MaxNLocator uses); and the decimals they
/// need.
pub fn ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, usize) {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return (vec![lo], 0);
    }
    let target = target.max(1) as f64;
    let power = 10f64.powf(((hi - lo) / target).log10().floor());
    // The round step whose number of intervals is nearest the target (the larger on a tie).
    let step = [1.0, 2.0, 2.5, 5.0, 10.0, 20.0]
        .iter()
        .map(|m| m * power)
        .min_by(|a, b| {
            let off = |s: f64| ((hi - lo) / s - target).abs();
            off(*a).total_cmp(&off(*b)).then(b.total_cmp(a))
        })
        .unwrap_or(power);
    let decimals = if step >= 1.0 {
        0
    } else {
        // 0.25 needs 2 decimals, 0.5 needs 1.
        (0..=15)
            .find(|&d| ((step * 10f64.powi(d)).round() - step * 10f64.powi(d)).abs() < 1e-6)
            .unwrap_or(15) as usize
    };
    let scale = 10f64.powi(decimals as i32);
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    let values: Vec<f64> = (0..=((last - first).max(0.0) as usize).min(1000))
        .map(|i| {
            // Rounded to the decimals shown, so 3 × 0.2 is 0.6; and -0 is 0.
            let v = ((first + i as f64) * step * scale).round() / scale;
            if v == 0.0 { 0.0 } else { v }
        })
        .collect();
    (values, decimals)
}

/// A tick value with `decimals` decimals; an exponent for very large or small magnitudes.
fn tick_label(v: f64, decimals: usize) -> String {
    if v != 0.0 && (v.abs() >= 1e7 || decimals > 6) {
        format!("{v:.1e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// The mark of a layer in [`Ink::Marks`]: the total `*`, components `o + x # % & = $` by
/// colour, a histogram `:`, an ellipse (a line in a scatter) `.`, means `@`.
fn mark(layer: &Layer, scatter: bool) -> char {
    const COMPONENTS: [char; 8] = ['o', '+', 'x', '#', '%', '&', '=', '$'];
    match (&layer.shape, layer.colour) {
        (Shape::Marks(_), _) => '@',
        (Shape::Bars(_), _) | (_, PALETTE_GREY) => ':',
        (Shape::Line(_), _) if scatter || layer.faint => '.',
        (_, 0) => '*',
        (_, k) => COMPONENTS[(k - 1) % COMPONENTS.len()],
    }
}

/// The ANSI colour of a layer in [`Ink::Colour`]: bold for the total, then blue, red, green,
/// yellow, magenta, cyan; grey for a histogram; dim for faint lines.
fn ansi(layer: &Layer) -> String {
    const HUES: [u8; 6] = [34, 31, 32, 33, 35, 36];
    let base = match layer.colour {
        0 => "1".to_string(),
        PALETTE_GREY => "90".to_string(),
        k => HUES[(k - 1) % HUES.len()].to_string(),
    };
    if layer.faint {
        format!("\x1b[2;{base}m")
    } else {
        format!("\x1b[{base}m")
    }
}

const RESET: &str = "\x1b[0m";

/// The figure as text `width` characters wide with a canvas `height` rows tall.
pub fn render(fig: &Figure, width: usize, height: usize, ink: Ink) -> String {
    // At most 1000 × 500 cells (4 million dots), whatever the terminal claims.
    let cols = width.min(1_000).saturating_sub(LABEL + 2).max(10);
    let rows = height.clamp(4, 500);
    let mut c = Canvas {
        w: cols * DX,
        h: rows * DY,
        dots: vec![EMPTY; cols * DX * rows * DY],
        pen: 0,
    };
    let (x0, x1) = fig.x;
    let (y0, y1) = if fig.y.1 > fig.y.0 {
        fig.y
    } else {
        (fig.y.0, fig.y.0 + 1.0)
    };
    let (cw, ch) = (c.w, c.h);
    let to_dot = |(x, y): (f64, f64)| -> Option<(i64, i64)> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let px = (x - x0) / (x1 - x0) * (cw - 1) as f64;
        let py = (y1 - y) / (y1 - y0) * (ch - 1) as f64;
        Some((px.round() as i64, py.round() as i64))
    };
    // Layers past the 254th share the last pen.
    for (i, layer) in fig.layers.iter().enumerate() {
        c.pen = i.min(EMPTY as usize - 1) as u8;
        match &layer.shape {
            Shape::Line(pts) => {
                let dots: Vec<Option<(i64, i64)>> = pts.iter().map(|&p| to_dot(p)).collect();
                for w in dots.windows(2) {
                    if let (Some(a), Some(b)) = (w[0], w[1]) {
                        c.line(a, b);
                    }
                }
            }
            Shape::Points(pts) => {
                for p in pts.iter().filter_map(|&p| to_dot(p)) {
                    c.set(p.0, p.1);
                }
            }
            Shape::Bars(bars) => {
                for &(a, b, h) in bars {
                    if let (Some(l), Some(r), Some(base_l), Some(base_r)) = (
                        to_dot((a, h)),
                        to_dot((b, h)),
                        to_dot((a, y0)),
                        to_dot((b, y0)),
                    ) {
                        c.line(base_l, l);
                        c.line(l, r);
                        c.line(r, base_r);
                    }
                }
            }
            Shape::Marks(pts) => {
                for (x, y) in pts.iter().filter_map(|&p| to_dot(p)) {
                    c.line((x - 2, y - 2), (x + 2, y + 2));
                    c.line((x - 2, y + 2), (x + 2, y - 2));
                }
            }
        }
    }
    let scatter = fig
        .layers
        .iter()
        .any(|l| matches!(l.shape, Shape::Points(_)));
    let layer_of = |pen: u8| &fig.layers[pen as usize];
    let mut out = String::new();
    if !fig.title.is_empty() {
        let title = format!("{:^w$}", fig.title, w = LABEL + 2 + cols);
        out.push_str(title.trim_end());
        out.push('\n');
    }
    // The y ticks: a label at the row each round value falls in.
    let (yt, yd) = ticks(y0, y1, (rows / 4).max(2));
    let mut y_labels: Vec<Option<String>> = vec![None; rows];
    for &v in &yt {
        let row = (((y1 - v) / (y1 - y0) * (ch - 1) as f64).round() as usize / DY).min(rows - 1);
        y_labels[row] = Some(tick_label(v, yd));
    }
    for (cy, label) in y_labels.iter().enumerate() {
        let (label, axis) = match label {
            Some(l) => (l.as_str(), '┤'),
            None => ("", '│'),
        };
        out.push_str(&format!("{label:>LABEL$} {axis}"));
        let mut inked: Option<u8> = None;
        for cx in 0..cols {
            let (braille, top) = c.cell(cx, cy);
            match (ink, top) {
                (_, None) => {
                    if ink == Ink::Colour && inked.take().is_some() {
                        out.push_str(RESET);
                    }
                    out.push(if ink == Ink::Colour { braille } else { ' ' });
                }
                (Ink::Marks, Some(pen)) => out.push(mark(layer_of(pen), scatter)),
                (Ink::Colour, Some(pen)) => {
                    if inked != Some(pen) {
                        out.push_str(&ansi(layer_of(pen)));
                        inked = Some(pen);
                    }
                    out.push(braille);
                }
            }
        }
        if inked.is_some() {
            out.push_str(RESET);
        }
        out.push('\n');
    }
    // The x ticks: `┬` on the axis, the label centred under it when it fits.
    let (xt, xd) = ticks(x0, x1, (cols / 12).max(2));
    let mut axis: Vec<char> = vec!['─'; cols];
    let mut under: Vec<char> = vec![' '; cols + LABEL];
    let mut free_from = 0;
    for &v in &xt {
        let col = ((v - x0) / (x1 - x0) * (cw - 1) as f64).round() as usize / DX;
        if col >= cols {
            continue;
        }
        axis[col] = '┬';
        let label: Vec<char> = tick_label(v, xd).chars().collect();
        let start = col.saturating_sub(label.len() / 2);
        if start >= free_from && start + label.len() <= under.len() {
            under[start..start + label.len()].copy_from_slice(&label);
            free_from = start + label.len() + 1;
        }
    }
    out.push_str(&format!(
        "{:>LABEL$} └{}\n",
        "",
        axis.iter().collect::<String>()
    ));
    let under: String = under.iter().collect();
    out.push_str(format!("{:>LABEL$}  {under}", "").trim_end());
    out.push('\n');
    let xlabel = format!("{:>LABEL$}  {:^cols$}", "", fig.xlabel);
    out.push_str(xlabel.trim_end());
    out.push('\n');
    if !fig.ylabel.is_empty() {
        out.push_str(&format!("{:>LABEL$}  (y: {})\n", "", fig.ylabel));
    }
    for layer in fig.layers.iter().filter(|l| !l.name.is_empty()) {
        let key = match ink {
            Ink::Marks => mark(layer, scatter).to_string(),
            Ink::Colour => format!("{}━{RESET}", ansi(layer)),
        };
        out.push_str(&format!("{:>LABEL$}  {key} {}\n", "", layer.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ticks;

    #[test]
    fn ticks_fall_on_round_numbers() {
        assert_eq!(ticks(0.0, 1.0, 4), (vec![0.0, 0.25, 0.5, 0.75, 1.0], 2));
        assert_eq!(ticks(0.61, 5.7, 5), (vec![1.0, 2.0, 3.0, 4.0, 5.0], 0));
        assert_eq!(
            ticks(-3.2, 3.2, 6),
            (vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0], 0)
        );
        assert_eq!(ticks(40.0, 100.0, 4), (vec![40.0, 60.0, 80.0, 100.0], 0));
        let (t, d) = ticks(0.0, 0.6918, 4);
        assert_eq!((t, d), (vec![0.0, 0.2, 0.4, 0.6], 1));
    }
}
