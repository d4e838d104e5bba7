//! The export's nested records (as either reader gives them) flattened into the two raw
//! tables, column by column: fields found by their path through records (NULL under a NULL
//! record), cast to the table's types, and the parameters `events` carries found per row.

use crate::events::{EVENTS_SCHEMA, PARAMS_SCHEMA};
use loopql_connector_sdk::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int64Array, ListArray,
    RecordBatch, StringArray, StringBuilder, StructArray, TimestampMicrosecondArray, UInt32Array,
};
use loopql_connector_sdk::arrow::buffer::NullBuffer;
use loopql_connector_sdk::arrow::compute::{CastOptions, cast_with_options, take};
use loopql_connector_sdk::arrow::datatypes::{DataType, Fields};
use loopql_connector_sdk::csv_table::parse_date;
use std::sync::Arc;

/// Why the columnar path gave up on a file (it is then read row by row).
pub type Failed = String;

/// A column of a nested batch by its path through structs, NULL where any parent is NULL;
/// `None` when the export does not have it.
fn leaf(columns: &[ArrayRef], names: &Fields, path: &[&str]) -> Option<ArrayRef> {
    let (first, rest) = path.split_first()?;
    let (i, _) = names.find(first)?;
    let column = columns[i].clone();
    match rest {
        [] => Some(column),
        _ => {
            let parent = column.as_struct_opt()?;
            let child = leaf(parent.columns(), parent.fields(), rest)?;
            with_parent_nulls(child, parent.nulls())
        }
    }
}

fn with_parent_nulls(child: ArrayRef, parent: Option<&NullBuffer>) -> Option<ArrayRef> {
    let Some(parent) = parent else {
        return Some(child);
    };
    // Both readers already leave a NULL record's fields NULL: check (a bitmap operation)
    // rather than rebuild the column.
    let valid_under_null = match child.nulls() {
        Some(c) => (&!parent.inner() & c.inner()).count_set_bits(),
        None => parent.null_count(),
    };
    if valid_under_null == 0 {
        return Some(child);
    }
    let parent_valid = BooleanArray::new(parent.inner().clone(), None);
    let not_valid = loopql_connector_sdk::arrow::compute::not(&parent_valid).ok()?;
    loopql_connector_sdk::arrow::compute::nullif(&child, &not_valid).ok()
}

fn cast_to(array: Option<ArrayRef>, rows: usize, to: &DataType) -> Result<ArrayRef, Failed> {
    let Some(array) = array else {
        return Ok(loopql_connector_sdk::arrow::array::new_null_array(to, rows));
    };
    if array.data_type() == to {
        return Ok(array);
    }
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(&array, to, &strict).map_err(|e| e.to_string())
}

