/*  conn - mtclient's DEALER connection to the broker: requests, replies, uploads, fetches  */
#include "conn.h"
#include "mt/curve.h"
#include "mt/log.h"
#include "mt/blob.h"
#include "mt/util.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONN_MAX_REQ    ((int64_t) 1 << 53)     // largest `req` the protocol allows

struct conn_t {
    zsock_t *sock;              // DEALER
    zpoller_t *poller;
    char *endpoint;
    int timeout_ms;             // per reply
    int64_t next_req;           // the `req` of the next request
    bool timed_out;             // the last failure was a timeout
    char error_code [32];       // code of the last ERROR reply, "" when none
    const char *hint;           // added to a timeout's message
};

#define CONN_DEFAULT_CLIENTS "tcp://127.0.0.1:5555"    // mtbroker's default --clients

//  CURVE refuses an unknown key by closing the handshake: to the client
//  that is silence, so a timeout with keys may mean either
#define CONN_HINT       "is mtbroker running? (--broker, MT_BROKER)"
#define CONN_HINT_KEYS  "is mtbroker running (--broker, MT_BROKER), and is this client's " \
                        "public key in its clients/ folder (--cert, --broker-key)?"

//  A transfer's window of requests in flight.
typedef struct {
    int64_t first_req;          // replies with a smaller req are stale
    int inflight;
} s_window_t;

static int s_send (conn_t *self, mt_msg_t **msg_p, int64_t *req, char **cause);
static int s_recv (conn_t *self, int64_t min_req, mt_msg_t **msg_p, char **cause);
static int s_check_reply (conn_t *self, mt_msg_t *reply, const char *expect, char **cause);
static mt_msg_t *s_upload_msg (const char *hash, int64_t size, int64_t offset, bool last);
static int s_upload_chunks (conn_t *self, int fd, const char *hash, int64_t size,
                            int64_t offset, char **cause);
static int s_fetch_chunk (conn_t *self, int64_t job, int64_t offset, char **cause);
static int s_fetch_store (conn_t *self, mt_msg_t *reply, int fd, char **hash, int64_t *size,
                          int64_t *wanted, char **cause);
static int s_fetch_into (conn_t *self, int64_t job, int fd, char **hash, int64_t *size,
                         char **cause);

conn_t *
conn_new (const char *endpoint, int timeout_ms, char **cause)
{
    return conn_new_curve (endpoint, timeout_ms, NULL, NULL, cause);
}

conn_t *
conn_new_curve (const char *endpoint, int timeout_ms, const char *cert, const char *broker_key,
                char **cause)
{
    conn_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->endpoint = strdup (endpoint);
    self->timeout_ms = timeout_ms;
    self->next_req = 1;
    self->sock = zsock_new (ZMQ_DEALER);
    if (!self->endpoint || !self->sock) {
        mt_fail (cause, "cannot create a ZeroMQ socket: %s", zmq_strerror (zmq_errno ()));
        goto err;
    }
    //  Never block on exit or on a full queue: a missing broker must show as
    //  a timeout, not a hang
    zsock_set_linger (self->sock, 0);
    zsock_set_sndtimeo (self->sock, timeout_ms);
    self->hint = cert ? CONN_HINT_KEYS : CONN_HINT;
    if (cert) {
        mt_curve_t *curve = mt_curve_new (cert, broker_key, cause);
        if (!curve)
            goto err;
        mt_curve_apply (curve, self->sock);
        mt_curve_destroy (&curve);
    }
    if (zsock_connect (self->sock, "%s", endpoint)) {
        mt_fail (cause, "cannot connect to '%s' (%s); give an endpoint like %s with --broker",
                 endpoint, zmq_strerror (zmq_errno ()), CONN_DEFAULT_CLIENTS);
        goto err;
    }
    self->poller = zpoller_new (self->sock, NULL);
    if (!self->poller) {
        mt_fail (cause, "cannot create a poller");
        goto err;
    }
    mt_debug ("conn: connecting to %s (timeout %d ms)", endpoint, timeout_ms);
    return self;
err:
    conn_destroy (&self);
    return NULL;
}

void
conn_destroy (conn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    conn_t *self = *self_p;
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->sock);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

bool conn_timed_out (const conn_t *self) { return self->timed_out; }
const char *conn_endpoint (const conn_t *self) { return self->endpoint; }

const char *
conn_error_code (const conn_t *self)
{
    return self->error_code [0] ? self->error_code : NULL;
}

