/*  bench_broker - the broker's capacity over the wire: jobs/s, submit-to-start, progress/s  */
//  One process plays many clients (DEALER to the clients socket) and many
//  workers (DEALER to the workers socket), speaking MTP/1 through the codec.
//  Every wait is bounded (S_WAIT_MS per reply, a limit per run). Each mode
//  prints human lines and one "RESULT key=value ..." line for run_broker.sh.
#include "feed.h"
#include "mt/msg.h"
#include "zmtp_peer.h"

#include <arpa/inet.h>
#include <assert.h>
#include <czmq.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_WAIT_MS      10000     // one reply from the broker, at most, ms
#define S_RUN_MS       600000    // one measurement, at most, ms
#define S_HEARTBEAT_MS 1000      // a fake worker's heartbeat interval, ms
#define S_MAX_PEERS    256       // clients plus workers in one run
#define S_STALL_MS     30000     // real workers: no job ended for this long, ms
#define S_END_POLL_MS  20        // real workers: STATUS of the last jobs polled this often, ms

typedef struct {
    zsock_t *sock;               // through libzmq, or
    zmtp_peer_t *peer;           // on a plain socket (throughput)
    int64_t job;                 // held now, 0 when idle
    int64_t attempt;
    int64_t last_job;            // the last job it reported DONE for
    char model [65];             // unique-model mode: the hash being uploaded
} s_worker_t;

//  The throughput run. Its clients and workers speak ZMTP on plain sockets,
//  with no libzmq I/O thread in between, as bench_beanstalkd speaks
//  beanstalkd's protocol: the driver shares the cores with the broker, and
//  the lighter it is, the more of the broker's capacity the run shows. Peer
//  i is client i below nclients, worker i - nclients from there.
typedef struct {
    int jobs, nclients, window, nworkers;
    bool unique;                 // each job uploads a model of its own
    zmtp_peer_t *peers [S_MAX_PEERS];
    s_worker_t workers [S_MAX_PEERS];
    int inflight [S_MAX_PEERS];  // client: SUBMITs not yet answered
    bool want_out [S_MAX_PEERS]; // epoll also waits for room to send
    int ep;
    char data_hash [65], model_hash [65];
    char *submit;                // one SUBMIT as it goes on the wire
    size_t submit_size;
    int submitted, acked, assigned, done, errors;
    int64_t acked_at;            // when the last SUBMITTED came, us
} s_run_t;

static int s_ports (int count);
static int s_throughput (const char *cep, const char *wep, int jobs, int nclients, int window,
                         int nworkers, bool unique_model);
static int s_latency (const char *cep, const char *wep, int samples);
static int s_progress (const char *cep, const char *wep, int count);
static int s_real (const char *cep, const char *csv, int nworkers, int jobs, int samples);

static int64_t s_usec (void) { return zclock_usecs (); }
static zsock_t *s_dealer (const char *endpoint);
static mt_msg_t *s_recv (zsock_t *sock, int timeout_ms);
static int s_send (zsock_t *sock, mt_msg_t **msg_p);
static int s_peer_send (zmtp_peer_t *peer, mt_msg_t **msg_p);
static mt_msg_t *s_peer_recv (zmtp_peer_t *peer, int timeout_ms, int *errors);
static int s_worker_send (s_worker_t *worker, mt_msg_t **msg_p);
static mt_msg_t *s_request (zsock_t *sock, mt_msg_t **msg_p, const char *expect);
static int s_upload (zsock_t *sock, const void *data, size_t size, char *hex);
static int s_hello (s_worker_t *worker, int index);
static mt_msg_t *s_submit_msg (const char *data_hash, int64_t req, bool real);
static int s_done (s_worker_t *worker, const char *model_hash);
static int s_heartbeat (s_worker_t *worker);
static json_t *s_status (zsock_t *client, int64_t job);
static int s_wait_state (zsock_t *client, int64_t job, const char *state);
static int s_confirm (zsock_t *client, const int64_t *jobs, int count);
static void s_unexpected (const char *who, mt_msg_t *msg, int *errors);
static int s_prepare (zsock_t *client, const void *csv, size_t size, char *data_hash);
static int s_run_open (s_run_t *run, const char *cep, const char *wep);
static void s_run_loop (s_run_t *run);
static void s_drain (s_run_t *run, int i, bool read);
static void s_worker_drain (s_run_t *run, s_worker_t *w, bool read);
static void s_upload_own_model (s_worker_t *w);
static void *s_model_file (int64_t tag, size_t *size);
static void s_client_drain (s_run_t *run, int i, bool read);
static void s_run_flush (s_run_t *run, int i);
static int s_run_send_all (s_run_t *run);
static void s_run_close (s_run_t *run);
static double s_cpu_seconds (void);
static int64_t s_int (mt_msg_t *msg, const char *key);
static void s_percentiles (double *v, int n, double *p50, double *p99, double *max);
static int s_cmp_double (const void *a, const void *b);

//  A small CSV, as a data set blob for the synthetic jobs.
static const char s_csv [] = "x,y\n0.1,0.25\n0.2,0.45\n0.3,0.65\n0.4,0.85\n0.5,1.05\n";

int
main (int argc, char **argv)
{
    if (argc >= 2 && sodium_init () < 0)
        return 1;
    zsys_handler_set (NULL);        // SIGINT and SIGTERM end the run at once
    zsys_init ();
    zsys_set_logstream (NULL);
    zsys_set_sndhwm (100000);
    zsys_set_rcvhwm (100000);
    zsys_set_linger (0);
    if (argc == 3 && strcmp (argv [1], "ports") == 0)
        return s_ports (atoi (argv [2]));
    if (argc == 9 && strcmp (argv [1], "throughput") == 0)
        return s_throughput (argv [2], argv [3], atoi (argv [4]), atoi (argv [5]), atoi (argv [6]),
                             atoi (argv [7]), strcmp (argv [8], "unique") == 0);
    if (argc == 5 && strcmp (argv [1], "latency") == 0)
        return s_latency (argv [2], argv [3], atoi (argv [4]));
    if (argc == 5 && strcmp (argv [1], "progress") == 0)
        return s_progress (argv [2], argv [3], atoi (argv [4]));
    if (argc == 7 && strcmp (argv [1], "real") == 0)
        return s_real (argv [2], argv [3], atoi (argv [4]), atoi (argv [5]), atoi (argv [6]));
    fprintf (stderr,
        "usage: bench_broker ports N\n"
        "       bench_broker throughput CLIENTS_EP WORKERS_EP JOBS CLIENTS WINDOW WORKERS shared|unique\n"
        "       bench_broker latency CLIENTS_EP WORKERS_EP SAMPLES\n"
        "       bench_broker progress CLIENTS_EP WORKERS_EP COUNT\n"
        "       bench_broker real CLIENTS_EP CSV WORKERS JOBS SAMPLES\n");
    return 2;
}

