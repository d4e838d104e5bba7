//! Translates DataFusion filter expressions into the ABI's `column op literal` form, and filters
//! on the host-added `client_id` column into source pruning.

use super::validate::CLIENT_COLUMN;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};
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

/// `pushable`: column name -> whether the connector applies filters on it exactly.
pub fn translate(expr: &Expr, pushable: &HashMap<String, bool>) -> Option<Pushed> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (column, op, value) = match (left.as_ref(), right.as_ref()) {
                (Expr::Column(c), Expr::Literal(v, _)) => (c.name.as_str(), *op, v),
                (Expr::Literal(v, _), Expr::Column(c)) => (c.name.as_str(), op.swap()?, v),
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
            let (Expr::Column(c), Expr::Literal(lo, _), Expr::Literal(hi, _)) =
                (expr.as_ref(), low.as_ref(), high.as_ref())
            else {
                return None;
            };
            let exact = *pushable.get(c.name.as_str())?;
            let filters = vec![
                Filter {
                    column: c.name.clone(),
                    op: FilterOp::GtEq,
                    value: scalar(lo)?,
                },
                Filter {
                    column: c.name.clone(),
                    op: FilterOp::LtEq,
                    value: scalar(hi)?,
                },
            ];
            Some(Pushed::Plugin { filters, exact })
        }
        Expr::InList(list) => {
            let Expr::Column(c) = list.expr.as_ref() else {
                return None;
            };
            if c.name != CLIENT_COLUMN {
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

    fn pushable() -> HashMap<String, bool> {
        HashMap::from([("day".to_string(), true), ("id".to_string(), false)])
    }

    #[test]
    fn comparison_with_literal_on_either_side() {
        let p = translate(&lit(5i64).lt(col("id")), &pushable()).unwrap();
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
        let p = translate(&col("day").between(lit(lo), lit(hi)), &pushable()).unwrap();
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
        assert_eq!(translate(&col("value").eq(lit(1.0)), &pushable()), None);
        assert_eq!(
            translate(&(col("id") + lit(1i64)).eq(lit(2i64)), &pushable()),
            None
        );
        assert_eq!(translate(&col("day").like(lit("x")), &pushable()), None);
    }

    #[test]
    fn client_filters_prune_sources() {
        let p = translate(&col("client_id").eq(lit("acme")), &pushable()).unwrap();
        assert_eq!(p, Pushed::Client(ClientFilter::In(vec!["acme".into()])));
        let p = translate(
            &col("client_id").in_list(vec![lit("a"), lit("b")], true),
            &pushable(),
        )
        .unwrap();
        let Pushed::Client(f) = p else { panic!() };
        assert!(!f.keeps("a") && f.keeps("c"));
    }
}
