/*  blob - content-addressed files in a folder, written in ordered chunks, checked by SHA-256  */
#include "mt/blob.h"
#include "mt/util.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  A stored blob sent again gets a new mtime when its last is older than
//  this (mtbroker --keep-days cuts at a day at least)
#define BLOB_TOUCH_AFTER_S 3600

typedef struct {
    char hash [65];
    int64_t size;               // total bytes announced
    int64_t received;           // bytes written so far
    int fd;                     // the partial file
    crypto_hash_sha256_state sha;
    int64_t touched_ms;         // monotonic, last chunk
    char owner [72];            // who started it (a client key), for the per-owner limit
} upload_t;

struct blob_store_t {
    char *dir;
    blob_error_t error;         // the kind of the last write failure
    upload_t uploads [BLOB_MAX_UPLOADS];
    int n_uploads;
    //  Blobs known to be stored: hash -> int64_t size. Filled by a stat that
    //  found the blob or a finished upload, emptied by blob_store_remove, so
    //  blob_store_has needs no stat for them; absence is always checked on disk
    zhashx_t *known;
};

static char *s_part_path (blob_store_t *self, const char *hash);
static upload_t *s_upload_find (blob_store_t *self, const char *hash);
static void s_upload_drop (blob_store_t *self, upload_t *upload, bool unlink_part);
static int s_finish (blob_store_t *self, upload_t *upload, char **cause);
static void s_known_add (blob_store_t *self, const char *hash, int64_t size);
static void s_known_free (void **item);
static size_t s_hash_key (const void *key);

blob_store_t *
blob_store_new (const char *dir, char **cause)
{
    if (sodium_init () < 0) {
        mt_fail (cause, "libsodium failed to initialize");
        return NULL;
    }
    const char *subdirs [] = { "", "/blobs", "/incoming" };
    for (int i = 0; i < 3; i++) {
        char path [4200];
        snprintf (path, sizeof path, "%s%s", dir, subdirs [i]);
        if (mkdir (path, 0700) && errno != EEXIST) {
            mt_fail (cause, "%s: cannot create the folder: %s", path, strerror (errno));
            return NULL;
        }
    }
    blob_store_t *self = calloc (1, sizeof *self);
    if (self) {
        self->dir = strdup (dir);
        self->known = zhashx_new ();
    }
    if (!self || !self->dir || !self->known) {
        if (self) {
            free (self->dir);
            zhashx_destroy (&self->known);
        }
        free (self);
        mt_fail (cause, "out of memory");
        return NULL;
    }
    zhashx_set_destructor (self->known, s_known_free);
    zhashx_set_key_hasher (self->known, s_hash_key);
    return self;
}

