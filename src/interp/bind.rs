//! Binding a dataset to a model (section 6): columns bind to variables by name, a vector
//! variable `x` (or a variable in a fixed plate) to the columns `x[0]`, `x[1]`, …; a variable no
//! column names is latent, and so is a missing cell in the rows where it is missing.

use super::data::{Cells, DataError, Dataset};
use crate::array::unravel;
use crate::infer::chain::Sequences;
use crate::infer::cpd::Layout;
use crate::infer::em::Data;
use crate::infer::engine::{Observed, is_global};
use crate::model::{Model, Support};

/// Why a computed NaN cannot stand for a missing value.
pub const NAN_CELL: &str = "this is NaN (not a number), the result of an undefined operation such as 0/0, not a missing value (NA)";

/// The observations `data` gives `model`'s variables, with row weights.
pub fn bind(model: &Model, data: &Dataset, weights: Option<Vec<f64>>) -> Result<Data, DataError> {
    let where_ = data
        .origin
        .as_ref()
        .map_or(String::new(), |o| format!("{o}: "));
    let mut obs = Vec::with_capacity(model.vars.len());
    let mut bound_in_plate = false;
    for (v, var) in model.vars.iter().enumerate() {
        let lay = Layout::of(model, v);
        let shape = lay.copy_shape(model, v);
        // The columns this variable reads: its name, or `name[i, …]` for each element.
        let column = |k: usize| {
            if shape.is_empty() {
                var.name.clone()
            } else {
                let idx: Vec<String> = unravel(k, &shape).iter().map(|i| i.to_string()).collect();
                format!("{}[{}]", var.name, idx.join(", "))
            }
        };
        let cells = match data.get(&var.name) {
            Ok(c) => c,
            Err(DataError::NoColumn { .. }) => {
                obs.push(None);
                continue;
            }
            Err(DataError::Shape(_)) => return Err(columns_error(data, &var.name, &shape, column)),
            Err(e) => return Err(e),
        };
        let a = match cells {
            Cells::Num(a) => a,
            Cells::Text(_) => {
                let c = data
                    .columns
                    .iter()
                    .position(|c| c.name == var.name)
                    .expect("a text column has the variable's name");
                return Err(data.numeric(c).expect_err("a text column"));
            }
        };
        if a.shape()[1..] != shape[..] {
            return Err(columns_error(data, &var.name, &shape, column));
        }
        let per = lay.inst * lay.event;
        let bad = |r: usize, k: usize, why: String| DataError::Cell {
            where_: where_.clone(),
            column: column(k),
            row: r + 1,
            why,
        };
        let global = is_global(model, v);
        let values = a.data();
        for r in 0..data.rows {
            let row = &values[r * per..(r + 1) * per];
            for (k, &x) in row.iter().enumerate() {
                if crate::array::is_computed_nan(x) {
                    return Err(bad(r, k, NAN_CELL.into()));
                }
                if x.is_nan() {
                    continue;
                }
                if x.is_infinite() {
                    return Err(bad(r, k, format!("{x} is not a finite number")));
                }
                if let Support::Discrete(n) = var.support
                    && (x.fract() != 0.0 || x < 0.0 || x >= n as f64)
                {
                    return Err(bad(
                        r,
                        k,
                        format!(
                            "`{}` takes the values 0 to {}, not {}",
                            var.name,
                            n - 1,
                            crate::array::format_number(x)
                        ),
                    ));
                }
            }
            // A vector in the data plate may miss some entries (they integrate out, section
            // 9.1); one drawn once for the whole data set is given whole or not at all.
            for (i, inst) in row.chunks(lay.event).enumerate().filter(|_| global) {
                let missing = inst.iter().filter(|x| x.is_nan()).count();
                if missing > 0 && missing < inst.len() {
                    let k = i * lay.event + inst.iter().position(|x| x.is_nan()).unwrap_or(0);
                    return Err(bad(
                        r,
                        k,
                        format!(
                            "this cell is missing but others of the same `{0}` value are not; `{0}` is outside the data plate, so its value is given whole or not at all",
                            var.name
                        ),
                    ));
                }
            }
        }
        if global {
            // Drawn once for the whole data set: every row must agree.
            let first = (0..data.rows).find(|&r| !values[r * per].is_nan());
            let Some(f) = first else {
                obs.push(None);
                continue;
            };
            let one = &values[f * per..(f + 1) * per];
            if let Some(r) = (0..data.rows).find(|&r| {
                let row = &values[r * per..(r + 1) * per];
                !row[0].is_nan() && row != one
            }) {
                return Err(bad(
                    r,
                    0,
                    format!(
                        "`{}` is outside the data plate, so it has one value for the whole data set, but this row differs from row {}",
                        var.name,
                        f + 1
                    ),
                ));
            }
            obs.push(Some(Observed::new(one, 1)));
            continue;
        }
        bound_in_plate = true;
        obs.push(Some(Observed::new(a.into_data(), data.rows)));
    }
    if !bound_in_plate {
        return Err(DataError::Unbound {
            header: data.header_at(),
            model: model.name.clone(),
            columns: data.names(),
            vars: model
                .vars
                .iter()
                .enumerate()
                .filter(|&(v, _)| !is_global(model, v))
                .map(|(_, var)| var.name.clone())
                .collect(),
        });
    }
    let bound = Data::new(obs, data.rows, weights);
    Ok(match model.chain().and_then(|c| c.by.as_deref()) {
        Some(by) => bound.with_sequences(sequences(data, by)?),
        None => bound,
    })
}

