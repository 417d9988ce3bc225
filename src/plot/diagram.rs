//! The plate diagram of a model, laid out by gmm itself (no Graphviz): the lecture's picture,
//! with parameters as small filled dots, random variables as circles (observed ones shaded),
//! an arrow per dependency and each plate as a rounded box labelled with its name and size in
//! the lower-right corner. One layout, two renderers: SVG and box-drawing text.
//!
//! The layout is layered top to bottom: a variable sits one layer below its lowest parent, a
//! parameter one layer above its highest child. Across, every plate owns a contiguous run of
//! columns (its own members', then each nested plate's), so a plate's box holds exactly its
//! members and nested boxes nest. An edge is straight unless that would cross a node; then it
//! bends once, through a gap between columns or layers.

use crate::model::dot::Observed;
use crate::model::tex::greek;
use crate::model::{Model, PlateId, PlateSize, VarId};

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A parameter: a small filled dot, its name beside it.
    Param,
    /// A latent random variable: a white circle.
    Latent,
    /// An observed random variable: a shaded circle.
    Observed,
}

/// A placed node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The model's name for it.
    pub name: String,
    /// What is written: the name, in Greek where it names a Greek letter.
    pub label: String,
    pub kind: Kind,
    pub x: f64,
    pub y: f64,
    /// Radius of its circle or dot.
    pub r: f64,
    /// The plates it is in (indices into [`Diagram::plates`]), outermost first.
    pub plates: Vec<usize>,
}

/// A placed edge: a polyline from the boundary of `from` to the boundary of `to`.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub points: Vec<(f64, f64)>,
    /// A chain's transition (section 9.4): `from` in the previous row to `to`, drawn dashed;
    /// a variable's own (`prev(z)` → `z`) loops beside it.
    pub lag: bool,
}

/// A placed plate box.
#[derive(Clone, Debug, PartialEq)]
pub struct PlateBox {
    pub name: String,
    /// `rows (N)`, `d (2)`.
    pub label: String,
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// A laid-out diagram, in pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagram {
    pub title: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub plates: Vec<PlateBox>,
    pub width: f64,
    pub height: f64,
}

/// Pixels between layers.
const LAYER: f64 = 90.0;
/// The font size of labels, and the width of a character in it (DejaVu Sans, about).
const FONT: f64 = 14.0;
const CHAR: f64 = 0.62 * FONT;
/// Radius of a variable's circle (wider for a long name) and of a parameter's dot.
const VAR_R: f64 = 20.0;
const PARAM_R: f64 = 4.5;
/// Space around a plate's members, and the strip under them for its label.
const PAD: f64 = 12.0;
const LABEL_STRIP: f64 = 20.0;
/// Margin around the drawing, and room above it for the title.
const MARGIN: f64 = 16.0;
const TITLE: f64 = 30.0;

/// The width of a label in pixels.
fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR
}

/// The plates enclosing `p`, outermost first, `p` last.
fn chain(model: &Model, p: Option<PlateId>) -> Vec<PlateId> {
    let mut out = Vec::new();
    let mut at = p;
    while let Some(q) = at {
        out.push(q);
        at = model.plates[q].parent;
    }
    out.reverse();
    out
}

