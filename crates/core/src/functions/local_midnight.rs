//! `local_midnight(date, time_zone)`: the UTC instant a calendar day begins in a time zone given
//! per row — how date-only CRM fields (Salesforce `CloseDate`, `FirstRespondedDate`), which are
//! already days in the client's zone, become instants without passing through UTC midnight.
//!
//! ```sql
//! SELECT local_midnight(DATE '2024-03-01', 'America/New_York');  -- 2024-03-01T05:00:00Z
//! ```

use super::scalar_args::{DOC_SECTION, is_string};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMicrosecondBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalMidnight {
    signature: Signature,
}

impl LocalMidnight {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for LocalMidnight {
    fn default() -> Self {
        Self::new()
    }
}

static DOC: LazyLock<Documentation> =
    LazyLock::new(|| {
        Documentation::builder(
        DOC_SECTION,
        "The UTC instant a calendar day begins in a time zone (IANA name) given per row; when a \
         daylight-saving change skips midnight, the first instant of the day that exists.",
        "local_midnight(date, time_zone)",
    )
    .with_sql_example(
        "SELECT local_midnight(DATE '2024-03-01', 'America/New_York'); -- 2024-03-01T05:00:00Z",
    )
    .with_argument("date", "A calendar day (a DATE, or text such as '2024-03-01').")
    .with_argument("time_zone", "An IANA time zone name such as Europe/Berlin.")
    .build()
    });

/// The UTC µs at which `day` begins in `tz`.
fn midnight(day: chrono::NaiveDate, tz: &Tz) -> Option<i64> {
    use chrono::TimeZone;
    // A zone whose clocks jump at midnight has no 00:00 that day: the day starts at the first
    // local time that exists (checked in 15-minute steps, the finest offset change in use).
    (0..=8).find_map(|quarter| {
        let local = day.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(15 * quarter);
        tz.from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp_micros())
    })
}

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

impl ScalarUDFImpl for LocalMidnight {
    fn name(&self) -> &str {
        "local_midnight"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [DataType::Date32 | DataType::Date64 | DataType::Null, t] if is_string(t) => Ok(
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            [d, t] if is_string(d) && is_string(t) => Ok(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into()),
            )),
            _ => plan_err!(
                "local_midnight(date, time_zone) expects a date and a time zone name, got {args:?}"
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let days = cast(&args.args[0].to_array(rows)?, &DataType::Date32)?;
        let days = days.as_primitive::<Date32Type>();
        let zones = cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
        let zones = zones.as_string::<i32>();
        let mut cache: HashMap<&str, Tz> = HashMap::new();
        let mut out = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
        for i in 0..rows {
            if days.is_null(i) || zones.is_null(i) {
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
                            "local_midnight: `{name}` is not an IANA time zone (e.g. Europe/Berlin)"
                        );
                    }
                },
            };
            let Some(day) =
                chrono::NaiveDate::from_num_days_from_ce_opt(days.value(i) + EPOCH_DAYS_FROM_CE)
            else {
                return exec_err!("local_midnight: date out of range");
            };
            match midnight(day, &tz) {
                Some(us) => out.append_value(us),
                None => return exec_err!("local_midnight: {day} has no start in {name}"),
            }
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
    async fn a_day_begins_at_the_zones_midnight() {
        assert_eq!(
            one("SELECT local_midnight(DATE '2024-03-01', 'America/New_York')").await,
            "2024-03-01T05:00:00Z"
        );
        assert_eq!(
            one("SELECT local_midnight(DATE '2024-07-01', 'America/New_York')").await,
            "2024-07-01T04:00:00Z"
        );
        assert_eq!(
            one("SELECT local_midnight(DATE '2024-01-02', 'Europe/Berlin')").await,
            "2024-01-01T23:00:00Z"
        );
        assert_eq!(
            one("SELECT local_midnight('2024-01-02', 'Asia/Tokyo')").await,
            "2024-01-01T15:00:00Z"
        );
        // Back to the same day in the same zone.
        assert_eq!(
            one("SELECT local_date(local_midnight(DATE '2024-03-01', 'America/Los_Angeles'), 'America/Los_Angeles')").await,
            "2024-03-01"
        );
        // Santiago skips from 24:00 to 01:00 on 2024-09-08: the day begins at 01:00 local.
        assert_eq!(
            one("SELECT local_midnight(DATE '2024-09-08', 'America/Santiago')").await,
            "2024-09-08T04:00:00Z"
        );
        assert_eq!(
            one("SELECT local_midnight(CAST(NULL AS DATE), 'UTC')").await,
            ""
        );
    }

    #[tokio::test]
    async fn an_unknown_zone_is_an_error() {
        let ctx = SessionContext::new();
        crate::functions::register(&ctx).unwrap();
        let err = ctx
            .sql("SELECT local_midnight(DATE '2024-01-01', 'Mars/Olympus')")
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
