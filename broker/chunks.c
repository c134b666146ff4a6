/*  chunks - blobs moved in chunks on either socket: UPLOAD stored in order, FETCH answered with CHUNK  */
#include "reactor.h"
#include "mt/util.h"

static void s_owner (peer_t *peer, char *owner, size_t size);
static void s_retry_later (broker_t *self, peer_t *peer, const char *hash, int64_t offset,
                           const char *text);

//  Who holds an upload slot: the client's key with --keys; without keys
//  every peer is "local", so its connection (routing id) stands for it.
static void
s_owner (peer_t *peer, char *owner, size_t size)
{
    if (strcmp (peer->user, "local") != 0) {
        mt_strlcpy (owner, peer->user, size);
        return;
    }
    int at = snprintf (owner, size, "local:");
    const unsigned char *id = peer->identity;
    for (size_t i = 0; i < peer->identity_size && at + 3 < (int) size; i++)
        at += snprintf (owner + at, size - (size_t) at, "%02x", id [i]);
}

//  ERROR retry_later with the offset the upload has reached (PROTOCOL.md
//  section 4): the sender waits, probes again, and goes on from there.
static void
s_retry_later (broker_t *self, peer_t *peer, const char *hash, int64_t offset,
               const char *text)
{
    mt_msg_t *reply = mt_msg_error (MT_ERR_RETRY_LATER, text);
    json_t *body = mt_msg_body (reply);
    json_object_set_new (body, "hash", json_string (hash));
    json_object_set_new (body, "offset", json_integer (offset));
    broker_send (self, peer, &reply);
}

//  UPLOAD, on either socket: one chunk of a blob; chunks of a blob several
//  senders upload at once are taken where they overlap (blob_store_write).
void
chunks_upload (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    const char *hash;
    int64_t size, offset;
    bool last;
    char *cause = NULL;
    if (mt_msg_get_str (msg, "hash", 64, &hash, &cause)
    ||  mt_msg_get_int (msg, "size", 0, BLOB_MAX_SIZE, &size, &cause)
    ||  mt_msg_get_int (msg, "offset", 0, BLOB_MAX_SIZE, &offset, &cause)
    ||  mt_msg_get_bool (msg, "last", &last, &cause)) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    size_t len;
    const void *data = mt_msg_payload (msg, &len);
    bool complete;
    int64_t next;
    char owner [72];
    s_owner (peer, owner, sizeof owner);
    //  A small blob may be kept in the database (blobs.c): complete at once
    int64_t kept;
    if (size <= BROKER_SMALL_BLOB_MAX && store_blob_has (self->store, hash, &kept)
    &&  kept == size) {
        complete = true;
        next = size;
    }
    else
    if (blob_store_write_as (self->blobs, owner, hash, size, offset, data, len, &complete,
                             &next, &cause)) {
        static const char *codes [] = {
            [BLOB_ERR_REQUEST] = MT_ERR_BAD_MESSAGE, [BLOB_ERR_HASH] = MT_ERR_BAD_HASH,
            [BLOB_ERR_DISK] = MT_ERR_STORAGE, [BLOB_ERR_BUSY] = MT_ERR_RETRY_LATER,
            [BLOB_ERR_RETRY] = MT_ERR_RETRY_LATER
        };
        blob_error_t kind = blob_store_error (self->blobs);
        if (kind == BLOB_ERR_RETRY || kind == BLOB_ERR_BUSY)
            s_retry_later (self, peer, hash, next, cause);
        else
            broker_error (self, peer, codes [kind], "%s", cause);
        free (cause);
        return;
    }
    if (complete && offset + (int64_t) len == size && len > 0)
        mt_debug ("broker: stored blob %.12s (%lld bytes)", hash, (long long) size);
    mt_msg_t *reply = mt_msg_new ("UPLOADED");
    json_object_set_new (mt_msg_body (reply), "hash", json_string (hash));
    json_object_set_new (mt_msg_body (reply), "offset", json_integer (next));
    json_object_set_new (mt_msg_body (reply), "complete", json_boolean (complete));
    //  It speaks of the blob store alone (a complete blob was fsynced before
    //  it was named), not of the database: no commit to wait for
    broker_send_now (self, peer, &reply);
}

//  A CHUNK reply: bytes of blob hash at offset; job > 0 names the job whose
//  model it is.
void
chunks_send (broker_t *self, peer_t *peer, const char *hash, int64_t offset, int64_t length,
         int64_t job)
{
    int64_t size;
    char *cause = NULL;
    size_t got = 0;
    if (!blobs_has (self, hash, &size))
        mt_fail (&cause, "blob %.12s is not stored", hash);
    else
    if (offset > size)
        mt_fail (&cause, "offset %lld is past the end of blob %.12s (%lld bytes)",
                 (long long) offset, hash, (long long) size);
    else
        blobs_read (self, hash, offset, self->chunk, (size_t) length, &got, &cause);
    if (cause) {
        broker_error (self, peer, MT_ERR_NOT_FOUND, "%s", cause);
        free (cause);
        return;
    }
    mt_msg_t *reply = mt_msg_new ("CHUNK");
    json_t *body = mt_msg_body (reply);
    if (job > 0)
        json_object_set_new (body, "job", json_integer (job));
    json_object_set_new (body, "hash", json_string (hash));
    json_object_set_new (body, "size", json_integer (size));
    json_object_set_new (body, "offset", json_integer (offset));
    mt_msg_set_payload (reply, self->chunk, got);
    broker_send (self, peer, &reply);
}
