//! Translates DataFusion filter expressions into the ABI's `column op literal` form, and filters
//! on the host-added `client_id` column into source pruning.

use super::validate::CLIENT_COLUMN;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::logical_expr::{Between, BinaryExpr, Cast, Expr, Operator, TryCast};
use datafusion::scalar::ScalarValue;
use loopql_connector_sdk::{Filter, FilterOp, Scalar};
use std::collections::HashMap;

/// What a supported filter expression becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    /// Keeps only some sources (always exact: the host applies it).
    Client(ClientFilter),
    /// Sent to the connector; `exact` as its manifest declares for the column.
    Plugin { filters: Vec<Filter>, exact: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientFilter {
    In(Vec<String>),
    NotIn(Vec<String>),
}

impl ClientFilter {
    pub fn keeps(&self, client_id: &str) -> bool {
        match self {
            ClientFilter::In(v) => v.iter().any(|c| c == client_id),
            ClientFilter::NotIn(v) => !v.iter().any(|c| c == client_id),
        }
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// The column an expression reads, seeing through casts that do not change comparisons: to the
/// column's own type (views cast to their canonical types) or between string types.
fn column<'a>(e: &'a Expr, schema: &Schema) -> Option<&'a str> {
    match e {
        Expr::Column(c) => Some(c.name.as_str()),
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
            let Expr::Column(c) = expr.as_ref() else {
                return None;
            };
            let data_type = field.data_type();
            let own = schema.field_with_name(&c.name).ok()?.data_type();
            (own == data_type || (is_string(own) && is_string(data_type)))
                .then_some(c.name.as_str())
        }
        _ => None,
    }
}

/// `pushable`: column name -> whether the connector applies filters on it exactly; `schema`: the
/// table's columns, to see through harmless casts.
pub fn translate(expr: &Expr, pushable: &HashMap<String, bool>, schema: &Schema) -> Option<Pushed> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (column, op, value) = match (left.as_ref(), right.as_ref()) {
                (l, Expr::Literal(v, _)) => (column(l, schema)?, *op, v),
                (Expr::Literal(v, _), r) => (column(r, schema)?, op.swap()?, v),
                _ => return None,
            };
            if column == CLIENT_COLUMN {
                let id = utf8(value)?;
                return match op {
                    Operator::Eq => Some(Pushed::Client(ClientFilter::In(vec![id]))),
                    Operator::NotEq => Some(Pushed::Client(ClientFilter::NotIn(vec![id]))),
                    _ => None,
                };
            }
            let exact = *pushable.get(column)?;
            let filter = Filter {
                column: column.to_string(),
                op: filter_op(op)?,
                value: scalar(value)?,
            };
            Some(Pushed::Plugin {
                filters: vec![filter],
                exact,
            })
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) => {
            let (Expr::Literal(lo, _), Expr::Literal(hi, _)) = (low.as_ref(), high.as_ref()) else {
                return None;
            };
            let c = column(expr, schema)?;
            let exact = *pushable.get(c)?;
            let filters = vec![
                Filter {
                    column: c.to_string(),
                    op: FilterOp::GtEq,
                    value: scalar(lo)?,
                },
                Filter {
                    column: c.to_string(),
                    op: FilterOp::LtEq,
                    value: scalar(hi)?,
                },
            ];
            Some(Pushed::Plugin { filters, exact })
        }
        Expr::InList(list) => {
            if column(&list.expr, schema)? != CLIENT_COLUMN {
                return None;
            }
            let ids = list
                .list
                .iter()
                .map(|e| match e {
                    Expr::Literal(v, _) => utf8(v),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Pushed::Client(if list.negated {
                ClientFilter::NotIn(ids)
            } else {
                ClientFilter::In(ids)
            }))
        }
        _ => None,
    }
}

fn filter_op(op: Operator) -> Option<FilterOp> {
    Some(match op {
        Operator::Eq => FilterOp::Eq,
        Operator::NotEq => FilterOp::NotEq,
        Operator::Lt => FilterOp::Lt,
        Operator::LtEq => FilterOp::LtEq,
        Operator::Gt => FilterOp::Gt,
        Operator::GtEq => FilterOp::GtEq,
        _ => return None,
    })
}

fn utf8(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
        _ => None,
    }
}

