/*  util - small helpers every component shares: causes, clocks, atomic files  */
#include "mt/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void s_fsync_dir (const char *path);

int
mt_fail (char **cause, const char *fmt, ...)
{
    if (!cause)
        return -1;
    free (*cause);
    *cause = NULL;
    va_list args;
    va_start (args, fmt);
    if (vasprintf (cause, fmt, args) < 0)
        *cause = NULL;
    va_end (args);
    return -1;
}

int
mt_parse_int (const char *flag, const char *text, int64_t lo, int64_t hi, int64_t *out,
              char **cause)
{
    char *end = NULL;
    errno = 0;
    long long value = text && *text ? strtoll (text, &end, 10) : 0;
    if (!text || !*text || *end || errno == ERANGE)
        return mt_fail (cause, "%s: '%s' is not a whole number", flag, text ? text : "");
    if (value < lo || value > hi)
        return mt_fail (cause, "%s: %s is out of range (%lld to %lld)", flag, text,
                        (long long) lo, (long long) hi);
    *out = value;
    return 0;
}

char *
mt_strlcpy (char *out, const char *src, size_t size)
{
    size_t len = src ? strnlen (src, size - 1) : 0;
    memcpy (out, src ? src : "", len);
    out [len] = 0;
    return out;
}

int64_t
mt_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mt_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
mt_mono_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
mt_file_write_atomic (const char *path, const void *data, size_t len, char **cause)
{
    char *tmp = NULL;
    if (asprintf (&tmp, "%s.tmp.%ld", path, (long) getpid ()) < 0)
        return mt_fail (cause, "%s: out of memory", path);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        mt_fail (cause, "%s: cannot create: %s", tmp, strerror (errno));
        free (tmp);
        return -1;
    }
    if (mt_write_at (fd, data, len, -1) || fsync (fd)) {
        mt_fail (cause, "%s: cannot write: %s", tmp, strerror (errno));
        goto err;
    }
    if (close (fd)) {
        fd = -1;
        mt_fail (cause, "%s: cannot close: %s", tmp, strerror (errno));
        goto err;
    }
    fd = -1;
    if (rename (tmp, path)) {
        mt_fail (cause, "%s: cannot rename into place: %s", path, strerror (errno));
        goto err;
    }
    s_fsync_dir (path);
    free (tmp);
    return 0;
err:
    if (fd >= 0)
        close (fd);
    unlink (tmp);
    free (tmp);
    return -1;
}

int
mt_write_at (int fd, const void *data, size_t len, int64_t offset)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = offset < 0 ? write (fd, p, len) : pwrite (fd, p, len, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
        if (offset >= 0)
            offset += n;
    }
    return 0;
}

//  Make the rename durable: fsync the folder that holds path.
static void
s_fsync_dir (const char *path)
{
    char *copy = strdup (path);
    if (!copy)
        return;
    int fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync (fd);
        close (fd);
    }
    free (copy);
}
