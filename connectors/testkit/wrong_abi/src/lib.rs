//! Test-only library that claims a future plugin ABI (v2): the host must refuse it before
//! looking up anything else.

#[unsafe(no_mangle)]
pub extern "C" fn loopql_connector_abi_version() -> u32 {
    2
}