/// The rows of `data` split into sequences by the values of column `by` (section 9.4): a
/// number or a text each; a missing cell belongs to no sequence, so it is an error.
pub fn sequences(data: &Dataset, by: &str) -> Result<Sequences, DataError> {
    let err = |row: Option<usize>| DataError::Sequence {
        origin: data.origin.clone(),
        column: by.to_string(),
        row,
        available: data.names(),
    };
    match data.get(by) {
        Ok(Cells::Num(a)) => {
            if let Some(r) = a.data().iter().position(|x| x.is_nan()) {
                return Err(err(Some(r + 1)));
            }
            let keys: Vec<u64> = a.data().iter().map(|x| x.to_bits()).collect();
            Ok(Sequences::by_keys(&keys))
        }
        Ok(Cells::Text(t)) => {
            if let Some(r) = t.iter().position(Option::is_none) {
                return Err(err(Some(r + 1)));
            }
            Ok(Sequences::by_keys(&t))
        }
        Err(DataError::NoColumn { .. }) => Err(err(None)),
        Err(e) => Err(e),
    }
}

/// Why `impute` or `decode` failed: the data do not bind, or inference failed.
#[derive(Debug)]
pub enum RowsError {
    Data(DataError),
    Infer(crate::infer::InferError),
}

/// `data` with every missing cell of the model's variables filled (section 9.1): a continuous
/// entry by its conditional mean given the row's observed cells, a discrete one by its most
/// probable value given the row. The columns and their order stay; other columns are copied.
pub fn impute(model: &Model, data: &Dataset) -> Result<Dataset, RowsError> {
    let bound = bind(model, data, None).map_err(RowsError::Data)?;
    let filled = crate::infer::impute::impute(model, &bound).map_err(RowsError::Infer)?;
    let mut out = data.clone();
    for (v, values) in filled.iter().enumerate() {
        let Some(values) = values else { continue };
        let var = &model.vars[v];
        let shape = Layout::of(model, v).copy_shape(model, v);
        let per: usize = shape.iter().product::<usize>().max(1);
        for k in 0..per {
            let name = if shape.is_empty() {
                var.name.clone()
            } else {
                let idx: Vec<String> = unravel(k, &shape).iter().map(|i| i.to_string()).collect();
                format!("{}[{}]", var.name, idx.join(", "))
            };
            let Some(column) = out.columns.iter_mut().find(|c| c.name == name) else {
                continue;
            };
            if let super::data::ColumnData::Num(cells) = &mut column.data {
                for (r, cell) in cells.iter_mut().enumerate() {
                    if cell.is_nan() {
                        *cell = values[r * per + k];
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The latents' most probable joint values given `data` (section 9.4): one column per latent
/// variable (discrete, and missing somewhere in the data), named as the variable, and
/// log p(those values, the data).
pub fn decode(model: &Model, data: &Dataset) -> Result<(Dataset, f64), RowsError> {
    let bound = bind(model, data, None).map_err(RowsError::Data)?;
    let d = crate::infer::decode::decode(model, &bound.obs, bound.rows, &bound.sequences())
        .map_err(RowsError::Infer)?;
    let columns = d
        .values
        .into_iter()
        .map(|(v, values)| super::data::Column {
            name: model.vars[v].name.clone(),
            data: super::data::ColumnData::Num(values),
        })
        .collect();
    let out = Dataset {
        columns,
        rows: data.rows,
        origin: None,
    };
    Ok((out, d.logp))
}

/// The error for a variable whose columns do not give its shape: which it reads, which exist.
fn columns_error(
    data: &Dataset,
    name: &str,
    shape: &[usize],
    column: impl Fn(usize) -> String,
) -> DataError {
    let want: Vec<String> = (0..shape.iter().product()).map(column).collect();
    let found: Vec<String> = data
        .names()
        .into_iter()
        .filter(|c| c == name || c.starts_with(&format!("{name}[")))
        .collect();
    DataError::Columns {
        header: data.header_at(),
        var: name.to_string(),
        want,
        found,
    }
}
