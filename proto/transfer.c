/*  transfer - one blob moving to or from the broker in chunks, with credit-based flow control  */
#include "mt/transfer.h"
#include "mt/blob.h"
#include "mt/spec.h"
#include "mt/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Offsets move in one direction: `next` is the next byte to send or ask
//  for, `done` the bytes the broker confirmed (upload) or we wrote (fetch).
//  Replies come in order, so the oldest message in flight always starts at
//  `done`, and its reply must end at min (done + chunk, size).
struct mt_transfer_t {
    bool upload;                // else a fetch
    char hash [MT_HASH_HEX + 1];    // "" while a fetch of a job has not learnt it
    int64_t size;               // bytes; -1 while a fetch has not learnt it
    int64_t job;                // fetch by job (the clients socket); 0 = by hash
    const char *what;           // ... of what, when not its model (a literal); NULL = model
    int64_t next;               // next offset to send or ask for
    int64_t done;               // bytes confirmed or written
    int in_flight;              // messages sent and not yet answered
    bool probing;               // upload: the probe is due or unanswered
    bool finished;              // the broker holds it, or the file is in place
    bool over;                  // ended by an error
    int64_t retry_at;           // upload: monotonic ms to probe again after retry_later; 0 = none
    int64_t backoff_ms;         // ... the wait after the next retry_later
    int retries;                // ... retry_later answers taken so far
    int fd;                     // the file read from or written to
    char *path;                 // fetch: where the file goes
    char *temp;                 // fetch: the temp file beside it, NULL once renamed
    crypto_hash_sha256_state sha;   // fetch: of the bytes written so far
    unsigned char *chunk;       // upload: one chunk's bytes
};

static mt_transfer_t *s_new (bool upload, char **cause);
static mt_transfer_t *s_fetch_new (const char *path, const char *hash, int64_t size,
                                   int64_t job, char **cause);
static int s_refused (mt_msg_t *reply, const char *expect, char **cause);
static int64_t s_chunk_at (const mt_transfer_t *self, int64_t offset);
static int s_upload_next (mt_transfer_t *self, mt_msg_t **msg_p, char **cause);
static int s_upload_take (mt_transfer_t *self, mt_msg_t *reply, char **cause);
static int s_fetch_next (mt_transfer_t *self, mt_msg_t **msg_p);
static int s_fetch_take (mt_transfer_t *self, mt_msg_t *reply, char **cause);
static int s_fetch_check (mt_transfer_t *self, mt_msg_t *reply, char **cause);
static int s_fetch_finish (mt_transfer_t *self, char **cause);

static mt_transfer_t *
s_new (bool upload, char **cause)
{
    if (sodium_init () < 0) {
        mt_fail (cause, "libsodium failed to initialize");
        return NULL;
    }
    mt_transfer_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->upload = upload;
    self->fd = -1;
    self->size = -1;
    return self;
}

mt_transfer_t *
mt_transfer_upload_new (const char *path, const char *hash, int64_t size, char **cause)
{
    mt_transfer_t *self = s_new (true, cause);
    if (!self)
        return NULL;
    char *why = NULL;
    self->fd = open (path, O_RDONLY | O_CLOEXEC);
    self->chunk = malloc (MT_TRANSFER_CHUNK);
    if (self->fd < 0)
        mt_fail (cause, "cannot open '%s': %s", path, strerror (errno));
    else
    if (!self->chunk)
        mt_fail (cause, "out of memory");
    else
    if (!hash && blob_hash_fd (self->fd, self->hash, &self->size, &why))
        mt_fail (cause, "'%s': %s", path, why);
    else
    if (hash && (!blob_hash_valid (hash) || size < 0 || size > BLOB_MAX_SIZE))
        mt_fail (cause, "'%.80s' of %lld bytes is not a blob to upload", hash, (long long) size);
    else {
        if (hash) {
            memcpy (self->hash, hash, sizeof self->hash);
            self->size = size;
        }
        //  An empty blob is its one empty chunk; any other starts with a probe
        self->probing = self->size > 0;
        return self;
    }
    free (why);
    mt_transfer_destroy (&self);
    return NULL;
}

