//! The input of `attribute_paths`: a table of paths read into key ids. Rows whose path is the
//! same text are one row (their conversions, values and non-conversions summed: every model is
//! linear in them), so a large table of repeated paths is parsed and fitted once per distinct
//! path. Texts are grouped straight off the Arrow string views — a text of up to 12 bytes is
//! its own 128-bit view, compared without reading any buffer — on one thread per core for large
//! tables, and the distinct paths keep the order their texts first appear in.

use crate::attribution::DIRECT;
use crate::attribution::journeys::Keys;
use datafusion::arrow::array::StringViewArray;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use std::collections::HashMap;
use std::ops::Range;

/// The table's distinct paths as key ids, with their summed outcomes.
pub(super) struct Table {
    pub keys: Keys,
    /// Row i's path is `flat[bounds[i]..bounds[i + 1]]`.
    flat: Vec<u32>,
    bounds: Vec<usize>,
    pub conversions: Vec<f64>,
    pub value: Vec<f64>,
    pub nulls: Vec<f64>,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            keys: Keys::default(),
            flat: Vec::new(),
            bounds: vec![0],
            conversions: Vec::new(),
            value: Vec::new(),
            nulls: Vec::new(),
        }
    }
}

impl Table {
    pub fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Row `i`'s path.
    pub fn path(&self, i: usize) -> &[u32] {
        &self.flat[self.bounds[i]..self.bounds[i + 1]]
    }

    /// A row whose path names its channels in order (blanks around a name are ignored, as are
    /// empty names).
    pub fn push<'a>(
        &mut self,
        names: impl Iterator<Item = &'a str>,
        conversions: f64,
        value: f64,
        nulls: f64,
    ) {
        for name in names.map(str::trim).filter(|n| !n.is_empty()) {
            let id = self.keys.intern(name, name == DIRECT);
            self.flat.push(id);
        }
        self.bounds.push(self.flat.len());
        self.conversions.push(conversions);
        self.value.push(value);
        self.nulls.push(nulls);
    }
}

const SIGNATURE: &str = "attribute_paths(model, table)";

fn column<'a>(batch: &'a RecordBatch, names: &[&str]) -> Option<&'a ArrayRef> {
    names.iter().find_map(|n| {
        let schema = batch.schema();
        let i = schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(n))?;
        Some(batch.column(i))
    })
}

/// A number per row: a column (NULL counts as 0) or, when the table has none, a default.
enum Numbers {
    Column(Float64Array),
    Default(f64),
}

impl Numbers {
    fn of(batch: &RecordBatch, names: &[&str], default: f64) -> Result<Numbers> {
        Ok(match column(batch, names) {
            None => Numbers::Default(default),
            Some(c) => Numbers::Column(cast(c, &DataType::Float64)?.as_primitive().clone()),
        })
    }

    fn at(&self, i: usize) -> f64 {
        match self {
            Numbers::Default(d) => *d,
            Numbers::Column(c) if c.is_valid(i) => c.value(i),
            Numbers::Column(_) => 0.0,
        }
    }
}

/// One batch's columns: the path texts and (conversions, value, non-conversions).
struct Columns {
    paths: StringViewArray,
    numbers: [Numbers; 3],
}

/// A text's identity: a text of up to 12 bytes is its view (length and bytes, the unused
/// bytes masked to 0); a longer one is its text.
#[derive(Clone, Copy)]
enum Key<'a> {
    Inline(u128),
    Long(&'a str),
}

/// The distinct texts of some rows, in the order they first appear, with their summed outcomes.
#[derive(Default)]
struct Distinct<'a> {
    inline: HashMap<u128, u32, ahash::RandomState>,
    long: HashMap<&'a str, u32, ahash::RandomState>,
    keys: Vec<Key<'a>>,
    texts: Vec<&'a str>,
    sums: Vec<[f64; 3]>,
}

impl<'a> Distinct<'a> {
    /// The slot of `key` (whose text `text` gives), added if new.
    fn slot(&mut self, key: Key<'a>, text: impl FnOnce() -> &'a str) -> usize {
        let next = self.keys.len() as u32;
        let slot = match key {
            Key::Inline(view) => *self.inline.entry(view).or_insert(next),
            Key::Long(text) => *self.long.entry(text).or_insert(next),
        };
        if slot == next {
            self.keys.push(key);
            self.texts.push(text());
            self.sums.push([0.0; 3]);
        }
        slot as usize
    }

