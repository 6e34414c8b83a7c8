#ifndef PHC_CZLIB_SHIM_H
#define PHC_CZLIB_SHIM_H
// deflateInit2 and inflateInit2 are function-like macros, invisible to Swift.
#include <zlib.h>

/// deflate with a gzip header (windowBits 15 + 16).
static inline int czlib_deflate_init_gzip(z_streamp _Nonnull s, int level) {
    return deflateInit2(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
/// inflate that accepts gzip or zlib headers (windowBits 15 + 32).
static inline int czlib_inflate_init_auto(z_streamp _Nonnull s) {
    return inflateInit2(s, 15 + 32);
}
static inline const char *_Nonnull czlib_version_string(void) { return zlibVersion(); }
#endif
