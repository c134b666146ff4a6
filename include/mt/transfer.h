/*  transfer - one blob moving to or from the broker in chunks, with credit-based flow control  */
#ifndef MT_TRANSFER_H_INCLUDED
#define MT_TRANSFER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "mt/msg.h"

#define MT_TRANSFER_CHUNK   (256 * 1024)    // bytes per UPLOAD chunk or FETCH request
#define MT_TRANSFER_CREDIT  8               // chunks or requests in flight at most
#define MT_TRANSFER_RETRY_MS     50         // first wait after an ERROR retry_later; doubles
#define MT_TRANSFER_RETRY_MAX_MS 2000       // ... up to this
#define MT_TRANSFER_RETRIES      40         // retry_later answers an upload takes, at most

//  A transfer speaks one side of PROTOCOL.md's chunked transfers: the
//  sender's UPLOAD (a probe, then chunks, each answered UPLOADED) or the
//  receiver's FETCH (requests answered CHUNK, written to a file, checked
//  against their SHA-256). The socket stays with the caller: it sends what
//  mt_transfer_next builds and hands every reply to mt_transfer_take, so
//  one transfer serves a reactor and a blocking loop alike.
typedef struct mt_transfer_t mt_transfer_t;

//  Upload the file at path, whose SHA-256 is hash and length size. With
//  hash NULL the file is hashed here, through the descriptor it is then
//  sent from, so a file renamed over path meanwhile does not mix in (size
//  is then ignored). Returns a new transfer, or NULL with *cause when the
//  file cannot be opened or read.
mt_transfer_t *mt_transfer_upload_new (const char *path, const char *hash, int64_t size,
                                       char **cause);

//  Fetch blob hash, of size bytes (-1 when not known: the first CHUNK says),
//  into path. The bytes go to a new temp file beside path, and are renamed
//  over it once all have come and their SHA-256 is hash; a transfer
//  destroyed before that removes its temp file. Returns a new transfer, or
//  NULL with *cause (an invalid hash, no temp file).
mt_transfer_t *mt_transfer_fetch_new (const char *path, const char *hash, int64_t size,
                                      char **cause);

//  The same for the model of job (the clients socket's FETCH): its hash and
//  size are told by the first CHUNK, which is asked for alone.
mt_transfer_t *mt_transfer_fetch_job_new (const char *path, int64_t job, char **cause);

//  A fetch by job asks for what ("checkpoint"; borrowed, a literal) rather
//  than the job's model: FETCH's `what` field.
void mt_transfer_fetch_what (mt_transfer_t *self, const char *what);

void mt_transfer_destroy (mt_transfer_t **self_p);

//  The next message to send, into *msg_p (the caller owns it), or NULL when
//  the window is full, an answer is awaited first, or all is sent: call it
//  until it gives NULL, after the start and after every reply. Returns 0,
//  or -1 with *cause when the file being uploaded cannot be read (the
//  transfer is then over).
int mt_transfer_next (mt_transfer_t *self, mt_msg_t **msg_p, char **cause);

//  Take reply (borrowed): the broker's answer to the oldest message in
//  flight, as replies come in order. Returns 0, or -1 with *cause for an
//  ERROR or for a reply that breaks the protocol: another command, another
//  blob or size, an offset other than the one due, a chunk short of or past
//  its length, bytes whose SHA-256 does not match, or a local write that
//  fails. After -1 the transfer is over (not done; nothing more to send).
int mt_transfer_take (mt_transfer_t *self, mt_msg_t *reply, char **cause);

//  True when reply names this transfer's blob (or job), or names none: a
//  reply about another one is left over from a transfer that ended, and a
//  caller without request ids may drop it.
bool mt_transfer_concerns (mt_transfer_t *self, mt_msg_t *reply);

//  Forget the messages in flight (their connection was replaced): the next
//  ones start again from the last confirmed offset, or probe again.
void mt_transfer_resend (mt_transfer_t *self);

//  An upload answered ERROR retry_later (PROTOCOL.md section 5) waits, with
//  backoff, and then probes again: the ms until it has something to send
//  again, 0 when it is not waiting. A caller with nothing in flight sleeps
//  that long before its next mt_transfer_next.
int64_t mt_transfer_wait_ms (const mt_transfer_t *self);

//  Bytes confirmed (upload) or written (fetch) so far: for a progress bar.
int64_t mt_transfer_done_bytes (const mt_transfer_t *self);

//  True once the broker holds the upload, or the fetched file is in place.
bool mt_transfer_done (const mt_transfer_t *self);
//  Messages sent and not yet answered.
int mt_transfer_in_flight (const mt_transfer_t *self);
//  The blob's SHA-256 (borrowed), "" while a fetch of a job has not learnt it.
const char *mt_transfer_hash (const mt_transfer_t *self);
//  The blob's size in bytes, -1 while a fetch has not learnt it.
int64_t mt_transfer_size (const mt_transfer_t *self);

#endif
