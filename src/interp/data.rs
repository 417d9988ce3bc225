//! Datasets: named columns of numbers (NaN is missing) or text, read from and written to CSV.
//! A vector variable `x` lives in the columns `x[0]`, `x[1]`, …; deeper arrays in `x[i, j]`.

use crate::array::{Array, format_number};
use thiserror::Error;

/// A text cell: `None` is missing. Cells are shared, so a column of a few labels repeated
/// over many rows holds each label once (16 bytes a cell).
pub type Text = Option<std::sync::Arc<str>>;

/// A table of equal-length columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// The columns in order.
    pub columns: Vec<Column>,
    /// The number of rows.
    pub rows: usize,
    /// The file it was read from, for messages.
    pub origin: Option<String>,
}

/// One named column.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Its header.
    pub name: String,
    /// Its cells.
    pub data: ColumnData,
}

impl Column {
    /// Cell `r` as text: numbers in shortest round-trip form, a missing cell as `NA`.
    pub fn cell(&self, r: usize) -> String {
        match &self.data {
            ColumnData::Num(v) => format_number(v[r]),
            ColumnData::Text(v) => v[r].as_deref().unwrap_or("NA").to_string(),
        }
    }
}

/// The cells of a column.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData {
    /// Numbers; NaN is a missing cell.
    Num(Vec<f64>),
    /// Text; `None` is a missing cell.
    Text(Vec<Text>),
}

/// What a column lookup gives.
#[derive(Clone, Debug, PartialEq)]
pub enum Cells {
    /// Numbers: a vector, or `[rows, …]` gathered from `x[i]` columns.
    Num(Array),
    /// A text column.
    Text(Vec<Text>),
}

/// Why data could not be read or used.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum DataError {
    /// The file could not be read: `why` says so whole, `fix` how to mend it.
    #[error("{why}")]
    Read {
        path: String,
        why: String,
        fix: String,
    },
    /// The CSV text is malformed at a line.
    #[error("{path}, line {line}: {why}")]
    Csv {
        path: String,
        line: u64,
        why: String,
        fix: String,
    },
    /// No column of that name.
    #[error("the dataset has no column `{name}`")]
    NoColumn {
        name: String,
        available: Vec<String>,
    },
    /// Text where a number is needed.
    #[error(
        "{where_}column `{column}`, row {row} (line {} of the file), holds the text \"{}\" where a number is needed",
        .row + 1, .cell.escape_debug()
    )]
    Text {
        where_: String,
        column: String,
        row: usize,
        cell: String,
    },
    /// Columns that do not fit together.
    #[error("{0}")]
    Shape(String),
    /// A cell whose value the variable it binds to cannot take.
    #[error("{where_}column `{column}`, row {row}{}: {why}", if .where_.is_empty() { String::new() } else { format!(" (line {} of the file)", .row + 1) })]
    Cell {
        where_: String,
        column: String,
        row: usize,
        why: String,
    },
    /// A variable's columns do not give its shape. `header` locates the file's header
    /// (`d.csv, line 1: `), or is empty for data built in a script.
    #[error("{header}`{var}` reads the columns {}, but the data have {}", crate::diag::list_names(.want), if .found.is_empty() { "none of them".to_string() } else { crate::diag::list_names(.found) })]
    Columns {
        header: String,
        var: String,
        want: Vec<String>,
        found: Vec<String>,
    },
    /// A chain's `by` column (section 9.4) is absent, or misses a row's label.
    #[error("{}", match (.row, .origin) {
        (None, Some(o)) => format!("{o}, line 1: the chain splits its rows by the column `{column}`, but the data have no such column"),
        (None, None) => format!("the chain splits its rows by the column `{column}`, but the data have no such column"),
        (Some(r), Some(o)) => format!("{o}: column `{column}`, row {r} (line {} of the file): the cell is missing, but every row needs the label of its sequence", r + 1),
        (Some(r), None) => format!("column `{column}`, row {r}: the cell is missing, but every row needs the label of its sequence"),
    })]
    Sequence {
        origin: Option<String>,
        column: String,
        /// The row (1-based) missing its label; `None` when the column is absent.
        row: Option<usize>,
        available: Vec<String>,
    },
    /// No column names a variable of the model's data plate.
    #[error("{header}no column of the data names a variable in the data plate of model `{model}` (the columns are {})", crate::diag::list_names(.columns))]
    Unbound {
        header: String,
        model: String,
        columns: Vec<String>,
        vars: Vec<String>,
    },
}

