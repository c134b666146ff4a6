/*  test_transfer - chunked uploads and fetches against an honest and a hostile broker  */
#include "mt/blob.h"
#include "mt/msg.h"
#include "mt/transfer.h"
#include "mt/util.h"
#include "testutil.h"

#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK   MT_TRANSFER_CHUNK
#define CREDIT  MT_TRANSFER_CREDIT
#define BLOB_SIZE (3 * CHUNK + 1234)    // four chunks, the last one short

//  A blob the test serves or expects, with its hash.
typedef struct {
    unsigned char *data;
    int64_t size;
    char hash [65];
} s_blob_t;

static char s_dir [256];                // this run's temp folder

static void
s_blob_make (s_blob_t *blob, int64_t size, int seed)
{
    blob->size = size;
    blob->data = malloc (size ? (size_t) size : 1);
    for (int64_t i = 0; i < size; i++)
        blob->data [i] = (unsigned char) (i * 7 + i / 1000 + seed);
    unsigned char digest [32];
    crypto_hash_sha256 (digest, blob->data, (unsigned long long) size);
    sodium_bin2hex (blob->hash, sizeof blob->hash, digest, sizeof digest);
}

static const char *
s_blob_file (const s_blob_t *blob, const char *name)
{
    const char *path = test_path (s_dir, name);
    FILE *file = fopen (path, "wb");
    CHECK (file);
    CHECK (blob->size == 0 || fwrite (blob->data, 1, (size_t) blob->size, file) == (size_t) blob->size);
    fclose (file);
    return path;
}

