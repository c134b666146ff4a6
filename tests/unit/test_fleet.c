/*  test_fleet - the worker registry: lookups, round robin, and transactions that roll back whole  */
#include "testutil.h"
#include "fleet.h"

static fleet_worker_t *
s_worker (fleet_t *fleet, const char *id, const char *name)
{
    fleet_worker_t *w = fleet_add (fleet, id, strlen (id), 1000);
    CHECK (w);
    fleet_hello_t hello = { .name = name, .instance = "i1", .user = "local", .host = "h",
                            .version = "t", .pid = 1, .cores = 2, .threads = 1 };
    fleet_worker_hello (fleet, w, &hello);
    return w;
}

static void
s_assign (fleet_t *fleet, fleet_worker_t *w, int64_t job, int attempt)
{
    fleet_run_t run = { .job = job, .attempt = attempt, .started_at = 5, .checkpoint = "c0" };
    fleet_worker_assign (fleet, w, &run, 2000);
}

static void
test_lookups (void)
{
    fleet_t *fleet = fleet_new ();
    CHECK (fleet);
    fleet_worker_t *a = s_worker (fleet, "A", "host:1");
    fleet_worker_t *b = s_worker (fleet, "B", "host:2");
    CHECK (fleet_add (fleet, "A", 1, 0) == NULL);       // known already
    CHECK (fleet_find (fleet, "A", 1) == a && fleet_find (fleet, "B", 1) == b);
    CHECK (fleet_find (fleet, "C", 1) == NULL);
    s_assign (fleet, b, 7, 2);
    CHECK (fleet_find_job (fleet, 7) == b && fleet_find_job (fleet, 8) == NULL);
    //  What its model must fit is kept with the run, and goes with it
    fleet_run_t run = { .job = 8, .attempt = 1, .checkpoint = "",
                        .shape = { .known = true, .task = MT_TASK_CLASSIFICATION,
                                   .n_features = 3, .n_hidden = 2, .hidden = { 5, 4 } } };
    fleet_worker_assign (fleet, a, &run, 2000);
    fleet_run_t got;
    fleet_worker_run (a, &got);
    CHECK (got.shape.known && got.shape.task == MT_TASK_CLASSIFICATION);
    CHECK (got.shape.n_features == 3 && got.shape.n_hidden == 2 && got.shape.hidden [1] == 4);
    fleet_worker_release (fleet, a);
    fleet_worker_run (a, &got);
    CHECK (!got.shape.known);
    CHECK (fleet_busy (fleet) == 1 && fleet_size (fleet) == 2);
    CHECK (fleet_find_twin (fleet, a, "host:2", "i1", "local") == b);
    CHECK (fleet_find_twin (fleet, b, "host:2", "i1", "local") == NULL);
    CHECK (fleet_find_twin (fleet, a, "host:2", "", "local") == NULL);     // no instance id
    CHECK (fleet_find_twin (fleet, a, "host:2", "i1", "someone") == NULL);
    //  Round robin: the idle worker chosen goes to the back; busy ones are passed over
    CHECK (fleet_idle (fleet) == a);
    fleet_worker_release (fleet, b);
    CHECK (fleet_idle (fleet) == b);
    CHECK (fleet_idle (fleet) == a);
    //  A lookup does not move an iteration along
    fleet_worker_t *first = fleet_first (fleet);
    CHECK (fleet_find_job (fleet, 99) == NULL);
    CHECK (fleet_next (fleet, first) != NULL && fleet_next (fleet, fleet_next (fleet, first)) == NULL);
    //  Removal while iterating, taking the next one first
    int seen = 0;
    fleet_worker_t *next;
    for (fleet_worker_t *w = fleet_first (fleet); w; w = next) {
        next = fleet_next (fleet, w);
        fleet_remove (fleet, w);
        seen++;
    }
    CHECK (seen == 2 && fleet_size (fleet) == 0 && fleet_first (fleet) == NULL);
    fleet_destroy (&fleet);
    fleet_destroy (&fleet);
}