impl DataError {
    /// How to fix it.
    pub fn help(&self) -> String {
        match self {
            DataError::Read { fix, .. } => fix.clone(),
            DataError::Csv { fix, .. } => fix.clone(),
            DataError::NoColumn { available, name } => {
                match crate::diag::suggest(name, available.iter().map(String::as_str)) {
                    Some(s) => format!(
                        "did you mean `{s}`? the columns are {}",
                        crate::diag::list_names(available)
                    ),
                    None => format!("the columns are {}", crate::diag::list_names(available)),
                }
            }
            DataError::Text { cell, .. } if cell.contains('\n') => {
                "a quoted cell runs over several lines: close its quote, or fix the cell".into()
            }
            DataError::Text { cell, .. } if number_cell(cell.as_bytes()).is_some() => {
                "the cell is quoted in the file, and quoted cells are text: remove the quotes around numbers".into()
            }
            DataError::Text { cell, .. } if cell.eq_ignore_ascii_case("nan") => {
                "write a missing value as an empty cell or NA".into()
            }
            DataError::Text { .. } => {
                "fix the cell, leave it empty or write NA for a missing value, or turn labels into numbers with codes(...)".into()
            }
            DataError::Shape(_) => "give every column the same number of rows".into(),
            DataError::Sequence {
                row: Some(_),
                column,
                ..
            } => format!(
                "fill the cell with the label of the row's sequence; rows with equal `{column}` values form one sequence, in file order"
            ),
            DataError::Sequence {
                column, available, ..
            } => {
                let hint = crate::diag::suggest(column, available.iter().map(String::as_str))
                    .map_or(String::new(), |s| format!("did you mean `chain ... by {s}`? "));
                format!(
                    "{hint}the columns are {}; without `by`, all rows are one sequence",
                    crate::diag::list_names(available)
                )
            }
            DataError::Cell { .. } => {
                "fix the cell, or leave it empty (or NA) to make it latent in that row".into()
            }
            DataError::Columns {
                var, want, found, ..
            } => {
                let missing: Vec<&str> = want
                    .iter()
                    .filter(|w| !found.contains(w))
                    .map(String::as_str)
                    .collect();
                if missing.is_empty() {
                    format!("give `{var}` exactly the columns {}", want.join(", "))
                } else {
                    format!(
                        "add the column(s) {}, or leave out every column of `{var}` to make it latent",
                        missing.join(", ")
                    )
                }
            }
            DataError::Unbound { columns, .. }
                if columns.len() == 1 && columns[0].contains(['\t', ';']) =>
            {
                "the header looks separated by tabs or semicolons: gmm reads comma-separated files".into()
            }
            DataError::Unbound { vars, .. } => format!(
                "name a column after a variable ({}); a vector variable `x` reads the columns x[0], x[1], …",
                vars.join(", ")
            ),
        }
    }
}

/// Where a text column came from: enough to name a bad cell.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnRef {
    /// The column's header.
    pub name: String,
    /// The file it was read from.
    pub origin: Option<String>,
}

impl ColumnRef {
    /// The error for using these cells as numbers: the first cell that is not one.
    pub fn text_error(&self, cells: &[Text]) -> DataError {
        let (row, cell) = first_text_cell(cells);
        DataError::Text {
            where_: self
                .origin
                .as_ref()
                .map_or(String::new(), |o| format!("{o}: ")),
            column: self.name.clone(),
            row: row + 1,
            cell,
        }
    }
}

/// The first cell that does not read as a number, with its 0-based row.
/// When every cell reads as a number, the column is text because its cells were quoted: the
/// first present cell then.
fn first_text_cell(cells: &[Text]) -> (usize, String) {
    let text = |numbers_too: bool| {
        cells.iter().enumerate().find_map(|(r, cell)| {
            cell.as_deref()
                .filter(|s| numbers_too || number_cell(s.as_bytes()).is_none())
                .map(|s| (r, s.to_string()))
        })
    };
    text(false)
        .or_else(|| text(true))
        .unwrap_or((0, String::new()))
}