//  Print count distinct free loopback TCP ports (bound to port 0 together,
//  then released; another program could take one meanwhile, rarely).
static int
s_ports (int count)
{
    int fds [16];
    if (count < 1 || count > 16)
        return 2;
    for (int i = 0; i < count; i++) {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
        addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        fds [i] = socket (AF_INET, SOCK_STREAM, 0);
        if (fds [i] < 0 || bind (fds [i], (struct sockaddr *) &addr, sizeof addr)
        ||  getsockname (fds [i], (struct sockaddr *) &addr, &len)) {
            perror ("bench_broker: ports");
            return 1;
        }
        printf ("%s%d", i ? " " : "", ntohs (addr.sin_port));
    }
    printf ("\n");
    for (int i = 0; i < count; i++)
        close (fds [i]);
    return 0;
}

//  --- Wire helpers ------------------------------------------------------------

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    zsock_set_sndhwm (sock, 100000);
    zsock_set_rcvhwm (sock, 100000);
    zsock_set_linger (sock, 0);
    if (zsock_connect (sock, "%s", endpoint)) {
        fprintf (stderr, "bench_broker: cannot connect to %s\n", endpoint);
        exit (1);
    }
    return sock;
}

//  The next message, or NULL after timeout_ms (0: only what is already there).
static mt_msg_t *
s_recv (zsock_t *sock, int timeout_ms)
{
    mt_frames_t frames;
    void *handle = zsock_resolve (sock);
    int rc = mt_frames_recv (&frames, handle);
    if (rc == 0 && timeout_ms > 0) {
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, timeout_ms) > 0)
            rc = mt_frames_recv (&frames, handle);
    }
    if (rc <= 0)
        return NULL;
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *msg = mt_frames_decode (&frames, 0, &code, &cause);
    mt_frames_close (&frames);
    if (!msg) {
        fprintf (stderr, "bench_broker: undecodable message from the broker: %s\n",
                 cause ? cause : "?");
        free (cause);
    }
    return msg;
}

static int
s_send (zsock_t *sock, mt_msg_t **msg_p)
{
    int rc = mt_msg_send (*msg_p, sock, NULL);
    mt_msg_destroy (msg_p);
    return rc;
}

//  Queue a message on a plain-socket peer for its next flush; 0 or -1.
static int
s_peer_send (zmtp_peer_t *peer, mt_msg_t **msg_p)
{
    zmsg_t *frames = mt_msg_encode (*msg_p);
    int rc = frames ? zmtp_peer_queue_msg (peer, frames) : -1;
    zmsg_destroy (&frames);
    mt_msg_destroy (msg_p);
    return rc;
}

//  The next message already read from a plain-socket peer; with timeout_ms
//  above 0, wait that long for one. NULL when none; a broken connection or
//  an undecodable message counts in *errors.
static mt_msg_t *
s_peer_recv (zmtp_peer_t *peer, int timeout_ms, int *errors)
{
    int64_t deadline = s_usec () + timeout_ms * INT64_C (1000);
    while (true) {
        zmsg_t *frames;
        if (zmtp_peer_next (peer, &frames)) {
            fprintf (stderr, "bench_broker: %s\n", zmtp_peer_failure (peer));
            (*errors)++;
            return NULL;
        }
        if (frames) {
            const char *code = NULL;
            char *cause = NULL;
            mt_msg_t *msg = mt_msg_decode (frames, &code, &cause);
            zmsg_destroy (&frames);
            if (!msg) {
                fprintf (stderr, "bench_broker: undecodable message from the broker: %s\n",
                         cause ? cause : "?");
                free (cause);
                (*errors)++;
            }
            return msg;
        }
        int64_t left = (deadline - s_usec ()) / 1000;
        if (left <= 0)
            return NULL;
        struct pollfd item = { .fd = zmtp_peer_fd (peer), .events = POLLIN };
        if (poll (&item, 1, (int) left) == 1 && zmtp_peer_read (peer)) {
            fprintf (stderr, "bench_broker: %s\n", zmtp_peer_failure (peer));
            (*errors)++;
            return NULL;
        }
    }
}

static int
s_worker_send (s_worker_t *worker, mt_msg_t **msg_p)
{
    return worker->peer ? s_peer_send (worker->peer, msg_p) : s_send (worker->sock, msg_p);
}

//  Send and wait for the reply named expect (heartbeats and welcomes are
//  skipped). NULL, with the reason on stderr, on an ERROR or a timeout.
static mt_msg_t *
s_request (zsock_t *sock, mt_msg_t **msg_p, const char *expect)
{
    const char *command = mt_msg_command (*msg_p);
    char name [MT_MAX_COMMAND + 1];
    snprintf (name, sizeof name, "%s", command);
    if (s_send (sock, msg_p))
        return NULL;
    int64_t deadline = s_usec () + S_WAIT_MS * INT64_C (1000);
    while (s_usec () < deadline) {
        mt_msg_t *reply = s_recv (sock, 100);
        if (!reply)
            continue;
        if (mt_msg_is (reply, expect))
            return reply;
        if (mt_msg_is (reply, "ERROR")) {
            fprintf (stderr, "bench_broker: %s: ERROR %s: %s\n", name,
                     json_string_value (json_object_get (mt_msg_body (reply), "code")),
                     json_string_value (json_object_get (mt_msg_body (reply), "text")));
            mt_msg_destroy (&reply);
            return NULL;
        }
        mt_msg_destroy (&reply);
    }
    fprintf (stderr, "bench_broker: %s: no %s within %d ms\n", name, expect, S_WAIT_MS);
    return NULL;
}

//  Upload a blob (probe, then one chunk when the broker lacks it); hex gets
//  its SHA-256. Returns 0 or -1.
static int
s_upload (zsock_t *sock, const void *data, size_t size, char *hex)
{
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, data, size);
    sodium_bin2hex (hex, 65, digest, sizeof digest);
    for (int chunk = 0; chunk < 2; chunk++) {
        mt_msg_t *msg = mt_msg_new ("UPLOAD");
        json_t *body = mt_msg_body (msg);
        json_object_set_new (body, "hash", json_string (hex));
        json_object_set_new (body, "size", json_integer ((json_int_t) size));
        json_object_set_new (body, "offset", json_integer (0));
        json_object_set_new (body, "last", json_boolean (chunk == 1));
        if (chunk == 1)
            mt_msg_set_payload (msg, data, size);
        mt_msg_t *reply = s_request (sock, &msg, "UPLOADED");
        if (!reply)
            return -1;
        bool complete = json_is_true (json_object_get (mt_msg_body (reply), "complete"));
        mt_msg_destroy (&reply);
        if (complete)
            return 0;
    }
    fprintf (stderr, "bench_broker: upload of %.12s did not complete\n", hex);
    return -1;
}