void
blob_store_destroy (blob_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    blob_store_t *self = *self_p;
    while (self->n_uploads > 0)
        s_upload_drop (self, &self->uploads [0], false);
    zhashx_destroy (&self->known);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

bool
blob_hash_valid (const char *hash)
{
    if (!hash || strlen (hash) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((hash [i] >= '0' && hash [i] <= '9') || (hash [i] >= 'a' && hash [i] <= 'f')))
            return false;
    return true;
}

char *
blob_store_path (blob_store_t *self, const char *hash)
{
    char *path = NULL;
    if (!blob_hash_valid (hash) || asprintf (&path, "%s/blobs/%s", self->dir, hash) < 0)
        return NULL;
    return path;
}

static char *
s_part_path (blob_store_t *self, const char *hash)
{
    char *path = NULL;
    if (asprintf (&path, "%s/incoming/%s.part", self->dir, hash) < 0)
        return NULL;
    return path;
}

bool
blob_store_has (blob_store_t *self, const char *hash, int64_t *size)
{
    int64_t *known = hash ? zhashx_lookup (self->known, hash) : NULL;
    if (known) {
        if (size)
            *size = *known;
        return true;
    }
    char *path = blob_store_path (self, hash);
    struct stat st;
    bool has = path && stat (path, &st) == 0 && S_ISREG (st.st_mode);
    if (has)
        s_known_add (self, hash, (int64_t) st.st_size);
    if (has && size)
        *size = st.st_size;
    free (path);
    return has;
}

//  Remember that blob hash (a valid hash) is stored with size bytes; without
//  memory it is simply not remembered.
static void
s_known_add (blob_store_t *self, const char *hash, int64_t size)
{
    int64_t *item = malloc (sizeof *item);
    if (!item)
        return;
    *item = size;
    if (zhashx_insert (self->known, hash, item))
        free (item);
}

//  A key is a SHA-256 in hex, already uniform: its first 16 characters are
//  hash enough (czmq's default hashes all 64, and this lookup runs a few
//  times per job). A shorter key (from a peer) stops at its end.
static size_t
s_hash_key (const void *key)
{
    const unsigned char *text = key;
    size_t hash = 14695981039346656037ULL;
    for (int i = 0; i < 16 && text [i]; i++)
        hash = (hash ^ text [i]) * 1099511628211ULL;
    return hash;
}

static void
s_known_free (void **item)
{
    free (*item);
    *item = NULL;
}

static upload_t *
s_upload_find (blob_store_t *self, const char *hash)
{
    for (int i = 0; i < self->n_uploads; i++)
        if (strcmp (self->uploads [i].hash, hash) == 0)
            return &self->uploads [i];
    return NULL;
}

static void
s_upload_drop (blob_store_t *self, upload_t *upload, bool unlink_part)
{
    close (upload->fd);
    if (unlink_part) {
        char *part = s_part_path (self, upload->hash);
        if (part)
            unlink (part);
        free (part);
    }
    *upload = self->uploads [--self->n_uploads];
}

static upload_t *
s_upload_start (blob_store_t *self, const char *owner, const char *hash, int64_t size,
                char **cause)
{
    int mine = 0;
    for (int i = 0; i < self->n_uploads; i++)
        mine += strcmp (self->uploads [i].owner, owner) == 0;
    if (self->n_uploads == BLOB_MAX_UPLOADS || mine >= BLOB_MAX_UPLOADS_PER_OWNER) {
        self->error = BLOB_ERR_BUSY;
        mt_fail (cause, mine >= BLOB_MAX_UPLOADS_PER_OWNER
                 ? "you have %d uploads in progress, the limit per client; retry later"
                 : "too many uploads in progress (%d); retry later",
                 mine >= BLOB_MAX_UPLOADS_PER_OWNER ? mine : BLOB_MAX_UPLOADS);
        return NULL;
    }
    char *part = s_part_path (self, hash);
    int fd = part ? open (part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (fd < 0) {
        self->error = BLOB_ERR_DISK;
        mt_fail (cause, "cannot create %s: %s", part ? part : hash, strerror (errno));
        free (part);
        return NULL;
    }
    free (part);
    upload_t *upload = &self->uploads [self->n_uploads++];
    memset (upload, 0, sizeof *upload);
    memcpy (upload->hash, hash, 65);
    mt_strlcpy (upload->owner, owner, sizeof upload->owner);
    upload->size = size;
    upload->fd = fd;
    crypto_hash_sha256_init (&upload->sha);
    return upload;
}

int
blob_store_write (blob_store_t *self, const char *hash, int64_t size, int64_t offset,
                  const void *data, size_t len, bool *complete, int64_t *next, char **cause)
{
    return blob_store_write_as (self, NULL, hash, size, offset, data, len, complete, next,
                                cause);
}

int
blob_store_write_as (blob_store_t *self, const char *owner, const char *hash, int64_t size,
                     int64_t offset, const void *data, size_t len, bool *complete,
                     int64_t *next, char **cause)
{
    *complete = false;
    *next = 0;
    self->error = BLOB_ERR_REQUEST;
    if (!blob_hash_valid (hash))
        return mt_fail (cause, "'%.80s' is not a SHA-256 in lower-case hex", hash);
    if (size < 0 || size > BLOB_MAX_SIZE)
        return mt_fail (cause, "a blob of %lld bytes is over the limit of %lld bytes",
                        (long long) size, (long long) BLOB_MAX_SIZE);
    if (blob_store_has (self, hash, NULL)) {
        //  Stored now as far as the sender knows: its mtime says so, so a
        //  sweep of old blobs no job names (mtbroker --keep-days) leaves it
        //  for the submit that follows. Set once an hour at most: a blob sent
        //  again job after job (the same model) dirties its inode no more often
        char *path = blob_store_path (self, hash);
        struct stat st;
        if (path && stat (path, &st) == 0 && time (NULL) - st.st_mtime > BLOB_TOUCH_AFTER_S)
            utimensat (AT_FDCWD, path, NULL, 0);
        free (path);
        *complete = true;
        *next = size;
        return 0;
    }
    upload_t *upload = s_upload_find (self, hash);
    if (len == 0 && size > 0) {
        //  A probe: where should the sender continue?
        *next = upload && upload->size == size ? upload->received : 0;
        return 0;
    }
    if (upload && upload->size != size)
        return mt_fail (cause, "blob %.12s is being uploaded with size %lld, not %lld",
                        hash, (long long) upload->size, (long long) size);
    if ((int64_t) len > size - offset)
        return mt_fail (cause, "chunk at offset %lld of blob %.12s (%zu bytes) is past its"
                        " end of %lld bytes", (long long) offset, hash, len, (long long) size);
    if (!upload && offset == 0
    &&  !(upload = s_upload_start (self, owner ? owner : "", hash, size, cause)))
        return -1;
    int64_t received = upload ? upload->received : 0;
    *next = received;
    if (offset > received) {
        self->error = BLOB_ERR_RETRY;
        return mt_fail (cause, "chunk at offset %lld of blob %.12s is past the %lld bytes"
                        " received (its upload began again); probe and send offset %lld"
                        " next", (long long) offset, hash, (long long) received,
                        (long long) received);
    }
    //  Another sender may have written part or all of this chunk already
    size_t skip = (size_t) (received - offset);
    size_t fresh = skip < len ? len - skip : 0;
    const unsigned char *bytes = fresh > 0 ? (const unsigned char *) data + skip : data;
    if (fresh > 0 && mt_write_at (upload->fd, bytes, fresh, received)) {
        self->error = BLOB_ERR_DISK;
        mt_fail (cause, "cannot write blob %.12s: %s", hash, strerror (errno));
        s_upload_drop (self, upload, true);
        return -1;
    }
    crypto_hash_sha256_update (&upload->sha, bytes, fresh);
    upload->received += (int64_t) fresh;
    upload->touched_ms = mt_mono_ms ();
    *next = offset + (int64_t) len;
    if (upload->received < upload->size)
        return 0;
    if (s_finish (self, upload, cause))
        return -1;
    *complete = true;
    return 0;
}

//  All bytes are in: check the hash, make the file durable, move it into place.
static int
s_finish (blob_store_t *self, upload_t *upload, char **cause)
{
    char hex [65];
    blob_sha256_hex (&upload->sha, hex);
    if (strcmp (hex, upload->hash) != 0) {
        self->error = BLOB_ERR_HASH;
        mt_fail (cause, "uploaded bytes hash to %.12s, not %.12s: the file changed or was"
                 " corrupted on the way; upload it again", hex, upload->hash);
        s_upload_drop (self, upload, true);
        return -1;
    }
    char *part = s_part_path (self, upload->hash);
    char *path = blob_store_path (self, upload->hash);
    int rc = 0;
    //  The folder is synced too: the commit that names the blob comes after
    //  this, and a crash must not keep the name and lose the file
    if (fsync (upload->fd) || !part || !path || rename (part, path) || mt_fsync_dir (path)) {
        self->error = BLOB_ERR_DISK;
        rc = mt_fail (cause, "cannot store blob %.12s: %s", upload->hash, strerror (errno));
    }
    else
        s_known_add (self, upload->hash, upload->size);
    free (part);
    free (path);
    s_upload_drop (self, upload, rc != 0);
    return rc;
}

blob_error_t
blob_store_error (blob_store_t *self)
{
    return self->error;
}

void
blob_store_abort (blob_store_t *self, const char *hash)
{
    upload_t *upload = s_upload_find (self, hash);
    if (upload)
        s_upload_drop (self, upload, true);
}

void
blob_store_expire (blob_store_t *self, int64_t idle_ms)
{
    int64_t now = mt_mono_ms ();
    for (int i = self->n_uploads - 1; i >= 0; i--)
        if (now - self->uploads [i].touched_ms > idle_ms)
            s_upload_drop (self, &self->uploads [i], true);
}

int
blob_store_read (blob_store_t *self, const char *hash, int64_t offset, void *buf, size_t len,
                 size_t *got, char **cause)
{
    *got = 0;
    char *path = blob_store_path (self, hash);
    int fd = path ? open (path, O_RDONLY | O_CLOEXEC) : -1;
    free (path);
    if (fd < 0)
        return mt_fail (cause, "blob %.12s is not stored", hash ? hash : "?");
    ssize_t n = offset >= 0 ? pread (fd, buf, len, offset) : -1;
    int saved = errno;
    close (fd);
    if (n < 0)
        return mt_fail (cause, "cannot read blob %.12s: %s", hash, strerror (saved));
    *got = (size_t) n;
    return 0;
}

int
blob_store_remove (blob_store_t *self, const char *hash)
{
    if (hash)
        zhashx_delete (self->known, hash);
    char *path = blob_store_path (self, hash);
    int rc = path ? unlink (path) : -1;
    free (path);
    return rc ? -1 : 0;
}

int
blob_store_each_older (blob_store_t *self, int64_t before_ms, blob_each_fn *fn, void *arg)
{
    char *dir = NULL;
    if (asprintf (&dir, "%s/blobs", self->dir) < 0)
        return -1;
    DIR *folder = opendir (dir);
    free (dir);
    if (!folder)
        return -1;
    int found = 0;
    struct dirent *item;
    struct stat st;
    while ((item = readdir (folder)))
        if (blob_hash_valid (item->d_name)
        &&  fstatat (dirfd (folder), item->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
        &&  S_ISREG (st.st_mode)
        &&  (int64_t) st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 < before_ms) {
            fn (item->d_name, arg);
            found++;
        }
    closedir (folder);
    return found;
}

int
blob_hash_bytes (const void *data, size_t size, char hex [65])
{
    if (sodium_init () < 0)
        return -1;
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init (&sha);
    crypto_hash_sha256_update (&sha, data, (unsigned long long) size);
    blob_sha256_hex (&sha, hex);
    return 0;
}

int
blob_hash_fd (int fd, char hex [65], int64_t *size, char **cause)
{
    if (sodium_init () < 0)
        return mt_fail (cause, "libsodium failed to initialize");
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init (&sha);
    static const size_t block = 1 << 20;
    unsigned char *buf = malloc (block);
    if (!buf)
        return mt_fail (cause, "out of memory");
    int64_t total = 0;
    ssize_t n;
    while ((n = pread (fd, buf, block, total)) > 0) {
        crypto_hash_sha256_update (&sha, buf, (unsigned long long) n);
        total += n;
    }
    int saved = errno;
    free (buf);
    if (n < 0)
        return mt_fail (cause, "cannot read: %s", strerror (saved));
    blob_sha256_hex (&sha, hex);
    if (size)
        *size = total;
    return 0;
}

void
blob_sha256_hex (void *sha, char hex [65])
{
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final (sha, digest);
    sodium_bin2hex (hex, 65, digest, sizeof digest);
}

int
blob_hash_file (const char *path, char hex [65], int64_t *size, char **cause)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mt_fail (cause, "cannot open '%s': %s", path, strerror (errno));
    char *why = NULL;
    int rc = blob_hash_fd (fd, hex, size, &why);
    close (fd);
    if (rc)
        mt_fail (cause, "'%s': %s", path, why);
    free (why);
    return rc;
}
