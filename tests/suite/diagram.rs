//! Plate diagrams drawn by gmm itself: `gmm graph --format svg` is parsed (roxmltree) and the
//! drawing checked, not just the file: a circle per variable, observed ones filled; a box per
//! plate; every node inside exactly its plates' boxes; no two nodes overlapping; every edge's
//! ends on its nodes. Where Graphviz is installed, the DOT output is rendered by `dot` too.
//! The text drawing is checked for the same nodes and boxes.

use crate::common;

use roxmltree::Document;
use std::collections::BTreeMap;

/// Each variable of a model and its plates, outermost first.
type Membership = Vec<(&'static str, Vec<&'static str>)>;

/// Models: name, source and membership.
fn models() -> Vec<(&'static str, String, Membership)> {
    vec![
        (
            "grades",
            common::GRADES.to_string(),
            vec![("z", vec!["exams"]), ("x", vec!["exams"])],
        ),
        (
            "two_level",
            "model two_level {
    param pg : simplex[2] = [0.5, 0.5]
    param pz[2] : simplex[3] = [[0.2, 0.3, 0.5], [0.5, 0.3, 0.2]]
    param mu[3] : real = [0, 3, 6]
    param sigma : positive = 1
    plate rows {
        g ~ Categorical(pg)
        z ~ Categorical(pz[g])
        x ~ Normal(mu[z], sigma)
    }
}
"
            .to_string(),
            vec![
                ("g", vec!["rows"]),
                ("z", vec!["rows"]),
                ("x", vec!["rows"]),
            ],
        ),
        (
            "features",
            "model features {
    param pi : simplex[3] = [0.2, 0.3, 0.5]
    param mu[3, 2] : real = [[0, 1], [2, 3], [4, 5]]
    plate rows {
        z ~ Categorical(pi)
        plate d : 2 {
            x ~ Normal(mu[z, d], 1.0)
        }
    }
}
"
            .to_string(),
            vec![("z", vec!["rows"]), ("x", vec!["rows", "d"])],
        ),
        (
            "one_group",
            "model one_group {
    param pi : simplex[2] = [0.5, 0.5]
    param mu[2] : real = [0.0, 5.0]
    z ~ Categorical(pi)
    plate rows { x ~ Normal(mu[z], 1.0) }
}
"
            .to_string(),
            vec![("z", vec![]), ("x", vec!["rows"])],
        ),
    ]
}

struct Circle {
    x: f64,
    y: f64,
    r: f64,
    filled: bool,
}

fn num(n: &roxmltree::Node<'_, '_>, a: &str) -> f64 {
    n.attribute(a)
        .unwrap_or_else(|| panic!("<{}> has {a}", n.tag_name().name()))
        .parse()
        .expect("a number")
}

