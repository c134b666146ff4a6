/*  test_gwpool - the gateway's broker connections: bad endpoints and keys refused, reuse, the idle limit, timed-out conns dropped  */
#include "testbroker.h"
#include "gateway/pool.h"
#include "mt/msg.h"
#include <czmq.h>

#define IDLE_LIMIT 64           // POOL_MAX_IDLE in pool.c
#define TAKEN (IDLE_LIMIT + 6)

//  A malformed endpoint or an unreadable key file stops pool_new, named
static void
test_refused (void)
{
    char *cause = NULL;
    CHECK (!pool_new ("not-an-endpoint", NULL, NULL, 1000, &cause));
    CHECK_MSG (cause && *cause, "no cause for a bad endpoint");
    free (cause);
    cause = NULL;
    CHECK (!pool_new ("tcp://127.0.0.1:5555", "/nonexistent/me_secret",
                      "/nonexistent/broker", 1000, &cause));
    CHECK_MSG (cause, "no cause for a missing cert");
    CHECK_STR_CONTAINS (cause, "/nonexistent/");
    free (cause);
}

//  A conn given back is the next one taken; up at first; the endpoint kept
static void
test_reuse (const char *endpoint)
{
    char *cause = NULL;
    pool_t *pool = pool_new (endpoint, NULL, NULL, 1000, &cause);
    CHECK_MSG (pool, "%s", cause ? cause : "");
    CHECK (pool_up (pool));
    CHECK_STR_EQ (pool_endpoint (pool), endpoint);
    conn_t *a = pool_get (pool, &cause);
    CHECK (a);
    conn_t *kept = a;
    pool_put (pool, &a);
    CHECK (a == NULL);
    conn_t *b = pool_get (pool, &cause);
    CHECK (b == kept);
    pool_put (pool, &b);
    pool_put (pool, &b);            // NULL: nothing
    pool_set_up (pool, false);
    CHECK (!pool_up (pool));
    pool_set_up (pool, true);
    CHECK (pool_up (pool));
    pool_destroy (&pool);
    CHECK (!pool);
    pool_destroy (&pool);
}

//  Many in flight at once are all distinct; given back, at most the idle
//  limit are kept and each taken again is one of them
static void
test_limit (const char *endpoint)
{
    char *cause = NULL;
    pool_t *pool = pool_new (endpoint, NULL, NULL, 1000, &cause);
    CHECK (pool);
    conn_t *taken [TAKEN];
    for (int i = 0; i < TAKEN; i++) {
        taken [i] = pool_get (pool, &cause);
        CHECK (taken [i]);
        for (int j = 0; j < i; j++)
            CHECK_MSG (taken [j] != taken [i], "conn %d handed out twice", i);
    }
    conn_t *seen [TAKEN];
    memcpy (seen, taken, sizeof seen);
    for (int i = 0; i < TAKEN; i++)
        pool_put (pool, &taken [i]);
    conn_t *again [IDLE_LIMIT];
    for (int i = 0; i < IDLE_LIMIT; i++) {
        again [i] = pool_get (pool, &cause);
        bool known = false;
        for (int j = 0; j < TAKEN; j++)
            known |= again [i] == seen [j];
        CHECK_MSG (known, "idle conn %d is not one given back", i);
        for (int j = 0; j < i; j++)
            CHECK (again [j] != again [i]);
    }
    for (int i = 0; i < IDLE_LIMIT; i++)
        pool_put (pool, &again [i]);
    pool_destroy (&pool);
}

//  A conn whose call timed out is dropped, not handed to the next request,
//  and marks the broker down; a good one given back marks it up again
static void
test_timed_out (const char *endpoint)
{
    char *cause = NULL;
    pool_t *pool = pool_new (endpoint, NULL, NULL, 200, &cause);
    CHECK (pool);
    conn_t *good = pool_get (pool, &cause);
    conn_t *late = pool_get (pool, &cause);
    CHECK (good && late && good != late);
    mt_msg_t *request = mt_msg_new ("PING");
    mt_msg_t *reply = NULL;
    CHECK (conn_call (late, &request, "PONG", &reply, &cause) == -1);
    CHECK (conn_timed_out (late));
    free (cause);
    cause = NULL;
    pool_put (pool, &late);
    CHECK (!late);
    CHECK (!pool_up (pool));
    conn_t *next = pool_get (pool, &cause);     // none idle: a fresh one
    CHECK (next);
    CHECK_MSG (!conn_timed_out (next), "a timed-out conn was handed out again");
    pool_put (pool, &next);
    CHECK (pool_up (pool));
    pool_put (pool, &good);
    pool_destroy (&pool);
}

int
main (void)
{
    zsys_init ();
    zsock_t *silent = NULL;
    char *endpoint = test_silent_endpoint (&silent);
    test_refused ();
    test_reuse (endpoint);
    test_limit (endpoint);
    test_timed_out (endpoint);
    free (endpoint);
    zsock_destroy (&silent);
    printf ("test_gwpool: OK\n");
    return 0;
}
