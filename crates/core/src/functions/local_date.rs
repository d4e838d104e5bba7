//! `local_date(ts, time_zone)`: the calendar day of a UTC instant in a time zone given per row —
//! how CRM and analytics timestamps become days in each client's reporting time zone.
//!
//! ```sql
//! SELECT local_date(TIMESTAMP '2024-01-01T03:30:00Z', 'America/New_York');  -- 2023-12-31
//! ```

use super::scalar_args::{DOC_SECTION, is_string};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Builder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalDate {
    signature: Signature,
}

impl LocalDate {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for LocalDate {
    fn default() -> Self {
        Self::new()
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The calendar day of a UTC timestamp in a time zone (IANA name) given per row.",
        "local_date(timestamp, time_zone)",
    )
    .with_sql_example(
        "SELECT local_date(TIMESTAMP '2024-01-01T03:30:00Z', 'America/New_York'); -- 2023-12-31",
    )
    .with_argument(
        "timestamp",
        "An instant; a timestamp without zone is taken as UTC.",
    )
    .with_argument("time_zone", "An IANA time zone name such as Europe/Berlin.")
    .build()
});

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

impl ScalarUDFImpl for LocalDate {
    fn name(&self) -> &str {
        "local_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [
                DataType::Timestamp(..) | DataType::Date32 | DataType::Null,
                t,
            ] if is_string(t) => Ok(DataType::Date32),
            _ => plan_err!(
                "local_date(timestamp, time_zone) expects a timestamp and a time zone name, got {args:?}"
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let ts = args.args[0].to_array(rows)?;
        // A date is already a calendar day (a date-only CRM field is one in the client's zone):
        // through UTC midnight it would move to the previous day west of UTC.
        if ts.data_type() == &DataType::Date32 {
            return Ok(ColumnarValue::Array(ts));
        }
        let ts = cast(&ts, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let ts = ts.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let zones = cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
        let zones = zones.as_string::<i32>();
        let mut cache: HashMap<&str, Tz> = HashMap::new();
        let mut out = Date32Builder::with_capacity(rows);
        for i in 0..rows {
            if ts.is_null(i) || zones.is_null(i) {
                out.append_null();
                continue;
            }
            let name = zones.value(i);
            let tz = match cache.get(name) {
                Some(tz) => *tz,
                None => match Tz::from_str(name) {
                    Ok(tz) => *cache.entry(name).or_insert(tz),
                    Err(_) => {
                        return exec_err!(
                            "local_date: `{name}` is not an IANA time zone (e.g. Europe/Berlin)"
                        );
                    }
                },
            };
            let Some(utc) = chrono::DateTime::from_timestamp_micros(ts.value(i)) else {
                return exec_err!("local_date: timestamp out of range");
            };
            let local = utc.with_timezone(&tz).date_naive();
            out.append_value(chrono::Datelike::num_days_from_ce(&local) - EPOCH_DAYS_FROM_CE);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    async fn one(sql: &str) -> String {
        let ctx = SessionContext::new();
        crate::functions::register(&ctx).unwrap();
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::display::array_value_to_string(batches[0].column(0), 0).unwrap()
    }

    #[tokio::test]
    async fn day_boundaries_follow_the_zone() {
        assert_eq!(
            one("SELECT local_date(TIMESTAMP '2024-01-01T03:30:00Z', 'America/New_York')").await,
            "2023-12-31"
        );
        assert_eq!(
            one("SELECT local_date(TIMESTAMP '2024-01-01T03:30:00Z', 'Europe/Berlin')").await,
            "2024-01-01"
        );
        assert_eq!(
            one("SELECT local_date(TIMESTAMP '2023-12-31T23:30:00Z', 'Asia/Tokyo')").await,
            "2024-01-01"
        );
        // Daylight saving: 2024-03-31 01:30 UTC is 03:30 CEST in Berlin.
        assert_eq!(
            one("SELECT local_date(TIMESTAMP '2024-03-31T23:30:00Z', 'Europe/Berlin')").await,
            "2024-04-01"
        );
        // A date stays the same day, whatever the zone.
        assert_eq!(
            one("SELECT local_date(DATE '2024-03-01', 'America/New_York')").await,
            "2024-03-01"
        );
        assert_eq!(
            one("SELECT local_date(CAST(NULL AS TIMESTAMP), 'UTC')").await,
            ""
        );
    }

    #[tokio::test]
    async fn an_unknown_zone_is_an_error() {
        let ctx = SessionContext::new();
        crate::functions::register(&ctx).unwrap();
        let err = ctx
            .sql("SELECT local_date(TIMESTAMP '2024-01-01T00:00:00Z', 'Mars/Olympus')")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`Mars/Olympus` is not an IANA time zone"),
            "{err}"
        );
    }
}
