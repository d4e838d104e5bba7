//! The one call into the C library outside the plugin host: handing freed heap memory back to
//! the operating system. glibc keeps what a query freed in per-thread arenas, so a server that
//! just answered a large query would otherwise stay at its peak while idle.

/// Returns free heap memory to the operating system (glibc only; elsewhere nothing to do).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the system; it touches no live
    // allocation and takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}
