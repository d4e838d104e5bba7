//! Multi-touch attribution (DOMAIN.md §1–2): conversion paths, and how each model splits a
//! conversion's count and value over the path's touches. Pure Rust over columns of integer ids
//! (`journeys.rs`); the SQL side (`functions::attribution`, `functions::attribute_paths`) feeds
//! it and turns credits into rows.
//!
//! Invariant, for every model: the credits of one conversion sum to 1 (and to its value when
//! multiplied by it); a conversion without touches is credited whole to [`UNMATCHED`].

pub mod cache;
mod chain;
pub mod credit;
mod fit;
mod grid;
pub mod heuristic;
pub mod journeys;
pub mod markov;
pub mod parallel;
pub mod paths;
pub mod persons;
pub mod shapley;

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
    EqualDistinct,
}

pub const MODELS: [Model; 10] = [
    Model::First,
    Model::Last,
    Model::LastNonDirect,
    Model::Linear,
    Model::Position,
    Model::TimeDecay,
    Model::WShaped,
    Model::Markov,
    Model::Shapley,
    Model::EqualDistinct,
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
            Model::EqualDistinct => "equal_distinct",
        }
    }

    /// Models that need CRM milestones (lead / opportunity times) beside the path.
    pub fn needs_milestones(self) -> bool {
        self == Model::WShaped
    }

    /// Models fitted on the whole population of journeys (not one conversion at a time).
    pub fn data_driven(self) -> bool {
        matches!(self, Model::Markov | Model::Shapley)
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