#[test]
fn svg_diagrams_draw_the_model() {
    let dir = common::scratch("diagram-svg");
    for (name, source, plates_of) in models() {
        let file = format!("{name}.gmm");
        std::fs::write(dir.join(&file), &source).unwrap();
        let out = common::gmm_at(&dir, &["graph", &file, "--format", "svg"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let doc = Document::parse(&text).expect("well-formed SVG");
        let group = |class: &str| {
            doc.descendants()
                .filter(|n| n.has_tag_name("g"))
                .filter(|n| {
                    n.attribute("class")
                        .is_some_and(|c| c.split(' ').any(|w| w == class))
                })
                .collect::<Vec<_>>()
        };
        // One circle per variable, observed ones (here the leaves, `x`) filled grey.
        let mut nodes: BTreeMap<String, Circle> = BTreeMap::new();
        for g in group("variable").into_iter().chain(group("parameter")) {
            let c = g
                .children()
                .find(|c| c.has_tag_name("circle"))
                .expect("a circle");
            let fill = c.attribute("fill").unwrap_or("");
            let node = Circle {
                x: num(&c, "cx"),
                y: num(&c, "cy"),
                r: num(&c, "r"),
                filled: fill != "white" && fill != "none",
            };
            let label = g
                .children()
                .find(|c| c.has_tag_name("text"))
                .expect("a label");
            assert!(!label.text().unwrap_or("").is_empty(), "{name}: a label");
            nodes.insert(g.attribute("data-node").unwrap().to_string(), node);
        }
        let vars: Vec<&str> = plates_of.iter().map(|(v, _)| *v).collect();
        assert_eq!(
            group("variable").len(),
            vars.len(),
            "{name}: one circle per variable"
        );
        for v in &vars {
            let c = &nodes[*v];
            assert_eq!(
                c.filled,
                *v == "x",
                "{name}: `{v}` filled only when observed"
            );
        }
        // Parameters are small filled dots, named in Greek where they spell a letter.
        for p in group("parameter") {
            let c = &nodes[p.attribute("data-node").unwrap()];
            assert!(c.filled && c.r < 8.0, "{name}: a parameter is a small dot");
        }
        if name == "grades" {
            let labels: Vec<&str> = group("parameter")
                .iter()
                .filter_map(|g| g.children().find(|c| c.has_tag_name("text"))?.text())
                .collect();
            assert_eq!(labels, ["π", "μ", "σ"], "{name}");
        }
        // One box per plate; each variable inside exactly its plates' boxes.
        let boxes: BTreeMap<String, (f64, f64, f64, f64)> = group("plate")
            .iter()
            .map(|g| {
                let r = g
                    .children()
                    .find(|c| c.has_tag_name("rect"))
                    .expect("a box");
                let (x, y) = (num(&r, "x"), num(&r, "y"));
                (
                    g.attribute("data-plate").unwrap().to_string(),
                    (x, y, x + num(&r, "width"), y + num(&r, "height")),
                )
            })
            .collect();
        let mut all_plates: Vec<&str> = plates_of.iter().flat_map(|(_, p)| p.clone()).collect();
        all_plates.sort();
        all_plates.dedup();
        assert_eq!(boxes.len(), all_plates.len(), "{name}: one box per plate");
        for (node, c) in &nodes {
            let member = plates_of
                .iter()
                .find(|(v, _)| v == node)
                .map_or(&[][..], |(_, p)| &p[..]);
            for (plate, &(x0, y0, x1, y1)) in &boxes {
                let inside = c.x - c.r > x0 && c.x + c.r < x1 && c.y - c.r > y0 && c.y + c.r < y1;
                let touches = c.x + c.r > x0 && c.x - c.r < x1 && c.y + c.r > y0 && c.y - c.r < y1;
                if member.contains(&plate.as_str()) {
                    assert!(inside, "{name}: `{node}` inside plate `{plate}`");
                } else {
                    assert!(!touches, "{name}: `{node}` outside plate `{plate}`");
                }
            }
        }
        // No two nodes overlap.
        let list: Vec<(&String, &Circle)> = nodes.iter().collect();
        for (i, (a, p)) in list.iter().enumerate() {
            for (b, q) in &list[i + 1..] {
                let d = ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt();
                assert!(d > p.r + q.r + 4.0, "{name}: `{a}` and `{b}` overlap");
            }
        }
        // Every edge starts on its parent and ends (at its arrowhead) on its child, and passes
        // no other node.
        let edges: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("edge"))
            .collect();
        assert!(!edges.is_empty());
        for e in &edges {
            let (from, to) = (
                e.attribute("data-from").unwrap(),
                e.attribute("data-to").unwrap(),
            );
            let pts: Vec<(f64, f64)> = e
                .attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            let on = |p: (f64, f64), c: &Circle, gap: f64| {
                let d = ((p.0 - c.x).powi(2) + (p.1 - c.y).powi(2)).sqrt();
                (d - (c.r + gap)).abs() < 1.0
            };
            assert!(
                on(pts[0], &nodes[from], 0.0),
                "{name}: {from} → {to} starts on {from}"
            );
            assert!(
                on(pts[pts.len() - 1], &nodes[to], 2.0),
                "{name}: {from} → {to} ends on {to}"
            );
            for (other, c) in &nodes {
                if other == from || other == to {
                    continue;
                }
                for w in pts.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                    let t = (((c.x - a.0) * dx + (c.y - a.1) * dy) / (dx * dx + dy * dy))
                        .clamp(0.0, 1.0);
                    let d = ((c.x - a.0 - t * dx).powi(2) + (c.y - a.1 - t * dy).powi(2)).sqrt();
                    assert!(d > c.r, "{name}: {from} → {to} crosses `{other}`");
                }
            }
        }
        // Plate labels: name and size, in the box's lower-right corner.
        for g in group("plate") {
            let label = g.children().find(|c| c.has_tag_name("text")).unwrap();
            let plate = g.attribute("data-plate").unwrap();
            let (_, _, x1, y1) = boxes[plate];
            assert!(
                label.text().unwrap().starts_with(&format!("{plate} (")),
                "{name}"
            );
            assert!(
                x1 - num(&label, "x") < 12.0 && y1 - num(&label, "y") < 12.0,
                "{name}: lower right"
            );
        }
        // Where Graphviz is installed, the DOT renders too.
        let dot = common::gmm_at(&dir, &["graph", &file]);
        assert!(dot.status.success());
        if let Some(rendered) = crate::cli::dot_svg(&String::from_utf8_lossy(&dot.stdout)) {
            assert!(
                rendered.status.success(),
                "{}",
                String::from_utf8_lossy(&rendered.stderr)
            );
        }
    }
}