/// A cell or header without the white space (and byte-order marks) around it: one rule for
/// names, numbers and text, so what `save` writes loads back to the same cells.
fn clean(cell: &str) -> &str {
    cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Whether a (clean) CSV cell means "missing".
fn is_missing(cell: &str) -> bool {
    cell.is_empty() || cell == "NA"
}

/// Reads a CSV file named on the command line (see [`parse_csv`]); `shown` is the path as the
/// user wrote it.
pub fn load_csv(path: &std::path::Path, shown: &str) -> Result<Dataset, DataError> {
    let bytes = crate::files::read_named(path).map_err(|e| DataError::Read {
        path: shown.to_string(),
        why: e.to_string(),
        fix: e.help(),
    })?;
    parse_csv(&bytes, shown)
}

/// Reads a CSV file's bytes, with a header. A column whose every present cell is an unquoted
/// number is numeric; otherwise it is text, where a quoted cell is kept exactly as written.
/// `shown` is the path as the user wrote it. A UTF-8 byte-order mark before the header is
/// skipped, and lines may end in CRLF.
pub fn parse_csv(bytes: &[u8], shown: &str) -> Result<Dataset, DataError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(e, shown, &[]))?
        .iter()
        .map(|h| clean(h).to_string())
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(DataError::Csv {
            path: shown.to_string(),
            line: 1,
            why: if bytes.iter().all(u8::is_ascii_whitespace) {
                "the file is empty".into()
            } else {
                "the header row is empty".into()
            },
            fix: "the first line names the columns, e.g. `x,z`".into(),
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let why = if h.is_empty() {
            format!("column {} of the header has no name", i + 1)
        } else if !seen.insert(h.as_str()) {
            format!("the column `{h}` appears twice in the header")
        } else {
            continue;
        };
        return Err(DataError::Csv {
            path: shown.to_string(),
            line: 1,
            why,
            fix: "give every column its own name (a trailing comma makes an empty one)".into(),
        });
    }
    let width = headers.len();
    let body = &bytes[(reader.position().byte() as usize).min(bytes.len())..];
    if let Some((numbers, rows)) = numeric_in_parallel(body, width) {
        let columns = headers
            .into_iter()
            .zip(numbers)
            .map(|(name, nums)| Column {
                name,
                data: ColumnData::Num(nums),
            })
            .collect();
        return Ok(Dataset {
            columns,
            rows,
            origin: Some(shown.to_string()),
        });
    }
    // One pass reads every column as numbers; a column with a cell that is not one is read
    // again as text, so numeric files never hold their cells as strings.
    let mut numbers: Vec<Vec<f64>> = vec![Vec::new(); width];
    let mut text = vec![false; width];
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    let csv_error = |e| csv_error(e, shown, &headers);
    // Which cells are quoted, only where the file has a quote at all.
    let quotes = |skip_header: bool| {
        bytes.contains(&b'"').then(|| {
            let mut scan = QuoteScan { bytes, at: 0 };
            if skip_header {
                scan.next_record();
            }
            scan
        })
    };
    let mut scan = quotes(true);
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        rows += 1;
        let quoted = scan.as_mut().and_then(QuoteScan::next_record);
        for (c, cell) in record.iter().enumerate() {
            if text[c] {
                continue;
            }
            let is_quoted = quoted.as_ref().is_some_and(|q| q.get(c) == Some(&true));
            match number_cell(cell).filter(|_| !is_quoted) {
                Some(x) if x.is_infinite() && !is_infinity(cell) => {
                    return Err(DataError::Cell {
                        where_: format!("{shown}: "),
                        column: headers[c].clone(),
                        row: rows,
                        why: format!(
                            "\"{}\" is beyond the largest 64-bit float, ±1.8e308",
                            String::from_utf8_lossy(cell).trim()
                        ),
                    });
                }
                Some(x) => numbers[c].push(x),
                None => {
                    text[c] = true;
                    numbers[c] = Vec::new();
                }
            }
        }
    }
    let mut strings: Vec<Vec<Text>> = vec![Vec::new(); width];
    let text_columns = text.iter().filter(|&&t| t).count();
    if text_columns > 0 {
        // Each text cell costs its bytes, a String and the allocator's overhead.
        let need = text_columns
            .saturating_mul(rows)
            .saturating_mul(std::mem::size_of::<Text>())
            .saturating_add(bytes.len());
        if !crate::memory::fits(need) {
            return Err(DataError::Csv {
                path: shown.to_string(),
                line: 1,
                why: format!(
                    "its {text_columns} text column(s) of {rows} rows would take about {} MB, past the memory limit of {}",
                    need >> 20,
                    crate::memory::budget_text()
                ),
                fix: "keep only the columns you need, or turn labels into numbers before loading"
                    .into(),
            });
        }
        let mut again = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes);
        let mut scan = quotes(true);
        let mut labels = Labels::default();
        for record in again.records() {
            let record = record.map_err(csv_error)?;
            let quoted = scan.as_mut().and_then(QuoteScan::next_record);
            for (c, cell) in record.iter().enumerate() {
                if !text[c] {
                    continue;
                }
                // A quoted cell is text as written: never trimmed, never missing.
                let value = if quoted.as_ref().is_some_and(|q| q.get(c) == Some(&true)) {
                    Some(labels.get(cell))
                } else {
                    let cell = clean(cell);
                    (!is_missing(cell)).then(|| labels.get(cell))
                };
                strings[c].push(value);
            }
        }
    }
    let columns = headers
        .into_iter()
        .zip(numbers.into_iter().zip(strings))
        .zip(text)
        .map(|((name, (nums, strs)), is_text)| Column {
            name,
            data: if is_text {
                ColumnData::Text(strs)
            } else {
                ColumnData::Num(nums)
            },
        })
        .collect();
    Ok(Dataset {
        columns,
        rows,
        origin: Some(shown.to_string()),
    })
}