/// Lays out the plate diagram of `model`.
pub fn layout(model: &Model, observed: Observed) -> Diagram {
    let is_observed = |v: VarId| match &observed {
        Observed::Leaves => model.children(v).is_empty(),
        Observed::These(vs) => vs.contains(&v),
    };
    // Layers: variables below their parents, parameters above their children.
    let mut layer = vec![1usize; model.vars.len()];
    for (v, var) in model.vars.iter().enumerate() {
        layer[v] = 1 + var.parents.iter().map(|&p| layer[p]).max().unwrap_or(0);
    }
    let param_layer: Vec<usize> = (0..model.params.len())
        .map(|p| {
            model
                .vars
                .iter()
                .enumerate()
                .filter(|(_, var)| var.params.contains(&p))
                .map(|(v, _)| layer[v] - 1)
                .min()
                .unwrap_or(0)
        })
        .collect();
    // The nodes: parameters first, then variables, each with its group (innermost plate).
    struct Pre {
        name: String,
        kind: Kind,
        layer: usize,
        group: Option<PlateId>,
        r: f64,
    }
    let mut pre: Vec<Pre> = Vec::new();
    for (p, param) in model.params.iter().enumerate() {
        pre.push(Pre {
            name: param.name.clone(),
            kind: Kind::Param,
            layer: param_layer[p],
            group: None,
            r: PARAM_R,
        });
    }
    let first_var = pre.len();
    for (v, var) in model.vars.iter().enumerate() {
        let label = greek(&var.name);
        pre.push(Pre {
            name: var.name.clone(),
            kind: if is_observed(v) {
                Kind::Observed
            } else {
                Kind::Latent
            },
            layer: layer[v],
            group: var.plates.last().copied(),
            r: VAR_R.max(text_width(&label) / 2.0 + 6.0),
        });
    }
    // Columns: each group's own, then its nested plates', depth first.
    let mut columns: Vec<Option<PlateId>> = Vec::new();
    let mut column_of = vec![0usize; pre.len()];
    fn place(
        model: &Model,
        group: Option<PlateId>,
        pre: &[Pre],
        columns: &mut Vec<Option<PlateId>>,
        column_of: &mut [usize],
    ) {
        let start = columns.len();
        let mut used = std::collections::BTreeMap::<usize, usize>::new();
        for (i, n) in pre.iter().enumerate().filter(|(_, n)| n.group == group) {
            let k = used.entry(n.layer).or_insert(0);
            column_of[i] = start + *k;
            *k += 1;
        }
        let own = used.values().copied().max().unwrap_or(0);
        columns.extend(std::iter::repeat_n(group, own));
        for (c, plate) in model.plates.iter().enumerate() {
            if plate.parent == group {
                place(model, Some(c), pre, columns, column_of);
            }
        }
    }
    place(model, None, &pre, &mut columns, &mut column_of);
    // Column widths and positions: a parameter's label sits left of its dot; neighbouring
    // columns in different plates leave room for the boxes between them.
    let mut widths = vec![2.0 * VAR_R; columns.len()];
    for (i, n) in pre.iter().enumerate() {
        let w = match n.kind {
            Kind::Param => 2.0 * (text_width(&greek(&n.name)) + n.r + 6.0),
            _ => 2.0 * n.r,
        };
        widths[column_of[i]] = widths[column_of[i]].max(w);
    }
    let mut xs = Vec::with_capacity(columns.len());
    let mut x = MARGIN;
    for c in 0..columns.len() {
        if c > 0 {
            let (a, b) = (chain(model, columns[c - 1]), chain(model, columns[c]));
            let shared = a.iter().zip(&b).take_while(|(p, q)| p == q).count();
            let crossings = (a.len() - shared) + (b.len() - shared);
            x += 30.0 + crossings as f64 * (PAD + 4.0);
        }
        // Room on the left for the boxes this column is in.
        if c == 0 {
            x += chain(model, columns[c]).len() as f64 * (PAD + 4.0);
        }
        xs.push(x + widths[c] / 2.0);
        x += widths[c];
    }
    let top = MARGIN + TITLE;
    let depth_max = model
        .plates
        .iter()
        .enumerate()
        .map(|(p, _)| chain(model, Some(p)).len())
        .max()
        .unwrap_or(0);
    let mut nodes: Vec<Node> = pre
        .iter()
        .enumerate()
        .map(|(i, n)| Node {
            name: n.name.clone(),
            label: greek(&n.name),
            kind: n.kind,
            x: xs[column_of[i]],
            y: top + depth_max as f64 * PAD + VAR_R + n.layer as f64 * LAYER,
            r: n.r,
            plates: Vec::new(),
        })
        .collect();
    // Drop the empty first layer when no parameter needs it.
    if pre.iter().all(|n| n.layer > 0) {
        for n in &mut nodes {
            n.y -= LAYER;
        }
    }
    // Plate boxes, innermost first so that each outer box takes in the inner ones.
    let mut boxes: Vec<Option<PlateBox>> = vec![None; model.plates.len()];
    for p in (0..model.plates.len()).rev() {
        let plate = &model.plates[p];
        let mut bounds: Option<(f64, f64, f64, f64)> = None;
        let mut grow = |x0: f64, y0: f64, x1: f64, y1: f64| {
            bounds = Some(match bounds {
                None => (x0, y0, x1, y1),
                Some((a, b, c, d)) => (a.min(x0), b.min(y0), c.max(x1), d.max(y1)),
            });
        };
        for (i, n) in pre.iter().enumerate().skip(first_var) {
            if n.group == Some(p) {
                let node = &nodes[i];
                // A variable's loop from its own previous row stands out on its right.
                let v = i - first_var;
                let looped = model.vars[v]
                    .next
                    .as_ref()
                    .is_some_and(|nx| nx.prev.contains(&v));
                grow(
                    node.x - node.r,
                    node.y - node.r,
                    node.x + node.r + if looped { LOOP } else { 0.0 },
                    node.y + node.r,
                );
            }
        }
        for (c, child) in model.plates.iter().enumerate() {
            if child.parent == Some(p)
                && let Some(b) = &boxes[c]
            {
                grow(b.x0, b.y0, b.x1, b.y1);
            }
        }
        let Some((x0, y0, x1, y1)) = bounds else {
            continue;
        };
        let size = match plate.size {
            PlateSize::Data => "N".to_string(),
            PlateSize::Fixed(n) => n.to_string(),
        };
        let label = format!("{} ({size})", plate.name);
        let x1 = (x1 + PAD).max(x0 - PAD + text_width(&label) + 2.0 * 6.0);
        boxes[p] = Some(PlateBox {
            name: plate.name.clone(),
            label,
            x0: x0 - PAD,
            y0: y0 - PAD,
            x1,
            y1: y1 + PAD + LABEL_STRIP,
        });
    }
    // Which boxes each variable is in.
    let index_of: Vec<Option<usize>> = {
        let mut k = 0;
        boxes
            .iter()
            .map(|b| {
                b.as_ref().map(|_| {
                    k += 1;
                    k - 1
                })
            })
            .collect()
    };
    for (i, n) in pre.iter().enumerate().skip(first_var) {
        nodes[i].plates = chain(model, n.group)
            .into_iter()
            .filter_map(|p| index_of[p])
            .collect();
    }
    let plates: Vec<PlateBox> = boxes.into_iter().flatten().collect();
    // Edges: parameters and parent variables to each variable.
    let mut edges = Vec::new();
    for (v, var) in model.vars.iter().enumerate() {
        let to = first_var + v;
        let from = var
            .params
            .iter()
            .copied()
            .chain(var.parents.iter().map(|&p| first_var + p));
        for from in from {
            edges.push(Edge {
                from,
                to,
                points: route(&nodes, from, to),
                lag: false,
            });
        }
        // A chained variable's `then` distribution: its parents in the row, then the
        // transitions from the previous row.
        if let Some(nx) = &var.next {
            for &p in nx.parents.iter().filter(|p| !var.parents.contains(p)) {
                let from = first_var + p;
                edges.push(Edge {
                    from,
                    to,
                    points: route(&nodes, from, to),
                    lag: false,
                });
            }
            for &p in &nx.prev {
                let from = first_var + p;
                let points = if from == to {
                    self_loop(&nodes[to])
                } else {
                    route(&nodes, from, to)
                };
                edges.push(Edge {
                    from,
                    to,
                    points,
                    lag: true,
                });
            }
        }
    }
    let mut width: f64 = 0.0;
    let mut height: f64 = 0.0;
    for n in &nodes {
        width = width.max(n.x + n.r);
        height = height.max(n.y + n.r);
    }
    for b in &plates {
        width = width.max(b.x1);
        height = height.max(b.y1);
    }
    let title_width = text_width(&model.name) + 2.0 * MARGIN;
    Diagram {
        title: model.name.clone(),
        nodes,
        edges,
        plates,
        width: (width + MARGIN).max(title_width).ceil(),
        height: (height + MARGIN).ceil(),
    }
}

