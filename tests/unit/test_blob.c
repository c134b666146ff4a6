/*  test_blob - one blob from several senders at once: overlapping chunks taken, a gap told to retry, upload slots per owner  */
#include "testutil.h"
#include "mt/blob.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SIZE 10000

static unsigned char s_data [SIZE];
static char s_hash [65];

//  Write len bytes at offset as owner; the expected rc, *next and *complete.
static void
s_write (blob_store_t *blobs, const char *owner, int64_t offset, size_t len, int rc,
         int64_t next, bool complete)
{
    bool done = false;
    int64_t at = -1;
    char *cause = NULL;
    int got = blob_store_write_as (blobs, owner, s_hash, SIZE, offset, s_data + offset, len, &done,
                                   &at, &cause);
    CHECK_MSG (got == rc, "offset %lld len %zu: %s", (long long) offset, len, cause ? cause : "ok");
    CHECK_MSG (at == next, "offset %lld len %zu: next %lld, not %lld", (long long) offset, len,
               (long long) at, (long long) next);
    CHECK (done == complete);
    free (cause);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    for (int i = 0; i < SIZE; i++)
        s_data [i] = (unsigned char) (i * 13 + i / 256);
    unsigned char digest [32];
    crypto_hash_sha256 (digest, s_data, SIZE);
    sodium_bin2hex (s_hash, sizeof s_hash, digest, sizeof digest);
    char dir [256];
    test_temp_dir (dir, sizeof dir, "mt-blob");
    char *cause = NULL;
    blob_store_t *blobs = blob_store_new (dir, &cause);
    CHECK_MSG (blobs, "%s", cause);
    //  Two senders started at once: both send offset 0; the second is taken,
    //  writing nothing; a chunk half over the bytes received writes its tail
    s_write (blobs, "a", 0, 4000, 0, 4000, false);
    s_write (blobs, "b", 0, 4000, 0, 4000, false);
    s_write (blobs, "b", 3000, 2000, 0, 5000, false);
    s_write (blobs, "a", 4000, 4000, 0, 8000, false);
    //  A probe says how far it got; a chunk past it is told to retry from there
    s_write (blobs, "c", 0, 0, 0, 8000, false);
    s_write (blobs, "c", 9000, 1000, -1, 8000, false);
    CHECK (blob_store_error (blobs) == BLOB_ERR_RETRY);
    s_write (blobs, "b", 5000, 4000, 0, 9000, false);
    s_write (blobs, "c", 8000, 2000, 0, 10000, true);        // the last byte: checked, stored
    s_write (blobs, "a", 8000, 2000, 0, SIZE, true);         // held: complete at once
    CHECK (blob_store_has (blobs, s_hash, NULL));
    size_t got = 0;
    unsigned char back [SIZE];
    CHECK (blob_store_read (blobs, s_hash, 0, back, SIZE, &got, NULL) == 0 && got == SIZE);
    CHECK (memcmp (back, s_data, SIZE) == 0);
    //  A chunk past the end is the sender's mistake
    CHECK (blob_store_remove (blobs, s_hash) == 0);
    s_write (blobs, "a", 0, 100, 0, 100, false);
    bool done;
    int64_t next;
    CHECK (blob_store_write_as (blobs, "a", s_hash, SIZE, 9990, s_data, 20, &done, &next,
                                &cause) == -1 && blob_store_error (blobs) == BLOB_ERR_REQUEST);
    CHECK_STR_CONTAINS (cause, "past its end");
    free (cause);
    cause = NULL;
    blob_store_abort (blobs, s_hash);
    //  Slots: 8 uploads started by one owner, the 9th waits; joining takes none
    char hashes [10][65];
    for (int i = 0; i < 10; i++) {
        snprintf (hashes [i], 65, "%064x", i + 1);
        int rc = blob_store_write_as (blobs, "greedy", hashes [i], 8, 0, "abcd", 4, &done, &next,
                                      &cause);
        CHECK (rc == (i < BLOB_MAX_UPLOADS_PER_OWNER ? 0 : -1));
        if (rc) {
            CHECK (blob_store_error (blobs) == BLOB_ERR_BUSY);
            CHECK_STR_CONTAINS (cause, "limit per client");
            free (cause);
            cause = NULL;
        }
    }
    CHECK (blob_store_write_as (blobs, "other", hashes [0], 8, 0, "abcd", 4, &done, &next, NULL) == 0
           && next == 4);
    CHECK (blob_store_write_as (blobs, "other", hashes [9], 8, 0, "abcd", 4, &done, &next, NULL) == 0);
    blob_store_destroy (&blobs);
    test_remove_dir (dir);
    printf ("test_blob: ok\n");
    return 0;
}
