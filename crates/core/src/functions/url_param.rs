//! `url_param(url, name)`: the value of query parameter `name` in `url`, percent-decoded (`+` as
//! a space); NULL when the URL has no such parameter. Names match exactly, as browsers and
//! analytics tools do (`utm_source`, `gclid`, ...); the first occurrence wins; a `#fragment` is
//! not part of the query.
//!
//! ```sql
//! SELECT url_param('https://shop.example/?utm_source=news%20letter&gclid=abc', 'utm_source');
//! -- news letter
//! ```

use super::scalar_args::{DOC_SECTION, strings_to_utf8, utf8_columns};
use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::{Arc, LazyLock};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UrlParam {
    signature: Signature,
}

impl UrlParam {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for UrlParam {
    fn default() -> Self {
        Self::new()
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The percent-decoded value of a query parameter of a URL (`+` read as a space), or NULL \
         when the URL has none. Used to read UTMs and click ids from landing pages.",
        "url_param(url, name)",
    )
    .with_sql_example(
        "SELECT url_param('https://shop.example/?utm_source=news%20letter&gclid=abc', 'utm_source'); -- news letter",
    )
    .with_argument("url", "a URL, e.g. a landing page's page_location")
    .with_argument("name", "the parameter's name, matched exactly")
    .build()
});

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` (`+` as a space); malformed escapes are kept as written, and invalid
/// UTF-8 is replaced rather than refused.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded value of parameter `name` in `url`'s query string.
pub fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or("");
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key) == name).then(|| decode(value))
    })
}

impl ScalarUDFImpl for UrlParam {
    fn name(&self) -> &str {
        "url_param"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        strings_to_utf8("url_param(url, name) takes two strings", args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns = utf8_columns(&args.args, rows)?;
        let (urls, names) = (columns[0].as_string::<i32>(), columns[1].as_string::<i32>());
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for i in 0..rows {
            if urls.is_null(i) || names.is_null(i) {
                out.append_null();
            } else {
                out.append_option(param(urls.value(i), names.value(i)));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[cfg(test)]
mod tests {
    use super::param;

    #[test]
    fn finds_decodes_and_stops_at_the_fragment() {
        let url = "https://x.example/p?utm_source=news%20letter&utm_campaign=Spring+Sale&gclid=a%2Fb#utm_medium=x";
        assert_eq!(param(url, "utm_source").as_deref(), Some("news letter"));
        assert_eq!(param(url, "utm_campaign").as_deref(), Some("Spring Sale"));
        assert_eq!(param(url, "gclid").as_deref(), Some("a/b"));
        assert_eq!(param(url, "utm_medium"), None);
        assert_eq!(param("https://x.example/", "gclid"), None);
    }

    #[test]
    fn first_occurrence_wins_and_bad_escapes_are_kept() {
        assert_eq!(param("/?a=1&a=2", "a").as_deref(), Some("1"));
        assert_eq!(param("/?a=100%&b", "a").as_deref(), Some("100%"));
        assert_eq!(param("/?a=%zz", "a").as_deref(), Some("%zz"));
        assert_eq!(param("/?flag&a=", "flag").as_deref(), Some(""));
        assert_eq!(param("/?a=%E2%82%AC", "a").as_deref(), Some("€"));
    }
}
