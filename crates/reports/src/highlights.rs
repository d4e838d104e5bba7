//! Highlights: the keys (e.g. campaigns) whose metric (e.g. ROAS) rose most and fell most versus
//! the previous period — achievements and challenges side by side.

use super::run::Table;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::{DataFusionError, Result};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub key: String,
    pub current: f64,
    pub previous: f64,
}

impl Move {
    pub fn change(&self) -> f64 {
        self.current - self.previous
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Highlights {
    pub key: String,
    pub metric: String,
    /// Biggest rises first.
    pub wins: Vec<Move>,
    /// Biggest falls first.
    pub problems: Vec<Move>,
}

fn values(t: &Table, key: &str, metric: &str) -> Result<BTreeMap<String, f64>> {
    let find = |name: &str| {
        t.column(name)
            .map_err(|m| DataFusionError::Plan(format!("highlights: {m}")))
    };
    let (k, m) = (find(key)?, find(metric)?);
    let mut out = BTreeMap::new();
    for b in &t.batches {
        let keys = ArrayFormatter::try_new(b.column(k).as_ref(), &FormatOptions::default())?;
        let nums = cast(b.column(m), &DataType::Float64)?;
        let nums = nums.as_primitive::<Float64Type>();
        for r in 0..b.num_rows() {
            if !nums.is_null(r) && nums.value(r).is_finite() {
                out.insert(keys.value(r).to_string(), nums.value(r));
            }
        }
    }
    Ok(out)
}

pub fn compute(
    current: &Table,
    previous: &Table,
    key: &str,
    metric: &str,
    top: usize,
) -> Result<Highlights> {
    let now = values(current, key, metric)?;
    let before = values(previous, key, metric)?;
    let mut moves: Vec<Move> = now
        .iter()
        .filter_map(|(k, &c)| {
            before.get(k).map(|&p| Move {
                key: k.clone(),
                current: c,
                previous: p,
            })
        })
        .collect();
    moves.sort_by(|a, b| b.change().total_cmp(&a.change()).then(a.key.cmp(&b.key)));
    let wins = moves
        .iter()
        .filter(|m| m.change() > 0.0)
        .take(top)
        .cloned()
        .collect();
    let problems = moves
        .iter()
        .rev()
        .filter(|m| m.change() < 0.0)
        .take(top)
        .cloned()
        .collect();
    Ok(Highlights {
        key: key.to_string(),
        metric: metric.to_string(),
        wins,
        problems,
    })
}
