//! The checker's lowering to the graphical-model IR: variables, parents, plates, supports,
//! parameter shapes and free-parameter counts, and the value rules of each type.

use crate::common;

use gmm::check::{Checked, check_program, lower};
use gmm::diag::Source;
use gmm::model::{Model, ParamType, PlateSize, Support};
use gmm::syntax;

fn check(text: &str) -> Checked {
    let program =
        syntax::parse(text).unwrap_or_else(|d| panic!("{}", Source::new("t.gmm", text).render(&d)));
    check_program(&program)
}

fn model(text: &str, name: &str) -> Model {
    let checked = check(text);
    assert!(
        !checked.has_errors(),
        "{}",
        Source::new("t.gmm", text).render(&checked.diags)
    );
    checked
        .find(Some(name))
        .and_then(|m| m.model.clone())
        .unwrap_or_else(|| panic!("model {name} did not lower"))
}

fn example(file: &str, name: &str) -> Model {
    let text =
        std::fs::read_to_string(common::root().join("examples").join(file)).expect("example");
    model(&text, name)
}

/// The first error message for `text`.
fn first_error(text: &str) -> String {
    let checked = check(text);
    checked
        .diags
        .iter()
        .find(|d| d.is_error())
        .map(|d| format!("{}: {}", d.message, d.label))
        .unwrap_or_else(|| panic!("no error for\n{text}"))
}

#[test]
fn grades_lowers_to_a_two_node_graph() {
    let m = example("grades.gmm", "grades");
    assert_eq!(m.plates.len(), 1);
    assert_eq!(m.plates[0].size, PlateSize::Data);
    let z = m.var_id("z").expect("z");
    let x = m.var_id("x").expect("x");
    assert_eq!(m.vars[z].support, Support::Discrete(2));
    assert_eq!(m.vars[x].support, Support::Real);
    assert_eq!(m.vars[z].plates, vec![0]);
    assert_eq!(m.vars[x].parents, vec![z]);
    let names =
        |ids: &[usize]| -> Vec<String> { ids.iter().map(|&p| m.params[p].name.clone()).collect() };
    assert_eq!(names(&m.vars[z].params), ["pi"]);
    assert_eq!(names(&m.vars[x].params), ["mu", "sigma"]);
    assert_eq!(m.nparams(&[]), 5);
    assert_eq!(m.nparams(&["pi"]), 4);
    assert_eq!(m.children(z), vec![x]);
}

#[test]
fn shapes_of_vector_and_matrix_parameters() {
    let m = example("blobs2d.gmm", "blobs");
    let x = m.var_id("x").expect("x");
    assert_eq!(m.vars[x].support, Support::RealVector(2));
    let s = m.param_id("S").expect("S");
    assert_eq!(m.params[s].shape(), vec![2, 2, 2]);
    assert_eq!(m.params[s].ty, ParamType::Cov(2));
    assert_eq!(m.nparams(&[]), 1 + 4 + 6);
}

#[test]
fn global_latent_and_nested_plates() {
    let g = example("one_group.gmm", "one_group");
    let z = g.var_id("z").expect("z");
    assert!(g.vars[z].plates.is_empty(), "z is global");
    assert_eq!(g.vars[g.var_id("x").expect("x")].plates.len(), 1);

    let text =
        std::fs::read_to_string(common::root().join("examples/mixtures.gmm")).expect("example");
    let f = model(&text, "features");
    let x = f.var_id("x").expect("x");
    assert_eq!(f.vars[x].plates.len(), 2);
    assert_eq!(f.plates[f.vars[x].plates[1]].size, PlateSize::Fixed(2));
    assert_eq!(
        f.plates[f.vars[x].plates[1]].parent,
        Some(f.vars[x].plates[0])
    );
    assert_eq!(
        f.vars[f.var_id("colour").expect("colour")].support,
        Support::Discrete(4)
    );
}

#[test]
fn two_discrete_parents() {
    let m = example("dgm_sampling.gmm", "day");
    let h = m.var_id("H").expect("H");
    let parents: Vec<&str> = m.vars[h]
        .parents
        .iter()
        .map(|&p| m.vars[p].name.as_str())
        .collect();
    assert_eq!(parents, ["N", "W"]);
}

#[test]
fn free_parameters_per_type() {
    let text = "model m {
    param a[2] : real = 0
    param b[2] : positive = 1
    param c[2] : prob = 0.5
    param d[2] : simplex[3] = [0.2, 0.3, 0.5]
    param e[2] : vector[3] = 0
    param f[2] : cov[3] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    param g[2] : diag[3] = [[1, 0, 0], [0, 2, 0], [0, 0, 3]]
    param h[2] : iso[3] = [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
}";
    let m = model(text, "m");
    let per: Vec<usize> = m.params.iter().map(|p| p.ty.free_scalars()).collect();
    assert_eq!(per, [1, 1, 1, 2, 3, 6, 3, 1]);
    assert_eq!(m.nparams(&[]), 2 * (1 + 1 + 1 + 2 + 3 + 6 + 3 + 1));
}

