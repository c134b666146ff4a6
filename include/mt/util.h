/*  util - small helpers every component shares: causes, clocks, files, endpoints  */
#ifndef MT_UTIL_H_INCLUDED
#define MT_UTIL_H_INCLUDED

#include <stdbool.h>
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

//  Read all len bytes from fd at offset, retrying short reads and EINTR.
//  Returns 0, or -1 (errno set; 0 when the file ended first).
int mt_read_at (int fd, void *buf, size_t len, int64_t offset);

//  Write len bytes to path atomically: a temp file beside it, fsync, rename,
//  fsync of the folder. A crash leaves the old file or the new one, never a
//  torn one. Returns 0, or -1 with *cause.
int mt_file_write_atomic (const char *path, const void *data, size_t len, char **cause);

//  Make a rename into path's folder durable: fsync that folder. Returns 0,
//  or -1 with errno set.
int mt_fsync_dir (const char *path);

//  mt_file_write_atomic without the syncs: readers see the old file or the
//  new one, never a torn one, but a crash of the machine may lose the new
//  one. For files that another copy makes durable (a worker's model and
//  checkpoints, uploaded to the broker). Returns 0, or -1 with *cause.
int mt_file_replace (const char *path, const void *data, size_t len, char **cause);

//  Write len bytes over the file at path (made if missing), which keeps its
//  inode: no temp file, no rename, no sync, so no inode made and freed per
//  write (ext4's allocator slows with every inode freed recently). A reader
//  while it writes sees a torn file: only for a path no one reads until the
//  writer says it is done. Returns 0, or -1 with *cause.
int mt_file_overwrite (const char *path, const void *data, size_t len, char **cause);

//  Check a ZeroMQ endpoint given to flag before it is used: tcp://HOST:PORT
//  (HOST a name, an address or [an IPv6 address]; PORT 1 to 65535) or
//  ipc://PATH. With bind, HOST may also be * (every interface). Returns 0,
//  or -1 with *cause naming the flag and what is wrong: "--broker:
//  'tcp://127.0.0.1:99999': port 99999 is out of range (1 to 65535)".
int mt_endpoint_check (const char *flag, const char *endpoint, bool bind, char **cause);

//  An output file as a user means it. "-" is stdout; a character or block
//  device or a FIFO is written straight through; a folder is refused; any
//  other path (a regular file, a name not there yet) is replaced
//  atomically: the bytes go to a temp file beside it, renamed over it by
//  mt_output_commit, mode 0644 under the umask. A symbolic link is followed
//  (to the end of its chain), so its target is what is replaced and the link
//  stays. Returns a new output (the caller destroys it), or NULL with
//  *cause naming path and why.
typedef struct mt_output_t mt_output_t;
mt_output_t *mt_output_new (const char *path, char **cause);

//  What mt_output_new refuses before anything is written, checked alone (a
//  folder, a socket, a loop of links), so a command can refuse it before
//  it starts its work. Returns 0, or -1 with *cause.
int mt_output_check (const char *path, char **cause);

//  Append len bytes. Returns 0, or -1 with *cause.
int mt_output_write (mt_output_t *self, const void *data, size_t len, char **cause);

//  Finish: the temp file made durable and renamed into place (a straight
//  output is only flushed). Returns 0, or -1 with *cause; the output is
//  destroyed in both cases.
int mt_output_commit (mt_output_t **self_p, char **cause);

//  Abandon an output not committed: its temp file is removed, and what was
//  at the path stays as it was. Safe with NULL and twice.
void mt_output_destroy (mt_output_t **self_p);

//  Write len bytes to the output path (mt_output_new, write, commit) in one
//  call. Returns 0, or -1 with *cause.
int mt_output_file (const char *path, const void *data, size_t len, char **cause);

#endif
