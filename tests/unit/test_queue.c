/*  test_queue - the in-memory queue: order, aging, backoff, counts, rollback, against a model  */
#include "testutil.h"
#include "queue.h"

#include <stdint.h>

static void
test_order_and_aging (void)
{
    queue_t *q = queue_new ();
    int64_t now = 10 * 60000;
    CHECK (queue_add (q, 1, 0, now, 0, NULL) == 0);         // low
    CHECK (queue_add (q, 2, 5, now, 0, NULL) == 0);         // high
    CHECK (queue_add (q, 3, 5, now, 0, NULL) == 0);         // high2
    CHECK (queue_add (q, 2, 5, now, 0, NULL) == -1);        // queued already
    //  Highest priority first, then oldest
    CHECK (queue_next (q, now) == 2);
    CHECK (queue_remove (q, 2) == 0);
    CHECK (queue_remove (q, 2) == -1);
    CHECK (queue_next (q, now) == 3);
    CHECK (queue_remove (q, 3) == 0);
    CHECK (queue_next (q, now) == 1);
    //  A priority-3 job arriving two minutes later runs first; another arriving
    //  at five minutes does not: the priority-0 job has gained five levels
    CHECK (queue_add (q, 4, 3, now + 2 * 60000, 0, NULL) == 0);
    CHECK (queue_next (q, now + 2 * 60000) == 4);
    CHECK (queue_remove (q, 4) == 0);
    CHECK (queue_add (q, 5, 3, now + 5 * 60000, 0, NULL) == 0);
    CHECK (queue_next (q, now + 5 * 60000) == 1);
    CHECK (queue_remove (q, 1) == 0);
    CHECK (queue_next (q, now + 5 * 60000) == 5);
    CHECK (queue_remove (q, 5) == 0);
    CHECK (queue_next (q, now) == 0);
    CHECK (queue_size (q) == 0);
    queue_destroy (&q);
    queue_destroy (&q);
}

static void
test_backoff_counts_rollback (void)
{
    queue_t *q = queue_new ();
    CHECK (queue_add (q, 7, 0, 1000, 5000, "alice") == 0);  // backing off until 5000
    CHECK (queue_add (q, 8, 0, 2000, 0, "bob") == 0);
    CHECK (queue_count (q, "alice") == 1 && queue_count (q, "bob") == 1);
    CHECK (queue_count (q, "carol") == 0);
    CHECK (queue_next (q, 4999) == 8);
    CHECK (queue_next (q, 5000) == 7);                      // older, and its backoff ended
    //  A failed transaction leaves the queue as it was
    queue_begin (q);
    CHECK (queue_remove (q, 7) == 0);
    CHECK (queue_add (q, 9, 9, 3000, 0, "alice") == 0);
    CHECK (queue_remove (q, 8) == 0);
    CHECK (queue_add (q, 8, 0, 2000, 9000, "bob") == 0);    // requeued with a backoff
    CHECK (queue_next (q, 5000) == 9);
    CHECK (queue_count (q, "alice") == 1 && queue_count (q, "bob") == 1);
    queue_rollback (q);
    CHECK (queue_size (q) == 2);
    CHECK (queue_count (q, "alice") == 1 && queue_count (q, "bob") == 1);
    CHECK (queue_next (q, 4999) == 8);
    CHECK (queue_next (q, 5000) == 7);
    //  A committed one keeps its changes
    queue_begin (q);
    CHECK (queue_remove (q, 7) == 0);
    queue_commit (q);
    queue_rollback (q);                                     // nothing left to undo
    CHECK (queue_size (q) == 1 && queue_count (q, "alice") == 0);
    queue_destroy (&q);
}

//  The model: a plain array, searched the way the old SQL did.
typedef struct {
    int64_t id, created_at, not_before;
    int priority;
    bool live;
} job_t;

static int64_t
s_model_next (job_t *jobs, int n, int64_t now)
{
    int64_t best = 0, best_rank = INT64_MIN;
    for (int i = 0; i < n; i++) {
        if (!jobs [i].live || jobs [i].not_before > now)
            continue;
        int64_t rank = jobs [i].priority + (now - jobs [i].created_at) / QUEUE_AGING_MS;
        if (rank > best_rank || (rank == best_rank && jobs [i].id < best)) {
            best = jobs [i].id;
            best_rank = rank;
        }
    }
    return best;
}

//  Random adds, removes, requeues with backoffs and rolled-back transactions
//  agree with the model at every step (tens of thousands of steps, many
//  levels, so the heaps, the level list and the id map all grow and shrink).
static void
test_against_model (void)
{
    enum { N = 3000 };
    static job_t jobs [N];
    queue_t *q = queue_new ();
    uint64_t seed = 42;
    int64_t now = 1000000;
    int n = 0;
    for (int step = 0; step < 60000; step++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t r = (uint32_t) (seed >> 33);
        now += r % 4000;
        int op = r % 10;
        if (op < 4 && n < N) {
            job_t *job = &jobs [n];
            *job = (job_t) { .id = n + 1, .created_at = now, .priority = (int) (r % 7) - 3,
                             .live = true };
            CHECK (queue_add (q, job->id, job->priority, job->created_at, 0,
                              r & 1 ? "a" : "b") == 0);
            n++;
        }
        else
        if (op < 7) {
            int64_t next = queue_next (q, now);
            CHECK_MSG (next == s_model_next (jobs, n, now), "step %d: %lld", step, (long long) next);
            if (next) {
                CHECK (queue_remove (q, next) == 0);
                jobs [next - 1].live = false;
                //  Some come back later, backing off
                if (r % 3 == 0) {
                    jobs [next - 1].live = true;
                    jobs [next - 1].not_before = now + r % 90000;
                    CHECK (queue_add (q, next, jobs [next - 1].priority,
                                      jobs [next - 1].created_at, jobs [next - 1].not_before,
                                      "a") == 0);
                }
            }
        }
        else
        if (op < 9 && n > 0) {
            int i = (int) (r % (uint32_t) n);
            CHECK (queue_remove (q, jobs [i].id) == (jobs [i].live ? 0 : -1));
            jobs [i].live = false;
        }
        else {
            //  A transaction that fails: adds and a start, all undone
            queue_begin (q);
            for (int k = 1; k <= 5; k++)
                CHECK (queue_add (q, N + k, 1 << 30, now, 0, "c") == 0);
            int64_t next = queue_next (q, now);
            CHECK (next > N);
            CHECK (queue_remove (q, next) == 0);
            if (n > 0 && jobs [0].live)
                CHECK (queue_remove (q, jobs [0].id) == 0);
            queue_rollback (q);
            for (int k = 1; k <= 5; k++)
                CHECK (queue_remove (q, N + k) == -1);
            CHECK (queue_count (q, "c") == 0);
        }
        size_t live = 0;
        for (int i = 0; i < n; i++)
            live += jobs [i].live;
        CHECK (queue_size (q) == live);
    }
    queue_destroy (&q);
}

int
main (void)
{
    test_order_and_aging ();
    test_backoff_counts_rollback ();
    test_against_model ();
    printf ("test_queue: ok\n");
    return 0;
}
