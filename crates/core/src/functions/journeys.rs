//! What the attribution table functions read when a query runs: every conversion of the
//! clients the query asks about (each marked credited or not by the query's filters) and those
//! clients' touches, as one [`Journeys`] per client, keyed by channel or by channel and campaign.

use super::query::{client_list, collect_in_order, filter_mask};
use crate::attribution::DIRECT;
use crate::attribution::journeys::{Builder, Journeys};
use crate::attribution::persons::{PersonIds, ascending_runs, merge};
use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Date32Array, Float64Array, RecordBatch, StringViewArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, TimestampMicrosecondType};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::SessionState;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::Expr;
use std::collections::{BTreeMap, HashMap};

/// What a touch is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Channel,
    /// Channel and campaign, joined by the separator.
    ChannelCampaign(char),
}

/// Which conversions are credited.
pub enum Credited<'a> {
    /// Those the query's filters keep (every conversion of a client is still read: fits never
    /// depend on the filters).
    Filtered(&'a [Expr]),
    /// All of them, for these clients only.
    All(&'a [String]),
}

/// A text column as string views (Utf8 and dictionaries are cast without copying the text).
fn texts(batch: &RecordBatch, name: &str) -> Result<StringViewArray> {
    let c = batch.column_by_name(name).ok_or_else(|| {
        datafusion::error::DataFusionError::Plan(format!("missing column {name}"))
    })?;
    Ok(match c.data_type() {
        DataType::Utf8View => c.as_string_view().clone(),
        _ => datafusion::arrow::compute::cast(c, &DataType::Utf8View)?
            .as_string_view()
            .clone(),
    })
}

/// A timestamp column in µs (time zone dropped: instants compare the same).
fn instants(batch: &RecordBatch, name: &str) -> Result<TimestampMicrosecondArray> {
    let c = batch.column_by_name(name).ok_or_else(|| {
        datafusion::error::DataFusionError::Plan(format!("missing column {name}"))
    })?;
    let c = datafusion::arrow::compute::cast(
        c,
        &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
    )?;
    Ok(c.as_primitive::<TimestampMicrosecondType>().clone())
}

fn view_opt(a: &StringViewArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

/// A batch of conversions, its columns as read.
struct ConversionColumns {
    client: StringViewArray,
    person: StringViewArray,
    kind: StringViewArray,
    ts: TimestampMicrosecondArray,
    date: Option<Date32Array>,
    value: Option<Float64Array>,
    /// Which rows are credited (`None`: all of them).
    mark: Option<BooleanArray>,
}

impl ConversionColumns {
    fn credited(&self, i: usize) -> bool {
        self.mark
            .as_ref()
            .is_none_or(|m| m.is_valid(i) && m.value(i))
    }
}

/// A batch of touches, its columns as read.
struct TouchColumns {
    client: StringViewArray,
    person: StringViewArray,
    channel: StringViewArray,
    campaign: StringViewArray,
    ts: TimestampMicrosecondArray,
    day: Option<Date32Array>,
}

/// Each client's rows of `clients` (batches of one text column each): (batch, first row,
/// end row) runs per client slot of `index`; rows of other clients are left out.
fn runs(
    clients: &[&StringViewArray],
    index: &HashMap<&str, usize>,
) -> Vec<Vec<(usize, usize, usize)>> {
    let mut out: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); index.len()];
    for (b, client) in clients.iter().enumerate() {
        let mut i = 0;
        while i < client.len() {
            let name = view_opt(client, i);
            let mut end = i + 1;
            while end < client.len() && view_opt(client, end) == name {
                end += 1;
            }
            if let Some(&slot) = name.and_then(|n| index.get(n)) {
                out[slot].push((b, i, end));
            }
            i = end;
        }
    }
    out
}

/// A conversion row's person key, when the row counts (person, type and time known).
fn conversion_person(c: &ConversionColumns, i: usize) -> Option<&str> {
    if c.kind.is_valid(i) && c.ts.is_valid(i) {
        view_opt(&c.person, i)
    } else {
        None
    }
}

/// A touch row's person key, when the row counts (person and time known).
fn touch_person(t: &TouchColumns, i: usize) -> Option<&str> {
    if t.ts.is_valid(i) {
        view_opt(&t.person, i)
    } else {
        None
    }
}

