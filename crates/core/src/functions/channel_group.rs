//! `channel_group(source, medium, campaign, source_category)`: GA4's default channel group rules,
//! first match wins. Which sources are search engines, social networks, video or shopping sites
//! is data (the `source_categories` table, overridable per client), looked up in SQL and passed
//! in as `source_category`.
//!
//! ```sql
//! SELECT channel_group('google', 'cpc', 'brand', 'search');  -- Paid Search
//! ```

use super::scalar_args::{DOC_SECTION, strings_to_utf8, utf8_columns};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::array::{Array, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::{Arc, LazyLock};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ChannelGroup {
    signature: Signature,
}

impl ChannelGroup {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(4, Volatility::Immutable),
        }
    }
}

impl Default for ChannelGroup {
    fn default() -> Self {
        Self::new()
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The GA4 default channel group of a source / medium / campaign, first matching rule wins: Direct, Cross-network, Paid Shopping, Paid Search, Paid Social, Paid Video, Display, Paid Other, Organic Shopping, Organic Social, Organic Video, Organic Search, Referral, Email, Affiliates, Audio, SMS, Mobile Push Notifications, Unassigned.",
        "channel_group(source, medium, campaign, source_category)",
    )
    .with_sql_example("SELECT channel_group('google', 'cpc', 'brand', 'search'); -- Paid Search")
    .with_argument("source", "utm_source / session source (case and spaces are ignored)")
    .with_argument("medium", "utm_medium / session medium")
    .with_argument("campaign", "utm_campaign / campaign name")
    .with_argument("source_category", "search, social, video or shopping for the source, from the source_categories table; NULL if none")
    .build()
});

fn paid_medium(m: &str) -> bool {
    m.contains("cp") || m == "ppc" || m == "retargeting" || m.starts_with("paid")
}

fn shopping_campaign(c: &str) -> bool {
    // ^(.*(([^a-df-z]|^)shop|shopping).*)$
    c.contains("shopping")
        || c.match_indices("shop")
            .any(|(i, _)| i == 0 || !matches!(c.as_bytes()[i - 1], b'a'..=b'd' | b'f'..=b'z'))
}

fn is_email(s: &str) -> bool {
    ["email", "e-mail", "e_mail", "e mail"]
        .iter()
        .any(|p| s.contains(p))
}

/// The rules, on trimmed lower-case inputs.
pub fn group(source: &str, medium: &str, campaign: &str, category: Option<&str>) -> &'static str {
    let (s, m, c) = (source, medium, campaign);
    let cat = |name: &str| category == Some(name);
    let paid = paid_medium(m);
    if s == "(direct)" && (m == "(none)" || m == "(not set)" || m.is_empty()) {
        "Direct"
    } else if c.contains("cross-network") {
        "Cross-network"
    } else if (cat("shopping") || shopping_campaign(c)) && paid {
        "Paid Shopping"
    } else if cat("search") && paid {
        "Paid Search"
    } else if cat("social") && paid {
        "Paid Social"
    } else if cat("video") && paid {
        "Paid Video"
    } else if matches!(
        m,
        "display" | "banner" | "expandable" | "interstitial" | "cpm"
    ) {
        "Display"
    } else if paid {
        "Paid Other"
    } else if cat("shopping") || shopping_campaign(c) {
        "Organic Shopping"
    } else if cat("social")
        || matches!(
            m,
            "social" | "social-network" | "social-media" | "sm" | "social network" | "social media"
        )
    {
        "Organic Social"
    } else if cat("video") || m.contains("video") {
        "Organic Video"
    } else if cat("search") || m == "organic" {
        "Organic Search"
    } else if matches!(m, "referral" | "app" | "link") {
        "Referral"
    } else if is_email(s) || is_email(m) {
        "Email"
    } else if m == "affiliate" {
        "Affiliates"
    } else if m == "audio" {
        "Audio"
    } else if s == "sms" || m == "sms" {
        "SMS"
    } else if m.ends_with("push")
        || m.contains("mobile")
        || m.contains("notification")
        || s == "firebase"
    {
        "Mobile Push Notifications"
    } else {
        "Unassigned"
    }
}

impl ScalarUDFImpl for ChannelGroup {
    fn name(&self) -> &str {
        "channel_group"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        strings_to_utf8(
            "channel_group(source, medium, campaign, source_category) takes four strings",
            args,
        )
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns = utf8_columns(&args.args, rows)?;
        let text: Vec<_> = columns.iter().map(|c| c.as_string::<i32>()).collect();
        let get = |k: usize, i: usize| {
            if text[k].is_null(i) {
                String::new()
            } else {
                text[k].value(i).trim().to_lowercase()
            }
        };
        let mut out = StringBuilder::with_capacity(rows, rows * 12);
        for i in 0..rows {
            let category = get(3, i);
            out.append_value(group(
                &get(0, i),
                &get(1, i),
                &get(2, i),
                (!category.is_empty()).then_some(category.as_str()),
            ));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn rule_order_first_match_wins() {
        let cases = [
            (("(direct)", "(none)", "", None), "Direct"),
            (
                ("google", "cpc", "brand cross-network", Some("search")),
                "Cross-network",
            ),
            (
                ("google", "cpc", "shopping feed", Some("search")),
                "Paid Shopping",
            ),
            (("google", "cpc", "brand", Some("search")), "Paid Search"),
            (
                ("facebook", "paid_social", "", Some("social")),
                "Paid Social",
            ),
            (("youtube", "cpv", "", Some("video")), "Paid Video"),
            (("gdn", "display", "", None), "Display"),
            (("newsletter-partner", "ppc", "", None), "Paid Other"),
            (
                ("amazon", "referral", "", Some("shopping")),
                "Organic Shopping",
            ),
            (
                ("facebook", "referral", "", Some("social")),
                "Organic Social",
            ),
            (("youtube", "referral", "", Some("video")), "Organic Video"),
            (("google", "organic", "", Some("search")), "Organic Search"),
            (("blog.example", "referral", "", None), "Referral"),
            (("newsletter", "email", "", None), "Email"),
            (("partner", "affiliate", "", None), "Affiliates"),
            (("spotify", "audio", "", None), "Audio"),
            (("sms", "text", "", None), "SMS"),
            (
                ("firebase", "notification", "", None),
                "Mobile Push Notifications",
            ),
            (("somewhere", "weird", "", None), "Unassigned"),
        ];
        for ((s, m, c, cat), want) in cases {
            assert_eq!(group(s, m, c, cat), want, "{s}/{m}/{c}/{cat:?}");
        }
    }

    #[test]
    fn shop_needs_a_word_start() {
        // "workshop" does not count as shopping; "eshop" does ("e" is the allowed letter).
        assert_eq!(group("site", "ppc", "workshop", None), "Paid Other");
        assert_eq!(group("site", "ppc", "eshop sale", None), "Paid Shopping");
    }
}
