/*  conn - mtclient's DEALER connection to the broker: requests, replies, uploads, fetches  */
#include "conn.h"
#include "progress.h"
#include "mt/curve.h"
#include "mt/log.h"
#include "mt/transfer.h"
#include "mt/util.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONN_COPY_BUF   65536                   // bytes per read of a download
#define CONN_MAX_REQ    ((int64_t) 1 << 53)     // largest `req` the protocol allows

struct conn_t {
    zsock_t *sock;              // DEALER
    zpoller_t *poller;
    char *endpoint;
    int timeout_ms;             // per reply
    int64_t next_req;           // the `req` of the next request
    bool timed_out;             // the last failure was a timeout
    bool wrong_socket;          // the last failure: the endpoint is the workers socket
    char error_code [32];       // code of the last ERROR reply, "" when none
    const char *hint;           // added to a timeout's message
};

#define CONN_DEFAULT_CLIENTS "tcp://127.0.0.1:5555"    // mtbroker's default --clients

//  CURVE refuses an unknown key by closing the handshake: to the client
//  that is silence, so a timeout with keys may mean either
#define CONN_HINT       "is mtbroker running? (--broker, MT_BROKER)"
#define CONN_HINT_KEYS  "is mtbroker running (--broker, MT_BROKER), and is this client's " \
                        "public key in its clients/ folder (--cert, --broker-key)?"

static int s_send (conn_t *self, mt_msg_t **msg_p, int64_t *req, char **cause);
static int s_recv (conn_t *self, int64_t min_req, mt_msg_t **msg_p, char **cause);
static int s_check_reply (conn_t *self, mt_msg_t *reply, const char *expect, char **cause);
static int s_transfer (conn_t *self, mt_transfer_t *transfer, const char *expect,
                       char **cause);
static bool s_retry_later (mt_msg_t *reply);
static int s_copy_out (const char *from, const char *path, char **cause);

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
bool conn_wrong_socket (const conn_t *self) { return self->wrong_socket; }
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
        //  Only the workers socket answers a client so: a worker's command
        //  (FETCH, UPLOAD) before a HELLO, or a command it does not know
        self->wrong_socket = strcmp (code, MT_ERR_UNKNOWN_PEER) == 0
                          || (strcmp (code, MT_ERR_BAD_COMMAND) == 0
                              && strstr (text, "on the workers socket"));
        if (self->wrong_socket)
            return mt_fail (cause, "%s is the broker's workers socket, not its clients socket "
                            "(it answered '%s'); point --broker (or MT_BROKER) at its clients "
                            "socket (default " CONN_DEFAULT_CLIENTS ", mtbroker --clients)",
                            self->endpoint, text);
        return mt_fail (cause, "%s (%s)", text, code);
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
    self->wrong_socket = false;
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

//  Run transfer over this connection until it is done: send what it has to
//  send, and give it each reply to its requests (replies to older requests
//  are dropped by their req); an ERROR is turned into a cause here, so its
//  code is kept for conn_error_code.
static int
s_transfer (conn_t *self, mt_transfer_t *transfer, const char *expect, char **cause)
{
    self->timed_out = false;
    self->wrong_socket = false;
    self->error_code [0] = 0;
    int64_t first_req = self->next_req;
    progress_t *bar = progress_new (strcmp (expect, "UPLOADED") == 0 ? "upload" : "download",
                                    mt_transfer_size (transfer));
    int rc = 0;
    while (rc == 0 && !mt_transfer_done (transfer)) {
        mt_msg_t *msg = NULL;
        while ((rc = mt_transfer_next (transfer, &msg, cause)) == 0 && msg)
            if ((rc = s_send (self, &msg, NULL, cause)))
                break;
        if (rc)
            break;
        if (mt_transfer_in_flight (transfer) == 0) {
            //  An upload told retry_later waits out its backoff, then probes
            zclock_sleep ((int) mt_transfer_wait_ms (transfer));
            continue;
        }
        mt_msg_t *reply = NULL;
        if ((rc = s_recv (self, first_req, &reply, cause)))
            break;
        rc = s_retry_later (reply) ? mt_transfer_take (transfer, reply, cause)
           : s_check_reply (self, reply, expect, cause) ? -1
           : mt_transfer_take (transfer, reply, cause);
        mt_msg_destroy (&reply);
        progress_update (bar, mt_transfer_done_bytes (transfer), mt_transfer_size (transfer));
    }
    progress_destroy (&bar);
    return rc;
}