/// One client's journeys from its runs of conversions and touches. When both come grouped by
/// person in ascending key order, persons are numbered by merging the two (no hashing of person
/// keys); otherwise each key is interned.
fn build<'a>(
    conversions: &'a [ConversionColumns],
    conversion_runs: &[(usize, usize, usize)],
    touches: &'a [TouchColumns],
    touch_runs: &[(usize, usize, usize)],
    key: Key,
    person_keys: bool,
) -> Journeys {
    let conversion_keys = conversion_runs.iter().flat_map(|&(b, from, to)| {
        (from..to).filter_map(move |i| conversion_person(&conversions[b], i))
    });
    let touch_keys = touch_runs
        .iter()
        .flat_map(|&(b, from, to)| (from..to).filter_map(move |i| touch_person(&touches[b], i)));
    // (The touches are looked at only when the conversions are in order.)
    let numbered = ascending_runs(conversion_keys)
        .and_then(|c| ascending_runs(touch_keys).map(|t| merge(&c, &t)));
    let rows = |runs: &[(usize, usize, usize)]| runs.iter().map(|(_, f, t)| t - f).sum::<usize>();
    let touch_rows = rows(touch_runs);
    let (mut builder, listed): (Builder<'a>, _) = match numbered {
        Some(n) => (Builder::listed(n.persons), Some((n.conversion, n.touch))),
        None => {
            let mut builder = Builder::default();
            // People: at most one per row; in practice about half the touches.
            builder.reserve((touch_rows / 2).max(rows(conversion_runs)), 0);
            (builder, None)
        }
    };
    builder.reserve(0, touch_rows);
    if !person_keys {
        builder.skip_person_keys();
    }
    let mut ids = PersonIds::new(listed.as_ref().map(|(c, _)| c.as_slice()));
    for &(b, from, to) in conversion_runs {
        let c = &conversions[b];
        for i in from..to {
            let Some(p) = conversion_person(c, i) else {
                continue;
            };
            let kind = c.kind.value(i);
            let day = c
                .date
                .as_ref()
                .filter(|d| d.is_valid(i))
                .map_or(i32::MIN, |d| d.value(i));
            let v = c
                .value
                .as_ref()
                .filter(|v| v.is_valid(i))
                .map_or(0.0, |v| v.value(i));
            let person = ids.id(&mut builder, p);
            builder.add_conversion(person, kind, c.ts.value(i), day, v, c.credited(i));
        }
    }
    // Campaign-level keys by (channel part, campaign part): the key's text is made once.
    let mut combined: HashMap<(u32, u32), u32> = HashMap::new();
    let mut ids = PersonIds::new(listed.as_ref().map(|(_, t)| t.as_slice()));
    for &(b, from, to) in touch_runs {
        let t = &touches[b];
        // The last channel read and its id: rows come in runs of one.
        let mut last_channel: Option<(&str, u32)> = None;
        for i in from..to {
            let Some(p) = touch_person(t, i) else {
                continue;
            };
            let at = t.ts.value(i);
            let ch = view_opt(&t.channel, i).unwrap_or("Unassigned");
            let key = match key {
                Key::Channel => match last_channel {
                    Some((text, id)) if text == ch => id,
                    _ => {
                        let id = builder.key_id(ch, ch == DIRECT);
                        last_channel = Some((ch, id));
                        id
                    }
                },
                Key::ChannelCampaign(sep) => {
                    let cp = view_opt(&t.campaign, i).unwrap_or("(not set)");
                    let parts = (builder.part_id(ch), builder.part_id(cp));
                    match combined.get(&parts) {
                        Some(k) => *k,
                        None => {
                            let k = builder.key_id(&format!("{ch}{sep}{cp}"), ch == DIRECT);
                            combined.insert(parts, k);
                            k
                        }
                    }
                }
            };
            let person = ids.id(&mut builder, p);
            let day = t
                .day
                .as_ref()
                .filter(|d| d.is_valid(i))
                .map_or(at.div_euclid(86_400_000_000) as i32, |d| d.value(i));
            builder.add_touch(person, at, day, key);
        }
    }
    builder.finish()
}

