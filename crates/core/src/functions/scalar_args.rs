//! What loopql's scalar functions share: the documentation section they are listed under, the
//! check that arguments are strings, and arguments as Utf8 arrays.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{ColumnarValue, DocSection};

/// The section of the function documentation every loopql function is listed under.
pub const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "loopql",
    description: Some("loopql's marketing functions"),
};

/// A string type (any of Arrow's three), or NULL.
pub fn is_string(t: &DataType) -> bool {
    t.is_null() || matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// Utf8 when every argument is a string or NULL; else a plan error saying `expected`.
pub fn strings_to_utf8(expected: &str, args: &[DataType]) -> Result<DataType> {
    if args.iter().all(is_string) {
        Ok(DataType::Utf8)
    } else {
        plan_err!("{expected}, got {args:?}")
    }
}

/// The arguments as Utf8 arrays of `rows` rows.
pub fn utf8_columns(args: &[ColumnarValue], rows: usize) -> Result<Vec<ArrayRef>> {
    args.iter()
        .map(|a| Ok(cast(&a.to_array(rows)?, &DataType::Utf8)?))
        .collect()
}
