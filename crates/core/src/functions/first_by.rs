//! `first_by(value, key1 [, key2 ...])`: the value of the row with the smallest keys (each
//! ascending, NULLs last), among the rows whose value is not NULL — what
//! `first_value(value ORDER BY key1, key2, ...) FILTER (WHERE value IS NOT NULL)` means, ties
//! broken by the smallest value so the answer never depends on the order rows arrive in.
//!
//! Why not `first_value`: DataFusion's ordered `first_value` keeps each group's ordering keys
//! as `ScalarValue`s and compares them value by value; a session's eight "first" columns over
//! seven keys cost ~90% of the sessions' aggregation and ~1 KiB per session. Here the keys and
//! the value are encoded with arrow's row format (`RowConverter`: bytes that compare like the
//! tuples) and each group keeps one byte string in a shared arena — its best row so far,
//! compared with `memcmp`. The partial state is that byte string (`Binary`) and where its
//! value begins (`UInt32`: the final phase decodes the value alone, not the keys), so the
//! function runs in DataFusion's two-phase and spilling aggregation like any other.
//!
//! The row of (keys ..., value) is the keys' row followed by the value's (arrow's row format
//! writes the columns one after another), so the keys are encoded apart from the value and the
//! encoding is shared ([`shared`]): a query's `first_by`s over the same key columns (GA4's
//! sessions take seven over the same seven keys) encode each batch's keys once.

mod shared;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, UInt32Array, UInt32Builder,
};
use datafusion::arrow::compute::{SortOptions, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt32Type};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use std::cmp::Ordering;
use std::rc::Rc;
use std::sync::{Arc, LazyLock};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FirstBy {
    signature: Signature,
}

impl FirstBy {
    pub fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        datafusion::logical_expr::aggregate_doc_sections::DOC_SECTION_GENERAL,
        "The value of the row with the smallest keys (each ascending, NULLs last) among the rows whose value is not NULL: first_value(value ORDER BY keys) FILTER (WHERE value IS NOT NULL), ties broken by the smallest value.",
        "first_by(value, key1 [, key2 ...])",
    )
    .with_sql_example(
        "SELECT first_by(page, ts) AS landing_page FROM (VALUES ('/b', 2), ('/a', 1), (NULL, 0)) AS t(page, ts) -- /a",
    )
    .build()
});