static int
s_hello (s_worker_t *worker, int index)
{
    char name [64];
    snprintf (name, sizeof name, "bench:%d:%d", (int) getpid (), index);
    mt_msg_t *msg = mt_msg_new ("HELLO");
    json_t *body = mt_msg_body (msg);
    json_object_set_new (body, "name", json_string (name));
    json_object_set_new (body, "host", json_string ("bench"));
    json_object_set_new (body, "pid", json_integer (getpid ()));
    json_object_set_new (body, "cores", json_integer (1));
    json_object_set_new (body, "threads", json_integer (1));
    json_object_set_new (body, "version", json_string ("bench"));
    if (!worker->peer) {
        mt_msg_t *reply = s_request (worker->sock, &msg, "WELCOME");
        int rc = reply ? 0 : -1;
        mt_msg_destroy (&reply);
        return rc;
    }
    int errors = 0;
    if (s_peer_send (worker->peer, &msg) || zmtp_peer_flush (worker->peer))
        return -1;
    mt_msg_t *reply = s_peer_recv (worker->peer, S_WAIT_MS, &errors);
    while (reply && mt_msg_is (reply, "HEARTBEAT")) {
        mt_msg_destroy (&reply);
        reply = s_peer_recv (worker->peer, S_WAIT_MS, &errors);
    }
    int rc = reply && mt_msg_is (reply, "WELCOME") ? 0 : -1;
    if (rc)
        fprintf (stderr, "bench_broker: HELLO: %s\n",
                 reply ? mt_msg_command (reply) : "no WELCOME");
    mt_msg_destroy (&reply);
    return rc;
}

static mt_msg_t *
s_submit_msg (const char *data_hash, int64_t req, bool real)
{
    mt_msg_t *msg = mt_msg_new ("SUBMIT");
    json_t *spec = json_object ();
    json_object_set_new (spec, "data_hash", json_string (data_hash));
    json_object_set_new (spec, "target", json_string ("y"));
    json_object_set_new (spec, "epochs", json_integer (1));
    if (real)
        json_object_set_new (spec, "val_split", json_real (0));
    json_object_set_new (mt_msg_body (msg), "spec", spec);
    if (req >= 0)
        json_object_set_new (mt_msg_body (msg), "req", json_integer (req));
    return msg;
}

static int
s_done (s_worker_t *worker, const char *model_hash)
{
    //  Fields packed as they are added: a load generator that builds a JSON
    //  tree per message takes the cores the broker needs
    mt_msg_t *msg = mt_msg_new ("DONE");
    json_object_set_new (mt_msg_body (msg), "metrics", json_object ());
    mt_msg_add_int (msg, "job", worker->job);
    mt_msg_add_int (msg, "attempt", worker->attempt);
    mt_msg_add_str (msg, "model_hash", model_hash, strlen (model_hash));
    worker->last_job = worker->job;
    worker->job = worker->attempt = 0;
    return s_worker_send (worker, &msg);
}

static int
s_heartbeat (s_worker_t *worker)
{
    mt_msg_t *msg = mt_msg_new ("HEARTBEAT");
    json_object_set_new (mt_msg_body (msg), "job", json_integer (worker->job));
    json_object_set_new (mt_msg_body (msg), "attempt", json_integer (worker->attempt));
    return s_worker_send (worker, &msg);
}

//  The job map (caller owns), or NULL.
static json_t *
s_status (zsock_t *client, int64_t job)
{
    mt_msg_t *msg = mt_msg_new ("STATUS");
    json_object_set_new (mt_msg_body (msg), "job", json_integer (job));
    mt_msg_t *reply = s_request (client, &msg, "JOB");
    if (!reply)
        return NULL;
    json_t *map = json_incref (json_object_get (mt_msg_body (reply), "job"));
    mt_msg_destroy (&reply);
    return map;
}

//  Poll STATUS every millisecond until the job is in state. Returns 0 or -1.
static int
s_wait_state (zsock_t *client, int64_t job, const char *state)
{
    int64_t deadline = s_usec () + S_WAIT_MS * INT64_C (1000);
    while (s_usec () < deadline) {
        json_t *map = s_status (client, job);
        const char *now = map ? json_string_value (json_object_get (map, "state")) : NULL;
        bool there = now && strcmp (now, state) == 0;
        bool ended = now && (strcmp (now, "failed") == 0 || strcmp (now, "stopped") == 0);
        if (ended)
            fprintf (stderr, "bench_broker: job %lld %s: %s\n", (long long) job, now,
                     json_string_value (json_object_get (map, "error")));
        json_decref (map);
        if (there)
            return 0;
        if (!now || ended)
            return -1;
        zclock_sleep (1);
    }
    fprintf (stderr, "bench_broker: job %lld not %s within %d ms\n", (long long) job, state,
             S_WAIT_MS);
    return -1;
}

