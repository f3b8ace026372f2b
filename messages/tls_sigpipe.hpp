// SIGPIPE for processes that speak TLS through CAF.
//
// CAF 0.17.6's `openssl::session` wraps every SSL_read, SSL_write and
// handshake step in a SIGPIPE guard: pthread_sigmask(SIG_BLOCK, {SIGPIPE}),
// then sigtimedwait({SIGPIPE}, zero timeout) to swallow a pending one, then
// pthread_sigmask(SIG_SETMASK, saved). Three system calls per TLS call: about
// 85 per VM lifecycle in bangerd and 43 in banger-helper (perf trace -s),
// around a fifth of bangerd's system calls that are not futex waits. In a
// process that ignores SIGPIPE outright the guard can change nothing (an
// ignored signal is discarded, never pending), so ignore_sigpipe() ignores it
// and lets tls_sigpipe.cpp answer those three calls without the kernel.
#pragma once

namespace banger {

/// Ignores SIGPIPE for the whole process, for good: writes to a closed
/// socket or pipe fail with EPIPE instead. From then on CAF's per-call
/// SIGPIPE guard costs no system call.
void ignore_sigpipe();

} // namespace banger
