//! A figure as text for the terminal: a braille canvas (2 × 4 dots per character) with the
//! y range on the left, the x range below, and the legend. Every layer draws in the same
//! characters; the density's envelope is the topmost dot of each column.

use super::{Figure, Shape, short};

/// Dots per character across and down.
const DX: usize = 2;
const DY: usize = 4;

/// Width of the y-axis labels.
const LABEL: usize = 10;

/// A grid of dots.
struct Canvas {
    w: usize,
    h: usize,
    dots: Vec<bool>,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            self.dots[y as usize * self.w + x as usize] = true;
        }
    }

    /// A straight run of dots from `a` to `b` (Bresenham).
    fn line(&mut self, a: (i64, i64), b: (i64, i64)) {
        let (mut x, mut y) = a;
        let (dx, dy) = ((b.0 - x).abs(), -(b.1 - y).abs());
        let (sx, sy) = (if x < b.0 { 1 } else { -1 }, if y < b.1 { 1 } else { -1 });
        let mut err = dx + dy;
        for _ in 0..10_000 {
            self.set(x, y);
            if (x, y) == b {
                break;
            }
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
    }

    /// The braille character of the cell at (`cx`, `cy`).
    fn cell(&self, cx: usize, cy: usize) -> char {
        const BITS: [[u32; DY]; DX] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        let mut code = 0;
        for (i, col) in BITS.iter().enumerate() {
            for (j, bit) in col.iter().enumerate() {
                if self.dots[(cy * DY + j) * self.w + cx * DX + i] {
                    code |= bit;
                }
            }
        }
        char::from_u32(0x2800 + code).unwrap_or(' ')
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

/// The figure as text `width` characters wide with a canvas `height` rows tall.
pub fn render(fig: &Figure, width: usize, height: usize) -> String {
    // At most 1000 × 500 cells (4 million dots), whatever the terminal claims.
    let cols = width.min(1_000).saturating_sub(LABEL + 2).max(10);
    let rows = height.clamp(4, 500);
    let mut c = Canvas {
        w: cols * DX,
        h: rows * DY,
        dots: vec![false; cols * DX * rows * DY],
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
    for layer in &fig.layers {
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
    let mut out = String::new();
    if !fig.title.is_empty() {
        let title = format!("{:^w$}", fig.title, w = LABEL + 2 + cols);
        out.push_str(title.trim_end());
        out.push('\n');
    }
    for cy in 0..rows {
        let y_label = match cy {
            0 => short(y1),
            _ if cy == rows - 1 => short(y0),
            _ if cy == rows / 2 => short(0.5 * (y0 + y1)),
            _ => String::new(),
        };
        let axis = if y_label.is_empty() { '│' } else { '┤' };
        out.push_str(&format!("{y_label:>LABEL$} {axis}"));
        out.extend((0..cols).map(|cx| c.cell(cx, cy)));
        out.push('\n');
    }
    out.push_str(&format!("{:>LABEL$} └{}\n", "", "─".repeat(cols)));
    let (left, mid, right) = (short(x0), short(0.5 * (x0 + x1)), short(x1));
    let gap = cols.saturating_sub(left.len() + mid.len() + right.len());
    out.push_str(&format!(
        "{:>LABEL$}  {left}{}{mid}{}{right}\n",
        "",
        " ".repeat(gap / 2),
        " ".repeat(gap - gap / 2)
    ));
    let xlabel = format!("{:>LABEL$}  {:^cols$}", "", fig.xlabel);
    out.push_str(xlabel.trim_end());
    out.push('\n');
    if !fig.ylabel.is_empty() {
        out.push_str(&format!("{:>LABEL$}  (y: {})\n", "", fig.ylabel));
    }
    for name in fig.layers.iter().map(|l| &l.name).filter(|n| !n.is_empty()) {
        out.push_str(&format!("{:>LABEL$}  · {name}\n", ""));
    }
    out
}