mt_transfer_t *
mt_transfer_fetch_new (const char *path, const char *hash, int64_t size, char **cause)
{
    if (!blob_hash_valid (hash)) {
        mt_fail (cause, "'%.80s' is not a SHA-256 in lower-case hex", hash ? hash : "");
        return NULL;
    }
    return s_fetch_new (path, hash, size < 0 || size > BLOB_MAX_SIZE ? -1 : size, 0, cause);
}

mt_transfer_t *
mt_transfer_fetch_job_new (const char *path, int64_t job, char **cause)
{
    if (job < 1) {
        mt_fail (cause, "job %lld is not a job id", (long long) job);
        return NULL;
    }
    return s_fetch_new (path, NULL, -1, job, cause);
}

static mt_transfer_t *
s_fetch_new (const char *path, const char *hash, int64_t size, int64_t job, char **cause)
{
    mt_transfer_t *self = s_new (false, cause);
    if (!self)
        return NULL;
    if (hash)
        memcpy (self->hash, hash, sizeof self->hash);
    self->size = size;
    self->job = job;
    crypto_hash_sha256_init (&self->sha);
    self->path = strdup (path);
    if (!self->path || asprintf (&self->temp, "%s.XXXXXX", path) < 0) {
        self->temp = NULL;
        mt_fail (cause, "out of memory");
        mt_transfer_destroy (&self);
        return NULL;
    }
    self->fd = mkstemp (self->temp);
    if (self->fd < 0) {
        mt_fail (cause, "cannot create a file beside '%s': %s", path, strerror (errno));
        free (self->temp);
        self->temp = NULL;
        mt_transfer_destroy (&self);
        return NULL;
    }
    //  mkstemp makes 0600; the file gets what open (0666) would under the umask
    mode_t mask = umask (0);
    umask (mask);
    fchmod (self->fd, 0666 & ~mask);
    return self;
}

void
mt_transfer_fetch_what (mt_transfer_t *self, const char *what)
{
    self->what = what;
}

void
mt_transfer_destroy (mt_transfer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mt_transfer_t *self = *self_p;
    if (self->fd >= 0)
        close (self->fd);
    if (self->temp)
        unlink (self->temp);
    free (self->temp);
    free (self->path);
    free (self->chunk);
    free (self);
    *self_p = NULL;
}

bool mt_transfer_done (const mt_transfer_t *self) { return self->finished; }
int mt_transfer_in_flight (const mt_transfer_t *self) { return self->in_flight; }
const char *mt_transfer_hash (const mt_transfer_t *self) { return self->hash; }
int64_t mt_transfer_size (const mt_transfer_t *self) { return self->size; }
int64_t mt_transfer_done_bytes (const mt_transfer_t *self) { return self->done; }

int64_t
mt_transfer_wait_ms (const mt_transfer_t *self)
{
    if (!self->retry_at || self->finished || self->over)
        return 0;
    int64_t left = self->retry_at - mt_mono_ms ();
    return left > 0 ? left : 0;
}

void
mt_transfer_resend (mt_transfer_t *self)
{
    self->next = self->done;
    self->in_flight = 0;
}

bool
mt_transfer_concerns (mt_transfer_t *self, mt_msg_t *reply)
{
    const char *hash = NULL;
    int64_t job = 0;
    if (self->job && mt_msg_opt_int (reply, "job", 1, INT64_MAX, &job, NULL) == 0 && job)
        return job == self->job;
    mt_msg_opt_str (reply, "hash", MT_HASH_HEX, &hash, NULL);
    return !hash || !self->hash [0] || strcmp (hash, self->hash) == 0;
}