#[test]
fn text_diagrams_and_graph_files() {
    let dir = common::scratch("diagram-text");
    for (name, source, plates_of) in models() {
        let file = format!("{name}.gmm");
        std::fs::write(dir.join(&file), &source).unwrap();
        let out = common::gmm_at(&dir, &["graph", &file, "--format", "text"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.lines().next().unwrap().trim() == name, "{text}");
        for (v, _) in &plates_of {
            let shown = if *v == "x" {
                format!("(({v}))")
            } else {
                format!("({v})")
            };
            assert!(text.contains(&shown), "{name}: `{shown}` drawn\n{text}");
        }
        let boxes = text.matches('╭').count();
        let mut all: Vec<&str> = plates_of.iter().flat_map(|(_, p)| p.clone()).collect();
        all.sort();
        all.dedup();
        assert_eq!(boxes, all.len(), "{name}: a box per plate\n{text}");
        for p in &all {
            assert!(
                text.contains(&format!("{p} (")),
                "{name}: plate `{p}` labelled\n{text}"
            );
        }
        assert!(
            text.contains('▼') || text.contains('▶') || text.contains('◀'),
            "arrows\n{text}"
        );
    }
    // graph(m, file = ...) writes by the file's extension; graph(m) stays DOT text.
    std::fs::write(
        dir.join("files.gmm"),
        format!(
            "{}graph(grades, file = \"g.svg\")\ngraph(grades, file = \"g.txt\")\ngraph(grades, file = \"g.dot\")\nprint graph(grades, format = \"text\")\nassert graph(grades) == graph(grades, format = \"dot\")\n",
            common::GRADES
        ),
    )
    .unwrap();
    let out = common::gmm_at(&dir, &["run", "files.gmm"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(Document::parse(&std::fs::read_to_string(dir.join("g.svg")).unwrap()).is_ok());
    assert!(
        std::fs::read_to_string(dir.join("g.txt"))
            .unwrap()
            .contains("((x))")
    );
    assert!(
        std::fs::read_to_string(dir.join("g.dot"))
            .unwrap()
            .starts_with("digraph")
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("exams (N)"));
    std::fs::write(
        dir.join("bad.gmm"),
        format!("{}graph(grades, file = \"g.png\")\n", common::GRADES),
    )
    .unwrap();
    let bad = common::gmm_at(&dir, &["run", "bad.gmm"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("graph writes .svg, .dot or .txt files"));
}
