/*  util - small helpers every component shares: causes, clocks, atomic files, endpoints  */
#include "mt/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MT_ENDPOINT_HINT    "give one like tcp://HOST:PORT or ipc://PATH"
#define MT_IPC_MAX          107     // bytes of an ipc:// path (sun_path less its NUL)
#define MT_PORT_MAX         65535
#define MT_LINKS_MAX        40      // symbolic links followed at most, as the kernel does
#define MT_OUTPUT_MODE      0644    // a replaced output file's mode, under the umask

//  An output being written: straight to fd, or to temp, renamed to path.
struct mt_output_t {
    int fd;                     // where the bytes go
    bool owned;                 // fd is ours to close (not stdout)
    char *path;                 // the file written or replaced (links resolved)
    char *temp;                 // the temp file beside path, NULL when straight
};

static int s_write_replace (const char *path, const void *data, size_t len, bool durable,
                            char **cause);
static int s_check_tcp (const char *flag, const char *endpoint, bool bind, char **cause);
static char *s_resolve_links (const char *path, char **cause);
static int s_output_refused (const char *path, const char *resolved, char **cause);
static int s_output_atomic (mt_output_t *self, char **cause);

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
    return s_write_replace (path, data, len, true, cause);
}

int
mt_file_replace (const char *path, const void *data, size_t len, char **cause)
{
    return s_write_replace (path, data, len, false, cause);
}

int
mt_file_overwrite (const char *path, const void *data, size_t len, char **cause)
{
    int rc = 0;
    int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || mt_write_at (fd, data, len, 0) || ftruncate (fd, (off_t) len))
        rc = mt_fail (cause, "%s: cannot write: %s", path, strerror (errno));
    if (fd >= 0 && close (fd) && rc == 0)
        rc = mt_fail (cause, "%s: cannot close: %s", path, strerror (errno));
    return rc;
}

//  A temp file beside path, written whole, renamed over path; with durable,
//  the file is synced before the rename and the folder after it
static int
s_write_replace (const char *path, const void *data, size_t len, bool durable, char **cause)
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
    if (mt_write_at (fd, data, len, -1) || (durable && fsync (fd))) {
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
    if (durable)
        mt_fsync_dir (path);
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

int
mt_read_at (int fd, void *buf, size_t len, int64_t offset)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread (fd, p, len, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t) n;
        offset += n;
    }
    return 0;
}

int
mt_fsync_dir (const char *path)
{
    char *copy = strdup (path);
    if (!copy)
        return -1;
    int fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free (copy);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    int saved = errno;
    close (fd);
    errno = saved;
    return rc;
}

int
mt_endpoint_check (const char *flag, const char *endpoint, bool bind, char **cause)
{
    const char *ep = endpoint ? endpoint : "";
    if (strncmp (ep, "tcp://", 6) == 0)
        return s_check_tcp (flag, ep, bind, cause);
    if (strncmp (ep, "ipc://", 6) == 0) {
        size_t len = strlen (ep + 6);
        if (len == 0)
            return mt_fail (cause, "%s: '%s' has no path; %s", flag, ep, MT_ENDPOINT_HINT);
        if (len > MT_IPC_MAX)
            return mt_fail (cause, "%s: the path of '%.40s...' is %zu bytes, more than the %d"
                            " an ipc:// endpoint may have", flag, ep, len, MT_IPC_MAX);
        return 0;
    }
    const char *sep = strstr (ep, "://");
    if (sep)
        return mt_fail (cause, "%s: '%s': unknown transport '%.*s' (tcp and ipc are known); %s",
                        flag, ep, (int) (sep - ep), ep, MT_ENDPOINT_HINT);
    return mt_fail (cause, "%s: '%s' is not an endpoint; %s", flag, ep, MT_ENDPOINT_HINT);
}

//  tcp://HOST:PORT, HOST a name, an address, [an IPv6 address] or (bind) *.
static int
s_check_tcp (const char *flag, const char *ep, bool bind, char **cause)
{
    const char *host = ep + 6, *end;    // the host is [host, end)
    if (host [0] == '[') {
        const char *close = strchr (host, ']');
        end = close ? close + 1 : host + strlen (host);
        if (!close || close == host + 1)
            return mt_fail (cause, "%s: '%s' has an empty host; %s", flag, ep, MT_ENDPOINT_HINT);
    }
    else {
        end = strrchr (host, ':');
        end = end ? end : host + strlen (host);
        if (memchr (host, ':', (size_t) (end - host)))
            return mt_fail (cause, "%s: '%s': an IPv6 address goes in brackets, like "
                            "tcp://[::1]:5555", flag, ep);
    }
    if (*end != ':' || end [1] == 0)
        return mt_fail (cause, "%s: '%s' has no port; %s", flag, ep, MT_ENDPOINT_HINT);
    if (end == host)
        return mt_fail (cause, "%s: '%s' has an empty host; %s", flag, ep, MT_ENDPOINT_HINT);
    if (!bind && end - host == 1 && host [0] == '*')
        return mt_fail (cause, "%s: '%s': * (every interface) is for binding; give the "
                        "broker's host name or address", flag, ep);
    const char *port = end + 1;
    size_t digits = strspn (port, "0123456789");
    if (port [digits] || digits > 9)
        return mt_fail (cause, "%s: '%s': port '%s' is not a number from 1 to %d", flag, ep,
                        port, MT_PORT_MAX);
    long value = strtol (port, NULL, 10);
    if (value < 1 || value > MT_PORT_MAX)
        return mt_fail (cause, "%s: '%s': port %s is out of range (1 to %d)", flag, ep, port,
                        MT_PORT_MAX);
    return 0;
}