//  True for an ERROR retry_later: the transfer waits and tries again.
static bool
s_retry_later (mt_msg_t *reply)
{
    const char *code = NULL;
    return mt_msg_is (reply, "ERROR")
        && mt_msg_get_str (reply, "code", 64, &code, NULL) == 0
        && strcmp (code, MT_ERR_RETRY_LATER) == 0;
}

int
conn_upload (conn_t *self, const char *path, const char *hash, int64_t size, char **cause)
{
    mt_transfer_t *transfer = mt_transfer_upload_new (path, hash, size, cause);
    if (!transfer)
        return -1;
    int rc = s_transfer (self, transfer, "UPLOADED", cause);
    mt_transfer_destroy (&transfer);
    return rc;
}

//  Copy the file at from into the output path, as mt_output_new means it.
static int
s_copy_out (const char *from, const char *path, char **cause)
{
    int fd = open (from, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mt_fail (cause, "cannot read the download %s: %s", from, strerror (errno));
    mt_output_t *output = mt_output_new (path, cause);
    int rc = output ? 0 : -1;
    char buf [CONN_COPY_BUF];
    ssize_t len;
    while (rc == 0 && (len = read (fd, buf, sizeof buf)) != 0) {
        if (len < 0 && errno == EINTR)
            continue;
        rc = len < 0 ? mt_fail (cause, "cannot read the download %s: %s", from,
                                strerror (errno))
                     : mt_output_write (output, buf, (size_t) len, cause);
    }
    close (fd);
    if (rc == 0)
        return mt_output_commit (&output, cause);
    mt_output_destroy (&output);
    return -1;
}

int
conn_fetch (conn_t *self, int64_t job, const char *path, char **hash, int64_t *size,
            char **cause)
{
    return conn_fetch_what (self, job, "model", path, hash, size, cause);
}

int
conn_fetch_what (conn_t *self, int64_t job, const char *what, const char *path, char **hash,
                 int64_t *size, char **cause)
{
    //  The bytes land in a private folder first and reach path only once
    //  their SHA-256 has been checked, so a pipe or a device never gets a
    //  torn or corrupt model
    const char *tmp = getenv ("TMPDIR");
    char *dir = NULL, *download = NULL;
    if (asprintf (&dir, "%s/mtclient-fetch.XXXXXX", tmp && *tmp ? tmp : P_tmpdir) < 0)
        return mt_fail (cause, "out of memory");
    if (!mkdtemp (dir)) {
        mt_fail (cause, "cannot make a folder for the download in %s: %s (TMPDIR)",
                 tmp && *tmp ? tmp : P_tmpdir, strerror (errno));
        free (dir);
        return -1;
    }
    int rc = asprintf (&download, "%s/model", dir) < 0 ? mt_fail (cause, "out of memory") : 0;
    mt_transfer_t *transfer = rc ? NULL : mt_transfer_fetch_job_new (download, job, cause);
    if (transfer && strcmp (what, "model") != 0)
        mt_transfer_fetch_what (transfer, what);
    rc = transfer ? s_transfer (self, transfer, "CHUNK", cause) : -1;
    if (rc == 0 && hash && !(*hash = strdup (mt_transfer_hash (transfer))))
        rc = mt_fail (cause, "out of memory");
    if (rc == 0 && size)
        *size = mt_transfer_size (transfer);
    mt_transfer_destroy (&transfer);
    if (rc == 0)
        rc = s_copy_out (download, path, cause);
    if (download)
        unlink (download);
    rmdir (dir);
    free (download);
    free (dir);
    return rc;
}