/// The columns of a large file's records (`body`, after the header) when every cell is a
/// number and the file has neither a quote nor a carriage return, read in pieces split at line
/// ends, one per thread. In such a file a record is a line and a cell what lies between commas
/// (empty lines skipped, as the csv crate does), so no CSV state machine is needed; the pieces'
/// columns are joined in order, so the result is what one pass gives. `None` for a small file
/// and wherever anything is not plain (a text cell, a number past the largest float, a record
/// of another width): the one pass then reads it and says what is wrong.
fn numeric_in_parallel(body: &[u8], width: usize) -> Option<(Vec<Vec<f64>>, usize)> {
    use rayon::prelude::*;
    const LARGE: usize = 1 << 20;
    let threads = rayon::current_num_threads();
    if body.len() < LARGE || threads < 2 || body.iter().any(|&b| b == b'"' || b == b'\r') {
        return None;
    }
    let mut cuts = vec![0];
    for k in 1..threads {
        let from = (body.len() * k / threads).max(*cuts.last()?);
        let at = body[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| from + i + 1);
        cuts.push(at);
    }
    cuts.push(body.len());
    let pieces: Vec<(Vec<Vec<f64>>, usize)> = cuts
        .par_windows(2)
        .map(|w| {
            let piece = &body[w[0]..w[1]];
            // About as many rows as the piece has bytes over the first line's.
            let first = piece
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(piece.len())
                + 1;
            let guess = piece.len() / first + 16;
            let mut columns: Vec<Vec<f64>> =
                (0..width).map(|_| Vec::with_capacity(guess)).collect();
            let mut rows = 0;
            for line in piece.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let mut cells = line.split(|&b| b == b',');
                for column in columns.iter_mut() {
                    let cell = cells.next()?;
                    let x = number_cell(cell)?;
                    if x.is_infinite() && !is_infinity(cell) {
                        return None;
                    }
                    column.push(x);
                }
                if cells.next().is_some() {
                    return None;
                }
                rows += 1;
            }
            Some((columns, rows))
        })
        .collect::<Option<_>>()?;
    let rows = pieces.iter().map(|p| p.1).sum();
    let mut columns: Vec<Vec<f64>> = (0..width).map(|_| Vec::with_capacity(rows)).collect();
    for (piece, _) in &pieces {
        for (column, part) in columns.iter_mut().zip(piece) {
            column.extend_from_slice(part);
        }
    }
    Some((columns, rows))
}

/// The distinct texts of a file, each stored once: labels repeated over many rows share it.
/// Past [`Labels::MAX`] distinct texts (a column of free text), new ones are not remembered.
#[derive(Default)]
struct Labels(std::collections::HashMap<String, std::sync::Arc<str>>);

impl Labels {
    const MAX: usize = 1 << 16;

    fn get(&mut self, s: &str) -> std::sync::Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: std::sync::Arc<str> = s.into();
        if self.0.len() < Self::MAX {
            self.0.insert(s.to_string(), a.clone());
        }
        a
    }
}

