//! Graphviz DOT for a model: the plate diagram of `graph(m)` and `gmm graph`.

use super::{Model, PlateId, PlateSize, VarId};

/// Which variables a diagram shades as observed.
pub enum Observed<'a> {
    /// Without data: the variables nothing depends on (the leaves), as in a plate diagram of
    /// a generative model where the data are the leaves.
    Leaves,
    /// Exactly these variables.
    These(&'a [VarId]),
}

/// The model as a DOT digraph: variables as circles (observed ones shaded), parameters as small
/// filled dots, an edge per dependency, and each plate as a `subgraph cluster_<name>` labelled
/// with its name and size (`N` for the data plate).
pub fn to_dot(model: &Model, observed: Observed) -> String {
    let is_observed = |v: VarId| match &observed {
        Observed::Leaves => model.children(v).is_empty(),
        Observed::These(vs) => vs.contains(&v),
    };
    let mut out = String::new();
    out.push_str(&format!("digraph {} {{\n", quote(&model.name)));
    out.push_str("    rankdir=TB; nodesep=0.6; fontname=\"Helvetica\"; forcelabels=true;\n");
    out.push_str("    node [fontname=\"Helvetica\"];\n");
    out.push_str("    edge [arrowsize=0.7];\n");
    for p in &model.params {
        out.push_str(&format!(
            "    {} [shape=circle, width=0.1, height=0.1, fixedsize=true, style=filled, fillcolor=black, label=\"\", xlabel={}];\n",
            quote(&p.name),
            quote(&p.name)
        ));
    }
    // Variables outside any plate, then each top-level plate with what it holds.
    for (v, var) in model.vars.iter().enumerate() {
        if var.plates.is_empty() {
            out.push_str(&var_node(&var.name, is_observed(v), 1));
        }
    }
    for (p, plate) in model.plates.iter().enumerate() {
        if plate.parent.is_none() {
            write_plate(model, p, 1, &is_observed, &mut out);
        }
    }
    for (v, var) in model.vars.iter().enumerate() {
        for &p in &var.params {
            out.push_str(&format!(
                "    {} -> {};\n",
                quote(&model.params[p].name),
                quote(&var.name)
            ));
        }
        let next = var.next.as_ref();
        let row_parents = next.map_or(&[][..], |n| &n.parents[..]);
        let mut parents = var.parents.clone();
        parents.extend(row_parents.iter().filter(|p| !var.parents.contains(p)));
        for &parent in &parents {
            out.push_str(&format!(
                "    {} -> {};\n",
                quote(&model.vars[parent].name),
                quote(&model.vars[v].name)
            ));
        }
        // A chain's transitions (section 9.4): from the previous row, dashed.
        for &prev in next.map_or(&[][..], |n| &n.prev[..]) {
            out.push_str(&format!(
                "    {} -> {} [style=dashed, label=\"t-1\"];\n",
                quote(&model.vars[prev].name),
                quote(&model.vars[v].name)
            ));
        }
    }
    out.push_str("}\n");
    out
}

fn write_plate(
    model: &Model,
    p: PlateId,
    depth: usize,
    is_observed: &dyn Fn(VarId) -> bool,
    out: &mut String,
) {
    let plate = &model.plates[p];
    let pad = "    ".repeat(depth);
    let size = match plate.size {
        PlateSize::Data => "N".to_string(),
        PlateSize::Fixed(n) => n.to_string(),
    };
    out.push_str(&format!(
        "{pad}subgraph {} {{\n",
        quote(&format!("cluster_{}", plate.name))
    ));
    out.push_str(&format!(
        "{pad}    label={}; labeljust=r; labelloc=b; style=rounded;\n",
        quote(&format!("{} ({size})", plate.name))
    ));
    for (v, var) in model.vars.iter().enumerate() {
        if var.plates.last() == Some(&p) {
            out.push_str(&var_node(&var.name, is_observed(v), depth + 1));
        }
    }
    for (c, child) in model.plates.iter().enumerate() {
        if child.parent == Some(p) {
            write_plate(model, c, depth + 1, is_observed, out);
        }
    }
    out.push_str(&format!("{pad}}}\n"));
}

fn var_node(name: &str, observed: bool, depth: usize) -> String {
    let style = if observed {
        ", style=filled, fillcolor=gray80"
    } else {
        ""
    };
    format!(
        "{}{} [shape=circle{style}];\n",
        "    ".repeat(depth),
        quote(name)
    )
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