impl AggregateUDFImpl for FirstBy {
    fn name(&self) -> &str {
        "first_by"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [value, _, ..] => Ok(value.clone()),
            _ => plan_err!("first_by(value, key1 [, key2 ...]) takes a value and at least one key"),
        }
    }

    /// The best row (`keys ++ value`) and where its value begins: the final phase decodes the
    /// value alone.
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[row]", args.name),
                DataType::Binary,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[value_at]", args.name),
                DataType::UInt32,
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(FirstByOne {
            rows: Encoding::new(args.expr_fields)?,
            best: None,
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(FirstByGroups {
            rows: Encoding::new(args.expr_fields)?,
            best: Vec::new(),
            arena: Vec::new(),
            live: 0,
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// The row encoding of (key1, ..., keyN, value): bytes that compare like the tuple — the keys'
/// row followed by the value's.
#[derive(Debug)]
struct Encoding {
    keys: RowConverter,
    value: RowConverter,
}

/// A row in its two parts: the keys' bytes and the value's.
type Parts<'a> = (&'a [u8], &'a [u8]);

/// One batch's rows: row `i` is `keys.row(i)` followed by `value.row(i)`.
struct Encoded {
    keys: Rc<Rows>,
    value: Rows,
}

impl Encoded {
    fn row(&self, i: usize) -> Parts<'_> {
        (self.keys.row(i).data(), self.value.row(i).data())
    }
}

/// How `keys ++ value` (two parts of one row) compares with a whole row.
fn compare(keys: &[u8], value: &[u8], whole: &[u8]) -> Ordering {
    let head = keys.len().min(whole.len());
    match keys.cmp(&whole[..head]) {
        Ordering::Equal => value.cmp(&whole[head..]),
        unequal => unequal,
    }
}

/// A state's row split where its value begins.
fn split(row: &[u8], at: u32) -> Result<Parts<'_>> {
    match usize::try_from(at).ok().filter(|&at| at <= row.len()) {
        Some(at) => Ok(row.split_at(at)),
        None => exec_err!(
            "first_by: a state's value begins at byte {at} of a {}-byte row",
            row.len()
        ),
    }
}

impl Encoding {
    /// From the call's argument fields: value first, then the keys.
    fn new(fields: &[FieldRef]) -> Result<Self> {
        let Some((value, keys)) = fields.split_first() else {
            return exec_err!("first_by needs a value and a key");
        };
        let last = SortOptions {
            descending: false,
            nulls_first: false,
        };
        let sort = |f: &FieldRef| SortField::new_with_options(f.data_type().clone(), last);
        Ok(Self {
            keys: RowConverter::new(keys.iter().map(sort).collect())?,
            value: RowConverter::new(vec![sort(value)])?,
        })
    }

    /// The rows of one batch of arguments (value, key1, ..., keyN).
    fn encode(&self, args: &[ArrayRef]) -> Result<Encoded> {
        let Some((value, keys)) = args.split_first() else {
            return exec_err!("first_by needs a value and a key");
        };
        Ok(Encoded {
            keys: shared::key_rows(&self.keys, keys)?,
            value: self.value.convert_columns(std::slice::from_ref(value))?,
        })
    }

    /// Whether row `i` of a batch counts: its value is not NULL and the FILTER keeps it.
    fn counts(value: &ArrayRef, filter: Option<&BooleanArray>, i: usize) -> bool {
        value.is_valid(i) && filter.is_none_or(|f| f.is_valid(i) && f.value(i))
    }

    /// The values of the value parts of kept rows (`None`: the group saw no value).
    fn decode(&self, values: &[Option<&[u8]>]) -> Result<ArrayRef> {
        let parser = self.value.parser();
        let present: Vec<_> = values.iter().flatten().map(|r| parser.parse(r)).collect();
        let columns = self.value.convert_rows(present)?;
        let Some(decoded) = columns.first() else {
            return exec_err!("first_by decoded no value column");
        };
        let mut next = 0u32;
        let indices: UInt32Array = values
            .iter()
            .map(|r| {
                r.map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        Ok(take(decoded.as_ref(), &indices, None)?)
    }

    fn size(&self) -> usize {
        self.keys.size() + self.value.size()
    }
}

/// Where a kept row lies in an arena: `start..end`, its value from `at`.
#[derive(Debug, Clone, Copy)]
struct Kept {
    start: usize,
    at: usize,
    end: usize,
}

/// The states of kept rows: each whole row and where its value begins.
fn states<'a>(
    rows: impl ExactSizeIterator<Item = Option<(&'a [u8], usize)>>,
    bytes: usize,
) -> Vec<ArrayRef> {
    let mut out = BinaryBuilder::with_capacity(rows.len(), bytes);
    let mut at = UInt32Builder::with_capacity(rows.len());
    for kept in rows {
        out.append_option(kept.map(|(row, _)| row));
        at.append_option(kept.map(|(_, value_at)| value_at as u32));
    }
    vec![Arc::new(out.finish()), Arc::new(at.finish())]
}

/// The rows of states as (keys part, value part), `None` for NULL states.
fn parts(states: &[ArrayRef]) -> Result<Vec<Option<Parts<'_>>>> {
    let [rows, at] = states else {
        return exec_err!("first_by's state has two columns, got {}", states.len());
    };
    let (rows, at) = (rows.as_binary::<i32>(), at.as_primitive::<UInt32Type>());
    (0..rows.len())
        .map(|i| match rows.is_valid(i) && at.is_valid(i) {
            true => split(rows.value(i), at.value(i)).map(Some),
            false => Ok(None),
        })
        .collect()
}

/// The grouped form: each group's best row so far in one arena.
#[derive(Debug)]
struct FirstByGroups {
    rows: Encoding,
    /// Per group: where its best row lies in `arena`.
    best: Vec<Option<Kept>>,
    /// Rows kept; a replaced row stays until the next compaction.
    arena: Vec<u8>,
    /// Bytes of `arena` that are some group's best row.
    live: usize,
}

impl FirstByGroups {
    /// Offers the row `keys ++ value`.
    fn offer(&mut self, group: usize, keys: &[u8], value: &[u8]) {
        let better = match self.best[group] {
            Some(kept) if compare(keys, value, &self.arena[kept.start..kept.end]).is_lt() => {
                self.live -= kept.end - kept.start;
                true
            }
            Some(_) => false,
            None => true,
        };
        if better {
            self.live += keys.len() + value.len();
            let start = self.arena.len();
            self.arena.extend_from_slice(keys);
            self.arena.extend_from_slice(value);
            self.best[group] = Some(Kept {
                start,
                at: start + keys.len(),
                end: self.arena.len(),
            });
        }
    }

    /// The emitted groups' rows (the others kept, the arena compacted to them).
    fn emit(&mut self, emit_to: EmitTo) -> (Vec<Option<Kept>>, Vec<u8>) {
        let emitted = emit_to.take_needed(&mut self.best);
        let arena = std::mem::take(&mut self.arena);
        self.arena.reserve(self.live);
        for kept in self.best.iter_mut().flatten() {
            let start = self.arena.len();
            self.arena.extend_from_slice(&arena[kept.start..kept.end]);
            *kept = Kept {
                start,
                at: start + (kept.at - kept.start),
                end: self.arena.len(),
            };
        }
        self.live = self.arena.len();
        (emitted, arena)
    }

    /// Rewrites the arena when replaced rows take more than half of it.
    fn compact_if_wasteful(&mut self) {
        if self.arena.len() > 2 * self.live + (1 << 20) {
            let _ = self.emit(EmitTo::First(0));
        }
    }
}

impl GroupsAccumulator for FirstByGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.best.resize(total_num_groups, None);
        let rows = self.rows.encode(values)?;
        let value = &values[0];
        for (i, &group) in group_indices.iter().enumerate() {
            if Encoding::counts(value, opt_filter, i) {
                let (keys, value) = rows.row(i);
                self.offer(group, keys, value);
            }
        }
        self.compact_if_wasteful();
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let (emitted, arena) = self.emit(emit_to);
        let values: Vec<Option<&[u8]>> = emitted
            .iter()
            .map(|kept| kept.map(|k| &arena[k.at..k.end]))
            .collect();
        self.rows.decode(&values)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (emitted, arena) = self.emit(emit_to);
        let bytes = emitted.iter().flatten().map(|k| k.end - k.start).sum();
        let rows = emitted
            .iter()
            .map(|kept| kept.map(|k| (&arena[k.start..k.end], k.at - k.start)));
        Ok(states(rows, bytes))
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.best.resize(total_num_groups, None);
        for (row, &group) in parts(values)?.into_iter().zip(group_indices) {
            if let Some((keys, value)) = row {
                self.offer(group, keys, value);
            }
        }
        self.compact_if_wasteful();
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = self.rows.encode(values)?;
        let value = &values[0];
        let counting = (0..value.len()).map(|i| Encoding::counts(value, opt_filter, i));
        let mut whole = Vec::new();
        let mut kept = Vec::with_capacity(value.len());
        for (i, counts) in counting.enumerate() {
            kept.push(counts.then(|| {
                let (keys, value) = rows.row(i);
                let start = whole.len();
                whole.extend_from_slice(keys);
                whole.extend_from_slice(value);
                (start, keys.len(), whole.len())
            }));
        }
        let rows = kept
            .iter()
            .map(|k| k.map(|(start, at, end)| (&whole[start..end], at)));
        Ok(states(rows, whole.len()))
    }

    fn size(&self) -> usize {
        self.arena.capacity()
            + self.best.capacity() * std::mem::size_of::<Option<Kept>>()
            + self.rows.size()
    }
}

/// The ungrouped form (an aggregate without GROUP BY, or a window).
#[derive(Debug)]
struct FirstByOne {
    rows: Encoding,
    /// The best row so far and where its value begins.
    best: Option<(Vec<u8>, usize)>,
}

impl FirstByOne {
    /// Offers the row `keys ++ value`.
    fn offer(&mut self, keys: &[u8], value: &[u8]) {
        if self
            .best
            .as_ref()
            .is_none_or(|(best, _)| compare(keys, value, best).is_lt())
        {
            self.best = Some(([keys, value].concat(), keys.len()));
        }
    }
}

impl Accumulator for FirstByOne {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = self.rows.encode(values)?;
        for i in 0..values[0].len() {
            if Encoding::counts(&values[0], None, i) {
                let (keys, value) = rows.row(i);
                self.offer(keys, value);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let value = self.best.as_ref().map(|(row, at)| &row[*at..]);
        let values = self.rows.decode(&[value])?;
        ScalarValue::try_from_array(&values, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.best.as_ref().map_or(0, |(row, _)| row.capacity())
            + self.rows.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (row, at) = self.best.clone().unzip();
        Ok(vec![
            ScalarValue::Binary(row),
            ScalarValue::UInt32(at.map(|at| at as u32)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for (keys, value) in parts(states)?.into_iter().flatten() {
            self.offer(keys, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
