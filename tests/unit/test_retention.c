/*  test_retention - mtbroker --keep-days removes the blobs stored before the cut that no job or sweep names  */
#include "testbroker.h"
#include "mt/blob.h"
#include "mt/msg.h"

#include <czmq.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

//  Store text as a complete blob of blobs; its hash in hex.
static void
s_blob (blob_store_t *blobs, const char *text, char hex [65])
{
    unsigned char sha [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (sha, (const unsigned char *) text, strlen (text));
    sodium_bin2hex (hex, 65, sha, sizeof sha);
    bool complete = false;
    int64_t next = 0;
    char *cause = NULL;
    CHECK_MSG (blob_store_write (blobs, hex, (int64_t) strlen (text), 0, text, strlen (text),
                                 &complete, &next, &cause) == 0 && complete, "%s", cause);
}

//  Make blob hash of data_dir look stored days ago.
static void
s_age (const char *data_dir, const char *hash, int days)
{
    char path [512];
    snprintf (path, sizeof path, "%s/blobs/%s", data_dir, hash);
    struct timespec times [2];
    CHECK (clock_gettime (CLOCK_REALTIME, &times [0]) == 0);
    times [0].tv_sec -= (time_t) days * 86400;
    times [1] = times [0];
    CHECK (utimensat (AT_FDCWD, path, times, 0) == 0);
}

static bool
s_stored (const char *data_dir, const char *hash)
{
    char path [512];
    snprintf (path, sizeof path, "%s/blobs/%s", data_dir, hash);
    return access (path, F_OK) == 0;
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "retention", &config);
    char *cause = NULL;
    blob_store_t *blobs = blob_store_new (paths.data, &cause);
    CHECK_MSG (blobs, "%s", cause);
    char orphan [65], fresh [65], named [65];
    s_blob (blobs, "x,y\n1,2\n", orphan);           // uploaded for a submit that was refused
    s_blob (blobs, "x,y\n3,4\n", fresh);            // uploaded a moment ago, not named yet
    s_blob (blobs, "x,y\n5,6\n", named);            // a job's data
    blob_store_destroy (&blobs);

    //  A job names one of them
    pthread_t thread;
    broker_t *broker = broker_new (&config, &cause);
    CHECK_MSG (broker, "%s", cause);
    test_broker_start (broker, &thread);
    zsock_t *client = zsock_new_dealer (paths.clients);
    CHECK (client);
    zsock_set_rcvtimeo (client, TEST_PEER_WAIT_MS);
    char body [512];
    snprintf (body, sizeof body, "{\"spec\": {\"target\": \"y\", \"data_hash\": \"%s\"}}", named);
    test_peer_send (client, "SUBMIT", body, NULL, 0);
    mt_msg_t *reply = test_peer_reply (client, "SUBMIT");
    CHECK_MSG (mt_msg_is (reply, "SUBMITTED"), "%s", mt_json_compact (mt_msg_body (reply)));
    mt_msg_destroy (&reply);
    zsock_destroy (&client);
    test_broker_stop (&broker, thread);

    //  Days later, a broker with --keep-days 1: the old blob nothing names
    //  goes; the fresh one and the named one (as old) stay, and so does an
    //  old one uploaded again just now (for a submit to come)
    s_age (paths.data, orphan, 3);
    s_age (paths.data, named, 3);
    char again [65];
    blobs = blob_store_new (paths.data, &cause);
    CHECK_MSG (blobs, "%s", cause);
    s_blob (blobs, "x,y\n7,8\n", again);
    s_age (paths.data, again, 3);
    s_blob (blobs, "x,y\n7,8\n", again);            // stored already: complete at once
    blob_store_destroy (&blobs);
    //  Two small blobs in the database (as a DONE's model is kept): one
    //  stored days ago, one just now; no job names either
    store_t *store = store_open (paths.db, &cause);
    CHECK_MSG (store, "%s", cause);
    CHECK (store_begin (store) == 0);
    CHECK (store_blob_put (store, "d0", "old", 3, zclock_time () - 3 * 86400 * 1000LL) == 0);
    CHECK (store_blob_put (store, "d1", "new", 3, zclock_time ()) == 0);
    CHECK (store_commit (store) == 0);
    store_destroy (&store);
    config.keep_days = 1;
    config.doom_delay_ms = 0;                   // a doomed blob goes at the next tick
    broker = test_broker_new (&config);
    test_broker_start (broker, &thread);
    for (int i = 0; i < 100 && s_stored (paths.data, orphan); i++)
        zclock_sleep (50);
    CHECK (!s_stored (paths.data, orphan));
    CHECK (s_stored (paths.data, fresh) && s_stored (paths.data, named));
    CHECK (s_stored (paths.data, again));
    test_broker_stop (&broker, thread);
    store = store_open (paths.db, &cause);
    CHECK_MSG (store, "%s", cause);
    CHECK (!store_blob_has (store, "d0", NULL));
    CHECK (store_blob_has (store, "d1", NULL));
    store_destroy (&store);
    printf ("retention: the old blob nothing names is removed (in the folder and in the"
            " database); a new one, a named one and one uploaded again stay\n");
    test_broker_remove (&paths);
    printf ("test_retention: ok\n");
    return 0;
}
