/*  util - small helpers every component shares: causes, clocks, files  */
#ifndef MT_UTIL_H_INCLUDED
#define MT_UTIL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Set *cause (if cause is not NULL) to a newly allocated formatted message,
//  freeing any message already there. Always returns -1, so callers can
//  write `return mt_fail (cause, "...")`.
int mt_fail (char **cause, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Parse a whole decimal integer option value in [lo, hi]. Returns 0, or -1
//  with *cause naming the flag: "--threads: 'x' is not a whole number".
int mt_parse_int (const char *flag, const char *text, int64_t lo, int64_t hi, int64_t *out,
                  char **cause);

//  Copy the string src (NULL counts as "") into out of size bytes (size >
//  0), cut to fit and always terminated. Returns out.
char *mt_strlcpy (char *out, const char *src, size_t size);

//  Wall clock in ms since the epoch.
int64_t mt_wall_ms (void);

//  Monotonic clock in ms, for liveness and rates.
int64_t mt_mono_ms (void);

//  Monotonic clock in seconds with ns resolution, for benchmarks and rates.
double mt_mono_s (void);

//  Write all len bytes to fd at offset (offset < 0: at the file position),
//  retrying short writes and EINTR. Returns 0, or -1 with errno set.
int mt_write_at (int fd, const void *data, size_t len, int64_t offset);

//  Write len bytes to path atomically: a temp file beside it, fsync, rename,
//  fsync of the folder. A crash leaves the old file or the new one, never a
//  torn one. Returns 0, or -1 with *cause.
int mt_file_write_atomic (const char *path, const void *data, size_t len, char **cause);

#endif