fn scalar(v: &ScalarValue) -> Option<Scalar> {
    use ScalarValue as S;
    Some(match v {
        S::Utf8(Some(_)) | S::LargeUtf8(Some(_)) | S::Utf8View(Some(_)) => Scalar::Utf8(utf8(v)?),
        S::Int8(Some(x)) => Scalar::Int64((*x).into()),
        S::Int16(Some(x)) => Scalar::Int64((*x).into()),
        S::Int32(Some(x)) => Scalar::Int64((*x).into()),
        S::Int64(Some(x)) => Scalar::Int64(*x),
        S::UInt8(Some(x)) => Scalar::Int64((*x).into()),
        S::UInt16(Some(x)) => Scalar::Int64((*x).into()),
        S::UInt32(Some(x)) => Scalar::Int64((*x).into()),
        S::UInt64(Some(x)) => Scalar::Int64(i64::try_from(*x).ok()?),
        S::Float32(Some(x)) => Scalar::Float64((*x).into()),
        S::Float64(Some(x)) => Scalar::Float64(*x),
        S::Boolean(Some(x)) => Scalar::Bool(*x),
        S::Date32(Some(d)) => {
            let date = datafusion::arrow::temporal_conversions::date32_to_datetime(*d)?;
            Scalar::Date(date.format("%Y-%m-%d").to_string())
        }
        S::TimestampSecond(Some(x), _) => Scalar::TimestampMicros(x.checked_mul(1_000_000)?),
        S::TimestampMillisecond(Some(x), _) => Scalar::TimestampMicros(x.checked_mul(1_000)?),
        S::TimestampMicrosecond(Some(x), _) => Scalar::TimestampMicros(*x),
        S::TimestampNanosecond(Some(x), _) => Scalar::TimestampMicros(x.div_euclid(1_000)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            datafusion::arrow::datatypes::Field::new("id", DataType::Int64, false),
            datafusion::arrow::datatypes::Field::new("day", DataType::Date32, false),
            datafusion::arrow::datatypes::Field::new("value", DataType::Float64, false),
            datafusion::arrow::datatypes::Field::new("client_id", DataType::Utf8, false),
        ])
    }

    #[test]
    fn casts_that_keep_comparisons_are_seen_through() {
        use datafusion::logical_expr::cast;
        let day = ScalarValue::Date32(Some(19723));
        let p = translate(
            &cast(col("day"), DataType::Date32).gt_eq(lit(day)),
            &pushable(),
            &schema(),
        );
        assert!(
            matches!(p, Some(Pushed::Plugin { exact: true, .. })),
            "{p:?}"
        );
        let p = translate(
            &cast(col("client_id"), DataType::Utf8View).eq(lit("acme")),
            &pushable(),
            &schema(),
        );
        assert_eq!(
            p,
            Some(Pushed::Client(ClientFilter::In(vec!["acme".into()])))
        );
        // Int -> Float changes what a comparison means: not pushed.
        let p = translate(
            &cast(col("id"), DataType::Float64).gt(lit(1.5)),
            &pushable(),
            &schema(),
        );
        assert_eq!(p, None);
    }

    fn pushable() -> HashMap<String, bool> {
        HashMap::from([("day".to_string(), true), ("id".to_string(), false)])
    }

    #[test]
    fn comparison_with_literal_on_either_side() {
        let p = translate(&lit(5i64).lt(col("id")), &pushable(), &schema()).unwrap();
        assert_eq!(
            p,
            Pushed::Plugin {
                filters: vec![Filter {
                    column: "id".into(),
                    op: FilterOp::Gt,
                    value: Scalar::Int64(5)
                }],
                exact: false
            }
        );
    }

    #[test]
    fn date_between_becomes_two_inclusive_bounds() {
        let lo = ScalarValue::Date32(Some(19723));
        let hi = ScalarValue::Date32(Some(19725));
        let p = translate(
            &col("day").between(lit(lo), lit(hi)),
            &pushable(),
            &schema(),
        )
        .unwrap();
        let Pushed::Plugin { filters, exact } = p else {
            panic!("{p:?}")
        };
        assert!(exact);
        assert_eq!(filters[0].value, Scalar::Date("2024-01-01".into()));
        assert_eq!(filters[1].op, FilterOp::LtEq);
        assert_eq!(filters[1].value, Scalar::Date("2024-01-03".into()));
    }

    #[test]
    fn undeclared_columns_and_other_shapes_are_not_pushed() {
        assert_eq!(
            translate(&col("value").eq(lit(1.0)), &pushable(), &schema()),
            None
        );
        assert_eq!(
            translate(
                &(col("id") + lit(1i64)).eq(lit(2i64)),
                &pushable(),
                &schema()
            ),
            None
        );
        assert_eq!(
            translate(&col("day").like(lit("x")), &pushable(), &schema()),
            None
        );
    }

    #[test]
    fn client_filters_prune_sources() {
        let p = translate(&col("client_id").eq(lit("acme")), &pushable(), &schema()).unwrap();
        assert_eq!(p, Pushed::Client(ClientFilter::In(vec!["acme".into()])));
        let p = translate(
            &col("client_id").in_list(vec![lit("a"), lit("b")], true),
            &pushable(),
            &schema(),
        )
        .unwrap();
        let Pushed::Client(f) = p else { panic!() };
        assert!(!f.keeps("a") && f.keeps("c"));
    }
}
