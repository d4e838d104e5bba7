//! loopql's session settings, under DataFusion's `loopql.` config namespace: `SET
//! loopql.attribution.lookback_days = 14` changes the next query, `SHOW ALL` lists them. Values are
//! checked when set, so a typo fails the `SET` with the allowed values rather than a later query.

use datafusion::common::config::{ConfigExtension, ConfigField, Visit};
use datafusion::common::{Result, config_err, config_namespace, extensions_options};
use std::fmt;
use std::str::FromStr;

/// How a path's repeated channels are treated before crediting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathTransform {
    /// The touches as they happened.
    #[default]
    Unique,
    /// Consecutive repeats collapse: A, B, B, C -> A, B, C.
    Exposure,
    /// Only each channel's first occurrence: A, B, A, C -> A, B, C.
    First,
}

/// What happens to Direct touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirectPolicy {
    #[default]
    Keep,
    /// Direct touches are dropped (an all-Direct path becomes empty: `Unmatched`).
    Exclude,
    /// Direct touches are dropped unless the whole path is Direct.
    LastNonDirect,
}

macro_rules! choice {
    ($ty:ident, $what:literal, $($variant:ident => $text:literal),+) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($ty::$variant => $text),+ })
            }
        }

        impl FromStr for $ty {
            type Err = datafusion::error::DataFusionError;
            fn from_str(s: &str) -> Result<Self> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($ty::$variant),)+
                    other => config_err!(
                        "{} must be one of {}; found `{other}`",
                        $what,
                        [$($text),+].join(", ")
                    ),
                }
            }
        }

        impl ConfigField for $ty {
            fn visit<V: Visit>(&self, v: &mut V, key: &str, description: &'static str) {
                v.some(key, self, description)
            }

            fn set(&mut self, _key: &str, value: &str) -> Result<()> {
                *self = value.parse()?;
                Ok(())
            }
        }
    };
}

choice!(PathTransform, "loopql.attribution.path_transform",
    Unique => "unique", Exposure => "exposure", First => "first");
choice!(DirectPolicy, "loopql.attribution.direct_policy",
    Keep => "keep", Exclude => "exclude", LastNonDirect => "last_non_direct");

config_namespace! {
    /// Conversion paths and attribution models (DOMAIN.md §1–2).
    pub struct AttributionOptions {
        /// Days before a conversion whose touches form its path.
        pub lookback_days: u64, default = 30
        /// Keep only the last N touches of a path (0: all).
        pub lookback_steps: u64, default = 0
        /// unique (as is), exposure (collapse consecutive repeats), first (first occurrence of
        /// each channel).
        pub path_transform: PathTransform, default = PathTransform::Unique
        /// keep, exclude (drop Direct touches) or last_non_direct (drop them unless the whole
        /// path is Direct).
        pub direct_policy: DirectPolicy, default = DirectPolicy::Keep
        /// Position-based model: the first touch's share (n >= 3).
        pub position_first_share: f64, default = 0.4
        /// Position-based model: the last touch's share (n >= 3).
        pub position_last_share: f64, default = 0.4
        /// Time-decay model: half-life in days.
        pub half_life_days: f64, default = 7.0
        /// Markov model: order (1-4), the number of last channels a state remembers.
        pub markov_order: u64, default = 1
    }
}

config_namespace! {
    /// Cross-source comparison of conversions and revenue.
    pub struct TriangulationOptions {
        /// A gap between a source and the CRM beyond this share of the CRM's number is flagged.
        pub tolerance: f64, default = 0.2
    }
}

config_namespace! {
    /// Forecasts (the `forecast` table function and the `forecast_daily` view).
    pub struct ForecastOptions {
        /// Days ahead to forecast when forecast() is called without a horizon.
        pub horizon_days: u64, default = 30
        /// Coverage of the prediction interval (0.5 to 0.999).
        pub interval: f64, default = 0.95
        /// The attribution model whose credits make the conversions and revenue series.
        pub model: String, default = "linear".to_string()
    }
}

extensions_options! {
    /// Every loopql setting, under `loopql.`.
    pub struct LoopqlOptions {
        /// Conversion paths and attribution models.
        pub attribution: AttributionOptions, default = AttributionOptions::default()
        /// Cross-source comparison (the `triangulation` view).
        pub triangulation: TriangulationOptions, default = TriangulationOptions::default()
        /// Forecasts.
        pub forecast: ForecastOptions, default = ForecastOptions::default()
    }
}

impl ConfigExtension for LoopqlOptions {
    const PREFIX: &'static str = "loopql";
}

impl AttributionOptions {
    /// Checks values that are valid alone but not for the models.
    pub fn validate(&self) -> Result<()> {
        let (f, l) = (self.position_first_share, self.position_last_share);
        if !(0.0..=1.0).contains(&f) || !(0.0..=1.0).contains(&l) || f + l > 1.0 {
            return config_err!(
                "loopql.attribution.position_first_share and position_last_share must be in [0, 1] \
                 and add up to at most 1; found {f} and {l}"
            );
        }
        if self.half_life_days.is_nan() || self.half_life_days <= 0.0 {
            return config_err!(
                "loopql.attribution.half_life_days must be above 0; found {}",
                self.half_life_days
            );
        }
        if !(1..=4).contains(&self.markov_order) {
            return config_err!(
                "loopql.attribution.markov_order must be 1 to 4; found {}",
                self.markov_order
            );
        }
        Ok(())
    }
}

/// The session's loopql settings (defaults when the session has none).
pub fn of(config: &datafusion::common::config::ConfigOptions) -> LoopqlOptions {
    config
        .extensions
        .get::<LoopqlOptions>()
        .cloned()
        .unwrap_or_default()
}

/// Registers the settings on a session config.
pub fn install(config: datafusion::prelude::SessionConfig) -> datafusion::prelude::SessionConfig {
    config.with_option_extension(LoopqlOptions::default())
}
