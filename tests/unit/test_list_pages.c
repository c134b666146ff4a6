/*  test_list_pages - LIST through a broker pages 20,000 jobs by its cursor: every job once, newest first, each reply under the message limit, filters in SQL  */
#include "testbroker.h"
#include "mt/msg.h"

#include <czmq.h>
#include <pthread.h>

#define S_JOBS 20000
#define S_IN_FLIGHT 500             // SUBMITs sent before their replies are read

//  One page: its jobs' ids appended to ids (from *count), its next cursor
//  (0 at the end); the reply's encoded size checked against the limit
static int64_t
s_page (zsock_t *client, const char *filter, int64_t before, int64_t *ids, int *count,
        int *largest)
{
    char body [256];
    int at = snprintf (body, sizeof body, "{\"limit\": 10000%s%s", filter [0] ? ", " : "", filter);
    if (before > 0)
        at += snprintf (body + at, sizeof body - (size_t) at, ", \"before\": %lld",
                        (long long) before);
    snprintf (body + at, sizeof body - (size_t) at, "}");
    test_peer_send (client, "LIST", body, NULL, 0);
    //  The frames as they came, to measure the reply's size on the wire
    zmsg_t *frames = zmsg_recv (client);
    CHECK_MSG (frames, "no reply to LIST %s", body);
    size_t wire = zmsg_content_size (frames);
    CHECK_MSG (wire <= MT_MAX_BODY, "a LIST reply of %zu bytes", wire);
    if ((int) wire > *largest)
        *largest = (int) wire;
    char *cause = NULL;
    const char *code = NULL;
    mt_msg_t *reply = mt_msg_decode (frames, &code, &cause);
    zmsg_destroy (&frames);
    CHECK_MSG (reply && mt_msg_is (reply, "JOBS"), "%s", cause ? cause : mt_msg_command (reply));
    json_t *jobs = json_object_get (mt_msg_body (reply), "jobs");
    CHECK (json_is_array (jobs) && json_array_size (jobs) > 0);
    size_t i;
    json_t *job;
    json_array_foreach (jobs, i, job) {
        CHECK (*count < S_JOBS);
        ids [(*count)++] = json_integer_value (json_object_get (job, "id"));
    }
    json_t *next = json_object_get (mt_msg_body (reply), "next");
    int64_t cursor = json_is_integer (next) ? json_integer_value (next) : 0;
    CHECK (json_is_integer (next) || json_is_null (next));
    mt_msg_destroy (&reply);
    return cursor;
}

//  Page through every job that filter (LIST fields, "" for none) selects;
//  the ids must be each of want's once, newest first. Returns the pages.
static int
s_walk (zsock_t *client, const char *filter, int want, int step, int *largest)
{
    int64_t *ids = calloc (S_JOBS, sizeof *ids);
    CHECK (ids);
    int count = 0, pages = 0;
    int64_t before = 0;
    do {
        before = s_page (client, filter, before, ids, &count, largest);
        pages++;
        CHECK (pages <= S_JOBS);
    } while (before);
    CHECK_MSG (count == want, "%s: %d jobs listed, not %d", filter, count, want);
    //  Newest first with no gap or duplicate: ids S_JOBS, S_JOBS - step, ...
    for (int i = 0; i < count; i++)
        CHECK_MSG (ids [i] == S_JOBS - (int64_t) i * step, "%s: job %d of the list is %lld",
                   filter, i, (long long) ids [i]);
    free (ids);
    return pages;
}

int
main (void)
{
    test_broker_t paths;
    broker_config_t config;
    test_broker_config (&paths, "list-pages", &config);
    config.max_queued = S_JOBS;             // no worker: all of them stay queued
    char *cause = NULL;
    broker_t *broker = broker_new (&config, &cause);
    CHECK_MSG (broker, "%s", cause);
    pthread_t thread;
    test_broker_start (broker, &thread);
    zsock_t *client = zsock_new_dealer (paths.clients);
    CHECK (client);
    zsock_set_rcvtimeo (client, 30000);
    zsock_set_sndhwm (client, 0);
    zsock_set_rcvhwm (client, 0);

    //  20,000 jobs, named in turn "even" and "odd" (a long name, so pages are
    //  capped by size before the limit of 10,000 jobs)
    int64_t t0 = zclock_mono ();
    char body [512];
    for (int sent = 0, read = 0; read < S_JOBS; ) {
        while (sent < S_JOBS && sent - read < S_IN_FLIGHT) {
            sent++;
            snprintf (body, sizeof body, "{\"spec\": {\"target\": \"y\", \"data_path\": \"/d.csv\","
                      " \"name\": \"%s-%0120d\"}}", sent % 2 ? "odd" : "even", 0);
            test_peer_send (client, "SUBMIT", body, NULL, 0);
        }
        mt_msg_t *reply = test_peer_reply (client, "SUBMIT");
        CHECK_MSG (mt_msg_is (reply, "SUBMITTED"), "%s", mt_json_compact (mt_msg_body (reply)));
        mt_msg_destroy (&reply);
        read++;
    }
    printf ("list_pages: %d jobs submitted in %.1f s\n", S_JOBS,
            (double) (zclock_mono () - t0) / 1000);

    int largest = 0;
    int pages = s_walk (client, "", S_JOBS, 1, &largest);
    CHECK_MSG (pages > 2, "20,000 jobs of 1 kB in %d pages: the size cap did not cut them", pages);
    printf ("list_pages: every job once, newest first, in %d pages of at most %d bytes"
            " (limit %d)\n", pages, largest, MT_MAX_BODY);
    //  A name filter: every other job, each once
    char filter [300];
    snprintf (filter, sizeof filter, "\"name\": \"even-%0120d\"", 0);
    pages = s_walk (client, filter, S_JOBS / 2, 2, &largest);
    printf ("list_pages: the name filter: %d jobs in %d pages\n", S_JOBS / 2, pages);
    pages = s_walk (client, "\"state\": \"queued\"", S_JOBS, 1, &largest);
    printf ("list_pages: the state filter: %d jobs in %d pages\n", S_JOBS, pages);
    int none = 0;
    test_peer_send (client, "LIST", "{\"state\": \"running\"}", NULL, 0);
    mt_msg_t *reply = test_peer_reply (client, "LIST");
    CHECK (mt_msg_is (reply, "JOBS"));
    none = (int) json_array_size (json_object_get (mt_msg_body (reply), "jobs"));
    CHECK (none == 0 && json_is_null (json_object_get (mt_msg_body (reply), "next")));
    mt_msg_destroy (&reply);

    zsock_destroy (&client);
    test_broker_stop (&broker, thread);
    test_broker_remove (&paths);
    printf ("test_list_pages: ok\n");
    return 0;
}
