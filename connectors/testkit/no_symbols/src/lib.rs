//! Test-only shared library with none of loopql's symbols: the host must refuse it.

#[unsafe(no_mangle)]
pub extern "C" fn not_a_loopql_connector() -> u32 {
    7
}