/// Which cells of CSV text are quoted, record by record, splitting as the csv crate does:
/// fields at commas, records at line ends, empty lines skipped, a quote that opens a field
/// runs to the quote that closes it (`""` inside is one quote).
struct QuoteScan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl QuoteScan<'_> {
    /// The next record's flags, one per field.
    fn next_record(&mut self) -> Option<Vec<bool>> {
        let b = self.bytes;
        while matches!(b.get(self.at), Some(b'\n' | b'\r')) {
            self.at += 1;
        }
        if self.at >= b.len() {
            return None;
        }
        let mut flags = Vec::new();
        loop {
            let quoted = b.get(self.at) == Some(&b'"');
            flags.push(quoted);
            if quoted {
                self.at += 1;
                loop {
                    match b.get(self.at) {
                        None => break,
                        Some(b'"') if b.get(self.at + 1) == Some(&b'"') => self.at += 2,
                        Some(b'"') => {
                            self.at += 1;
                            break;
                        }
                        Some(_) => self.at += 1,
                    }
                }
            }
            loop {
                match b.get(self.at) {
                    None => return Some(flags),
                    Some(b',') => {
                        self.at += 1;
                        break;
                    }
                    Some(b'\n') => {
                        self.at += 1;
                        return Some(flags);
                    }
                    Some(b'\r') => {
                        self.at += 1;
                        if b.get(self.at) == Some(&b'\n') {
                            self.at += 1;
                        }
                        return Some(flags);
                    }
                    Some(_) => self.at += 1,
                }
            }
        }
    }
}

/// A malformed line of a CSV file as an error; `headers` name the columns, once read.
fn csv_error(e: csv::Error, shown: &str, headers: &[String]) -> DataError {
    let line = e.position().map_or(0, |p| p.line());
    let (why, fix) = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            let (have, want) = (*len as usize, *expected_len as usize);
            let cells = format!("{have} cell{}", if have == 1 { "" } else { "s" });
            let why = if have < want && want == headers.len() {
                let missing: Vec<String> =
                    headers[have..].iter().map(|h| format!("`{h}`")).collect();
                format!(
                    "{cells}, but the header has {want}: no cell for {}",
                    missing.join(", ")
                )
            } else {
                format!("{cells}, but the header has {want}")
            };
            let fix = "every row needs as many cells as the header (leave a missing cell \
                       empty, as in `1,,3`); quote cells that contain commas";
            (why, fix)
        }
        csv::ErrorKind::Utf8 { err, .. } => (
            match headers.get(err.field()) {
                Some(h) => format!("the cell in column `{h}` is not UTF-8 text"),
                None => "not UTF-8 text".to_string(),
            },
            "save the file as UTF-8",
        ),
        _ => (e.to_string(), "fix the line"),
    };
    DataError::Csv {
        path: shown.to_string(),
        line,
        why,
        fix: fix.to_string(),
    }
}

/// A CSV cell as a number: NaN when missing (empty or `NA`), `None` when it is text (a literal
/// `nan` counts as text: missing values are written empty or `NA`).
fn number_cell(cell: &[u8]) -> Option<f64> {
    let cell = clean(std::str::from_utf8(cell).ok()?);
    if is_missing(cell) {
        return Some(crate::array::NA);
    }
    cell.parse::<f64>().ok().filter(|x| !x.is_nan())
}

/// Whether a numeric cell spells infinity itself (`inf`, `-Infinity`, …) rather than a
/// number too large for a float.
fn is_infinity(cell: &[u8]) -> bool {
    let t = String::from_utf8_lossy(cell);
    let t = clean(&t)
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase();
    t == "inf" || t == "infinity"
}