//  Stamp msg with a fresh req and send it (taking it).
static int
s_send (conn_t *self, mt_msg_t **msg_p, int64_t *req, char **cause)
{
    mt_msg_t *msg = *msg_p;
    *msg_p = NULL;
    if (self->next_req >= CONN_MAX_REQ)
        self->next_req = 1;
    int64_t id = self->next_req++;
    json_object_set_new (mt_msg_body (msg), "req", json_integer (id));
    mt_debug ("conn: -> %s req %lld", mt_msg_command (msg), (long long) id);
    int rc = mt_msg_send (msg, self->sock, NULL);
    if (rc) {
        self->timed_out = zmq_errno () == EAGAIN;
        if (self->timed_out)
            mt_fail (cause, "no answer from the broker at %s within %g s; %s",
                     self->endpoint, self->timeout_ms / 1000.0, self->hint);
        else
            mt_fail (cause, "cannot send to the broker at %s: %s", self->endpoint,
                     zmq_strerror (zmq_errno ()));
    }
    mt_msg_destroy (&msg);
    if (rc == 0 && req)
        *req = id;
    return rc;
}

//  Wait for the next reply to a request with req >= min_req; replies to
//  older requests (abandoned after a timeout) are dropped.
static int
s_recv (conn_t *self, int64_t min_req, mt_msg_t **msg_p, char **cause)
{
    int64_t deadline = mt_mono_ms () + self->timeout_ms;
    while (true) {
        int64_t left = deadline - mt_mono_ms ();
        void *which = left > 0 ? zpoller_wait (self->poller, (int) left) : NULL;
        if (!which) {
            self->timed_out = true;
            return mt_fail (cause, "no answer from the broker at %s within %g s; %s",
                            self->endpoint, self->timeout_ms / 1000.0, self->hint);
        }
        zmsg_t *zmsg = zmsg_recv (self->sock);
        if (!zmsg)
            continue;
        const char *code = NULL;
        char *why = NULL;
        mt_msg_t *msg = mt_msg_decode (zmsg, &code, &why);
        zmsg_destroy (&zmsg);
        if (!msg) {
            mt_fail (cause, "the broker at %s sent a malformed reply (%s); "
                     "are mtclient and mtbroker the same version?", self->endpoint, why);
            free (why);
            return -1;
        }
        int64_t req = -1;
        if (mt_msg_opt_int (msg, "req", 0, CONN_MAX_REQ, &req, NULL) == 0
        &&  req != -1 && req < min_req) {
            mt_debug ("conn: dropping a stale %s (req %lld)", mt_msg_command (msg), (long long) req);
            mt_msg_destroy (&msg);
            continue;
        }
        mt_debug ("conn: <- %s req %lld", mt_msg_command (msg), (long long) req);
        *msg_p = msg;
        return 0;
    }
}

//  Turn an ERROR or an unexpected reply into a cause.
static int
s_check_reply (conn_t *self, mt_msg_t *reply, const char *expect, char **cause)
{
    if (mt_msg_is (reply, "ERROR")) {
        const char *code = "?", *text = "(no text)";
        mt_msg_get_str (reply, "code", 64, &code, NULL);
        mt_msg_get_str (reply, "text", MT_MAX_STRING, &text, NULL);
        snprintf (self->error_code, sizeof self->error_code, "%s", code);
        //  mtclient pointed at the port workers use: say which one it wants
        bool workers = strcmp (code, MT_ERR_BAD_COMMAND) == 0
                    && strstr (text, "on the workers socket");
        return mt_fail (cause, "%s (%s)%s%s%s", text, code,
                        workers ? "; " : "", workers ? self->endpoint : "",
                        workers ? " is the broker's workers socket: point --broker (or "
                                  "MT_BROKER) at its clients socket (default "
                                  CONN_DEFAULT_CLIENTS ", mtbroker --clients)" : "");
    }
    if (!mt_msg_is (reply, expect))
        return mt_fail (cause, "the broker answered %s where %s was expected; "
                        "are mtclient and mtbroker the same version?",
                        mt_msg_command (reply), expect);
    return 0;
}

int
conn_call (conn_t *self, mt_msg_t **request_p, const char *expect, mt_msg_t **reply_p,
           char **cause)
{
    self->timed_out = false;
    self->error_code [0] = 0;
    int64_t req;
    if (s_send (self, request_p, &req, cause))
        return -1;
    mt_msg_t *reply = NULL;
    if (s_recv (self, req, &reply, cause))
        return -1;
    if (s_check_reply (self, reply, expect, cause)) {
        mt_msg_destroy (&reply);
        return -1;
    }
    *reply_p = reply;
    return 0;
}