//  Files in the temp folder: a transfer leaves none behind it but its result.
static int
s_files (void)
{
    DIR *dir = opendir (s_dir);
    CHECK (dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        count += entry->d_name [0] != '.';
    closedir (dir);
    return count;
}

static int64_t
s_int (mt_msg_t *msg, const char *key)
{
    int64_t value = -1;
    CHECK_MSG (mt_msg_get_int (msg, key, 0, INT64_MAX, &value, NULL) == 0, "%s has no %s",
               mt_msg_command (msg), key);
    return value;
}

//  Every message the transfer has to send now, in order, into msgs; their count.
static int
s_drain (mt_transfer_t *t, mt_msg_t **msgs, int max)
{
    int n = 0;
    char *cause = NULL;
    while (true) {
        mt_msg_t *msg = NULL;
        CHECK_MSG (mt_transfer_next (t, &msg, &cause) == 0, "%s", cause);
        if (!msg)
            break;
        CHECK (n < max);
        msgs [n++] = msg;
    }
    return n;
}

static size_t
s_payload (mt_msg_t *msg)
{
    size_t len = 0;
    mt_msg_payload (msg, &len);
    return len;
}

static void
s_destroy_all (mt_msg_t **msgs, int n)
{
    for (int i = 0; i < n; i++)
        mt_msg_destroy (&msgs [i]);
}

static mt_msg_t *
s_uploaded (const char *hash, int64_t offset, bool complete)
{
    mt_msg_t *reply = mt_msg_new ("UPLOADED");
    if (hash)
        json_object_set_new (mt_msg_body (reply), "hash", json_string (hash));
    json_object_set_new (mt_msg_body (reply), "offset", json_integer (offset));
    json_object_set_new (mt_msg_body (reply), "complete", json_boolean (complete));
    return reply;
}

//  take must refuse reply with a cause holding needle; the transfer is then over.
static void
s_refuses (mt_transfer_t *t, mt_msg_t *reply, const char *needle)
{
    char *cause = NULL;
    CHECK_MSG (mt_transfer_take (t, reply, &cause) == -1, "took a reply that holds '%s'", needle);
    CHECK_STR_CONTAINS (cause, needle);
    mt_msg_destroy (&reply);
    free (cause);
    CHECK (!mt_transfer_done (t));
    mt_msg_t *msg = NULL;
    CHECK (mt_transfer_next (t, &msg, NULL) == 0 && msg == NULL);
}

static void
s_takes (mt_transfer_t *t, mt_msg_t *reply)
{
    char *cause = NULL;
    CHECK_MSG (mt_transfer_take (t, reply, &cause) == 0, "%s", cause);
    mt_msg_destroy (&reply);
}

//  An upload through to the end, the broker honest: the probe, then chunks
//  in order from where it said, the credit kept, every byte as in the file.
static void
test_upload (void)
{
    s_blob_t blob;
    s_blob_make (&blob, BLOB_SIZE, 1);
    const char *path = s_blob_file (&blob, "up.bin");
    char *cause = NULL;
    mt_transfer_t *t = mt_transfer_upload_new (path, NULL, 0, &cause);
    CHECK_MSG (t, "%s", cause);
    CHECK_STR_EQ (mt_transfer_hash (t), blob.hash);    // hashed through its descriptor
    CHECK (mt_transfer_size (t) == BLOB_SIZE);
    mt_msg_t *msgs [64];
    int n = s_drain (t, msgs, 64);
    CHECK (n == 1 && mt_msg_is (msgs [0], "UPLOAD"));
    size_t len = 99;
    CHECK (mt_msg_payload (msgs [0], &len) == NULL && len == 0);
    CHECK (s_int (msgs [0], "offset") == 0 && s_int (msgs [0], "size") == BLOB_SIZE);
    bool last = true;
    CHECK (mt_msg_get_bool (msgs [0], "last", &last, NULL) == 0 && !last);
    s_destroy_all (msgs, n);
    s_takes (t, s_uploaded (blob.hash, 0, false));
    n = s_drain (t, msgs, 64);
    CHECK (n == 4 && mt_transfer_in_flight (t) == 4);
    for (int i = 0; i < n; i++) {
        const void *data = mt_msg_payload (msgs [i], &len);
        int64_t offset = s_int (msgs [i], "offset");
        CHECK (offset == (int64_t) i * CHUNK);
        CHECK (len == (size_t) (i < 3 ? CHUNK : 1234));
        CHECK (memcmp (data, blob.data + offset, len) == 0);
        CHECK (mt_msg_get_bool (msgs [i], "last", &last, NULL) == 0 && last == (i == 3));
    }
    s_destroy_all (msgs, n);
    for (int i = 1; i <= 3; i++) {
        s_takes (t, s_uploaded (blob.hash, (int64_t) i * CHUNK, false));
        CHECK (!mt_transfer_done (t) && s_drain (t, msgs, 64) == 0);
    }
    s_takes (t, s_uploaded (blob.hash, BLOB_SIZE, true));
    CHECK (mt_transfer_done (t) && mt_transfer_in_flight (t) == 0);
    CHECK (s_drain (t, msgs, 64) == 0);
    mt_transfer_destroy (&t);
    mt_transfer_destroy (&t);

    //  The broker holds it already: the probe's answer ends it
    t = mt_transfer_upload_new (path, blob.hash, blob.size, &cause);
    CHECK (t && s_drain (t, msgs, 64) == 1);
    s_destroy_all (msgs, 1);
    s_takes (t, s_uploaded (blob.hash, BLOB_SIZE, true));
    CHECK (mt_transfer_done (t) && s_drain (t, msgs, 64) == 0);
    mt_transfer_destroy (&t);

    //  Half of it is there: the chunks start where the broker says, even off
    //  a chunk's boundary, and a reply without a hash is fine
    t = mt_transfer_upload_new (path, blob.hash, blob.size, &cause);
    CHECK (s_drain (t, msgs, 64) == 1);
    s_destroy_all (msgs, 1);
    s_takes (t, s_uploaded (NULL, CHUNK + 10, false));
    n = s_drain (t, msgs, 64);
    CHECK (n == 3 && s_int (msgs [0], "offset") == CHUNK + 10);
    CHECK (s_int (msgs [2], "offset") == 3 * CHUNK + 10);
    mt_msg_payload (msgs [2], &len);
    CHECK (len == 1224);
    s_destroy_all (msgs, n);
    s_takes (t, s_uploaded (NULL, 2 * CHUNK + 10, false));
    s_takes (t, s_uploaded (NULL, 3 * CHUNK + 10, false));
    s_takes (t, s_uploaded (NULL, BLOB_SIZE, true));
    CHECK (mt_transfer_done (t));
    mt_transfer_destroy (&t);
    unlink (path);
    free (blob.data);
}

//  Never more than CREDIT chunks unanswered; each reply lets one more go.
//  A replaced connection sends again from the last confirmed offset.
static void
test_upload_credit (void)
{
    s_blob_t blob;
    s_blob_make (&blob, 20 * CHUNK, 2);
    const char *path = s_blob_file (&blob, "big.bin");
    char *cause = NULL;
    mt_transfer_t *t = mt_transfer_upload_new (path, blob.hash, blob.size, &cause);
    CHECK_MSG (t, "%s", cause);
    mt_msg_t *msgs [64];
    //  A probe lost with its connection is sent again
    CHECK (s_drain (t, msgs, 64) == 1);
    s_destroy_all (msgs, 1);
    mt_transfer_resend (t);
    CHECK (s_drain (t, msgs, 64) == 1 && s_int (msgs [0], "offset") == 0);
    s_destroy_all (msgs, 1);
    s_takes (t, s_uploaded (blob.hash, 0, false));
    CHECK (s_drain (t, msgs, 64) == CREDIT);
    s_destroy_all (msgs, CREDIT);
    s_takes (t, s_uploaded (blob.hash, CHUNK, false));
    s_takes (t, s_uploaded (blob.hash, 2 * CHUNK, false));
    int n = s_drain (t, msgs, 64);
    CHECK (n == 2 && s_int (msgs [0], "offset") == 8 * CHUNK && s_int (msgs [1], "offset") == 9 * CHUNK);
    s_destroy_all (msgs, n);
    CHECK (mt_transfer_in_flight (t) == CREDIT);
    mt_transfer_resend (t);
    CHECK (mt_transfer_in_flight (t) == 0);
    n = s_drain (t, msgs, 64);
    CHECK (n == CREDIT && s_int (msgs [0], "offset") == 2 * CHUNK);
    s_destroy_all (msgs, n);
    mt_transfer_destroy (&t);

    //  An empty file is one empty chunk marked last, and no probe
    s_blob_t empty;
    s_blob_make (&empty, 0, 0);
    const char *zero = s_blob_file (&empty, "empty.bin");
    t = mt_transfer_upload_new (zero, NULL, 0, &cause);
    CHECK (t && mt_transfer_size (t) == 0 && strcmp (mt_transfer_hash (t), empty.hash) == 0);
    CHECK (s_drain (t, msgs, 64) == 1);
    size_t len = 99;
    bool last = false;
    CHECK (mt_msg_payload (msgs [0], &len) && len == 0);
    CHECK (mt_msg_get_bool (msgs [0], "last", &last, NULL) == 0 && last);
    s_destroy_all (msgs, 1);
    s_takes (t, s_uploaded (empty.hash, 0, true));
    CHECK (mt_transfer_done (t));
    mt_transfer_destroy (&t);
    unlink (zero);
    unlink (path);
    free (blob.data);
    free (empty.data);
}

//  An upload in flight: probed, answered at offset 0, four chunks out.
static mt_transfer_t *
s_upload_going (const char *path, const s_blob_t *blob)
{
    char *cause = NULL;
    mt_transfer_t *t = mt_transfer_upload_new (path, blob->hash, blob->size, &cause);
    CHECK_MSG (t, "%s", cause);
    mt_msg_t *msgs [64];
    s_destroy_all (msgs, s_drain (t, msgs, 64));
    s_takes (t, s_uploaded (blob->hash, 0, false));
    CHECK (s_drain (t, msgs, 64) == 4);
    s_destroy_all (msgs, 4);
    return t;
}

static void
test_upload_hostile (void)
{
    s_blob_t blob;
    s_blob_make (&blob, BLOB_SIZE, 3);
    const char *path = s_blob_file (&blob, "hostile.bin");
    const char *other = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    mt_transfer_t *t = s_upload_going (path, &blob);
    s_refuses (t, s_uploaded (blob.hash, 2 * CHUNK, false), "where 262144 was due");
    mt_transfer_destroy (&t);
    t = s_upload_going (path, &blob);
    s_refuses (t, s_uploaded (blob.hash, 0, false), "up to offset 0 where 262144 was due");
    mt_transfer_destroy (&t);
    t = s_upload_going (path, &blob);
    s_refuses (t, s_uploaded (other, CHUNK, false), "names another blob");
    mt_transfer_destroy (&t);
    t = s_upload_going (path, &blob);
    s_refuses (t, mt_msg_error ("bad_hash", "uploaded bytes do not match"),
               "uploaded bytes do not match (bad_hash)");
    mt_transfer_destroy (&t);
    t = s_upload_going (path, &blob);
    s_refuses (t, mt_msg_new ("CHUNK"), "answered CHUNK where UPLOADED was expected");
    mt_transfer_destroy (&t);
    t = s_upload_going (path, &blob);
    mt_msg_t *bad = mt_msg_new ("UPLOADED");
    json_object_set_new (mt_msg_body (bad), "offset", json_integer (CHUNK));
    s_refuses (t, bad, "malformed UPLOADED");
    mt_transfer_destroy (&t);
    t = s_upload_going (path, &blob);
    bad = mt_msg_new ("UPLOADED");
    json_object_set_new (mt_msg_body (bad), "offset", json_string ("many"));
    json_object_set_new (mt_msg_body (bad), "complete", json_false ());
    s_refuses (t, bad, "malformed UPLOADED");
    mt_transfer_destroy (&t);

    //  Every byte confirmed but never complete; more replies than messages
    t = s_upload_going (path, &blob);
    for (int i = 1; i <= 3; i++)
        s_takes (t, s_uploaded (blob.hash, (int64_t) i * CHUNK, false));
    s_refuses (t, s_uploaded (blob.hash, BLOB_SIZE, false), "did not report the upload complete");
    mt_transfer_destroy (&t);
    t = s_upload_going (path, &blob);
    for (int i = 1; i <= 3; i++)
        s_takes (t, s_uploaded (blob.hash, (int64_t) i * CHUNK, false));
    s_takes (t, s_uploaded (blob.hash, BLOB_SIZE, true));
    char *cause = NULL;
    mt_msg_t *extra = s_uploaded (blob.hash, BLOB_SIZE, true);
    CHECK (mt_transfer_take (t, extra, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "not asked for");
    mt_msg_destroy (&extra);
    mt_transfer_destroy (&t);

    //  A probe's answer past the end, or at it without complete
    char *why = NULL;
    mt_msg_t *msgs [8];
    t = mt_transfer_upload_new (path, blob.hash, blob.size, &why);
    s_destroy_all (msgs, s_drain (t, msgs, 8));
    s_refuses (t, s_uploaded (blob.hash, BLOB_SIZE + 1, false), "did not report the upload complete");
    mt_transfer_destroy (&t);

    //  The file shrank after it was hashed: the read fails, naming the offset
    t = mt_transfer_upload_new (path, blob.hash, blob.size, &why);
    s_destroy_all (msgs, s_drain (t, msgs, 8));
    s_takes (t, s_uploaded (blob.hash, 0, false));
    CHECK (truncate (path, CHUNK + 5) == 0);
    mt_msg_t *msg = NULL;
    CHECK (mt_transfer_next (t, &msg, &why) == 0 && msg);
    mt_msg_destroy (&msg);
    CHECK (mt_transfer_next (t, &msg, &why) == -1 && !msg);
    CHECK_STR_CONTAINS (why, "at offset 262144 (did it change?)");
    CHECK (mt_transfer_next (t, &msg, NULL) == 0 && !msg);
    mt_transfer_destroy (&t);

    //  What cannot be uploaded at all
    CHECK (!mt_transfer_upload_new (test_path (s_dir, "missing.bin"), NULL, 0, &why));
    CHECK_STR_CONTAINS (why, "missing.bin");
    CHECK (!mt_transfer_upload_new (path, "not a hash", 10, &why));
    CHECK_STR_CONTAINS (why, "not a blob");
    free (why);
    free (cause);
    unlink (path);
    free (blob.data);
}

//  The broker's honest answer to a FETCH of blob (by hash or by job).
static mt_msg_t *
s_chunk_for (const s_blob_t *blob, mt_msg_t *request)
{
    int64_t offset = s_int (request, "offset"), length = s_int (request, "length");
    CHECK (length >= 1 && length <= MT_MAX_PAYLOAD && offset <= blob->size);
    if (length > blob->size - offset)
        length = blob->size - offset;
    mt_msg_t *reply = mt_msg_new ("CHUNK");
    json_t *body = mt_msg_body (reply);
    json_t *job = json_object_get (mt_msg_body (request), "job");
    if (job)
        json_object_set (body, "job", job);
    json_object_set_new (body, "hash", json_string (blob->hash));
    json_object_set_new (body, "size", json_integer (blob->size));
    json_object_set_new (body, "offset", json_integer (offset));
    mt_msg_set_payload (reply, blob->data + offset, (size_t) length);
    return reply;
}

//  Answer every request in order until the transfer is done; the most in
//  flight at once.
static int
s_serve (mt_transfer_t *t, const s_blob_t *blob)
{
    int most = 0;
    mt_msg_t *msgs [64];
    int n = s_drain (t, msgs, 64);
    while (n > 0) {
        most = n > most ? n : most;
        for (int i = 0; i < n; i++) {
            CHECK (mt_msg_is (msgs [i], "FETCH"));
            s_takes (t, s_chunk_for (blob, msgs [i]));
        }
        s_destroy_all (msgs, n);
        n = s_drain (t, msgs, 64);
        most = mt_transfer_in_flight (t) > most ? mt_transfer_in_flight (t) : most;
    }
    return most;
}

static void
s_check_file (const char *path, const s_blob_t *blob)
{
    char hash [65];
    int64_t size = -1;
    CHECK (blob_hash_file (path, hash, &size, NULL) == 0);
    CHECK (size == blob->size && strcmp (hash, blob->hash) == 0);
}

static void
test_fetch (void)
{
    s_blob_t blob;
    s_blob_make (&blob, 20 * CHUNK + 77, 4);
    const char *path = test_path (s_dir, "fetched.bin");
    char *cause = NULL;
    //  By hash, the size known: the window fills at once, each request exact
    mt_transfer_t *t = mt_transfer_fetch_new (path, blob.hash, blob.size, &cause);
    CHECK_MSG (t, "%s", cause);
    CHECK (s_files () == 1);    // its temp file
    mt_msg_t *msgs [64];
    int n = s_drain (t, msgs, 64);
    CHECK (n == CREDIT);
    CHECK_STR_EQ (json_string_value (json_object_get (mt_msg_body (msgs [0]), "hash")), blob.hash);
    CHECK (s_int (msgs [7], "offset") == 7 * CHUNK && s_int (msgs [7], "length") == CHUNK);
    for (int i = 0; i < n; i++)
        s_takes (t, s_chunk_for (&blob, msgs [i]));
    s_destroy_all (msgs, n);
    CHECK (s_serve (t, &blob) == CREDIT && mt_transfer_done (t));
    s_check_file (path, &blob);
    CHECK (s_files () == 1);    // the file, no temp file beside it
    mt_transfer_destroy (&t);
    CHECK (access (path, F_OK) == 0);
    unlink (path);

    //  By hash, the size unknown; by job: the first request alone, then the window
    t = mt_transfer_fetch_new (path, blob.hash, -1, &cause);
    CHECK (s_drain (t, msgs, 64) == 1 && s_int (msgs [0], "length") == CHUNK);
    s_takes (t, s_chunk_for (&blob, msgs [0]));
    s_destroy_all (msgs, 1);
    CHECK (mt_transfer_size (t) == blob.size && s_serve (t, &blob) == CREDIT);
    CHECK (mt_transfer_done (t));
    s_check_file (path, &blob);
    mt_transfer_destroy (&t);
    unlink (path);
    t = mt_transfer_fetch_job_new (path, 7, &cause);
    CHECK_MSG (t, "%s", cause);
    CHECK_STR_EQ (mt_transfer_hash (t), "");
    CHECK (mt_transfer_size (t) == -1);
    CHECK (s_drain (t, msgs, 64) == 1 && s_int (msgs [0], "job") == 7);
    CHECK (!json_object_get (mt_msg_body (msgs [0]), "hash"));
    s_takes (t, s_chunk_for (&blob, msgs [0]));
    s_destroy_all (msgs, 1);
    CHECK_STR_EQ (mt_transfer_hash (t), blob.hash);
    CHECK (s_serve (t, &blob) == CREDIT && mt_transfer_done (t));
    s_check_file (path, &blob);
    mt_transfer_destroy (&t);
    unlink (path);

    //  A replaced connection asks again from what was written
    t = mt_transfer_fetch_new (path, blob.hash, blob.size, &cause);
    n = s_drain (t, msgs, 64);
    s_takes (t, s_chunk_for (&blob, msgs [0]));
    s_takes (t, s_chunk_for (&blob, msgs [1]));
    s_destroy_all (msgs, n);
    mt_transfer_resend (t);
    n = s_drain (t, msgs, 64);
    CHECK (n == CREDIT && s_int (msgs [0], "offset") == 2 * CHUNK);
    s_destroy_all (msgs, n);
    mt_transfer_resend (t);
    CHECK (s_serve (t, &blob) == CREDIT && mt_transfer_done (t));
    s_check_file (path, &blob);
    mt_transfer_destroy (&t);
    unlink (path);

    //  An empty blob: one request, answered with no bytes
    s_blob_t empty;
    s_blob_make (&empty, 0, 0);
    t = mt_transfer_fetch_new (path, empty.hash, 0, &cause);
    CHECK (s_drain (t, msgs, 64) == 1 && s_int (msgs [0], "length") >= 1);
    s_takes (t, s_chunk_for (&empty, msgs [0]));
    s_destroy_all (msgs, 1);
    CHECK (mt_transfer_done (t));
    s_check_file (path, &empty);
    mt_transfer_destroy (&t);
    unlink (path);

    //  What cannot be fetched at all
    CHECK (!mt_transfer_fetch_new (path, "abc", 10, &cause));
    CHECK_STR_CONTAINS (cause, "not a SHA-256");
    CHECK (!mt_transfer_fetch_job_new (path, 0, &cause));
    CHECK (!mt_transfer_fetch_new (test_path (s_dir, "no/such/dir"), blob.hash, 1, &cause));
    CHECK_STR_CONTAINS (cause, "cannot create a file beside");
    CHECK (s_files () == 0);
    free (cause);
    free (blob.data);
    free (empty.data);
}

//  A fetch with its first window out; *first (caller destroys) is the
//  request at offset 0, answered by the hostile case.
static mt_transfer_t *
s_fetch_going (const char *path, const s_blob_t *blob, mt_msg_t **first)
{
    char *cause = NULL;
    mt_transfer_t *t = mt_transfer_fetch_new (path, blob->hash, blob->size, &cause);
    CHECK_MSG (t, "%s", cause);
    mt_msg_t *msgs [64];
    int n = s_drain (t, msgs, 64);
    CHECK (n == 4);
    *first = msgs [0];
    s_destroy_all (msgs + 1, n - 1);
    return t;
}

//  Each hostile reply ends the fetch with a cause, and no file is left.
static void
test_fetch_hostile (void)
{
    s_blob_t blob;
    s_blob_make (&blob, BLOB_SIZE, 5);
    const char *path = test_path (s_dir, "target.bin");
    const char *other = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    struct {
        const char *needle;
        const char *field;      // the field to change, NULL: the payload
        json_t *value;
        int64_t payload_offset, payload_len;    // payload from the blob
    } cases [] = {
        { "offset 262144 of blob", "offset", json_integer (CHUNK), 0, CHUNK },
        { "where another was asked for", "hash", json_string (other), 0, CHUNK },
        { "hash is not a SHA-256", "hash", json_string ("../../etc/passwd"), 0, CHUNK },
        { "is 999 bytes, not", "size", json_integer (999), 0, CHUNK },
        { "malformed CHUNK", "size", json_string ("big"), 0, CHUNK },
        { "malformed CHUNK", "offset", json_integer (-1), 0, CHUNK },
        { "malformed CHUNK", "hash", json_null (), 0, CHUNK },
        { "sent 1000 bytes at offset 0", NULL, NULL, 0, 1000 },                 // short
        { "sent 0 bytes at offset 0", NULL, NULL, 0, 0 },                       // empty
        { "sent 262145 bytes at offset 0", NULL, NULL, 0, CHUNK + 1 },          // past
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        mt_msg_t *request;
        mt_transfer_t *t = s_fetch_going (path, &blob, &request);
        mt_msg_t *reply = s_chunk_for (&blob, request);
        if (cases [i].field)
            json_object_set_new (mt_msg_body (reply), cases [i].field, cases [i].value);
        mt_msg_set_payload (reply, blob.data + cases [i].payload_offset,
                            (size_t) cases [i].payload_len);
        s_refuses (t, reply, cases [i].needle);
        mt_msg_destroy (&request);
        mt_transfer_destroy (&t);
        CHECK_MSG (s_files () == 0, "case %zu left a file", i);
    }

    //  Bytes changed on the way: every field right, the hash found wrong at the end
    mt_msg_t *request;
    mt_transfer_t *t = s_fetch_going (path, &blob, &request);
    mt_msg_destroy (&request);
    blob.data [CHUNK + 3] ^= 1;
    mt_transfer_resend (t);
    mt_msg_t *msgs [64];
    int n = s_drain (t, msgs, 64);
    for (int i = 0; i < n - 1; i++)
        s_takes (t, s_chunk_for (&blob, msgs [i]));
    s_refuses (t, s_chunk_for (&blob, msgs [n - 1]), "fetch it again");
    s_destroy_all (msgs, n);
    CHECK (access (path, F_OK) != 0);
    mt_transfer_destroy (&t);
    CHECK (s_files () == 0);
    blob.data [CHUNK + 3] ^= 1;

    //  An ERROR, another command, a reply nothing asked for
    t = s_fetch_going (path, &blob, &request);
    s_refuses (t, mt_msg_error ("not_found", "no blob ffff"), "no blob ffff (not_found)");
    mt_msg_destroy (&request);
    mt_transfer_destroy (&t);
    t = s_fetch_going (path, &blob, &request);
    s_refuses (t, s_uploaded (blob.hash, 0, false), "answered UPLOADED where CHUNK was expected");
    mt_msg_destroy (&request);
    mt_transfer_destroy (&t);
    char *cause = NULL;
    t = mt_transfer_fetch_new (path, blob.hash, blob.size, &cause);
    s_refuses (t, s_uploaded (blob.hash, 0, false), "not asked for");
    mt_transfer_destroy (&t);

    //  A fetch by job whose model changed under it
    t = mt_transfer_fetch_job_new (path, 7, &cause);
    s_destroy_all (msgs, s_drain (t, msgs, 64));
    mt_msg_t *probe = mt_msg_new ("FETCH");
    json_object_set_new (mt_msg_body (probe), "job", json_integer (7));
    json_object_set_new (mt_msg_body (probe), "offset", json_integer (0));
    json_object_set_new (mt_msg_body (probe), "length", json_integer (CHUNK));
    s_takes (t, s_chunk_for (&blob, probe));
    mt_msg_destroy (&probe);
    n = s_drain (t, msgs, 64);
    CHECK (n == 3);
    mt_msg_t *reply = s_chunk_for (&blob, msgs [0]);
    json_object_set_new (mt_msg_body (reply), "hash", json_string (other));
    s_refuses (t, reply, "the job's model changed during the download");
    s_destroy_all (msgs, n);
    mt_transfer_destroy (&t);
    CHECK (s_files () == 0);
    free (cause);
    free (blob.data);
}

//  Which replies belong to a transfer, for a caller without request ids
static void
test_concerns (void)
{
    s_blob_t blob;
    s_blob_make (&blob, 10, 6);
    const char *other = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
    const char *path = test_path (s_dir, "concerns.bin");
    char *cause = NULL;
    mt_transfer_t *t = mt_transfer_fetch_new (path, blob.hash, blob.size, &cause);
    mt_msg_t *mine = s_uploaded (blob.hash, 0, false), *theirs = s_uploaded (other, 0, false);
    mt_msg_t *anon = s_uploaded (NULL, 0, false);
    CHECK (mt_transfer_concerns (t, mine) && !mt_transfer_concerns (t, theirs));
    CHECK (mt_transfer_concerns (t, anon));
    mt_transfer_destroy (&t);
    t = mt_transfer_fetch_job_new (path, 7, &cause);
    json_object_set_new (mt_msg_body (theirs), "job", json_integer (8));
    json_object_set_new (mt_msg_body (mine), "job", json_integer (7));
    CHECK (mt_transfer_concerns (t, mine) && !mt_transfer_concerns (t, theirs));
    mt_transfer_destroy (&t);
    CHECK (s_files () == 0);
    mt_msg_destroy (&mine);
    mt_msg_destroy (&theirs);
    mt_msg_destroy (&anon);
    free (blob.data);
}

//  ERROR retry_later (another sender's upload began again, or no slot was
//  free): the rest of the window drains and is ignored, the upload waits
//  out its backoff, probes again and goes on from the offset the probe
//  names; after MT_TRANSFER_RETRIES such answers it gives up.
static void
test_upload_retry (void)
{
    s_blob_t blob;
    s_blob_make (&blob, BLOB_SIZE, 5);
    const char *path = s_blob_file (&blob, "retry.bin");
    mt_transfer_t *t = s_upload_going (path, &blob);
    CHECK (mt_transfer_wait_ms (t) == 0);
    s_takes (t, mt_msg_error (MT_ERR_RETRY_LATER, "past the bytes received"));
    CHECK (mt_transfer_wait_ms (t) > 0);
    CHECK (mt_transfer_in_flight (t) == 3);
    for (int i = 1; i < 4; i++)
        s_takes (t, s_uploaded (blob.hash, (i + 1) * CHUNK, false));
    CHECK (mt_transfer_in_flight (t) == 0);
    mt_msg_t *msgs [64];
    CHECK (s_drain (t, msgs, 64) == 0 || mt_transfer_wait_ms (t) == 0);
    zclock_sleep ((int) mt_transfer_wait_ms (t) + 1);
    int n = s_drain (t, msgs, 64);
    CHECK (n == 1 && s_payload (msgs [0]) == 0);      // the probe
    s_destroy_all (msgs, n);
    s_takes (t, s_uploaded (blob.hash, 2 * CHUNK, false));
    n = s_drain (t, msgs, 64);
    CHECK (n == 2 && s_int (msgs [0], "offset") == 2 * CHUNK);
    s_destroy_all (msgs, n);
    s_takes (t, s_uploaded (blob.hash, 3 * CHUNK, false));
    s_takes (t, s_uploaded (blob.hash, blob.size, true));
    CHECK (mt_transfer_done (t));
    mt_transfer_destroy (&t);
    //  Told retry_later again and again: each wait doubles (the give-up
    //  after MT_TRANSFER_RETRIES answers is minutes of waits, not tested here)
    t = s_upload_going (path, &blob);
    int64_t last = 0;
    for (int i = 0; i < 3; i++) {
        if (mt_transfer_in_flight (t) == 0) {
            zclock_sleep ((int) mt_transfer_wait_ms (t) + 1);
            n = s_drain (t, msgs, 64);
            CHECK (n == 1 && s_payload (msgs [0]) == 0);
            s_destroy_all (msgs, n);
        }
        s_takes (t, mt_msg_error (MT_ERR_RETRY_LATER, "no upload slot free"));
        while (mt_transfer_in_flight (t) > 0)
            s_takes (t, mt_msg_error (MT_ERR_RETRY_LATER, "no upload slot free"));
        int64_t wait = mt_transfer_wait_ms (t);
        CHECK_MSG (wait > last && wait <= MT_TRANSFER_RETRY_MAX_MS, "wait %lld after %lld",
                   (long long) wait, (long long) last);
        last = wait;
    }
    CHECK (!mt_transfer_done (t));
    mt_transfer_destroy (&t);
    unlink (path);
    free (blob.data);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    const char *tmp = getenv ("TMPDIR");
    snprintf (s_dir, sizeof s_dir, "%s/test_transfer.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK (mkdtemp (s_dir));
    test_upload ();
    test_upload_credit ();
    test_upload_hostile ();
    test_upload_retry ();
    test_fetch ();
    test_fetch_hostile ();
    test_concerns ();
    CHECK_MSG (s_files () == 0, "files left in %s", s_dir);
    CHECK (rmdir (s_dir) == 0);
    printf ("test_transfer: ok\n");
    return 0;
}