/// Reads the conversions (marking the credited ones) and touches of the clients with a
/// conversion to credit. One [`Journeys`] per client, by client id, built in parallel (up to
/// the session's target partitions). Text is read in place from the Arrow columns (interned
/// once per client: persons, keys and types become integer ids; no string per row). The
/// journeys carry their person keys only when `person_keys` asks for them.
pub async fn load(
    state: &SessionState,
    credited: Credited<'_>,
    key: Key,
    person_keys: bool,
) -> Result<BTreeMap<String, Journeys>> {
    let mut sql = String::from(
        "SELECT client_id, person_key, conversion_ts, conversion_date, type AS conversion_type, \
             COALESCE(value, 0.0) AS value FROM conversions \
             WHERE person_key IS NOT NULL AND conversion_ts IS NOT NULL",
    );
    if let Credited::All(clients) = credited {
        if clients.is_empty() {
            return Ok(BTreeMap::new());
        }
        sql.push_str(&format!(" AND {}", client_list(clients)));
    }
    let mut conversions: Vec<ConversionColumns> = Vec::new();
    for batch in collect_in_order(state, &sql).await? {
        conversions.push(ConversionColumns {
            client: texts(&batch, "client_id")?,
            person: texts(&batch, "person_key")?,
            kind: texts(&batch, "conversion_type")?,
            ts: instants(&batch, "conversion_ts")?,
            date: batch
                .column_by_name("conversion_date")
                .map(|c| c.as_primitive::<Date32Type>().clone()),
            value: batch
                .column_by_name("value")
                .map(|c| c.as_primitive::<Float64Type>().clone()),
            mark: match credited {
                Credited::Filtered(filters) => Some(filter_mask(state, filters, &batch)?),
                Credited::All(_) => None,
            },
        });
    }
    // Clients with a conversion to credit; a client's conversions of every type stay (a
    // person's lead and opportunity are milestones of their deals).
    let mut names: Vec<String> = Vec::new();
    for c in &conversions {
        let mut last: Option<&str> = None;
        for i in 0..c.client.len() {
            let Some(name) = view_opt(&c.client, i) else {
                continue;
            };
            if last == Some(name) || !c.credited(i) {
                continue;
            }
            last = Some(name);
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names.sort_unstable();
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "SELECT client_id, person_key, touch_ts, touch_date, channel, campaign FROM touchpoints \
         WHERE person_key IS NOT NULL AND touch_ts IS NOT NULL AND {}",
        client_list(&names)
    );
    let mut touches: Vec<TouchColumns> = Vec::new();
    for batch in collect_in_order(state, &sql).await? {
        touches.push(TouchColumns {
            client: texts(&batch, "client_id")?,
            person: texts(&batch, "person_key")?,
            channel: texts(&batch, "channel")?,
            campaign: texts(&batch, "campaign")?,
            ts: instants(&batch, "touch_ts")?,
            day: batch
                .column_by_name("touch_date")
                .map(|c| c.as_primitive::<Date32Type>().clone()),
        });
    }
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let conversion_runs = runs(
        &conversions.iter().map(|c| &c.client).collect::<Vec<_>>(),
        &index,
    );
    let touch_runs = runs(
        &touches.iter().map(|t| &t.client).collect::<Vec<_>>(),
        &index,
    );
    // Largest clients first, one at a time per thread.
    let mut order: Vec<usize> = (0..names.len()).collect();
    let size =
        |slot: usize| -> usize { touch_runs[slot].iter().map(|(_, from, to)| to - from).sum() };
    order.sort_by_key(|&slot| std::cmp::Reverse(size(slot)));
    let threads = state.config().target_partitions();
    // (On this task's thread: the workers borrow the columns read above.)
    let built = crate::attribution::parallel::each(threads, &order, |&slot| {
        (
            slot,
            build(
                &conversions,
                &conversion_runs[slot],
                &touches,
                &touch_runs[slot],
                key,
                person_keys,
            ),
        )
    });
    let mut by_slot: Vec<Option<Journeys>> = names.iter().map(|_| None).collect();
    for (slot, journeys) in built.into_iter().flatten() {
        by_slot[slot] = Some(journeys);
    }
    names
        .into_iter()
        .zip(by_slot)
        .map(|(name, journeys)| {
            journeys.map(|j| (name, j)).ok_or_else(|| {
                datafusion::error::DataFusionError::Execution(
                    "building a client's journeys failed (a worker thread panicked)".into(),
                )
            })
        })
        .collect()
}

/// Reserves `bytes` of `what` (say, "the journeys") in the query's memory pool under
/// `function`'s name, so a per-query limit limits the table function too: past it, a resources
/// error naming the function, the clients, the size and the limit.
pub fn reserve(
    state: &SessionState,
    function: &str,
    what: &str,
    clients: &[String],
    bytes: usize,
) -> Result<MemoryReservation> {
    let reservation = MemoryConsumer::new(function).register(&state.runtime_env().memory_pool);
    grow(&reservation, function, what, clients, bytes)?;
    Ok(reservation)
}

/// Grows `reservation` by `bytes` of `what`, with [`reserve`]'s error past the limit.
pub fn grow(
    reservation: &MemoryReservation,
    function: &str,
    what: &str,
    clients: &[String],
    bytes: usize,
) -> Result<()> {
    reservation.try_grow(bytes).map_err(|why| {
        DataFusionError::ResourcesExhausted(format!(
            "{function}: {what} of {} ({} MiB) do not fit in the memory allowed: {why}",
            clients.join(", "),
            bytes.div_ceil(1 << 20)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (person, ts, channel) touches and (person, ts, type) conversions of client `c`, as read.
    fn columns(
        touches: &[(&str, i64, &str)],
        conversions: &[(&str, i64, &str)],
    ) -> (Vec<ConversionColumns>, Vec<TouchColumns>) {
        let views = |v: Vec<&str>| StringViewArray::from(v);
        let conversion = ConversionColumns {
            client: views(vec!["c"; conversions.len()]),
            person: views(conversions.iter().map(|r| r.0).collect()),
            kind: views(conversions.iter().map(|r| r.2).collect()),
            ts: TimestampMicrosecondArray::from(
                conversions.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            date: None,
            value: None,
            mark: None,
        };
        let touch = TouchColumns {
            client: views(vec!["c"; touches.len()]),
            person: views(touches.iter().map(|r| r.0).collect()),
            channel: views(touches.iter().map(|r| r.2).collect()),
            campaign: views(vec!["x"; touches.len()]),
            ts: TimestampMicrosecondArray::from(touches.iter().map(|r| r.1).collect::<Vec<_>>()),
            day: None,
        };
        (vec![conversion], vec![touch])
    }

    /// A person's key, touches (time, key) and conversions (time, type).
    type Person = (String, Vec<(i64, String)>, Vec<(i64, String)>);

    /// Every person's touches and conversions by key (ids left out).
    fn by_key(j: &Journeys) -> Vec<Person> {
        let mut out: Vec<_> = (0..j.persons() as u32)
            .map(|p| {
                let (ts, keys) = j.touches(p);
                let touches = ts
                    .iter()
                    .zip(keys)
                    .map(|(t, k)| (*t, j.keys.text[*k as usize].clone()))
                    .collect();
                let conversions = j
                    .conversions
                    .iter()
                    .filter(|c| c.person == p)
                    .map(|c| (c.ts, j.types[c.kind as usize].clone()))
                    .collect();
                (
                    j.person_keys
                        .as_ref()
                        .unwrap()
                        .value(p as usize)
                        .to_string(),
                    touches,
                    conversions,
                )
            })
            .collect();
        out.sort();
        out
    }

    fn journeys(touches: &[(&str, i64, &str)], conversions: &[(&str, i64, &str)]) -> Journeys {
        let (c, t) = columns(touches, conversions);
        build(
            &c,
            &[(0, 0, conversions.len())],
            &t,
            &[(0, 0, touches.len())],
            Key::Channel,
            true,
        )
    }

    #[test]
    fn persons_numbered_by_merging_sorted_rows_give_the_journeys_of_interned_ones() {
        let touches = [
            ("ann", 1, "Email"),
            ("ann", 5, "Paid Search"),
            ("bob", 2, "Direct"),
            ("dan", 3, "Email"),
        ];
        let conversions = [
            ("ann", 6, "lead"),
            ("carl", 7, "lead"),
            ("dan", 8, "won_deal"),
        ];
        let sorted = journeys(&touches, &conversions);
        // The same rows out of key order: persons are interned instead.
        let mut shuffled_touches = touches;
        shuffled_touches.reverse();
        let mut shuffled_conversions = conversions;
        shuffled_conversions.swap(0, 2);
        let interned = journeys(&shuffled_touches, &shuffled_conversions);
        assert_eq!(by_key(&sorted), by_key(&interned));
        assert_eq!(sorted.persons(), 4, "ann, bob, carl, dan once each");
        assert_eq!(
            (0..4)
                .map(|p| sorted.person_keys.as_ref().unwrap().value(p))
                .collect::<Vec<_>>(),
            ["ann", "bob", "carl", "dan"],
            "numbered in key order"
        );
        let carl = by_key(&sorted).into_iter().find(|p| p.0 == "carl").unwrap();
        assert!(carl.1.is_empty() && carl.2 == [(7, "lead".to_string())]);
    }
}
