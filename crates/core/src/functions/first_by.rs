//! `first_by(value, key1 [, key2 ...])`: the value of the row with the smallest keys (each
//! ascending, NULLs last), among the rows whose value is not NULL — what
//! `first_value(value ORDER BY key1, key2, ...) FILTER (WHERE value IS NOT NULL)` means, ties
//! broken by the smallest value so the answer never depends on the order rows arrive in.
//!
//! Why not `first_value`: DataFusion's ordered `first_value` keeps each group's ordering keys
//! as `ScalarValue`s and compares them value by value; a session's eight "first" columns over
//! seven keys cost ~90% of the sessions' aggregation and ~1 KiB per session. Here the keys and
//! the value are encoded once per batch with arrow's row format (`RowConverter`: bytes that
//! compare like the tuples) and each group keeps one byte string in a shared arena — its best
//! row so far, compared with `memcmp`. The partial state is that byte string (`Binary`), so
//! the function runs in DataFusion's two-phase and spilling aggregation like any other.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray, UInt32Array,
};
use datafusion::arrow::compute::{SortOptions, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature, Volatility,
};
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

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[row]", args.name),
            DataType::Binary,
            true,
        ))])
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

/// The row encoding of (key1, ..., keyN, value): bytes that compare like the tuple.
#[derive(Debug)]
struct Encoding {
    converter: RowConverter,
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
        let sort_fields = keys
            .iter()
            .chain(std::iter::once(value))
            .map(|f| SortField::new_with_options(f.data_type().clone(), last))
            .collect();
        Ok(Self {
            converter: RowConverter::new(sort_fields)?,
        })
    }

    /// The rows of one batch of arguments (value, key1, ..., keyN).
    fn encode(&self, args: &[ArrayRef]) -> Result<Rows> {
        let Some((value, keys)) = args.split_first() else {
            return exec_err!("first_by needs a value and a key");
        };
        let mut columns: Vec<ArrayRef> = keys.to_vec();
        columns.push(value.clone());
        Ok(self.converter.convert_columns(&columns)?)
    }

    /// Whether row `i` of a batch counts: its value is not NULL and the FILTER keeps it.
    fn counts(value: &ArrayRef, filter: Option<&BooleanArray>, i: usize) -> bool {
        value.is_valid(i) && filter.is_none_or(|f| f.is_valid(i) && f.value(i))
    }

    /// The values of encoded rows (`None`: the group saw no value).
    fn decode(&self, rows: &[Option<&[u8]>]) -> Result<ArrayRef> {
        let parser = self.converter.parser();
        let present: Vec<_> = rows.iter().flatten().map(|r| parser.parse(r)).collect();
        let columns = self.converter.convert_rows(present)?;
        let Some(values) = columns.last() else {
            return exec_err!("first_by decoded no value column");
        };
        let mut next = 0u32;
        let indices: UInt32Array = rows
            .iter()
            .map(|r| {
                r.map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        Ok(take(values.as_ref(), &indices, None)?)
    }
}

/// The grouped form: each group's best row so far in one arena.
#[derive(Debug)]
struct FirstByGroups {
    rows: Encoding,
    /// Per group: the range of its best row in `arena`.
    best: Vec<Option<(usize, usize)>>,
    /// Rows kept; a replaced row stays until the next compaction.
    arena: Vec<u8>,
    /// Bytes of `arena` that are some group's best row.
    live: usize,
}

impl FirstByGroups {
    fn offer(&mut self, group: usize, row: &[u8]) {
        let better = match self.best[group] {
            Some((start, end)) if row < &self.arena[start..end] => {
                self.live -= end - start;
                true
            }
            Some(_) => false,
            None => true,
        };
        if better {
            self.live += row.len();
            let start = self.arena.len();
            self.arena.extend_from_slice(row);
            self.best[group] = Some((start, self.arena.len()));
        }
    }

    /// The emitted groups' rows (the others kept, the arena compacted to them).
    fn emit(&mut self, emit_to: EmitTo) -> (Vec<Option<(usize, usize)>>, Vec<u8>) {
        let emitted = emit_to.take_needed(&mut self.best);
        let arena = std::mem::take(&mut self.arena);
        self.arena.reserve(self.live);
        for range in self.best.iter_mut().flatten() {
            let start = self.arena.len();
            self.arena.extend_from_slice(&arena[range.0..range.1]);
            *range = (start, self.arena.len());
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
                self.offer(group, rows.row(i).as_ref());
            }
        }
        self.compact_if_wasteful();
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let (emitted, arena) = self.emit(emit_to);
        let rows: Vec<Option<&[u8]>> = emitted
            .iter()
            .map(|r| r.map(|(s, e)| &arena[s..e]))
            .collect();
        self.rows.decode(&rows)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (emitted, arena) = self.emit(emit_to);
        let bytes: usize = emitted.iter().flatten().map(|(s, e)| e - s).sum();
        let mut out = BinaryBuilder::with_capacity(emitted.len(), bytes);
        for range in &emitted {
            out.append_option(range.map(|(s, e)| &arena[s..e]));
        }
        Ok(vec![Arc::new(out.finish())])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.best.resize(total_num_groups, None);
        let states = values[0].as_binary::<i32>();
        for (i, &group) in group_indices.iter().enumerate() {
            if states.is_valid(i) {
                self.offer(group, states.value(i));
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
        let states: BinaryArray = (0..value.len())
            .map(|i| Encoding::counts(value, opt_filter, i).then(|| rows.row(i)))
            .map(|r| r.map(|r| r.as_ref().to_vec()))
            .collect();
        Ok(vec![Arc::new(states)])
    }

    fn size(&self) -> usize {
        self.arena.capacity()
            + self.best.capacity() * std::mem::size_of::<Option<(usize, usize)>>()
            + self.rows.converter.size()
    }
}

/// The ungrouped form (an aggregate without GROUP BY, or a window).
#[derive(Debug)]
struct FirstByOne {
    rows: Encoding,
    best: Option<Vec<u8>>,
}

impl FirstByOne {
    fn offer(&mut self, row: &[u8]) {
        if self.best.as_deref().is_none_or(|b| row < b) {
            self.best = Some(row.to_vec());
        }
    }
}

impl Accumulator for FirstByOne {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = self.rows.encode(values)?;
        for i in 0..values[0].len() {
            if Encoding::counts(&values[0], None, i) {
                self.offer(rows.row(i).as_ref());
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let values = self.rows.decode(&[self.best.as_deref()])?;
        ScalarValue::try_from_array(&values, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.best.as_ref().map_or(0, Vec::capacity)
            + self.rows.converter.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(self.best.clone())])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let states = states[0].as_binary::<i32>();
        for i in 0..states.len() {
            if states.is_valid(i) {
                self.offer(states.value(i));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