    fn add(&mut self, columns: &'a Columns, rows: Range<usize>) {
        let views = columns.paths.views();
        for i in rows {
            let key = if columns.paths.is_null(i) {
                Key::Inline(0)
            } else {
                let view = views[i];
                let len = view as u32;
                if len <= 12 {
                    let mask = if len == 12 {
                        u128::MAX
                    } else {
                        (1u128 << (32 + 8 * len)) - 1
                    };
                    Key::Inline(view & mask)
                } else {
                    Key::Long(columns.paths.value(i))
                }
            };
            let slot = self.slot(key, || {
                if columns.paths.is_null(i) {
                    ""
                } else {
                    columns.paths.value(i)
                }
            });
            let sums = &mut self.sums[slot];
            for (sum, numbers) in sums.iter_mut().zip(&columns.numbers) {
                *sum += numbers.at(i);
            }
        }
    }

    /// `other`'s texts added after this one's.
    fn merge(&mut self, other: Distinct<'a>) {
        for ((key, text), sums) in other.keys.into_iter().zip(other.texts).zip(other.sums) {
            let slot = self.slot(key, || text);
            for (sum, add) in self.sums[slot].iter_mut().zip(sums) {
                *sum += add;
            }
        }
    }
}

/// Rows per part: a table is grouped in parts of this many rows, on one thread per core, the
/// parts merged in order. The cut depends on the table alone, never on the machine, so sums
/// are added up in the same order everywhere.
const PART_ROWS: usize = 1 << 19;

/// The distinct texts of all `columns`' rows, in the order they first appear, grouped in parts
/// of `part_rows` rows.
fn distinct(columns: &[Columns], part_rows: usize) -> Result<Distinct<'_>> {
    // Each part: its (batch, rows) pieces.
    let mut parts: Vec<Vec<(usize, Range<usize>)>> = vec![Vec::new()];
    let mut filled = 0;
    for (b, c) in columns.iter().enumerate() {
        let mut at = 0;
        while at < c.paths.len() {
            if filled == part_rows {
                parts.push(Vec::new());
                filled = 0;
            }
            let take = (c.paths.len() - at).min(part_rows - filled);
            let last = parts.len() - 1;
            parts[last].push((b, at..at + take));
            (at, filled) = (at + take, filled + take);
        }
    }
    let threads = crate::attribution::parallel::cores();
    let grouped = crate::attribution::parallel::each(threads, &parts, |pieces| {
        let mut d = Distinct::default();
        for (b, rows) in pieces {
            d.add(&columns[*b], rows.clone());
        }
        d
    });
    let mut out: Option<Distinct<'_>> = None;
    for d in grouped {
        let Some(d) = d else {
            return datafusion::common::internal_err!("{SIGNATURE}: grouping the paths panicked");
        };
        match &mut out {
            None => out = Some(d),
            Some(out) => out.merge(d),
        }
    }
    Ok(out.unwrap_or_default())
}