//  Wait until every job of jobs [count] has succeeded, asking for all of
//  them at once (each STATUS carries its index as req) and again for those
//  not there yet: one round trip per round rather than one per job.
//  Returns 0 or -1.
static int
s_confirm (zsock_t *client, const int64_t *jobs, int count)
{
    bool *pending = calloc ((size_t) count, sizeof *pending);
    int left = 0;
    for (int i = 0; i < count; i++)
        if (jobs [i]) {
            pending [i] = true;
            left++;
        }
    int64_t deadline = s_usec () + S_WAIT_MS * INT64_C (1000);
    int rc = 0;
    while (left > 0 && rc == 0 && s_usec () < deadline) {
        int asked = 0;
        for (int i = 0; i < count; i++)
            if (pending [i]) {
                mt_msg_t *msg = mt_msg_new ("STATUS");
                json_object_set_new (mt_msg_body (msg), "job", json_integer (jobs [i]));
                json_object_set_new (mt_msg_body (msg), "req", json_integer (i));
                if (s_send (client, &msg) == 0)
                    asked++;
            }
        while (asked > 0 && rc == 0 && s_usec () < deadline) {
            mt_msg_t *reply = s_recv (client, 100);
            if (!reply)
                continue;
            int64_t i = s_int (reply, "req");
            json_t *job = json_object_get (mt_msg_body (reply), "job");
            const char *state = json_string_value (json_object_get (job, "state"));
            if (mt_msg_is (reply, "SUBMITTED"))
                ;                           // a submit's reply not read before
            else
            if (!mt_msg_is (reply, "JOB") || i < 0 || i >= count || !state) {
                s_unexpected ("client", reply, &rc);
                rc = -1;
            }
            else {
                asked--;
                if (strcmp (state, "succeeded") == 0 && pending [i]) {
                    pending [i] = false;
                    left--;
                }
                else
                if (strcmp (state, "failed") == 0 || strcmp (state, "stopped") == 0) {
                    fprintf (stderr, "bench_broker: job %lld %s: %s\n", (long long) jobs [i],
                             state, json_string_value (json_object_get (job, "error")));
                    rc = -1;
                }
            }
            mt_msg_destroy (&reply);
        }
    }
    if (left > 0 && rc == 0) {
        fprintf (stderr, "bench_broker: %d jobs not succeeded within %d ms\n", left, S_WAIT_MS);
        rc = -1;
    }
    free (pending);
    return rc;
}

static int64_t
s_int (mt_msg_t *msg, const char *key)
{
    return json_integer_value (json_object_get (mt_msg_body (msg), key));
}

//  Wait for the broker, upload the data set; 0 or -1.
static int
s_prepare (zsock_t *client, const void *csv, size_t size, char *data_hash)
{
    mt_msg_t *ping = mt_msg_new ("PING");
    mt_msg_t *pong = s_request (client, &ping, "PONG");
    if (!pong)
        return -1;
    mt_msg_destroy (&pong);
    return s_upload (client, csv, size, data_hash);
}

//  --- a. Jobs per second end to end ------------------------------------------

//  Count a reply the run did not expect; print the first few.
static void
s_unexpected (const char *who, mt_msg_t *msg, int *errors)
{
    if (*errors < 5)
        fprintf (stderr, "bench_broker: %s got %s %s\n", who, mt_msg_command (msg),
                 json_string_value (json_object_get (mt_msg_body (msg), "text")));
    (*errors)++;
}

//  Connect the peers, say HELLO for the workers and encode the SUBMIT; 0 or -1.
static int
s_run_open (s_run_t *run, const char *cep, const char *wep)
{
    run->ep = epoll_create1 (0);
    if (run->ep < 0)
        return -1;
    for (int i = 0; i < run->nclients + run->nworkers; i++) {
        char *cause = NULL;
        bool client = i < run->nclients;
        s_worker_t *w = client ? NULL : &run->workers [i - run->nclients];
        run->peers [i] = zmtp_peer_connect (client ? cep : wep, S_WAIT_MS, &cause);
        if (!run->peers [i]) {
            fprintf (stderr, "bench_broker: %s\n", cause);
            free (cause);
            return -1;
        }
        if (w) {
            w->peer = run->peers [i];
            if (s_hello (w, i - run->nclients))
                return -1;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t) i };
        if (epoll_ctl (run->ep, EPOLL_CTL_ADD, zmtp_peer_fd (run->peers [i]), &ev))
            return -1;
    }
    //  Every job's SUBMIT is the same (no req: replies are counted, not
    //  matched), encoded once, as bench_beanstalkd formats its put once
    mt_msg_t *submit = s_submit_msg (run->data_hash, -1, false);
    zmsg_t *frames = mt_msg_encode (submit);
    int rc = frames ? zmtp_peer_encode (frames, &run->submit, &run->submit_size) : -1;
    zmsg_destroy (&frames);
    mt_msg_destroy (&submit);
    return rc;
}

//  A worker's messages: answer ASSIGN at once (unique: upload a model of its
//  own first), HEARTBEAT with HEARTBEAT. With read, what the socket has is
//  read first.
static void
s_worker_drain (s_run_t *run, s_worker_t *w, bool read)
{
    if (read && zmtp_peer_read (w->peer)) {
        fprintf (stderr, "bench_broker: worker: %s\n", zmtp_peer_failure (w->peer));
        run->errors++;
        return;
    }
    mt_msg_t *msg;
    while ((msg = s_peer_recv (w->peer, 0, &run->errors))) {
        if (mt_msg_is (msg, "ASSIGN")) {
            w->job = s_int (msg, "job");
            w->attempt = s_int (msg, "attempt");
            run->assigned++;
            if (run->unique)
                s_upload_own_model (w);
            else {
                s_done (w, run->model_hash);
                run->done++;
            }
        }
        else
        if (mt_msg_is (msg, "UPLOADED") && w->job) {
            s_done (w, w->model);
            run->done++;
        }
        else
        if (mt_msg_is (msg, "HEARTBEAT"))
            s_heartbeat (w);
        else
            s_unexpected ("worker", msg, &run->errors);
        mt_msg_destroy (&msg);
    }
}

//  A model of the worker's own for its job, in one UPLOAD chunk.
static void
s_upload_own_model (s_worker_t *w)
{
    size_t size;
    void *model = s_model_file (w->job, &size);
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, model, size);
    sodium_bin2hex (w->model, sizeof w->model, digest, sizeof digest);
    mt_msg_t *up = mt_msg_new ("UPLOAD");
    json_t *body = mt_msg_body (up);
    json_object_set_new (body, "hash", json_string (w->model));
    json_object_set_new (body, "size", json_integer ((json_int_t) size));
    json_object_set_new (body, "offset", json_integer (0));
    json_object_set_new (body, "last", json_boolean (true));
    mt_msg_set_payload (up, model, size);
    free (model);
    s_worker_send (w, &up);
}

