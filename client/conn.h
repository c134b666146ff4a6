/*  conn - mtclient's DEALER connection to the broker: requests, replies, uploads, fetches  */
#ifndef MT_CLIENT_CONN_H_INCLUDED
#define MT_CLIENT_CONN_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mt/msg.h"
#include "mt/spec.h"

typedef struct conn_t conn_t;

//  A connection to the broker's client socket at endpoint; every wait for a
//  reply gives up after timeout_ms. Returns NULL with *cause when the
//  endpoint is malformed. Connecting is lazy: a missing broker shows as a
//  timeout on the first request.
conn_t *conn_new (const char *endpoint, int timeout_ms, char **cause);
//  The same, as a CurveZMQ client: cert is this client's NAME_secret file and
//  broker_key the broker's public cert (both, or cert NULL for none). NULL
//  with *cause naming the file when one cannot be loaded.
conn_t *conn_new_curve (const char *endpoint, int timeout_ms, const char *cert,
                        const char *broker_key, char **cause);
void conn_destroy (conn_t **self_p);

//  Send *request_p (taken, given a fresh `req`) and wait for its reply.
//  On success *reply_p (caller owns) is a message named expect. Returns -1
//  with *cause on a timeout, an ERROR reply ("<text> (<code>)"), or another
//  reply; conn_timed_out and conn_error_code then tell which.
int conn_call (conn_t *self, mt_msg_t **request_p, const char *expect,
               mt_msg_t **reply_p, char **cause);

//  True when the last failure was a timeout (no answer from the broker).
bool conn_timed_out (const conn_t *self);
//  True when the last failure was an ERROR only the broker's workers socket
//  sends (the endpoint is that socket, not the clients one).
bool conn_wrong_socket (const conn_t *self);
//  The code of the last ERROR reply (MT_ERR_...), or NULL.
const char *conn_error_code (const conn_t *self);
//  The endpoint (borrowed).
const char *conn_endpoint (const conn_t *self);

//  Upload the file at path whose SHA-256 is hash (PROTOCOL.md section 5),
//  through an mt_transfer: a probe, then chunks from the offset the broker
//  wants, MT_TRANSFER_CREDIT in flight. Returns 0 once the broker holds the
//  blob, or -1 with *cause.
int conn_upload (conn_t *self, const char *path, const char *hash, int64_t size, char **cause);

//  Download the model of job through an mt_transfer (chunks with
//  MT_TRANSFER_CREDIT requests in flight) into a private temp folder, check
//  it against the SHA-256 the broker reports, then write it to path as
//  mt_output_new means it (a file replaced atomically, a link's target, a
//  device or FIFO straight through, - for stdout). *hash (optional, caller
//  frees) gets the hash and *size the bytes. Returns 0, or -1 with *cause
//  (conn_error_code tells an ERROR's code).
int conn_fetch (conn_t *self, int64_t job, const char *path, char **hash, int64_t *size,
                char **cause);

//  The same for what: "model" (conn_fetch) or "checkpoint", the job's latest
//  checkpoint (FETCH's `what`, PROTOCOL.md section 5).
int conn_fetch_what (conn_t *self, int64_t job, const char *what, const char *path,
                     char **hash, int64_t *size, char **cause);

#endif