//  A reply that is not the one expected: the broker's ERROR in its words.
static int
s_refused (mt_msg_t *reply, const char *expect, char **cause)
{
    if (!mt_msg_is (reply, "ERROR"))
        return mt_fail (cause, "the broker answered %s where %s was expected",
                        mt_msg_command (reply), expect);
    const char *code = "?", *text = "(no text)";
    mt_msg_get_str (reply, "code", 64, &code, NULL);
    mt_msg_get_str (reply, "text", MT_MAX_STRING, &text, NULL);
    return mt_fail (cause, "%s (%s)", text, code);
}

//  Bytes of the chunk at offset: a whole chunk, or what is left.
static int64_t
s_chunk_at (const mt_transfer_t *self, int64_t offset)
{
    int64_t left = self->size - offset;
    return left < MT_TRANSFER_CHUNK ? left : MT_TRANSFER_CHUNK;
}

int
mt_transfer_next (mt_transfer_t *self, mt_msg_t **msg_p, char **cause)
{
    *msg_p = NULL;
    if (self->finished || self->over)
        return 0;
    if (!self->upload)
        return s_fetch_next (self, msg_p);
    self->over = s_upload_next (self, msg_p, cause) != 0;
    return self->over ? -1 : 0;
}

int
mt_transfer_take (mt_transfer_t *self, mt_msg_t *reply, char **cause)
{
    int rc = self->finished || self->over || self->in_flight == 0
           ? mt_fail (cause, "the broker sent a %s that was not asked for", mt_msg_command (reply))
           : self->upload ? s_upload_take (self, reply, cause) : s_fetch_take (self, reply, cause);
    self->over = self->over || rc != 0;
    return rc;
}

//  --- Upload --------------------------------------------------------------

static mt_msg_t *
s_upload_msg (mt_transfer_t *self, int64_t offset, bool last)
{
    mt_msg_t *msg = mt_msg_new ("UPLOAD");
    json_t *body = mt_msg_body (msg);
    json_object_set_new (body, "hash", json_string (self->hash));
    json_object_set_new (body, "size", json_integer (self->size));
    json_object_set_new (body, "offset", json_integer (offset));
    json_object_set_new (body, "last", json_boolean (last));
    return msg;
}

static int
s_upload_next (mt_transfer_t *self, mt_msg_t **msg_p, char **cause)
{
    if (self->retry_at) {
        //  Waiting out a retry_later: the rest in flight drains, then a probe
        if (self->in_flight > 0 || mt_mono_ms () < self->retry_at)
            return 0;
        self->retry_at = 0;
        self->probing = true;
    }
    if (self->probing) {
        if (self->in_flight == 0) {
            *msg_p = s_upload_msg (self, 0, false);     // no payload: where to start?
            self->in_flight = 1;
        }
        return 0;
    }
    //  An empty blob is one empty chunk at offset 0; `next` then passes the end
    bool due = self->next < self->size || (self->size == 0 && self->next == 0);
    if (!due || self->in_flight >= MT_TRANSFER_CREDIT)
        return 0;
    int64_t length = s_chunk_at (self, self->next);
    errno = 0;
    if (length > 0 && pread (self->fd, self->chunk, (size_t) length, self->next) != length)
        return mt_fail (cause, "cannot read the file being uploaded at offset %lld"
                        " (did it change?): %s", (long long) self->next,
                        errno ? strerror (errno) : "short read");
    mt_msg_t *msg = s_upload_msg (self, self->next, self->next + length == self->size);
    mt_msg_set_payload (msg, self->chunk, (size_t) length);
    self->next += length > 0 ? length : 1;
    self->in_flight++;
    *msg_p = msg;
    return 0;
}