/// The distance from point `p` to the segment `a`–`b`.
fn distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    let (qx, qy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - qx).powi(2) + (p.1 - qy).powi(2)).sqrt()
}

/// Whether the polyline through `pts` keeps clear of every node but `from` and `to`.
fn clear(nodes: &[Node], from: usize, to: usize, pts: &[(f64, f64)]) -> bool {
    nodes.iter().enumerate().all(|(i, n)| {
        i == from
            || i == to
            || pts
                .windows(2)
                .all(|w| distance((n.x, n.y), w[0], w[1]) > n.r + 4.0)
    })
}

/// How far a variable's loop from its own previous row reaches beyond its circle.
const LOOP: f64 = 16.0;

/// A loop on the right of a node's circle, from it back to it: a variable's transition from
/// its own previous row.
fn self_loop(n: &Node) -> Vec<(f64, f64)> {
    let (c, sn) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
    let out = n.r + LOOP;
    vec![
        (n.x + n.r * c, n.y - n.r * sn),
        (n.x + out, n.y - n.r * sn - 8.0),
        (n.x + out, n.y + n.r * sn + 8.0),
        (n.x + n.r * c, n.y + n.r * sn),
    ]
}

/// The path of an edge: straight when that crosses no node, else bent once at the shortest
/// clear waypoint; then cut back to the two nodes' boundaries.
fn route(nodes: &[Node], from: usize, to: usize) -> Vec<(f64, f64)> {
    let (a, b) = (&nodes[from], &nodes[to]);
    let (pa, pb) = ((a.x, a.y), (b.x, b.y));
    let mut path = vec![pa, pb];
    if !clear(nodes, from, to, &path) {
        let mut xs: Vec<f64> = nodes.iter().map(|n| n.x).collect();
        let mut ys: Vec<f64> = nodes.iter().map(|n| n.y).collect();
        xs.sort_by(f64::total_cmp);
        ys.sort_by(f64::total_cmp);
        let gaps = |v: &[f64]| -> Vec<f64> {
            let mut g: Vec<f64> = v.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
            g.extend(v);
            g
        };
        let length = |p: &[(f64, f64)]| -> f64 {
            p.windows(2)
                .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
                .sum()
        };
        let mut best: Option<Vec<(f64, f64)>> = None;
        for &x in &gaps(&xs) {
            for &y in &gaps(&ys) {
                let p = vec![pa, (x, y), pb];
                if clear(nodes, from, to, &p)
                    && best.as_ref().is_none_or(|q| length(&p) < length(q))
                {
                    best = Some(p);
                }
            }
        }
        if let Some(p) = best {
            path = p;
        }
    }
    // Cut back to the circles' edges.
    let cut = |from: (f64, f64), toward: (f64, f64), r: f64| {
        let (dx, dy) = (toward.0 - from.0, toward.1 - from.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        (from.0 + dx / len * r, from.1 + dy / len * r)
    };
    let n = path.len();
    let start = cut(pa, path[1], a.r);
    let end = cut(pb, path[n - 2], b.r + 2.0);
    path[0] = start;
    path[n - 1] = end;
    path
}

/// The diagram as a standalone SVG. Text names common font families and falls back to any
/// sans-serif: nothing needs to be installed for the file to be valid, and the layout does
/// not depend on the font (labels have room for wide glyphs).
pub fn to_svg(d: &Diagram) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"{FONT}\">\n",
        w = d.width,
        h = d.height
    ));
    out.push_str(&format!("<title>{}</title>\n", super::xml(&d.title)));
    out.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#222\"/></marker></defs>\n");
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
        d.width / 2.0,
        MARGIN + 14.0,
        super::xml(&d.title)
    ));
    for b in &d.plates {
        out.push_str(&format!(
            "<g class=\"plate\" data-plate=\"{}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"10\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.2\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text></g>\n",
            super::xml(&b.name),
            b.x0,
            b.y0,
            b.x1 - b.x0,
            b.y1 - b.y0,
            b.x1 - 6.0,
            b.y1 - 6.0,
            super::xml(&b.label)
        ));
    }
    for e in &d.edges {
        let pts: Vec<String> = e
            .points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let (class, dash) = if e.lag {
            ("edge transition", " stroke-dasharray=\"5,3\"")
        } else {
            ("edge", "")
        };
        out.push_str(&format!(
            "<polyline class=\"{class}\" data-from=\"{}\" data-to=\"{}\" points=\"{}\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.3\"{dash} marker-end=\"url(#arrow)\"/>\n",
            super::xml(&d.nodes[e.from].name),
            super::xml(&d.nodes[e.to].name),
            pts.join(" ")
        ));
    }
    for n in &d.nodes {
        match n.kind {
            Kind::Param => out.push_str(&format!(
                "<g class=\"parameter\" data-node=\"{}\"><circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\" fill=\"black\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text></g>\n",
                super::xml(&n.name),
                n.x,
                n.y,
                n.r,
                n.x - n.r - 5.0,
                n.y + FONT * 0.35,
                super::xml(&n.label)
            )),
            Kind::Latent | Kind::Observed => {
                let (class, fill) = if n.kind == Kind::Observed {
                    ("variable observed", "#c8c8c8")
                } else {
                    ("variable latent", "white")
                };
                out.push_str(&format!(
                    "<g class=\"{class}\" data-node=\"{}\"><circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\" fill=\"{fill}\" stroke=\"black\" stroke-width=\"1.4\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>\n",
                    super::xml(&n.name),
                    n.x,
                    n.y,
                    n.r,
                    n.x,
                    n.y + FONT * 0.35,
                    super::xml(&n.label)
                ));
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The diagram drawn with box-drawing characters, for the terminal: plates as rounded boxes
/// with their label in the lower-right corner, latent variables as `(z)`, observed ones as
/// `((x))`, parameters as `•` after their name, edges as lines ending in an arrowhead.
pub fn to_text(d: &Diagram) -> String {
    // Pixels per character across and down.
    const SX: f64 = 7.0;
    const SY: f64 = 18.0;
    let col = |x: f64| (x / SX).round().max(0.0) as usize;
    let row = |y: f64| (y / SY).round().max(0.0) as usize;
    let w = col(d.width) + 2;
    let h = row(d.height) + 1;
    let mut grid = vec![vec![' '; w]; h];
    let put = |grid: &mut Vec<Vec<char>>, r: usize, c: usize, ch: char| {
        if r < grid.len() && c < grid[r].len() {
            grid[r][c] = ch;
        }
    };
    // Each node's text and the cells it covers: (row, first column, characters).
    let texts: Vec<(usize, usize, Vec<char>)> = d
        .nodes
        .iter()
        .map(|n| {
            let text = match n.kind {
                Kind::Param => format!("{}•", n.label),
                Kind::Latent => format!("({})", n.label),
                Kind::Observed => format!("(({}))", n.label),
            };
            let chars: Vec<char> = text.chars().collect();
            let centre = col(n.x);
            // A parameter's name sits left of its dot, as in the SVG.
            let start = match n.kind {
                Kind::Param => (centre + 1).saturating_sub(chars.len()),
                _ => centre.saturating_sub(chars.len() / 2),
            };
            (row(n.y), start, chars)
        })
        .collect();
    let mut cells = vec![vec![Cell::Free; w]; h];
    for b in &d.plates {
        let (c0, c1, r0, r1) = (col(b.x0), col(b.x1), row(b.y0), row(b.y1));
        for c in c0 + 1..c1 {
            put(&mut grid, r0, c, '─');
            put(&mut grid, r1, c, '─');
            mark(&mut cells, r0, c, Cell::Horizontal);
            mark(&mut cells, r1, c, Cell::Horizontal);
        }
        for r in r0 + 1..r1 {
            put(&mut grid, r, c0, '│');
            put(&mut grid, r, c1, '│');
            mark(&mut cells, r, c0, Cell::Vertical);
            mark(&mut cells, r, c1, Cell::Vertical);
        }
        for (r, c, ch) in [(r0, c0, '╭'), (r0, c1, '╮'), (r1, c0, '╰'), (r1, c1, '╯')] {
            put(&mut grid, r, c, ch);
            mark(&mut cells, r, c, Cell::Blocked);
        }
        let label: Vec<char> = b.label.chars().collect();
        let start = c1.saturating_sub(label.len() + 1);
        for (i, ch) in label.into_iter().enumerate() {
            put(&mut grid, r1 - 1, start + i, ch);
            mark(&mut cells, r1 - 1, start + i, Cell::Blocked);
        }
    }
    for (r, start, chars) in &texts {
        for i in 0..chars.len() {
            mark(&mut cells, *r, start + i, Cell::Blocked);
        }
    }
    // Edges, routed between the boxes and labels: parents' edges in order, each the cheapest
    // path from beside its parent's text to beside its child's, turning as little as it can
    // and crossing a box or another edge only at a right angle.
    for e in d.edges.iter().filter(|e| !e.lag) {
        let span = |i: usize| (texts[i].0, texts[i].1, texts[i].1 + texts[i].2.len());
        let spans: Vec<_> = (0..texts.len()).map(span).collect();
        match route_text(&cells, &spans, span(e.from), span(e.to)) {
            Some(path) => draw_route(&path, &mut grid, &mut cells),
            None => {
                // No free way: a straight line, over whatever it passes.
                let (a, b) = (&d.nodes[e.from], &d.nodes[e.to]);
                let (from, to) = (
                    (col(a.x) as i64, row(a.y) as i64),
                    (col(b.x) as i64, row(b.y) as i64),
                );
                for (x, y) in super::line_cells(from, to) {
                    if cells[y as usize][x as usize] == Cell::Free {
                        put(&mut grid, y as usize, x as usize, '·');
                    }
                }
            }
        }
    }
    for (r, start, chars) in &texts {
        for (i, ch) in chars.iter().enumerate() {
            put(&mut grid, *r, start + i, *ch);
        }
    }
    let mut out = String::new();
    let title = format!("{:^w$}", d.title, w = w);
    out.push_str(title.trim_end());
    out.push('\n');
    let first = grid
        .iter()
        .position(|l| l.iter().any(|c| *c != ' '))
        .unwrap_or(0);
    for line in &grid[first..] {
        let s: String = line.iter().collect();
        out.push_str(s.trim_end());
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    // A chain's transitions, which the grid has no room to loop: one line each.
    let lags: Vec<String> = d
        .edges
        .iter()
        .filter(|e| e.lag)
        .map(|e| format!("prev({}) → {}", d.nodes[e.from].label, d.nodes[e.to].label))
        .collect();
    if !lags.is_empty() {
        out.push_str(&format!("transitions: {}\n", lags.join(", ")));
    }
    out.push_str("(z) latent   ((x)) observed   π• parameter\n");
    out
}

/// What a cell of the text drawing lets an edge do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    Free,
    /// A label, a corner or an arrowhead: nothing passes.
    Blocked,
    /// A horizontal line (a box's top or bottom, or an edge): crossed only going up or down.
    Horizontal,
    /// A vertical line: crossed only going left or right.
    Vertical,
}

fn mark(cells: &mut [Vec<Cell>], r: usize, c: usize, cell: Cell) {
    if let Some(x) = cells.get_mut(r).and_then(|row| row.get_mut(c)) {
        *x = cell;
    }
}

/// Up, right, down, left.
const STEPS: [(i64, i64); 4] = [(-1, 0), (0, 1), (1, 0), (0, -1)];

/// The cheapest path from a free cell beside the text at `from` (row, first column, end
/// column) to a free cell beside the text at `to`, as cells with the direction each was
/// entered in (0 up, 1 right, 2 down, 3 left). A step costs 1, a turn 4 more, a crossing 3
/// more, passing just left or right of a text (`spans`) 3 more; no turn on a crossing.
fn route_text(
    cells: &[Vec<Cell>],
    spans: &[(usize, usize, usize)],
    from: (usize, usize, usize),
    to: (usize, usize, usize),
) -> Option<Vec<(usize, usize, usize)>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let (h, w) = (cells.len(), cells.first().map_or(0, Vec::len));
    let at = |r: i64, c: i64| -> Option<Cell> {
        (r >= 0 && c >= 0 && (r as usize) < h && (c as usize) < w)
            .then(|| cells[r as usize][c as usize])
    };
    // Cells beside a text, with the direction that leaves it (or arrives at it, reversed).
    let beside = |(r, c0, c1): (usize, usize, usize)| {
        let (r, c0, c1) = (r as i64, c0 as i64, c1 as i64);
        let mut v: Vec<(i64, i64, usize)> = Vec::new();
        for c in c0..c1 {
            v.push((r + 1, c, 2));
            v.push((r - 1, c, 0));
        }
        v.push((r, c1, 1));
        v.push((r, c0 - 1, 3));
        v
    };
    let id = |r: i64, c: i64, d: usize| (r as usize * w + c as usize) * 4 + d;
    let mut best = vec![u32::MAX; h * w * 4];
    let mut prev = vec![usize::MAX; h * w * 4];
    let mut heap = BinaryHeap::new();
    for (r, c, d) in beside(from) {
        if at(r, c) == Some(Cell::Free) {
            best[id(r, c, d)] = 0;
            heap.push(Reverse((0u32, id(r, c, d))));
        }
    }
    // The goal: a free cell beside the child, entered towards it.
    let goals: Vec<(i64, i64, usize)> = beside(to)
        .into_iter()
        .map(|(r, c, d)| (r, c, (d + 2) % 4))
        .filter(|&(r, c, _)| at(r, c) == Some(Cell::Free))
        .collect();
    while let Some(Reverse((cost, s))) = heap.pop() {
        if cost > best[s] {
            continue;
        }
        let (cell, d) = (s / 4, s % 4);
        let (r, c) = ((cell / w) as i64, (cell % w) as i64);
        if goals.contains(&(r, c, d)) {
            let mut path = Vec::new();
            let mut k = s;
            while k != usize::MAX {
                path.push(((k / 4) / w, (k / 4) % w, k % 4));
                k = prev[k];
            }
            path.reverse();
            return Some(path);
        }
        let crossing = at(r, c) != Some(Cell::Free);
        for (nd, (dr, dc)) in STEPS.iter().enumerate() {
            if nd == (d + 2) % 4 || (crossing && nd != d) {
                continue;
            }
            let (nr, nc) = (r + dr, c + dc);
            let beside_text = spans
                .iter()
                .any(|&(tr, t0, t1)| nr == tr as i64 && (nc == t0 as i64 - 1 || nc == t1 as i64));
            let extra = match (at(nr, nc), nd % 2) {
                (Some(Cell::Free), _) if beside_text => 3,
                (Some(Cell::Free), _) => 0,
                (Some(Cell::Horizontal), 0) | (Some(Cell::Vertical), 1) => 3,
                _ => continue,
            };
            let next = cost + 1 + extra + if nd == d { 0 } else { 4 };
            let k = id(nr, nc, nd);
            if next < best[k] {
                best[k] = next;
                prev[k] = s;
                heap.push(Reverse((next, k)));
            }
        }
    }
    None
}

/// Draws a routed edge: lines and corners, `┼` where it crosses a line, an arrowhead at the
/// end; its cells then let later edges cross only at right angles.
fn draw_route(path: &[(usize, usize, usize)], grid: &mut [Vec<char>], cells: &mut [Vec<Cell>]) {
    for (i, &(r, c, d)) in path.iter().enumerate() {
        let (ch, cell) = match path.get(i + 1) {
            None => (['▲', '▶', '▼', '◀'][d], Cell::Blocked),
            Some(_) if cells[r][c] != Cell::Free => ('┼', Cell::Blocked),
            Some(&(_, _, next)) if next == d => {
                if d % 2 == 0 {
                    ('│', Cell::Vertical)
                } else {
                    ('─', Cell::Horizontal)
                }
            }
            Some(&(_, _, next)) => {
                // The side it came in from and the side it leaves by.
                let sides = ((d + 2) % 4, next);
                let ch = match (sides.0.min(sides.1), sides.0.max(sides.1)) {
                    (0, 1) => '└',
                    (0, 3) => '┘',
                    (1, 2) => '┌',
                    _ => '┐',
                };
                (ch, Cell::Blocked)
            }
        };
        grid[r][c] = ch;
        cells[r][c] = cell;
    }
}
