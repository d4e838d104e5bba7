//! The key rows of a batch, encoded once per thread for all the `first_by`s over the same key
//! arrays: an aggregation hands each of its accumulators the same batch one after another on
//! one thread, and a column argument is the batch's own array (the same `Arc`), so the second
//! `first_by` over the same keys finds the first one's rows here.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::row::{RowConverter, Rows};
use datafusion::common::Result;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Weak};

/// How many key lists a thread remembers: a query's `first_by`s may order by a few different
/// key lists, and several aggregations may take turns on one thread.
const REMEMBERED: usize = 4;

/// One batch's key arrays and their rows.
struct Encoded {
    /// The arrays, held weakly: their buffers are freed with the batch, while the allocation
    /// a `Weak` keeps means no other array can take the same address as long as the entry
    /// lives — comparing addresses is exact.
    arrays: Vec<Weak<dyn Array>>,
    rows: Rc<Rows>,
}

impl Encoded {
    fn is_of(&self, keys: &[ArrayRef]) -> bool {
        self.arrays.len() == keys.len()
            && self
                .arrays
                .iter()
                .zip(keys)
                .all(|(kept, key)| std::ptr::addr_eq(kept.as_ptr(), Arc::as_ptr(key)))
    }

    fn is_alive(&self) -> bool {
        self.arrays.iter().all(|kept| kept.strong_count() > 0)
    }
}

thread_local! {
    static ENCODED: RefCell<Vec<Encoded>> = const { RefCell::new(Vec::new()) };
}

/// The rows of `keys` as `converter` encodes them, from this thread's last encoding of the same
/// arrays when there is one. Every `first_by` encodes its keys with the same options (ascending,
/// NULLs last) and a converter for the arrays' own types, so the same arrays give the same bytes
/// whichever converter encoded them.
pub(super) fn key_rows(converter: &RowConverter, keys: &[ArrayRef]) -> Result<Rc<Rows>> {
    ENCODED.with(|cell| {
        let mut remembered = cell.borrow_mut();
        remembered.retain(Encoded::is_alive);
        if let Some(found) = remembered.iter().find(|e| e.is_of(keys)) {
            return Ok(Rc::clone(&found.rows));
        }
        let rows = Rc::new(converter.convert_columns(keys)?);
        if remembered.len() >= REMEMBERED {
            remembered.remove(0);
        }
        remembered.push(Encoded {
            arrays: keys.iter().map(Arc::downgrade).collect(),
            rows: Rc::clone(&rows),
        });
        Ok(rows)
    })
}