//  ERROR retry_later: wait (doubling the wait each time, up to a bound on
//  the tries), then probe again. 0, or -1 with *cause once out of tries.
static int
s_upload_retry (mt_transfer_t *self, mt_msg_t *reply, char **cause)
{
    self->in_flight--;
    if (self->retry_at)
        return 0;               // the rest of a window answered so too
    if (++self->retries > MT_TRANSFER_RETRIES)
        return s_refused (reply, "UPLOADED", cause);
    self->backoff_ms = self->backoff_ms ? self->backoff_ms * 2 : MT_TRANSFER_RETRY_MS;
    if (self->backoff_ms > MT_TRANSFER_RETRY_MAX_MS)
        self->backoff_ms = MT_TRANSFER_RETRY_MAX_MS;
    self->retry_at = mt_mono_ms () + self->backoff_ms;
    self->next = self->done;
    return 0;
}

static bool
s_retry_later (mt_msg_t *reply)
{
    const char *code = NULL;
    return mt_msg_is (reply, "ERROR")
        && mt_msg_get_str (reply, "code", 64, &code, NULL) == 0
        && strcmp (code, MT_ERR_RETRY_LATER) == 0;
}

static int
s_upload_take (mt_transfer_t *self, mt_msg_t *reply, char **cause)
{
    bool complete = false;
    int64_t offset = 0;
    char *why = NULL;
    if (s_retry_later (reply))
        return s_upload_retry (self, reply, cause);
    if (self->retry_at && mt_msg_is (reply, "UPLOADED")
    &&  mt_msg_get_bool (reply, "complete", &complete, NULL) == 0 && !complete) {
        self->in_flight--;      // a chunk sent before the retry_later: its place is moot
        return 0;
    }
    if (!mt_msg_is (reply, "UPLOADED"))
        return s_refused (reply, "UPLOADED", cause);
    if (mt_msg_get_bool (reply, "complete", &complete, &why)
    ||  mt_msg_get_int (reply, "offset", 0, BLOB_MAX_SIZE, &offset, &why)) {
        mt_fail (cause, "the broker sent a malformed UPLOADED: %s", why);
        free (why);
        return -1;
    }
    if (!mt_transfer_concerns (self, reply))
        return mt_fail (cause, "the broker's UPLOADED names another blob than %.12s",
                        self->hash);
    self->in_flight--;
    if (complete) {
        self->retry_at = 0;
        self->finished = true;
        self->done = self->next = self->size;
        return 0;
    }
    //  The probe says where to begin; a chunk's reply, where it ended
    int64_t due = self->probing ? offset : self->done + s_chunk_at (self, self->done);
    if (offset != due || offset >= self->size)
        return mt_fail (cause, offset >= self->size
                        ? "the broker took every byte of %.12s but did not report the upload"
                          " complete (offset %lld of %lld)"
                        : "the broker confirmed blob %.12s up to offset %lld where %lld was due",
                        self->hash, (long long) offset,
                        (long long) (offset >= self->size ? self->size : due));
    if (self->probing)
        self->next = offset;
    self->probing = false;
    self->done = offset;
    return 0;
}

//  --- Fetch ---------------------------------------------------------------

static int
s_fetch_next (mt_transfer_t *self, mt_msg_t **msg_p)
{
    //  Until the size is known, one request at a time; an empty blob is one
    //  request at offset 0, answered with no bytes
    bool due = self->size < 0 ? self->in_flight == 0
             : self->next < self->size || (self->size == 0 && self->next == 0);
    if (!due || self->in_flight >= MT_TRANSFER_CREDIT)
        return 0;
    int64_t length = self->size < 0 ? MT_TRANSFER_CHUNK : s_chunk_at (self, self->next);
    mt_msg_t *msg = mt_msg_new ("FETCH");
    json_t *body = mt_msg_body (msg);
    if (self->job)
        json_object_set_new (body, "job", json_integer (self->job));
    if (self->job && self->what)
        json_object_set_new (body, "what", json_string (self->what));
    if (!self->job)
        json_object_set_new (body, "hash", json_string (self->hash));
    json_object_set_new (body, "offset", json_integer (self->next));
    json_object_set_new (body, "length", json_integer (length > 0 ? length : 1));
    if (self->size >= 0)
        self->next += length > 0 ? length : 1;
    self->in_flight++;
    *msg_p = msg;
    return 0;
}