static mt_msg_t *
s_upload_msg (const char *hash, int64_t size, int64_t offset, bool last)
{
    mt_msg_t *msg = mt_msg_new ("UPLOAD");
    json_t *body = mt_msg_body (msg);
    json_object_set_new (body, "hash", json_string (hash));
    json_object_set_new (body, "size", json_integer (size));
    json_object_set_new (body, "offset", json_integer (offset));
    json_object_set_new (body, "last", json_boolean (last));
    return msg;
}

int
conn_upload (conn_t *self, const char *path, const char *hash, int64_t size, char **cause)
{
    self->timed_out = false;
    self->error_code [0] = 0;
    //  The probe: does the broker hold the blob already, or where to go on
    mt_msg_t *probe = s_upload_msg (hash, size, 0, false);
    mt_msg_set_payload (probe, "", 0);
    mt_msg_t *reply = NULL;
    if (conn_call (self, &probe, "UPLOADED", &reply, cause))
        return -1;
    bool complete = false;
    int64_t offset = 0;
    int rc = mt_msg_get_bool (reply, "complete", &complete, cause);
    if (rc == 0 && !complete)
        rc = mt_msg_get_int (reply, "offset", 0, size, &offset, cause);
    mt_msg_destroy (&reply);
    if (rc || complete) {
        if (complete)
            mt_debug ("conn: the broker holds %s already", hash);
        return rc;
    }
    int fd = open (path, O_RDONLY);
    if (fd < 0)
        return mt_fail (cause, "cannot open '%s': %s", path, strerror (errno));
    rc = s_upload_chunks (self, fd, hash, size, offset, cause);
    close (fd);
    return rc;
}

//  Send chunks from offset with up to CONN_CREDIT unanswered until the
//  broker says complete.
static int
s_upload_chunks (conn_t *self, int fd, const char *hash, int64_t size, int64_t offset,
                 char **cause)
{
    unsigned char *buffer = malloc (CONN_CHUNK);
    if (!buffer)
        return mt_fail (cause, "out of memory");
    s_window_t window = { self->next_req, 0 };
    int64_t next = offset;
    int rc = -1;
    while (true) {
        while (window.inflight < CONN_CREDIT && (next < size || (size == 0 && next == 0))) {
            size_t want = (size_t) (size - next < CONN_CHUNK ? size - next : CONN_CHUNK);
            ssize_t got = pread (fd, buffer, want, next);
            if (got != (ssize_t) want) {
                mt_fail (cause, "cannot read the file being uploaded at offset %lld "
                         "(did it change?): %s", (long long) next,
                         got < 0 ? strerror (errno) : "short read");
                goto done;
            }
            mt_msg_t *chunk = s_upload_msg (hash, size, next, next + (int64_t) want == size);
            mt_msg_set_payload (chunk, buffer, want);
            if (s_send (self, &chunk, NULL, cause))
                goto done;
            next += (int64_t) want;
            window.inflight++;
            if (size == 0)
                next = 1;   // the one empty chunk is out
        }
        if (window.inflight == 0) {
            mt_fail (cause, "the broker took every byte but did not report the upload complete");
            goto done;
        }
        mt_msg_t *reply = NULL;
        if (s_recv (self, window.first_req, &reply, cause))
            goto done;
        window.inflight--;
        bool complete = false;
        int bad = s_check_reply (self, reply, "UPLOADED", cause)
               || mt_msg_get_bool (reply, "complete", &complete, cause);
        mt_msg_destroy (&reply);
        if (bad)
            goto done;
        if (complete)
            break;
    }
    rc = 0;
done:
    free (buffer);
    return rc;
}

static int
s_fetch_chunk (conn_t *self, int64_t job, int64_t offset, char **cause)
{
    mt_msg_t *msg = mt_msg_new ("FETCH");
    json_t *body = mt_msg_body (msg);
    json_object_set_new (body, "job", json_integer (job));
    json_object_set_new (body, "offset", json_integer (offset));
    json_object_set_new (body, "length", json_integer (CONN_CHUNK));
    return s_send (self, &msg, NULL, cause);
}

