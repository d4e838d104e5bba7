//! Multi-touch attribution (DOMAIN.md §1–2): conversion paths, and how each model splits a
//! conversion's count and value over the path's touches. Pure Rust over plain vectors; the SQL
//! side (`functions::attribution`, `functions::attribute_paths`) feeds it and turns credits into
//! rows.
//!
//! Invariant, for every model: the credits of one conversion sum to 1 (and to its value when
//! multiplied by it); a conversion without touches is credited whole to [`UNMATCHED`].

pub mod credit;
pub mod heuristic;
pub mod markov;
pub mod paths;

use std::fmt;
use std::str::FromStr;

/// The channel credited with conversions that have no touch in the lookback window.
pub const UNMATCHED: &str = "Unmatched";
/// The channel group a Direct touch has.
pub const DIRECT: &str = "Direct";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Model {
    First,
    Last,
    LastNonDirect,
    Linear,
    Position,
    TimeDecay,
    WShaped,
    Markov,
    Shapley,
}

pub const MODELS: [Model; 9] = [
    Model::First,
    Model::Last,
    Model::LastNonDirect,
    Model::Linear,
    Model::Position,
    Model::TimeDecay,
    Model::WShaped,
    Model::Markov,
    Model::Shapley,
];

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::First => "first_touch",
            Model::Last => "last_touch",
            Model::LastNonDirect => "last_non_direct",
            Model::Linear => "linear",
            Model::Position => "position_based",
            Model::TimeDecay => "time_decay",
            Model::WShaped => "w_shaped",
            Model::Markov => "markov",
            Model::Shapley => "shapley",
        }
    }

    /// Models that need CRM milestones (lead / opportunity times) beside the path.
    pub fn needs_milestones(self) -> bool {
        self == Model::WShaped
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Model {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let alias = match wanted.as_str() {
            "first" => "first_touch",
            "last" => "last_touch",
            "position" | "u_shaped" => "position_based",
            other => other,
        };
        MODELS
            .into_iter()
            .find(|m| m.name() == alias)
            .ok_or_else(|| {
                format!(
                    "unknown attribution model `{s}`; expected one of {} (or `all`)",
                    MODELS.map(Model::name).join(", ")
                )
            })
    }
}

/// Parses `all` or one model name.
pub fn parse_models(s: &str) -> Result<Vec<Model>, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        Ok(MODELS.to_vec())
    } else {
        Ok(vec![s.parse()?])
    }
}

/// One touch of a path: what it is credited to, and when it happened (µs since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    pub key: String,
    pub ts: i64,
}

/// Model parameters (from the session's `loopql.attribution.*` settings).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub position_first: f64,
    pub position_last: f64,
    pub half_life_days: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            position_first: 0.4,
            position_last: 0.4,
            half_life_days: 7.0,
        }
    }
}

/// A conversion's CRM milestones, for the W-shaped model: when the person became a lead and an
/// opportunity (µs since the epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Milestones {
    pub lead_at: Option<i64>,
    pub opportunity_at: Option<i64>,
}

/// Sums credits per key, keeping the order keys first appear in.
pub fn merge(credits: Vec<(String, f64)>) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for (k, c) in credits {
        match out.iter_mut().find(|(o, _)| *o == k) {
            Some(e) => e.1 += c,
            None => out.push((k, c)),
        }
    }
    out
}