//  The CHUNK's fields against what the transfer knows (the first one of a
//  fetch by job tells the hash and size).
static int
s_fetch_check (mt_transfer_t *self, mt_msg_t *reply, char **cause)
{
    const char *hash;
    int64_t size, offset;
    char *why = NULL;
    if (mt_msg_get_str (reply, "hash", MT_HASH_HEX, &hash, &why)
    ||  mt_msg_get_int (reply, "size", 0, BLOB_MAX_SIZE, &size, &why)
    ||  mt_msg_get_int (reply, "offset", 0, BLOB_MAX_SIZE, &offset, &why)) {
        mt_fail (cause, "the broker sent a malformed CHUNK: %s", why);
        free (why);
        return -1;
    }
    if (!blob_hash_valid (hash))
        return mt_fail (cause, "the broker sent a CHUNK whose hash is not a SHA-256");
    bool learning = self->job && !self->hash [0];
    if (learning)
        memcpy (self->hash, hash, sizeof self->hash);
    if (!mt_transfer_concerns (self, reply) || strcmp (hash, self->hash))
        return mt_fail (cause, self->job
                        ? "the job's model changed during the download (now %.12s); fetch it again"
                        : "the broker sent a chunk of blob %.12s where another was asked for",
                        hash);
    if (self->size < 0)
        self->size = size;
    if (size != self->size)
        return mt_fail (cause, "the broker says blob %.12s is %lld bytes, not %lld",
                        hash, (long long) size, (long long) self->size);
    if (offset != self->done)
        return mt_fail (cause, "the broker sent the chunk at offset %lld of blob %.12s"
                        " where offset %lld was due", (long long) offset, hash,
                        (long long) self->done);
    size_t len = 0;
    mt_msg_payload (reply, &len);
    int64_t due = s_chunk_at (self, offset);
    if ((int64_t) len != due)
        return mt_fail (cause, "the broker sent %zu bytes at offset %lld of blob %.12s"
                        " where %lld were due", len, (long long) offset, hash, (long long) due);
    return 0;
}

static int
s_fetch_take (mt_transfer_t *self, mt_msg_t *reply, char **cause)
{
    if (!mt_msg_is (reply, "CHUNK"))
        return s_refused (reply, "CHUNK", cause);
    if (s_fetch_check (self, reply, cause))
        return -1;
    size_t len = 0;
    const void *data = mt_msg_payload (reply, &len);
    if (len > 0 && mt_write_at (self->fd, data, len, self->done))
        return mt_fail (cause, "cannot write '%s': %s", self->temp, strerror (errno));
    crypto_hash_sha256_update (&self->sha, data, len);
    self->in_flight--;
    self->done += (int64_t) len;
    if (self->next < self->done)
        self->next = self->done;    // the first reply of a fetch by job
    return self->done == self->size ? s_fetch_finish (self, cause) : 0;
}

//  All bytes are in: check their hash, make them durable, move them into place.
static int
s_fetch_finish (mt_transfer_t *self, char **cause)
{
    char hex [MT_HASH_HEX + 1];
    blob_sha256_hex (&self->sha, hex);
    if (strcmp (hex, self->hash))
        return mt_fail (cause, "the bytes fetched hash to %s, not the %s the broker"
                        " reports; fetch it again", hex, self->hash);
    if (fsync (self->fd))
        return mt_fail (cause, "cannot write '%s': %s", self->temp, strerror (errno));
    if (rename (self->temp, self->path))
        return mt_fail (cause, "cannot rename the download to '%s': %s", self->path,
                        strerror (errno));
    free (self->temp);
    self->temp = NULL;
    self->finished = true;
    return 0;
}