/// The table of paths in `batches` (read from `table`).
pub(super) fn read(table: &str, batches: &[RecordBatch]) -> Result<Table> {
    let mut out = Table::default();
    let mut texts = Vec::new();
    for b in batches {
        let Some(path) = column(b, &["path"]) else {
            return plan_err!(
                "{SIGNATURE}: `{table}` has no `path` column (found: {})",
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let numbers = [
            Numbers::of(b, &["conversions", "total_conversions", "conversion"], 1.0)?,
            Numbers::of(
                b,
                &["value", "conversion_value", "total_conversion_value"],
                0.0,
            )?,
            Numbers::of(
                b,
                &["nulls", "total_null", "total_nulls", "non_conversions"],
                0.0,
            )?,
        ];
        if !matches!(path.data_type(), DataType::List(_) | DataType::LargeList(_)) {
            let paths = cast(path, &DataType::Utf8View)?.as_string_view().clone();
            texts.push(Columns { paths, numbers });
            continue;
        }
        // A list of names per row: one row each.
        let list = cast(path, &DataType::new_list(DataType::Utf8, true))?;
        let list = list.as_list::<i32>();
        for i in 0..list.len() {
            let [c, v, n] = [0, 1, 2].map(|k| numbers[k].at(i));
            if list.is_null(i) {
                out.push(std::iter::empty(), c, v, n);
            } else {
                let names = list.value(i);
                out.push(names.as_string::<i32>().iter().flatten(), c, v, n);
            }
        }
    }
    if !texts.is_empty() {
        let d = distinct(&texts, PART_ROWS)?;
        for (text, [c, v, n]) in d.texts.iter().zip(d.sums) {
            out.push(text.split('>'), c, v, n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch(paths: Vec<Option<&str>>, conversions: Vec<f64>) -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("path", DataType::Utf8, true),
                Field::new("total_conversions", DataType::Float64, false),
            ])),
            vec![
                Arc::new(StringArray::from(paths)),
                Arc::new(Float64Array::from(conversions)),
            ],
        )
        .unwrap()
    }

    fn named(t: &Table, i: usize) -> Vec<&str> {
        t.path(i)
            .iter()
            .map(|&k| t.keys.text[k as usize].as_str())
            .collect()
    }

    #[test]
    fn equal_texts_are_one_row_in_first_seen_order() {
        let long = "a channel > with a name longer > than twelve bytes";
        let b1 = batch(
            vec![Some("b > a"), Some(long), None, Some("b > a"), Some("")],
            vec![1.0, 2.0, 3.0, 4.0, 5.0],
        );
        let b2 = batch(vec![Some(long), Some("c")], vec![10.0, 20.0]);
        let t = read("paths", &[b1, b2]).unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(named(&t, 0), ["b", "a"]);
        assert_eq!(t.conversions[0], 5.0);
        assert_eq!(
            named(&t, 1),
            ["a channel", "with a name longer", "than twelve bytes"]
        );
        assert_eq!(t.conversions[1], 12.0);
        // NULL and '' are the same empty path.
        assert!(t.path(2).is_empty());
        assert_eq!(t.conversions[2], 8.0);
        assert_eq!(named(&t, 3), ["c"]);
        // No value or non-conversion columns: 0 each.
        assert_eq!((t.value[0], t.nulls[0]), (0.0, 0.0));
    }

    #[test]
    fn texts_that_share_a_prefix_or_a_length_stay_apart() {
        // Views of short texts differ only past their length, or in their last byte.
        let b = batch(
            vec![
                Some("abcdefghijkl"),
                Some("abcdefghijkm"),
                Some("ab"),
                Some("ab "),
                Some("ab"),
            ],
            vec![1.0; 5],
        );
        let t = read("paths", &[b]).unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t.conversions, [1.0, 1.0, 2.0, 1.0]);
        // 'ab ' and 'ab' are different texts but the same path once blanks are trimmed.
        assert_eq!(t.path(2), t.path(3));
    }

    #[test]
    fn grouping_in_parts_equals_grouping_at_once() {
        // Parts that cut batches, texts short and long, repeated across parts.
        let names = |i: usize| match i % 7 {
            0 => format!("ch{} > ch{}", i % 13, i % 5),
            1 => format!("a rather long channel name {} > x", i % 11),
            _ => format!("ch{}", i % 17),
        };
        let texts: Vec<String> = (0..5_000).map(names).collect();
        let columns: Vec<Columns> = texts
            .chunks(700)
            .map(|chunk| Columns {
                paths: StringViewArray::from_iter_values(chunk),
                numbers: [
                    Numbers::Column(Float64Array::from_iter_values(
                        (0..chunk.len()).map(|i| 0.1 * (i % 3) as f64),
                    )),
                    Numbers::Default(0.0),
                    Numbers::Default(1.0),
                ],
            })
            .collect();
        let whole = distinct(&columns, usize::MAX).unwrap();
        for part_rows in [1, 333, 1_000, 4_999] {
            let parts = distinct(&columns, part_rows).unwrap();
            assert_eq!(parts.texts, whole.texts, "{part_rows} rows per part");
            for (a, b) in parts.sums.iter().zip(&whole.sums) {
                for k in 0..3 {
                    assert!((a[k] - b[k]).abs() < 1e-9, "{part_rows}: {a:?} vs {b:?}");
                }
            }
        }
        // The same grouping, by hand.
        let mut order: Vec<&str> = Vec::new();
        for text in &texts {
            if !order.contains(&text.as_str()) {
                order.push(text);
            }
        }
        assert_eq!(whole.texts, order);
        let ch3 = whole.texts.iter().position(|t| *t == "ch3").unwrap();
        assert_eq!(
            whole.sums[ch3][2],
            texts.iter().filter(|t| *t == "ch3").count() as f64
        );
    }

    #[test]
    fn a_table_without_a_path_column_is_refused() {
        let b = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("p", DataType::Utf8, false)])),
            vec![Arc::new(StringArray::from(vec!["a"]))],
        )
        .unwrap();
        let Err(e) = read("mine", &[b]) else {
            panic!("read a table without a path column")
        };
        assert!(
            e.to_string()
                .contains("`mine` has no `path` column (found: p)"),
            "{e}"
        );
    }
}