//  Check one CHUNK reply against what the first one said and write it.
//  The first reply sets *hash and *size. *wanted counts bytes still missing.
static int
s_fetch_store (conn_t *self, mt_msg_t *reply, int fd, char **hash, int64_t *size,
               int64_t *wanted, char **cause)
{
    const char *chunk_hash;
    int64_t chunk_size, offset;
    if (s_check_reply (self, reply, "CHUNK", cause)
    ||  mt_msg_get_str (reply, "hash", MT_HASH_HEX, &chunk_hash, cause)
    ||  mt_msg_get_int (reply, "size", 0, (int64_t) 1 << 40, &chunk_size, cause)
    ||  mt_msg_get_int (reply, "offset", 0, chunk_size, &offset, cause))
        return -1;
    if (!*hash) {
        *hash = strdup (chunk_hash);
        *size = chunk_size;
        *wanted = chunk_size;
    }
    else
    if (strcmp (*hash, chunk_hash) || *size != chunk_size)
        return mt_fail (cause, "the job's model changed during the download; fetch it again");
    size_t len = 0;
    const void *data = mt_msg_payload (reply, &len);
    int64_t expect = chunk_size - offset < CONN_CHUNK ? chunk_size - offset : CONN_CHUNK;
    if ((int64_t) len != expect)
        return mt_fail (cause, "the broker sent %zu bytes at offset %lld where %lld were due",
                        len, (long long) offset, (long long) expect);
    if (len > 0 && mt_write_at (fd, data, len, offset))
        return mt_fail (cause, "cannot write the model: %s", strerror (errno));
    *wanted -= (int64_t) len;
    return 0;
}

static int
s_fetch_into (conn_t *self, int64_t job, int fd, char **hash, int64_t *size, char **cause)
{
    s_window_t window = { self->next_req, 0 };
    int64_t wanted = 0;
    //  The first chunk tells the size; then up to CONN_CREDIT in flight
    if (s_fetch_chunk (self, job, 0, cause))
        return -1;
    window.inflight = 1;
    int64_t next = CONN_CHUNK;
    bool first = true;
    while (window.inflight > 0) {
        mt_msg_t *reply = NULL;
        if (s_recv (self, window.first_req, &reply, cause))
            return -1;
        window.inflight--;
        int rc = s_fetch_store (self, reply, fd, hash, size, &wanted, cause);
        mt_msg_destroy (&reply);
        if (rc)
            return -1;
        if (first && *size <= 0)
            break;
        first = false;
        while (window.inflight < CONN_CREDIT && next < *size) {
            if (s_fetch_chunk (self, job, next, cause))
                return -1;
            window.inflight++;
            next += CONN_CHUNK;
        }
    }
    if (wanted != 0)
        return mt_fail (cause, "the download ended %lld bytes short", (long long) wanted);
    return 0;
}

int
conn_fetch (conn_t *self, int64_t job, const char *path, char **hash, int64_t *size,
            char **cause)
{
    self->timed_out = false;
    self->error_code [0] = 0;
    char *tmp = NULL;
    char *got_hash = NULL;
    int64_t got_size = 0;
    int rc = -1;
    if (asprintf (&tmp, "%s.XXXXXX", path) < 0)
        return mt_fail (cause, "out of memory");
    int fd = mkstemp (tmp);
    if (fd < 0) {
        mt_fail (cause, "cannot create a file beside '%s': %s", path, strerror (errno));
        goto done;
    }
    fchmod (fd, 0644);
    if (s_fetch_into (self, job, fd, &got_hash, &got_size, cause))
        goto done;
    if (fsync (fd)) {
        mt_fail (cause, "cannot write '%s': %s", tmp, strerror (errno));
        goto done;
    }
    char check [MT_HASH_HEX + 1];
    int64_t check_size;
    if (blob_hash_file (tmp, check, &check_size, cause))
        goto done;
    if (strcmp (check, got_hash) || check_size != got_size) {
        mt_fail (cause, "the downloaded model's SHA-256 is %s, not the %s the broker reports; "
                 "fetch it again", check, got_hash);
        goto done;
    }
    if (rename (tmp, path)) {
        mt_fail (cause, "cannot rename the download to '%s': %s", path, strerror (errno));
        goto done;
    }
    rc = 0;
    if (hash) {
        *hash = got_hash;
        got_hash = NULL;
    }
    if (size)
        *size = got_size;
done:
    if (fd >= 0)
        close (fd);
    if (rc && fd >= 0)
        unlink (tmp);
    free (tmp);
    free (got_hash);
    return rc;
}
