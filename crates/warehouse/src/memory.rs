//! The memory a sync's queries may hold: the limit, the pool that enforces it, and the error
//! that says what to do when it is too small.

use crate::error::{EngineError, Result};
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use std::num::NonZeroUsize;
use std::sync::Arc;

/// The smallest default limit, in MiB (also what is used when the machine's memory is unknown).
pub const MIN_DEFAULT_MB: u64 = 1024;

/// How many of the biggest memory holders an exhausted-memory error names.
const NAMED_CONSUMERS: NonZeroUsize = NonZeroUsize::new(3).expect("3 is not zero");

/// The largest default limit, in MiB: with every sort spilling and every batch weighing what
/// it holds, a bigger pool buys little speed and a sync's peak memory follows the pool (a
/// demo of 10M sessions peaked at 10.5 GiB under half of 24 GiB).
pub const MAX_DEFAULT_MB: u64 = 2048;

/// The default limit: half the machine's memory (the rest is for the plugins' parse buffers,
/// the written files' page cache and everything else running), at least [`MIN_DEFAULT_MB`] and
/// at most [`MAX_DEFAULT_MB`].
pub fn default_mb() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total_mb(&text));
    default_for(total)
}

fn default_for(total_mb: Option<u64>) -> u64 {
    total_mb.map_or(MIN_DEFAULT_MB, |t| {
        (t / 2).clamp(MIN_DEFAULT_MB, MAX_DEFAULT_MB)
    })
}

/// `MemTotal` of a `/proc/meminfo` text, in MiB.
fn mem_total_mb(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value / 1024),
        _ => None,
    }
}

/// A runtime whose queries share `limit_mb` fairly; sorts spill to the OS temporary folder
/// beyond it, and the error names the biggest holders.
pub fn runtime(limit_mb: u64) -> Result<Arc<RuntimeEnv>> {
    let limit = usize::try_from(limit_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    Ok(RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(TrackConsumersPool::new(
            FairSpillPool::new(limit),
            NAMED_CONSUMERS,
        )))
        .build_arc()?)
}

/// Whether `err` is a query running out of its memory limit.
pub fn exhausted(err: &EngineError) -> bool {
    let root = match err {
        EngineError::DataFusion(e) => Some(e.find_root()),
        EngineError::Arrow(ArrowError::ExternalError(e)) => e
            .downcast_ref::<DataFusionError>()
            .map(DataFusionError::find_root),
        _ => None,
    };
    matches!(root, Some(DataFusionError::ResourcesExhausted(_)))
}

/// `err`, with what to do about it when the sync ran out of memory.
pub fn explain(err: EngineError, limit_mb: u64) -> EngineError {
    if !exhausted(&err) {
        return err;
    }
    EngineError::Mode(format!(
        "the sync needed more than its memory limit of {limit_mb} MiB: {err}\n\
         hint: run it again with a higher limit, e.g. `loopql sync --memory-mb {}`; \
         the previous snapshot is unchanged",
        limit_mb.saturating_mul(2)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_half_the_machine_between_the_minimum_and_the_maximum() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total_mb(meminfo), Some(24000));
        assert_eq!(default_for(mem_total_mb(meminfo)), MAX_DEFAULT_MB);
        assert_eq!(default_for(Some(3000)), 1500);
        assert_eq!(default_for(Some(1500)), MIN_DEFAULT_MB);
        assert_eq!(default_for(None), MIN_DEFAULT_MB);
        assert_eq!(mem_total_mb("MemTotal: 12 MB\n"), None, "unknown unit");
        assert_eq!(mem_total_mb("MemFree: 12 kB\n"), None);
    }

    #[test]
    fn running_out_of_memory_says_which_flag_to_raise() {
        let err = EngineError::DataFusion(DataFusionError::Context(
            "sorting".into(),
            Box::new(DataFusionError::ResourcesExhausted("cannot grow".into())),
        ));
        let text = explain(err, 512).to_string();
        assert!(text.contains("memory limit of 512 MiB"), "{text}");
        assert!(text.contains("--memory-mb 1024"), "{text}");
        assert!(text.contains("cannot grow"), "{text}");
        let through_arrow = EngineError::Arrow(ArrowError::ExternalError(Box::new(
            DataFusionError::ResourcesExhausted("spill failed".into()),
        )));
        assert!(
            explain(through_arrow, 64)
                .to_string()
                .contains("--memory-mb 128")
        );
        let other = explain(EngineError::Mode("no source".into()), 512);
        assert_eq!(other.to_string(), "no source");
    }
}