//  A model the broker takes for the bench's jobs (their spec's default
//  hidden layer of 16 units, regression), as the engine lays one out: one
//  input, zero weights, and tag as the input's mean, so each tag's model is
//  a blob of its own. The caller frees it.
#define S_MODEL_HIDDEN 16
static void *
s_model_file (int64_t tag, size_t *size)
{
    static const struct { const char *name; int rows, cols; } tensors [] = {
        { "0.weight", S_MODEL_HIDDEN, 1 }, { "0.bias", S_MODEL_HIDDEN, 0 },
        { "2.weight", 1, S_MODEL_HIDDEN }, { "2.bias", 1, 0 }, { "input.mean", 1, 0 },
        { "input.std", 1, 0 }, { "target.mean", 1, 0 }, { "target.std", 1, 0 }
    };
    json_t *header = json_pack ("{s:{s:s, s:s, s:s, s:s}}", "__metadata__", "version", "1",
                                "task", "regression", "target", "y", "features", "[\"x\"]");
    size_t offset = 0, mean_at = 0;
    for (size_t i = 0; i < sizeof tensors / sizeof tensors [0]; i++) {
        size_t bytes = 4 * (size_t) tensors [i].rows * (tensors [i].cols ? tensors [i].cols : 1);
        json_t *shape = tensors [i].cols ? json_pack ("[i,i]", tensors [i].rows, tensors [i].cols)
                                         : json_pack ("[i]", tensors [i].rows);
        json_object_set_new (header, tensors [i].name, json_pack ("{s:s, s:o, s:[I,I]}",
                             "dtype", "F32", "shape", shape, "data_offsets",
                             (json_int_t) offset, (json_int_t) (offset + bytes)));
        if (strcmp (tensors [i].name, "input.mean") == 0)
            mean_at = offset;
        offset += bytes;
    }
    char *text = json_dumps (header, JSON_COMPACT);
    json_decref (header);
    assert (text);
    size_t text_len = strlen (text), header_len = (text_len + 7) & ~(size_t) 7;
    *size = 8 + header_len + offset;
    unsigned char *file = calloc (1, *size);
    assert (file);
    for (int i = 0; i < 8; i++)
        file [i] = (unsigned char) ((uint64_t) header_len >> (8 * i));
    memcpy (file + 8, text, text_len);
    memset (file + 8 + text_len, ' ', header_len - text_len);
    float mean = (float) tag;
    memcpy (file + 8 + header_len + mean_at, &mean, sizeof mean);
    free (text);
    return file;
}

static void
s_client_drain (s_run_t *run, int i, bool read)
{
    zmtp_peer_t *peer = run->peers [i];
    if (read && zmtp_peer_read (peer)) {
        fprintf (stderr, "bench_broker: client: %s\n", zmtp_peer_failure (peer));
        run->errors++;
        return;
    }
    mt_msg_t *msg;
    while ((msg = s_peer_recv (peer, 0, &run->errors))) {
        run->inflight [i]--;
        if (mt_msg_is (msg, "SUBMITTED"))
            run->acked++;
        else
            s_unexpected ("client", msg, &run->errors);
        mt_msg_destroy (&msg);
    }
}

static void
s_drain (s_run_t *run, int i, bool read)
{
    if (i < run->nclients)
        s_client_drain (run, i, read);
    else
        s_worker_drain (run, &run->workers [i - run->nclients], read);
}

//  Send what peer i has queued; epoll waits for room to send the rest.
static void
s_run_flush (s_run_t *run, int i)
{
    if (zmtp_peer_flush (run->peers [i])) {
        fprintf (stderr, "bench_broker: %s\n", zmtp_peer_failure (run->peers [i]));
        run->errors++;
        return;
    }
    bool want_out = zmtp_peer_pending (run->peers [i]);
    if (want_out != run->want_out [i]) {
        struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0),
                                  .data.u32 = (uint32_t) i };
        if (epoll_ctl (run->ep, EPOLL_CTL_MOD, zmtp_peer_fd (run->peers [i]), &ev))
            run->errors++;
        run->want_out [i] = want_out;
    }
}