fn strings(array: Option<ArrayRef>, rows: usize) -> Result<StringArray, Failed> {
    Ok(cast_to(array, rows, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

fn ints(array: Option<ArrayRef>, rows: usize) -> Result<Int64Array, Failed> {
    Ok(cast_to(array, rows, &DataType::Int64)?
        .as_primitive::<loopql_connector_sdk::arrow::datatypes::Int64Type>()
        .clone())
}

fn floats(array: Option<ArrayRef>, rows: usize) -> Result<Float64Array, Failed> {
    Ok(cast_to(array, rows, &DataType::Float64)?
        .as_primitive::<loopql_connector_sdk::arrow::datatypes::Float64Type>()
        .clone())
}

/// The columns every row of both tables carries: day, time, name (required) and the user.
struct Heads {
    day: Date32Array,
    time: TimestampMicrosecondArray,
    name: StringArray,
    user_pseudo_id: StringArray,
}

fn heads(batch: &RecordBatch) -> Result<Heads, Failed> {
    let (columns, fields, rows) = (
        batch.columns(),
        batch.schema().fields().clone(),
        batch.num_rows(),
    );
    let get = |name: &str| leaf(columns, &fields, &[name]);
    let day = match get("event_date") {
        Some(d) if d.data_type() == &DataType::Date32 => d
            .as_primitive::<loopql_connector_sdk::arrow::datatypes::Date32Type>()
            .clone(),
        other => {
            let text = strings(other, rows)?;
            let days: Option<Vec<i32>> = (0..rows)
                .map(|i| {
                    text.is_valid(i)
                        .then(|| parse_date(text.value(i)))
                        .flatten()
                })
                .collect();
            Date32Array::from(days.ok_or("event_date: missing or not YYYYMMDD")?)
        }
    };
    let micros = ints(get("event_timestamp"), rows)?;
    let name = strings(get("event_name"), rows)?;
    if day.null_count() + micros.null_count() + name.null_count() > 0 {
        return Err("a required field is missing".into());
    }
    let time = TimestampMicrosecondArray::new(micros.values().clone(), None).with_timezone("UTC");
    Ok(Heads {
        day,
        time,
        name,
        user_pseudo_id: strings(get("user_pseudo_id"), rows)?,
    })
}

/// `event_params`: the list, and its items' key and four values (all items of the batch).
struct Params {
    list: ListArray,
    key: StringArray,
    string_value: StringArray,
    int_value: Int64Array,
    float_value: Float64Array,
    double_value: Float64Array,
}

fn params(batch: &RecordBatch) -> Result<Option<Params>, Failed> {
    let Some(column) = batch.column_by_name("event_params") else {
        return Ok(None);
    };
    let list = column
        .as_list_opt::<i32>()
        .ok_or("event_params is not a list")?
        .clone();
    let items: &StructArray = list
        .values()
        .as_struct_opt()
        .ok_or("event_params items are not records")?;
    let n = items.len();
    let (columns, fields) = (items.columns(), items.fields());
    let key = strings(leaf(columns, fields, &["key"]), n)?;
    // Serde's row path needs `key` and `value` on every parameter; so does this one.
    let value = leaf(columns, fields, &["value"]).ok_or("a parameter has no value")?;
    let (start, end) = item_range(&list);
    if key.slice(start, end - start).null_count() > 0
        || value.slice(start, end - start).null_count() > 0
    {
        return Err("a parameter has no key or no value".into());
    }
    let value_of = |name: &str| leaf(columns, fields, &["value", name]);
    Ok(Some(Params {
        string_value: strings(value_of("string_value"), n)?,
        int_value: ints(value_of("int_value"), n)?,
        float_value: floats(value_of("float_value"), n)?,
        double_value: floats(value_of("double_value"), n)?,
        key,
        list,
    }))
}

/// The range of items the list's rows use.
fn item_range(list: &ListArray) -> (usize, usize) {
    let offsets = list.value_offsets();
    (offsets[0] as usize, offsets[offsets.len() - 1] as usize)
}

/// The items of row `row` (none when the list is NULL).
fn items_of(list: &ListArray, row: usize) -> std::ops::Range<usize> {
    if list.is_null(row) {
        return 0..0;
    }
    let offsets = list.value_offsets();
    offsets[row] as usize..offsets[row + 1] as usize
}

impl Params {
    /// For each parameter the `events` table flattens (in its column order: ga_session_id,
    /// ga_session_number, session_engaged, engagement_time_msec, page_location, page_referrer,
    /// currency), each row's first item with that key.
    fn firsts(&self, rows: usize) -> [Vec<Option<usize>>; 7] {
        let mut found: [Vec<Option<usize>>; 7] = std::array::from_fn(|_| vec![None; rows]);
        let items =
            (0..rows).flat_map(|row| items_of(&self.list, row).map(move |item| (row, item)));
        for (row, item) in items {
            let k = match self.key.value(item) {
                "ga_session_id" => 0,
                "ga_session_number" => 1,
                "session_engaged" => 2,
                "engagement_time_msec" => 3,
                "page_location" => 4,
                "page_referrer" => 5,
                "currency" => 6,
                _ => continue,
            };
            found[k][row].get_or_insert(item);
        }
        found
    }

    /// The parameter as an integer: its int value, else its string value if that is one, else
    /// its double or float value truncated (as the row path reads it).
    fn int(&self, item: Option<usize>) -> Option<i64> {
        let i = item?;
        if self.int_value.is_valid(i) {
            return Some(self.int_value.value(i));
        }
        if self.string_value.is_valid(i)
            && let Ok(v) = self.string_value.value(i).trim().parse()
        {
            return Some(v);
        }
        [&self.double_value, &self.float_value]
            .into_iter()
            .find(|a| a.is_valid(i))
            .map(|a| a.value(i) as i64)
    }

    /// The parameters as text: the string value, else the int value written out.
    fn texts(&self, items: &[Option<usize>]) -> StringArray {
        let mut out = StringBuilder::with_capacity(items.len(), items.len() * 32);
        for item in items {
            match *item {
                Some(i) if self.string_value.is_valid(i) => {
                    out.append_value(self.string_value.value(i));
                }
                Some(i) if self.int_value.is_valid(i) => {
                    out.append_value(self.int_value.value(i).to_string());
                }
                _ => out.append_null(),
            }
        }
        out.finish()
    }
}

pub fn flat_events(batch: &RecordBatch) -> Result<RecordBatch, Failed> {
    let rows = batch.num_rows();
    let heads = heads(batch)?;
    let (columns, fields) = (batch.columns(), batch.schema().fields().clone());
    let text = |path: &[&str]| -> Result<ArrayRef, Failed> {
        Ok(Arc::new(strings(leaf(columns, &fields, path), rows)?))
    };
    let params = params(batch)?;
    let firsts = params.as_ref().map(|p| p.firsts(rows));
    let int_param = |k: usize| -> Int64Array {
        match (&params, &firsts) {
            (Some(p), Some(f)) => f[k].iter().map(|&i| p.int(i)).collect(),
            _ => Int64Array::new_null(rows),
        }
    };
    let text_param = |k: usize| -> ArrayRef {
        Arc::new(match (&params, &firsts) {
            (Some(p), Some(f)) => p.texts(&f[k]),
            _ => StringArray::new_null(rows),
        })
    };
    let engaged: BooleanArray = int_param(2).iter().map(|v| v.map(|v| v != 0)).collect();
    let cts = |name: &'static str| text(&["collected_traffic_source", name]);
    let out: Vec<ArrayRef> = vec![
        Arc::new(heads.day),
        Arc::new(heads.time),
        Arc::new(heads.name),
        text(&["user_id"])?,
        Arc::new(heads.user_pseudo_id),
        Arc::new(int_param(0)),
        Arc::new(int_param(1)),
        Arc::new(engaged),
        Arc::new(int_param(3)),
        text_param(4),
        text_param(5),
        text(&["traffic_source", "name"])?,
        text(&["traffic_source", "medium"])?,
        text(&["traffic_source", "source"])?,
        cts("manual_source")?,
        cts("manual_medium")?,
        cts("manual_campaign_name")?,
        cts("manual_term")?,
        cts("manual_content")?,
        cts("gclid")?,
        text(&["device", "category"])?,
        text(&["geo", "country"])?,
        text(&["ecommerce", "transaction_id"])?,
        Arc::new(floats(
            leaf(columns, &fields, &["ecommerce", "purchase_revenue"]),
            rows,
        )?),
        text_param(6),
    ];
    RecordBatch::try_new(EVENTS_SCHEMA.clone(), out).map_err(|e| e.to_string())
}

pub fn flat_params(batch: &RecordBatch) -> Result<RecordBatch, Failed> {
    let rows = batch.num_rows();
    let heads = heads(batch)?;
    let Some(p) = params(batch)? else {
        return Ok(RecordBatch::new_empty(PARAMS_SCHEMA.clone()));
    };
    // Which event each item belongs to, and the items in order (NULL lists have none).
    let mut event_of = Vec::with_capacity(p.key.len());
    let mut item_of = Vec::with_capacity(p.key.len());
    for row in 0..rows {
        for item in items_of(&p.list, row) {
            event_of.push(row as u32);
            item_of.push(item as u32);
        }
    }
    let (event_of, item_of) = (UInt32Array::from(event_of), UInt32Array::from(item_of));
    let per_event = |a: &dyn Array| take(a, &event_of, None).map_err(|e| e.to_string());
    let per_item = |a: &dyn Array| take(a, &item_of, None).map_err(|e| e.to_string());
    let out: Vec<ArrayRef> = vec![
        per_event(&heads.day)?,
        per_event(&heads.time)?,
        per_event(&heads.name)?,
        per_event(&heads.user_pseudo_id)?,
        per_item(&p.key)?,
        per_item(&p.string_value)?,
        per_item(&p.int_value)?,
        per_item(&p.float_value)?,
        per_item(&p.double_value)?,
    ];
    RecordBatch::try_new(PARAMS_SCHEMA.clone(), out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::arrow::datatypes::Field;

    #[test]
    fn a_null_record_makes_its_fields_null() {
        let names = StringArray::from(vec![Some("a"), Some("b"), None]);
        let record = StructArray::new(
            Fields::from(vec![Field::new("category", DataType::Utf8, true)]),
            vec![Arc::new(names) as ArrayRef],
            Some(NullBuffer::from(vec![true, false, true])),
        );
        let fields = Fields::from(vec![Field::new("device", record.data_type().clone(), true)]);
        let got = leaf(
            &[Arc::new(record) as ArrayRef],
            &fields,
            &["device", "category"],
        )
        .unwrap();
        let got = got.as_string::<i32>();
        assert_eq!(got.iter().collect::<Vec<_>>(), [Some("a"), None, None]);
    }
}
