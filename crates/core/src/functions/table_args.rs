//! Helpers shared by loopql's table functions: literal string arguments, and the session state
//! a table provider runs its inner queries in.

use datafusion::catalog::Session;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;

/// The arguments of `signature` as strings; each must be a string literal.
pub fn literal_strings(signature: &str, exprs: &[Expr]) -> Result<Vec<String>> {
    exprs
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Expr::Literal(
                ScalarValue::Utf8(Some(s))
                | ScalarValue::Utf8View(Some(s))
                | ScalarValue::LargeUtf8(Some(s)),
                _,
            ) => Ok(s.clone()),
            other => plan_err!(
                "{signature}: argument {} must be a string literal, found {other}",
                i + 1
            ),
        })
        .collect()
}

/// The engine's session state behind a `&dyn Session`.
pub fn session_state(session: &dyn Session) -> Result<&SessionState> {
    match session.as_any().downcast_ref::<SessionState>() {
        Some(s) => Ok(s),
        None => plan_err!("loopql's table functions need a loopql session"),
    }
}