/// A text cell for a CSV file: quoted, inner quotes doubled.
fn quote_cell(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A header cell: quoted only where it must be (a comma, a quote, a line break, or white space
/// at an end that loading would trim).
fn header_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || clean(s) != s {
        quote_cell(s)
    } else {
        s.to_string()
    }
}

/// `name[i, j]` split into `name` and its indices.
fn split_indexed(col: &str) -> Option<(&str, Vec<usize>)> {
    let open = col.find('[')?;
    let inner = col[open + 1..].strip_suffix(']')?;
    let idx = inner
        .split(',')
        .map(|s| s.trim().parse::<usize>().ok())
        .collect::<Option<Vec<_>>>()?;
    Some((col[..open].trim_end(), idx))
}

impl Dataset {
    /// Where the header is, for errors about the columns: `d.csv, line 1: `, or nothing for
    /// data built in a script.
    pub fn header_at(&self) -> String {
        self.origin
            .as_ref()
            .map_or(String::new(), |o| format!("{o}, line 1: "))
    }

    /// The column names.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The column `name`, or the columns `name[…]` gathered into an array `[rows, …]`.
    pub fn get(&self, name: &str) -> Result<Cells, DataError> {
        if let Some(c) = self.columns.iter().find(|c| c.name == name) {
            return Ok(match &c.data {
                ColumnData::Num(v) => Cells::Num(Array::vector(v.clone())),
                ColumnData::Text(v) => Cells::Text(v.clone()),
            });
        }
        let parts: Vec<(usize, Vec<usize>)> = self
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match split_indexed(&c.name) {
                Some((base, idx)) if base == name => Some((i, idx)),
                _ => None,
            })
            .collect();
        let Some((_, first)) = parts.first() else {
            return Err(DataError::NoColumn {
                name: name.to_string(),
                available: self.names(),
            });
        };
        let rank = first.len();
        if parts.iter().any(|(_, idx)| idx.len() != rank) {
            return Err(DataError::Shape(format!(
                "the columns `{name}[…]` have different numbers of indices"
            )));
        }
        let dims: Vec<usize> = (0..rank)
            .map(|a| parts.iter().map(|(_, idx)| idx[a] + 1).max().unwrap_or(0))
            .collect();
        let per = crate::array::checked_len(&dims)
            .map_err(|e| DataError::Shape(format!("the columns `{name}[…]`: {e}")))?;
        if per != parts.len() {
            return Err(DataError::Shape(format!(
                "the columns `{name}[…]` do not cover every index of shape {}",
                crate::array::show_shape(&dims)
            )));
        }
        let mut data = vec![0.0; self.rows * per];
        for (col, idx) in &parts {
            let flat = idx.iter().zip(&dims).fold(0, |acc, (&i, &d)| acc * d + i);
            let values = self.numeric(*col)?;
            for (r, x) in values.iter().enumerate() {
                data[r * per + flat] = *x;
            }
        }
        let mut shape = vec![self.rows];
        shape.extend(dims);
        Ok(Cells::Num(Array::from_vec(shape, data)))
    }

    /// Renames columns: each `(from, to)` gives column `from` the name `to` (`--columns`, so
    /// `x[0]=eruptions` reads `eruptions` as `x[0]`). `flag` names the option, for messages.
    pub fn rename(&mut self, pairs: &[(String, String)], flag: &str) -> Result<(), DataError> {
        let mut renamed = Vec::with_capacity(pairs.len());
        for (from, _) in pairs {
            let Some(c) = self.columns.iter().position(|c| &c.name == from) else {
                return Err(DataError::NoColumn {
                    name: from.clone(),
                    available: self.names(),
                });
            };
            if renamed.contains(&c) {
                return Err(DataError::Shape(format!(
                    "{flag} names the column `{from}` twice"
                )));
            }
            renamed.push(c);
        }
        for ((_, to), &c) in pairs.iter().zip(&renamed) {
            let clash = self
                .columns
                .iter()
                .enumerate()
                .any(|(i, other)| &other.name == to && !renamed.contains(&i));
            if clash || pairs.iter().filter(|(_, t)| t == to).count() > 1 {
                return Err(DataError::Shape(format!(
                    "{}{flag} makes a second column `{to}` (from `{}`)",
                    self.header_at(),
                    self.columns[c].name
                )));
            }
        }
        for ((_, to), &c) in pairs.iter().zip(&renamed) {
            self.columns[c].name = to.clone();
        }
        Ok(())
    }

    /// The numbers of the column named `name`.
    pub fn column_numbers(&self, name: &str) -> Result<Vec<f64>, DataError> {
        match self.columns.iter().position(|c| c.name == name) {
            Some(c) => self.numeric(c),
            None => Err(DataError::NoColumn {
                name: name.to_string(),
                available: self.names(),
            }),
        }
    }

    /// The numbers of column `c`; a text cell is an error naming its row and column.
    pub fn numeric(&self, c: usize) -> Result<Vec<f64>, DataError> {
        let col = &self.columns[c];
        match &col.data {
            ColumnData::Num(v) => Ok(v.clone()),
            ColumnData::Text(v) => Err(ColumnRef {
                name: col.name.clone(),
                origin: self.origin.clone(),
            }
            .text_error(v)),
        }
    }

    /// The rows `rows` (0-based, checked by the caller) as a new dataset.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        let columns = self
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                data: match &c.data {
                    ColumnData::Num(v) => ColumnData::Num(rows.iter().map(|&r| v[r]).collect()),
                    ColumnData::Text(v) => {
                        ColumnData::Text(rows.iter().map(|&r| v[r].clone()).collect())
                    }
                },
            })
            .collect();
        Dataset {
            columns,
            rows: rows.len(),
            origin: self.origin.clone(),
        }
    }

    /// Builds a dataset from named values: a vector is a column, an array `[N, …]` makes
    /// columns `name[i]` (or `name[i, j]`), a scalar repeats in every row.
    pub fn from_named(items: Vec<(String, Cells)>) -> Result<Dataset, DataError> {
        let rows_of = |c: &Cells| match c {
            Cells::Num(a) if a.rank() == 0 => None,
            Cells::Num(a) => Some(a.shape()[0]),
            Cells::Text(v) => Some(v.len()),
        };
        let mut rows: Option<(usize, &str)> = None;
        for (name, c) in &items {
            if let Some(n) = rows_of(c) {
                match rows {
                    Some((m, other)) if m != n => {
                        return Err(DataError::Shape(format!(
                            "column `{name}` has {n} rows but `{other}` has {m}"
                        )));
                    }
                    _ => rows = Some((n, name)),
                }
            }
        }
        let rows = rows.map_or(1, |(n, _)| n);
        let mut columns = Vec::new();
        for (name, c) in items {
            match c {
                Cells::Text(v) => columns.push(Column {
                    name,
                    data: ColumnData::Text(v),
                }),
                Cells::Num(a) if a.rank() <= 1 => {
                    let v = if a.rank() == 0 {
                        vec![a.data()[0]; rows]
                    } else {
                        a.into_data()
                    };
                    columns.push(Column {
                        name,
                        data: ColumnData::Num(v),
                    });
                }
                Cells::Num(a) => {
                    let inner = a.shape()[1..].to_vec();
                    let per: usize = inner.iter().product();
                    for k in 0..per {
                        let idx = crate::array::unravel(k, &inner);
                        let label = idx
                            .iter()
                            .map(|i| i.to_string())
                            .collect::<Vec<_>>()
                            .join(", ");
                        columns.push(Column {
                            name: format!("{name}[{label}]"),
                            data: ColumnData::Num(
                                (0..rows).map(|r| a.data()[r * per + k]).collect(),
                            ),
                        });
                    }
                }
            }
        }
        Ok(Dataset {
            columns,
            rows,
            origin: None,
        })
    }

    /// The dataset as CSV text: numbers in shortest round-trip form, missing cells as `NA`,
    /// text quoted (so that `"NA"`, `""`, padded text and digits load back as the same text).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let line = |out: &mut Vec<u8>, cells: &mut dyn Iterator<Item = String>| {
            for (i, c) in cells.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(c.as_bytes());
            }
            out.push(b'\n');
        };
        line(
            &mut out,
            &mut self.columns.iter().map(|c| header_cell(&c.name)),
        );
        for r in 0..self.rows {
            line(
                &mut out,
                &mut self.columns.iter().map(|c| match &c.data {
                    ColumnData::Num(v) => format_number(v[r]),
                    ColumnData::Text(v) => v[r].as_deref().map_or("NA".into(), quote_cell),
                }),
            );
        }
        out
    }

    /// The first rows as an aligned table, then the row count (section 7).
    pub fn preview(&self, max_rows: usize) -> String {
        let shown = self.rows.min(max_rows);
        let mut grid: Vec<Vec<String>> = vec![self.names()];
        for r in 0..shown {
            grid.push(self.columns.iter().map(|c| c.cell(r)).collect());
        }
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|c| {
                grid.iter()
                    .map(|row| row[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &grid {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(s, &w)| format!("{s:>w$}"))
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        if shown < self.rows {
            out.push_str(&format!("… {} more rows\n", self.rows - shown));
        }
        out.push_str(&format!(
            "{} row{} × {} column{}",
            self.rows,
            if self.rows == 1 { "" } else { "s" },
            self.columns.len(),
            if self.columns.len() == 1 { "" } else { "s" }
        ));
        out
    }
}

/// `n` rows drawn from `model` by ancestral sampling: one column per variable, latent ones
/// included (a vector variable as `x[0]`, `x[1]`, …).
pub fn sample_rows(
    model: &crate::model::Model,
    n: usize,
    rng: &mut crate::infer::numeric::Rng,
) -> Result<Dataset, crate::infer::InferError> {
    let items: Vec<(String, Cells)> = crate::infer::sample_model(model, n, rng)?
        .into_iter()
        .map(|(v, a)| (model.vars[v].name.clone(), Cells::Num(a)))
        .collect();
    if items.is_empty() {
        // A model without variables: n rows of nothing, not one.
        return Ok(Dataset {
            columns: Vec::new(),
            rows: n,
            origin: None,
        });
    }
    Ok(Dataset::from_named(items).expect("every sampled column has n rows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file past the size the parallel reading takes, its lines ending in `end`: numbers in
    /// several spellings, missing cells, empty lines and no line end after the last row.
    fn large(end: &str) -> String {
        let mut s = format!("a, b ,c{end}");
        for i in 0..60_000u64 {
            let x = (i as f64 * 0.618).sin() * 1e3;
            let b = if i % 7 == 0 {
                "NA".to_string()
            } else {
                format!("{:e}", -x / 3.0)
            };
            let c = if i % 11 == 0 {
                String::new()
            } else {
                format!(" {} ", i % 5)
            };
            s += &format!("{x},{b},{c}");
            if i % 1000 == 999 {
                s += end;
            }
            if i + 1 < 60_000 {
                s += end;
            }
        }
        s
    }

    fn bits(d: &Dataset) -> Vec<Vec<u64>> {
        (0..d.columns.len())
            .map(|c| {
                d.numeric(c)
                    .expect("numeric")
                    .iter()
                    .map(|x| x.to_bits())
                    .collect()
            })
            .collect()
    }

    /// The pieces read in parallel give what the one pass does (a file with carriage returns
    /// takes the one pass): the same columns, rows and numbers, to the bit.
    #[test]
    fn reading_in_parallel_is_reading_in_one_pass() {
        let lf = large("\n");
        assert!(lf.len() > 1 << 20, "large enough for the parallel reading");
        let body = &lf.as_bytes()[lf.find('\n').expect("a header") + 1..];
        assert!(
            numeric_in_parallel(body, 3).is_some(),
            "the parallel reading applies"
        );
        let (fast, one) = (
            parse_csv(lf.as_bytes(), "f.csv"),
            parse_csv(large("\r\n").as_bytes(), "f.csv"),
        );
        let (fast, one) = (fast.expect("loads"), one.expect("loads"));
        assert_eq!(fast.rows, 60_000);
        assert_eq!(fast.rows, one.rows);
        let names = |d: &Dataset| d.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&fast), ["a", "b", "c"]);
        assert_eq!(names(&fast), names(&one));
        assert_eq!(bits(&fast), bits(&one));
    }

    /// What the parallel reading does not take, the one pass reads and reports, rows counted
    /// over the whole file.
    #[test]
    fn a_large_file_that_is_not_plain_is_read_in_one_pass() {
        let lf = large("\n");
        // The file ends in an empty line: a row appended after it is row 60 001.
        let last = lf.rfind('\n').expect("lines");
        // A text cell in the last row: column c becomes text.
        let text = format!("{}\n1,2,high", &lf[..last]);
        let d = parse_csv(text.as_bytes(), "t.csv").expect("loads");
        assert!(matches!(d.columns[2].data, ColumnData::Text(_)));
        assert_eq!(d.rows, 60_001);
        // A record of four cells: the error names its line.
        let wide = format!("{}\n1,2,3,4", &lf[..last]);
        let e = parse_csv(wide.as_bytes(), "w.csv").expect_err("a record too wide");
        let shown = e.to_string();
        assert!(shown.contains("w.csv"), "{shown}");
        let line = 1 + lf[..last].matches('\n').count() + 1;
        assert!(shown.contains(&line.to_string()), "line {line}: {shown}");
    }
}
