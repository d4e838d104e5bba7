//! The binary's one call into the C library: the terminal's size, for the shell's pager.

/// The (rows, columns) of the terminal standard output writes to, if it is one.
pub fn terminal_size() -> Option<(usize, usize)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own; a failure leaves it zeroed.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_row > 0 && ws.ws_col > 0).then(|| (usize::from(ws.ws_row), usize::from(ws.ws_col)))
}