static void
test_rollback (void)
{
    fleet_t *fleet = fleet_new ();
    fleet_worker_t *a = s_worker (fleet, "A", "host:1");
    fleet_worker_t *b = s_worker (fleet, "B", "host:2");
    s_assign (fleet, b, 3, 1);

    fleet_begin (fleet);
    s_assign (fleet, a, 7, 1);
    fleet_worker_stop_sent (fleet, a, 3000);
    fleet_worker_set_checkpoint (fleet, a, "c1");
    CHECK (fleet_worker_abandon_once (fleet, a, 5, 1));
    CHECK (!fleet_worker_abandon_once (fleet, a, 5, 1));
    fleet_worker_release (fleet, b);
    fleet_remove (fleet, b);
    fleet_worker_t *c = s_worker (fleet, "C", "host:3");
    s_assign (fleet, c, 9, 1);
    //  A worker added and removed in one transaction
    fleet_worker_t *d = s_worker (fleet, "D", "host:4");
    fleet_remove (fleet, d);
    //  A new connection with a removed worker's routing id
    fleet_worker_t *b2 = fleet_add (fleet, "B", 1, 3000);
    CHECK (b2 && b2 != b);
    CHECK (fleet_size (fleet) == 3 && fleet_busy (fleet) == 2);
    fleet_rollback (fleet);

    //  As before the transaction
    CHECK (fleet_size (fleet) == 2 && fleet_busy (fleet) == 1);
    CHECK (fleet_find (fleet, "A", 1) == a && fleet_find (fleet, "B", 1) == b);
    CHECK (fleet_find (fleet, "C", 1) == NULL && fleet_find (fleet, "D", 1) == NULL);
    CHECK (fleet_worker_job (a) == 0 && fleet_worker_stop_sent_at (a) == 0);
    CHECK (fleet_worker_job (b) == 3 && fleet_worker_attempt (b) == 1);
    fleet_run_t run;
    fleet_worker_run (b, &run);
    CHECK_STR_EQ (run.checkpoint, "c0");
    CHECK (fleet_worker_abandon_once (fleet, a, 5, 1));      // forgotten with the rest
    CHECK_STR_EQ (fleet_worker_name (b), "host:2");

    //  A committed transaction keeps its changes, and frees what it removed
    fleet_begin (fleet);
    s_assign (fleet, a, 11, 2);
    fleet_remove (fleet, b);
    fleet_commit (fleet);
    fleet_rollback (fleet);                 // nothing recorded since: changes nothing
    CHECK (fleet_size (fleet) == 1 && fleet_worker_job (a) == 11);
    CHECK (fleet_find (fleet, "B", 1) == NULL);

    //  Liveness is not part of a transaction
    fleet_begin (fleet);
    fleet_worker_seen (a, 5000);
    fleet_worker_step (a, 10, 5000);
    fleet_rollback (fleet);
    CHECK (fleet_worker_last_seen (a) == 5000 && fleet_worker_step_moved (a) == 5000);
    fleet_shift (fleet, 100);
    CHECK (fleet_worker_last_seen (a) == 5100 && fleet_worker_step_moved (a) == 5100);

    json_t *json = fleet_worker_json (a, 6100);
    CHECK (json_integer_value (json_object_get (json, "job")) == 11);
    CHECK (json_integer_value (json_object_get (json, "last_seen_ms")) == 1000);
    CHECK_STR_EQ (json_string_value (json_object_get (json, "state")), "busy");
    json_decref (json);
    fleet_destroy (&fleet);
}

static void
test_limits (void)
{
    fleet_t *fleet = fleet_new ();
    char id [FLEET_MAX_IDENTITY + 1];
    memset (id, 'x', sizeof id);
    CHECK (fleet_add (fleet, id, sizeof id, 0) == NULL);       // longer than ZMTP allows
    CHECK (fleet_add (fleet, id, FLEET_MAX_IDENTITY, 0) != NULL);
    fleet_worker_t *nameless = fleet_find (fleet, id, FLEET_MAX_IDENTITY);
    CHECK (nameless && fleet_idle (fleet) == NULL);             // no HELLO yet: not idle
    for (int i = 1; i < FLEET_MAX_WORKERS; i++) {
        char key [16];
        snprintf (key, sizeof key, "w%d", i);
        CHECK (fleet_add (fleet, key, strlen (key), 0));
    }
    CHECK (fleet_add (fleet, "one more", 8, 0) == NULL);
    fleet_destroy (&fleet);
}

int
main (void)
{
    test_lookups ();
    test_rollback ();
    test_limits ();
    printf ("test_fleet: ok\n");
    return 0;
}