//  path with every symbolic link along its last component followed (a
//  relative target is read from the link's folder). Caller frees; NULL
//  with *cause for a loop or an unreadable link.
static char *
s_resolve_links (const char *path, char **cause)
{
    char *current = strdup (path);
    for (int hops = 0; current; hops++) {
        struct stat st;
        if (lstat (current, &st) || !S_ISLNK (st.st_mode))
            return current;         // not there (to be made) or not a link
        if (hops == MT_LINKS_MAX) {
            mt_fail (cause, "%s: more than %d symbolic links in a row", path, MT_LINKS_MAX);
            break;
        }
        char target [4096];
        ssize_t len = readlink (current, target, sizeof target - 1);
        if (len < 0) {
            mt_fail (cause, "%s: cannot read the link: %s", current, strerror (errno));
            break;
        }
        target [len] = 0;
        char *next = NULL;
        const char *slash = strrchr (current, '/');
        if (target [0] == '/' || !slash)
            next = strdup (target);
        else
        if (asprintf (&next, "%.*s/%s", (int) (slash - current), current, target) < 0)
            next = NULL;
        free (current);
        current = next;
    }
    if (!current)
        mt_fail (cause, "%s: out of memory", path);
    free (current);
    return NULL;
}

//  A folder or a socket at resolved (the target of path): -1 with *cause.
static int
s_output_refused (const char *path, const char *resolved, char **cause)
{
    struct stat st;
    if (stat (resolved, &st) == 0 && S_ISDIR (st.st_mode))
        return mt_fail (cause, "%s is a folder; give a file name (such as %s/NAME)", path, path);
    if (stat (resolved, &st) == 0 && S_ISSOCK (st.st_mode))
        return mt_fail (cause, "%s is a socket; give a file, a device, a FIFO or - (stdout)",
                        path);
    return 0;
}

int
mt_output_check (const char *path, char **cause)
{
    if (strcmp (path, "-") == 0)
        return 0;
    char *resolved = s_resolve_links (path, cause);
    int rc = resolved ? s_output_refused (path, resolved, cause) : -1;
    free (resolved);
    return rc;
}

mt_output_t *
mt_output_new (const char *path, char **cause)
{
    mt_output_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "%s: out of memory", path);
        return NULL;
    }
    self->fd = -1;
    if (strcmp (path, "-") == 0) {
        self->fd = STDOUT_FILENO;
        self->path = strdup ("(stdout)");
        if (self->path)
            return self;
        mt_fail (cause, "out of memory");
        goto err;
    }
    self->path = s_resolve_links (path, cause);
    if (!self->path || s_output_refused (path, self->path, cause))
        goto err;
    struct stat st;
    bool special = stat (self->path, &st) == 0 && !S_ISREG (st.st_mode);
    if (!special && s_output_atomic (self, cause) == 0)
        return self;
    if (special) {
        //  A FIFO waits here for its reader, as a shell's redirection does
        self->fd = open (self->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        self->owned = true;
        if (self->fd >= 0)
            return self;
        mt_fail (cause, "%s: cannot open: %s", path, strerror (errno));
    }
err:
    mt_output_destroy (&self);
    return NULL;
}

//  A temp file beside self->path, mode MT_OUTPUT_MODE under the umask.
static int
s_output_atomic (mt_output_t *self, char **cause)
{
    if (asprintf (&self->temp, "%s.XXXXXX", self->path) < 0) {
        self->temp = NULL;
        return mt_fail (cause, "%s: out of memory", self->path);
    }
    self->fd = mkstemp (self->temp);
    if (self->fd < 0) {
        mt_fail (cause, "cannot create a file beside %s: %s", self->path, strerror (errno));
        free (self->temp);
        self->temp = NULL;
        return -1;
    }
    self->owned = true;
    //  mkstemp makes 0600; a model or predictions are for sharing, as cp's are
    mode_t mask = umask (0);
    umask (mask);
    if (fchmod (self->fd, MT_OUTPUT_MODE & ~mask))
        return mt_fail (cause, "%s: cannot set its mode: %s", self->temp, strerror (errno));
    return 0;
}

int
mt_output_write (mt_output_t *self, const void *data, size_t len, char **cause)
{
    if (mt_write_at (self->fd, data, len, -1))
        return mt_fail (cause, "cannot write %s: %s", self->temp ? self->temp : self->path,
                        strerror (errno));
    return 0;
}

int
mt_output_commit (mt_output_t **self_p, char **cause)
{
    mt_output_t *self = *self_p;
    int rc = 0;
    if (self->temp && fsync (self->fd))
        rc = mt_fail (cause, "cannot write %s: %s", self->temp, strerror (errno));
    if (self->owned) {
        if (close (self->fd) && rc == 0)
            rc = mt_fail (cause, "cannot write %s: %s", self->temp ? self->temp : self->path,
                          strerror (errno));
        self->fd = -1;
    }
    if (rc == 0 && self->temp) {
        if (rename (self->temp, self->path))
            rc = mt_fail (cause, "%s: cannot rename into place: %s", self->path,
                          strerror (errno));
        else {
            mt_fsync_dir (self->path);
            free (self->temp);
            self->temp = NULL;
        }
    }
    mt_output_destroy (self_p);
    return rc;
}

void
mt_output_destroy (mt_output_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mt_output_t *self = *self_p;
    if (self->owned && self->fd >= 0)
        close (self->fd);
    if (self->temp)
        unlink (self->temp);
    free (self->temp);
    free (self->path);
    free (self);
    *self_p = NULL;
}

int
mt_output_file (const char *path, const void *data, size_t len, char **cause)
{
    mt_output_t *output = mt_output_new (path, cause);
    if (!output)
        return -1;
    if (mt_output_write (output, data, len, cause)) {
        mt_output_destroy (&output);
        return -1;
    }
    return mt_output_commit (&output, cause);
}
