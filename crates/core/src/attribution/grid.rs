//! A conversion type's running credits, summed per day × model × key without hashing each
//! share.

use super::Model;
use super::credit::{Sums, UNMATCHED_KEY};
use std::collections::HashMap;

/// A type's running credits: one row of cells per day that has any, each row the models × keys
/// (cell 0 of a model stands for `Unmatched`), so adding a share is an index, not a hash of
/// (day, model, key).
pub(super) struct Grid {
    /// Cells per model: the keys and `Unmatched`.
    width: usize,
    /// Cells per row.
    stride: usize,
    rows: HashMap<i32, usize, ahash::RandomState>,
    days: Vec<i32>,
    cells: Vec<(f64, f64)>,
}

impl Grid {
    pub fn new(models: usize, keys: usize) -> Self {
        let width = keys + 1;
        Grid {
            width,
            stride: width * models,
            rows: HashMap::default(),
            days: Vec::new(),
            cells: Vec::new(),
        }
    }

    /// The first cell of `day`'s row.
    pub fn row(&mut self, day: i32) -> usize {
        if let Some(&at) = self.rows.get(&day) {
            return at;
        }
        let at = self.cells.len();
        self.cells.resize(at + self.stride, (0.0, 0.0));
        self.days.push(day);
        self.rows.insert(day, at);
        at
    }

    /// Adds `share` of a conversion worth `value` to `key` under the model at `model` (its
    /// index among the computed models) in the row at `row`.
    pub fn add(&mut self, row: usize, model: usize, key: u32, share: f64, value: f64) {
        let cell = if key == UNMATCHED_KEY {
            0
        } else {
            key as usize + 1
        };
        let c = &mut self.cells[row + model * self.width + cell];
        c.0 += share;
        c.1 += share * value;
    }

    /// The cells that were given any share.
    pub fn into_sums(self, models: &[Model]) -> Sums {
        let mut sums = Sums::default();
        for (r, &day) in self.days.iter().enumerate() {
            for (m, &model) in models.iter().enumerate() {
                let at = r * self.stride + m * self.width;
                for (cell, &sum) in self.cells[at..at + self.width].iter().enumerate() {
                    if sum.0 > 0.0 {
                        let key = if cell == 0 {
                            UNMATCHED_KEY
                        } else {
                            cell as u32 - 1
                        };
                        sums.insert((day, model, key), sum);
                    }
                }
            }
        }
        sums
    }
}