#[test]
fn values_must_satisfy_their_types() {
    let cases = [
        (
            "diag[2] = [[1, 0.5], [0.5, 1]]",
            "entry [0, 1] is 0.5 but must be 0",
        ),
        ("iso[2] = [[1, 0], [0, 2]]", "diagonal entries differ"),
        ("prob = 1.5", "1.5 is not in [0, 1]"),
        ("simplex[2] = [1.5, -0.5]", "negative entry -0.5"),
        ("simplex[2] = [0.5, 0.5000001]", "entries sum to 1.00000009"),
        ("positive = 0", "0 is not positive"),
    ];
    for (decl, want) in cases {
        let msg = first_error(&format!("model m {{\n    param q : {decl}\n}}\n"));
        assert!(msg.contains(want), "{decl}: {msg}");
    }
    // Within 1e-9 of summing to 1 is a simplex.
    model(
        "model m {\n param q : simplex[2] = [0.5, 0.5000000001]\n}",
        "m",
    );
}

#[test]
fn script_values_and_template_arguments_reach_the_model() {
    let m = model(
        "let k = 2 + 1\nmodel m {\n  param pi : simplex[k] = 1 / k\n  plate rows { z ~ Categorical(pi) }\n}",
        "m",
    );
    assert_eq!(m.params[0].ty, ParamType::Simplex(3));
    assert_eq!(m.vars[0].support, Support::Discrete(3));

    let text =
        std::fs::read_to_string(common::root().join("examples/mixtures.gmm")).expect("example");
    let checked = check(&text);
    let mix = checked.find(Some("mix")).expect("mix");
    assert!(mix.model.is_none(), "a template has no model until called");
    assert_eq!(mix.template_params.as_deref(), Some(&["K".to_string()][..]));
    let program = syntax::parse(&text).expect("parses");
    let decl = program
        .stmts
        .iter()
        .find_map(|s| match &s.kind {
            syntax::StmtKind::Model(d) if d.name.name == "mix" => Some(d),
            _ => None,
        })
        .expect("mix is declared");
    let lowered = lower::lower_model(
        decl,
        &lower::NoScript,
        &[("K".into(), Some(gmm::array::Array::scalar(4.0)))],
    );
    let m4 = lowered.model.expect("mix(4) lowers");
    assert_eq!(m4.params[0].ty, ParamType::Simplex(4));
    assert_eq!(m4.nparams(&[]), 3 + 4 + 4);
}

#[test]
fn indices_and_parents() {
    assert!(first_error(
        "model m {\n param mu[2] : real = 0\n plate r { z ~ Categorical([0.2, 0.3, 0.5]); x ~ Normal(mu[z], 1) }\n}"
    )
    .contains("`z` takes the values 0 to 2, but this axis of `mu` has size 2"));
    assert!(
        first_error("model m {\n plate j : 3 { x ~ Normal(0, 1) }\n y ~ Normal(j, 1)\n}")
            .contains("outside")
    );
    assert!(
        first_error("model m {\n param mu[2] : real = 0\n plate r { x ~ Normal(mu[2], 1) }\n}")
            .contains("index 2")
    );
    // A plate index within range, and a Bernoulli index into a 2-vector, are fine.
    model(
        "model m {\n param mu[3] : real = 0\n plate j : 3 { b ~ Bernoulli(0.5); x ~ Normal(mu[j] + mu[b], 1) }\n}",
        "m",
    );
}

#[test]
fn values_a_loop_reassigns_are_left_to_run_time() {
    let checked = check(
        "let k = 2\nfor i in 0..3 {\n  model m {\n    param mu[k] : real = [1, 2]\n    plate rows { x ~ Normal(mu[0], 1) }\n  }\n  k = k + 1\n}\n",
    );
    assert!(!checked.has_errors(), "{:?}", checked.diags);
    assert!(checked.find(Some("m")).expect("m").model.is_none());
    // After the loop the value depends on how many passes ran: still unknown.
    let after = check(
        "let k = 2\nfor i in 0..0 {\n  k = 3\n}\nmodel m {\n  param mu[k] : real = [1, 2]\n}\n",
    );
    assert!(!after.has_errors(), "{:?}", after.diags);
    assert!(after.find(Some("m")).expect("m").model.is_none());
    // Outside any loop the same value is known, and the shape is checked.
    assert!(
        first_error("let k = 3\nmodel m {\n  param mu[k] : real = [1, 2]\n}\n")
            .contains("shape [2] but `mu` has shape [3]")
    );
}