//  Until every job is done and every submit answered: top up the clients'
//  windows, send what each peer has to say in one send, read what epoll names.
static void
s_run_loop (s_run_t *run)
{
    int npeers = run->nclients + run->nworkers;
    int64_t start = s_usec (), beat = start;
    //  What the handshakes and HELLOs read past their replies
    for (int i = 0; i < npeers; i++)
        s_drain (run, i, false);
    while ((run->done < run->jobs || run->acked < run->jobs) && run->errors == 0
    &&     s_usec () - start < S_RUN_MS * INT64_C (1000)) {
        for (int i = 0; i < run->nclients; i++)
            for (; run->inflight [i] < run->window && run->submitted < run->jobs;
                 run->inflight [i]++, run->submitted++)
                if (zmtp_peer_queue (run->peers [i], run->submit, run->submit_size))
                    run->errors++;
        for (int i = 0; i < npeers; i++)
            if (zmtp_peer_pending (run->peers [i]))
                s_run_flush (run, i);
        struct epoll_event events [S_MAX_PEERS];
        int ready = epoll_wait (run->ep, events, S_MAX_PEERS, 100);
        for (int e = 0; e < ready; e++)
            if (events [e].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                s_drain (run, (int) events [e].data.u32, true);
        if (run->acked == run->jobs && !run->acked_at)
            run->acked_at = s_usec ();
        if (s_usec () - beat > S_HEARTBEAT_MS * INT64_C (1000)) {
            for (int i = 0; i < run->nworkers; i++)
                s_heartbeat (&run->workers [i]);
            beat = s_usec ();
        }
    }
}

//  Send what is still queued (the last DONEs), within S_WAIT_MS; 0 or -1.
static int
s_run_send_all (s_run_t *run)
{
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    for (int i = 0; i < run->nclients + run->nworkers; i++)
        while (run->peers [i] && zmtp_peer_pending (run->peers [i])) {
            struct pollfd item = { .fd = zmtp_peer_fd (run->peers [i]), .events = POLLOUT };
            int64_t left = deadline - zclock_mono ();
            if (left <= 0 || poll (&item, 1, (int) left) < 0
            ||  zmtp_peer_flush (run->peers [i])) {
                fprintf (stderr, "bench_broker: the last messages could not be sent\n");
                return -1;
            }
        }
    return 0;
}

//  Each worker says BYE, so the broker forgets it at once; then close all.
static void
s_run_close (s_run_t *run)
{
    for (int i = 0; i < run->nworkers; i++)
        if (run->workers [i].peer) {
            mt_msg_t *bye = mt_msg_new ("BYE");
            mt_msg_add_int (bye, "job", 0);
            mt_msg_add_int (bye, "attempt", 0);
            s_worker_send (&run->workers [i], &bye);
        }
    s_run_send_all (run);
    for (int i = 0; i < S_MAX_PEERS; i++)
        zmtp_peer_destroy (&run->peers [i]);
    if (run->ep >= 0)
        close (run->ep);
    free (run->submit);
}

static double
s_cpu_seconds (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static int
s_throughput (const char *cep, const char *wep, int jobs, int nclients, int window, int nworkers,
              bool unique)
{
    if (jobs < 1 || nclients < 1 || window < 1 || nworkers < 1
    ||  nclients + nworkers > S_MAX_PEERS)
        return 2;
    s_run_t *run = calloc (1, sizeof *run);
    assert (run);
    *run = (s_run_t) { .jobs = jobs, .nclients = nclients, .window = window,
                       .nworkers = nworkers, .unique = unique, .ep = -1 };
    //  One more client, through libzmq, uploads the data set and the model
    //  and confirms the last jobs
    zsock_t *setup = s_dealer (cep);
    size_t model_size;
    void *model = s_model_file (0, &model_size);
    int rc = s_prepare (setup, s_csv, strlen (s_csv), run->data_hash)
          || s_upload (setup, model, model_size, run->model_hash)
          || s_run_open (run, cep, wep) ? 1 : 0;
    int64_t start = s_usec (), sent = 0, end = 0;
    double cpu = s_cpu_seconds ();
    if (rc == 0) {
        s_run_loop (run);
        if (run->errors == 0 && s_run_send_all (run))
            run->errors++;
        //  Each worker's DONEs arrive in order: when its last one is committed, all are
        sent = s_usec ();
        int64_t last [S_MAX_PEERS];
        for (int i = 0; i < nworkers; i++)
            last [i] = run->workers [i].last_job;
        if (run->errors == 0 && s_confirm (setup, last, nworkers))
            run->errors++;
        end = s_usec ();
        cpu = s_cpu_seconds () - cpu;
        if (run->done < jobs || run->errors) {
            fprintf (stderr, "bench_broker: throughput: %d of %d jobs done, %d errors\n",
                     run->done, jobs, run->errors);
            rc = 1;
        }
    }
    int64_t acked_at = run->acked_at;
    s_run_close (run);
    free (run);
    zsock_destroy (&setup);
    free (model);
    if (rc)
        return rc;
    double secs = (end - start) / 1e6;
    printf ("broker jobs/s: %d jobs (%d clients x window %d, %d workers, %s model) in %.2f s:"
            " %.0f jobs/s end to end (submits acked at %.0f/s; last DONEs confirmed in %.1f ms;"
            " driver CPU %.2f s)\n", jobs, nclients, window, nworkers,
            unique ? "unique uploaded" : "shared", secs, jobs / secs,
            jobs / ((acked_at - start) / 1e6), (end - sent) / 1e3, cpu);
    printf ("RESULT mode=throughput model=%s jobs=%d secs=%.3f jobs_per_s=%.0f driver_cpu_s=%.3f\n",
            unique ? "unique" : "shared", jobs, secs, jobs / secs, cpu);
    return 0;
}

//  --- b. Submit-to-start latency, idle worker ---------------------------------

//  One client with the data set and a model uploaded, and one worker after
//  HELLO. Returns 0, or -1 when the broker did not answer.
static int
s_one_each (const char *cep, const char *wep, zsock_t **client, s_worker_t *worker,
            char data_hash [65], char model_hash [65])
{
    *client = s_dealer (cep);
    *worker = (s_worker_t) { .sock = s_dealer (wep) };
    //  A model the broker's DONE check takes (it refuses what is not one)
    size_t model_size;
    void *model = s_model_file (0, &model_size);
    int rc = s_prepare (*client, s_csv, strlen (s_csv), data_hash)
          || s_upload (*client, model, model_size, model_hash) || s_hello (worker, 0) ? -1 : 0;
    free (model);
    return rc;
}

static int
s_latency (const char *cep, const char *wep, int samples)
{
    if (samples < 1 || samples > 1000000)
        return 2;
    zsock_t *client;
    s_worker_t worker;
    char data_hash [65], model_hash [65];
    if (s_one_each (cep, wep, &client, &worker, data_hash, model_hash))
        return 1;
    double *lat = calloc ((size_t) samples, sizeof *lat);
    assert (lat);
    int n = 0;
    int64_t deadline = s_usec () + S_RUN_MS * INT64_C (1000);
    for (; n < samples && s_usec () < deadline; n++) {
        int64_t t0 = s_usec ();
        mt_msg_t *msg = s_submit_msg (data_hash, n, false);
        s_send (client, &msg);
        mt_msg_t *assign = NULL;
        while (!assign && s_usec () - t0 < S_WAIT_MS * INT64_C (1000)) {
            assign = s_recv (worker.sock, 100);
            if (assign && mt_msg_is (assign, "HEARTBEAT")) {
                s_heartbeat (&worker);
                mt_msg_destroy (&assign);
            }
        }
        if (!assign || !mt_msg_is (assign, "ASSIGN")) {
            fprintf (stderr, "bench_broker: latency: no ASSIGN for sample %d (got %s)\n", n,
                     assign ? mt_msg_command (assign) : "nothing");
            return 1;
        }
        lat [n] = (s_usec () - t0) / 1e3;
        worker.job = s_int (assign, "job");
        worker.attempt = s_int (assign, "attempt");
        mt_msg_destroy (&assign);
        mt_msg_t *ack = s_recv (client, S_WAIT_MS);
        bool ok = ack && mt_msg_is (ack, "SUBMITTED");
        mt_msg_destroy (&ack);
        int64_t job = worker.job;
        //  The worker must be idle again before the next sample
        if (!ok || s_done (&worker, model_hash) || s_wait_state (client, job, "succeeded"))
            return 1;
    }
    double p50, p99, max;
    s_percentiles (lat, n, &p50, &p99, &max);
    printf ("submit-to-start (SUBMIT sent -> ASSIGN received, idle worker): %d samples,"
            " p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", n, p50, p99, max);
    printf ("RESULT mode=latency samples=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", n, p50, p99, max);
    free (lat);
    zsock_destroy (&client);
    zsock_destroy (&worker.sock);
    return 0;
}

//  --- c. Progress messages per second into the history -----------------------

//  The newest job's map from LIST (limit 1, no history); caller owns.
static json_t *
s_newest (zsock_t *client)
{
    mt_msg_t *msg = mt_msg_new ("LIST");
    json_object_set_new (mt_msg_body (msg), "limit", json_integer (1));
    mt_msg_t *reply = s_request (client, &msg, "JOBS");
    if (!reply)
        return NULL;
    json_t *job = json_incref (json_array_get (json_object_get (mt_msg_body (reply), "jobs"), 0));
    mt_msg_destroy (&reply);
    return job;
}

static int
s_progress (const char *cep, const char *wep, int count)
{
    if (count < 1)
        return 2;
    zsock_t *client;
    s_worker_t worker;
    char data_hash [65], model_hash [65];
    if (s_one_each (cep, wep, &client, &worker, data_hash, model_hash))
        return 1;
    mt_msg_t *msg = s_submit_msg (data_hash, -1, false);
    mt_msg_t *reply = s_request (client, &msg, "SUBMITTED");
    bool submitted = reply != NULL;
    mt_msg_destroy (&reply);
    mt_msg_t *assign = NULL;
    for (int i = 0; i < 100 && !(assign && mt_msg_is (assign, "ASSIGN")); i++) {
        mt_msg_destroy (&assign);
        assign = s_recv (worker.sock, 100);
    }
    if (!submitted || !assign || !mt_msg_is (assign, "ASSIGN")) {
        fprintf (stderr, "bench_broker: progress: the job was not assigned\n");
        return 1;
    }
    worker.job = s_int (assign, "job");
    worker.attempt = s_int (assign, "attempt");
    mt_msg_destroy (&assign);

    //  As mtworker sends them: every field, pipelined, no reply expected
    int64_t start = s_usec ();
    for (int step = 1; step <= count; step++) {
        mt_msg_t *p = mt_msg_new ("PROGRESS");
        json_t *body = mt_msg_body (p);
        json_object_set_new (body, "job", json_integer (worker.job));
        json_object_set_new (body, "attempt", json_integer (worker.attempt));
        json_object_set_new (body, "epoch", json_integer (1));
        json_object_set_new (body, "epochs", json_integer (1));
        json_object_set_new (body, "step", json_integer (step));
        json_object_set_new (body, "steps", json_integer (count));
        json_object_set_new (body, "loss", json_real (1.0 / step));
        json_object_set_new (body, "val_loss", json_null ());
        json_object_set_new (body, "val_metric", json_null ());
        json_object_set_new (body, "samples_per_sec", json_real (12345.6));
        json_object_set_new (body, "eta_s", json_real ((count - step) * 1e-5));
        if (s_send (worker.sock, &p))
            return 1;
        if (step % 4096 == 0) {
            mt_msg_t *in;
            while ((in = s_recv (worker.sock, 0))) {
                if (mt_msg_is (in, "HEARTBEAT"))
                    s_heartbeat (&worker);
                else
                    fprintf (stderr, "bench_broker: progress: worker got %s\n", mt_msg_command (in));
                mt_msg_destroy (&in);
            }
        }
    }
    int64_t sent = s_usec ();
    if (s_done (&worker, model_hash))
        return 1;
    int64_t step = 0, polls = 0;
    const char *state = "";
    json_t *job = NULL;
    while (s_usec () - sent < S_RUN_MS * INT64_C (1000)) {
        json_decref (job);
        job = s_newest (client);
        if (!job)
            return 1;
        state = json_string_value (json_object_get (job, "state"));
        step = json_integer_value (json_object_get (json_object_get (job, "progress"), "step"));
        polls++;
        if (strcmp (state, "running") != 0)
            break;
        zclock_sleep (2);
    }
    int64_t end = s_usec ();
    if (strcmp (state, "succeeded") != 0 || step != count) {
        fprintf (stderr, "bench_broker: progress: job %s at step %lld of %d\n", state,
                 (long long) step, count);
        return 1;
    }
    json_decref (job);
    double secs = (end - start) / 1e6;
    printf ("progress ingest: %d PROGRESS + DONE in %.2f s: %.0f msgs/s stored (sent at %.0f/s;"
            " %lld LIST polls after the last send)\n", count, secs, count / secs,
            count / ((sent - start) / 1e6), (long long) polls);
    printf ("RESULT mode=progress count=%d secs=%.3f msgs_per_s=%.0f\n", count, secs, count / secs);
    zsock_destroy (&client);
    zsock_destroy (&worker.sock);
    return 0;
}

//  --- 3. Real mtworkers ------------------------------------------------------

//  Jobs in state now, from STATS (the broker's counts in memory, which
//  follow its commits: no LIST of every job, whose cost grows with them);
//  -1 on error.
static int
s_count (zsock_t *client, const char *state)
{
    mt_msg_t *msg = mt_msg_new ("STATS");
    mt_msg_t *reply = s_request (client, &msg, "STATS");
    if (!reply)
        return -1;
    json_t *n = json_object_get (json_object_get (mt_msg_body (reply), "jobs"), state);
    int count = json_is_integer (n) ? (int) json_integer_value (n) : -1;
    mt_msg_destroy (&reply);
    return count;
}

//  Commits that wrote since the broker started, from STATS; -1 on error.
static int64_t
s_commits (zsock_t *client)
{
    mt_msg_t *msg = mt_msg_new ("STATS");
    mt_msg_t *reply = s_request (client, &msg, "STATS");
    if (!reply)
        return -1;
    json_t *h = json_object_get (json_object_get (mt_msg_body (reply), "histograms"),
                                 "commit_seconds");
    json_t *n = json_object_get (h, "count");
    int64_t count = json_is_integer (n) ? json_integer_value (n) : -1;
    mt_msg_destroy (&reply);
    return count;
}

//  Wait until want jobs succeeded, polling every poll_ms; 0 or -1. Gives up
//  when none ends for S_STALL_MS.
static int
s_wait_succeeded (zsock_t *client, int want, int poll_ms)
{
    int64_t start = s_usec (), moved = start;
    int last = -1;
    while (s_usec () - moved < S_STALL_MS * INT64_C (1000)
    &&     s_usec () - start < S_RUN_MS * INT64_C (1000)) {
        int ok = s_count (client, "succeeded"), bad = s_count (client, "failed");
        if (ok < 0 || bad != 0) {
            fprintf (stderr, "bench_broker: real: %d jobs failed\n", bad);
            return -1;
        }
        if (ok >= want)
            return 0;
        if (ok != last) {
            last = ok;
            moved = s_usec ();
        }
        zclock_sleep (poll_ms);
    }
    fprintf (stderr, "bench_broker: real: stalled at %d of %d jobs succeeded (queued: %d)\n",
             last, want, s_count (client, "queued"));
    return -1;
}

//  Wait until each of the n jobs in ids has ended, polling STATUS every
//  poll_ms; 0, or -1 on error or after S_RUN_MS. A LIST of every succeeded
//  job at each poll would cost the broker more CPU the more jobs are done
//  (and the machine it shares with the workers is the one measured).
static int
s_wait_ended (zsock_t *client, const int64_t *ids, int n, int poll_ms)
{
    int64_t start = s_usec ();
    int i = 0;
    while (i < n && s_usec () - start < S_RUN_MS * INT64_C (1000)) {
        json_t *job = s_status (client, ids [i]);
        if (!job)
            return -1;
        const char *state = json_string_value (json_object_get (job, "state"));
        bool ended = state && (strcmp (state, "succeeded") == 0 || strcmp (state, "failed") == 0
                               || strcmp (state, "stopped") == 0);
        json_decref (job);
        if (ended)
            i++;
        else
            zclock_sleep (poll_ms);
    }
    return i == n ? 0 : -1;
}

static int
s_real (const char *cep, const char *csv, int nworkers, int jobs, int samples)
{
    if (nworkers < 1 || jobs < 1 || samples < 1 || samples > 100000)
        return 2;
    zchunk_t *data = zchunk_slurp (csv, 0);
    if (!data) {
        fprintf (stderr, "bench_broker: cannot read %s\n", csv);
        return 1;
    }
    zsock_t *client = s_dealer (cep);
    char data_hash [65];
    if (s_prepare (client, zchunk_data (data), zchunk_size (data), data_hash))
        return 1;
    zchunk_destroy (&data);
    //  Wait for the workers, then one job each so every cache holds the data set
    for (int i = 0; i < 1000; i++) {
        mt_msg_t *msg = mt_msg_new ("WORKERS");
        mt_msg_t *reply = s_request (client, &msg, "WORKERS");
        size_t n = reply ? json_array_size (json_object_get (mt_msg_body (reply), "workers")) : 0;
        mt_msg_destroy (&reply);
        if ((int) n >= nworkers)
            break;
        zclock_sleep (10);
    }
    for (int i = 0; i < nworkers; i++) {
        mt_msg_t *msg = s_submit_msg (data_hash, -1, true);
        mt_msg_t *reply = s_request (client, &msg, "SUBMITTED");
        if (!reply)
            return 1;
        mt_msg_destroy (&reply);
    }
    if (s_wait_succeeded (client, nworkers, 10))
        return 1;

    //  Throughput: all submitted pipelined, then wait for every success. Jobs
    //  start in the order submitted, so once the last nworkers have ended,
    //  so has every job (STATS confirms it; a retry would keep it polling)
    int64_t commits = s_commits (client);
    int64_t start = s_usec ();
    for (int i = 0; i < jobs; i++) {
        mt_msg_t *msg = s_submit_msg (data_hash, i, true);
        s_send (client, &msg);
    }
    int64_t *last = calloc ((size_t) nworkers, sizeof *last);
    assert (last);
    int n_last = 0;
    for (int i = 0; i < jobs; i++) {
        mt_msg_t *reply = s_recv (client, S_WAIT_MS);
        bool ok = reply && mt_msg_is (reply, "SUBMITTED");
        if (ok && i >= jobs - nworkers)
            last [n_last++] = s_int (reply, "job");
        mt_msg_destroy (&reply);
        if (!ok) {
            fprintf (stderr, "bench_broker: real: submit %d not acknowledged\n", i);
            return 1;
        }
    }
    int rc = s_wait_ended (client, last, n_last, S_END_POLL_MS);
    free (last);
    if (rc || s_wait_succeeded (client, nworkers + jobs, 5))
        return 1;
    double secs = (s_usec () - start) / 1e6;
    printf ("real workers: %d trivial jobs on %d mtworkers in %.2f s: %.1f jobs/s\n", jobs,
            nworkers, secs, jobs / secs);
    commits = commits >= 0 ? s_commits (client) - commits : -1;
    printf ("real workers: the broker's commits that wrote meanwhile: %lld, %.2f per job\n",
            (long long) commits, (double) commits / jobs);

    //  Latency: one at a time, from the SUBMIT sent to the first step's
    //  progress event (sent once the commit that records it is durable), on a
    //  second connection subscribed to the event stream
    char *cause = NULL;
    feed_t *events = feed_new (cep, NULL, NULL, &cause);
    if (!events || feed_subscribe (events, S_WAIT_MS, &cause)) {
        fprintf (stderr, "bench_broker: real: cannot subscribe: %s\n", cause ? cause : "?");
        return 1;
    }
    double *lat = calloc ((size_t) samples, sizeof *lat);
    assert (lat);
    int n = 0;
    for (; n < samples; n++) {
        int64_t t0 = s_usec ();
        mt_msg_t *msg = s_submit_msg (data_hash, -1, true);
        mt_msg_t *reply = s_request (client, &msg, "SUBMITTED");
        if (!reply)
            return 1;
        int64_t id = s_int (reply, "job");
        mt_msg_destroy (&reply);
        bool seen = false;
        while (!seen && s_usec () - t0 < S_WAIT_MS * INT64_C (1000)) {
            json_t *body = feed_next (events, 100, NULL, &cause);
            if (cause) {
                fprintf (stderr, "bench_broker: real: %s\n", cause);
                return 1;
            }
            if (body && json_integer_value (json_object_get (body, "job_id")) == id) {
                const char *type = json_string_value (json_object_get (body, "type"));
                json_t *step = json_object_get (json_object_get (body, "progress"), "step");
                json_t *job = json_object_get (body, "job");
                const char *state = json_string_value (json_object_get (job, "state"));
                seen = (type && strcmp (type, "progress") == 0 && json_integer_value (step) >= 1)
                    || (state && strcmp (state, "succeeded") == 0);
                if (state && strcmp (state, "failed") == 0)
                    return 1;
            }
            json_decref (body);
        }
        if (!seen)
            return 1;
        lat [n] = (s_usec () - t0) / 1e3;
        if (s_wait_state (client, id, "succeeded"))
            return 1;
    }
    double p50, p99, max;
    s_percentiles (lat, n, &p50, &p99, &max);
    printf ("real workers: submit-to-first-step (SUBMIT sent -> progress event received):"
            " %d samples, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", n, p50, p99, max);
    printf ("RESULT mode=real jobs=%d secs=%.3f jobs_per_s=%.1f samples=%d p50_ms=%.2f"
            " p99_ms=%.2f max_ms=%.2f\n", jobs, secs, jobs / secs, n, p50, p99, max);
    free (lat);
    feed_destroy (&events);
    zsock_destroy (&client);
    return 0;
}

//  --- Statistics -------------------------------------------------------------

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  Nearest-rank percentiles of n values (sorted in place).
static void
s_percentiles (double *v, int n, double *p50, double *p99, double *max)
{
    qsort (v, (size_t) n, sizeof *v, s_cmp_double);
    int i50 = (int) ceil (0.50 * n) - 1, i99 = (int) ceil (0.99 * n) - 1;
    *p50 = v [i50 < 0 ? 0 : i50];
    *p99 = v [i99 < 0 ? 0 : i99];
    *max = v [n - 1];
}
