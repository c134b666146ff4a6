/*  agent - the worker's side of the protocol: fetch, train in a kept process, report  */
#include "agent.h"
#include "cache.h"
#include "mt/blob.h"
#include "mt/curve.h"
#include "mt/log.h"
#include "mt/msg.h"
#include "mt/spec.h"
#include "mt/transfer.h"
#include "mt/util.h"
#include "mt/version.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef enum { PHASE_IDLE, PHASE_FETCHING, PHASE_TRAINING, PHASE_FINISHING } phase_t;
typedef enum { END_NONE, END_DONE, END_STOPPED, END_FAILED } ending_t;

//  The blobs a job may need from the broker, fetched in this order.
enum { NEED_DATA, NEED_RESUME, NEED_INIT, NEED_VAL, NEEDS };

typedef struct {
    char hash [MT_HASH_HEX + 1];    // "" = not needed
    int64_t size;               // bytes, -1 when the ASSIGN did not say
} need_t;

struct agent_t {
    agent_config_t config;
    char name [160];
    char host [128];
    char instance [17];         // random, per process: tells a reconnect from a namesake
    zsock_t *sock;
    zloop_t *loop;
    blob_store_t *cache;
    mt_curve_t *curve;          // keys for the broker, NULL without --cert
    int heartbeat_ms, liveness;
    int64_t model_inline_max;   // a model this small goes in the DONE (WELCOME); 0 = none
    int64_t last_heard;         // monotonic ms
    int64_t last_beat;          // monotonic ms of our last heartbeat
    //  The job in hand
    phase_t phase;
    int64_t job;
    int attempt;
    mt_spec_t spec;             // the ASSIGN's spec, parsed once
    char *dir;                  // the job's folder, an absolute path
    char *root;                 // config.cache_dir as an absolute path
    int jobs_lock;              // root/jobs/.lock, held shared (cache_claim_jobs), or -1
    char *spare;                // root/jobs/AGENT_SPARE_DIR: an ended job's folder, kept
    need_t needs [NEEDS];       // data, resume, init, validation data
    int next_need;              // the next of needs to look at
    mt_transfer_t *fetch;       // the fetch in progress, NULL when none
    mt_transfer_t *upload;      // the upload in progress, NULL when none
    bool upload_model;          // the upload is the model (else a checkpoint)
    int upload_epoch;           // checkpoint: its epoch
    int pending_checkpoint;     // epoch of a checkpoint waiting to upload, 0 = none
    char checkpoint_hash [65];  // last checkpoint uploaded
    int64_t checkpoint_ms;      // monotonic ms of the last checkpoint sent, or of the start
    int upload_timer;           // zloop timer that ends an upload's retry_later wait, 0 = none
    //  The training process, kept across jobs (agent_child_serve); a job
    //  that ends it (a crash, a kill, a stop past its grace) leaves the next
    //  job a new one
    pid_t child;                // 0 = none
    int child_fd;               // its reports (our end of its fd 3), -1 = none
    int command_fd;             // its commands (our end of its fd 4), -1 = none
    bool busy;                  // it runs the job in hand (until its "exit" line)
    uint32_t job_seq;           // the number of the last job it was given
    char line [8192];
    size_t line_len;
    int64_t stop_sent;          // monotonic ms a stop was passed to the child, 0 = none
    bool stop_requested;
    ending_t ending;
    char *reason;               // why the training failed
    bool retryable;
    json_t *metrics;
    //  The last job's end, kept until the next ASSIGN (which the broker sends
    //  only once it took it) and sent again after an ERROR storage
    mt_msg_t *final;            // DONE, FAILED, STOPPED or RELEASE; NULL = none
    int64_t retry_at;           // monotonic ms to send final again, 0 = not due
    int signals_seen;           // how many of config.signals we acted on
    bool draining;              // hand the job back and leave
    bool leaving;               // BYE sent: waiting to hear the final was recorded
    int64_t leave_by;           // monotonic ms: leave then in any case
    bool quit;                  // end the reactor
    int64_t hello_req;          // the req of our last HELLO, to know its ERROR
    char fatal [600];           // why the agent cannot serve at all (it quits); "" = none
};

//  A message from the broker, by command (as the broker's own tables).
typedef void (handler_fn) (agent_t *self, mt_msg_t *msg);
typedef struct {
    const char *command;
    handler_fn *handler;
} handler_t;

static void s_on_welcome (agent_t *self, mt_msg_t *msg);
static void s_on_heartbeat (agent_t *self, mt_msg_t *msg);
static void s_on_assign (agent_t *self, mt_msg_t *msg);
static void s_on_chunk (agent_t *self, mt_msg_t *msg);
static void s_on_uploaded (agent_t *self, mt_msg_t *msg);
static void s_on_stop (agent_t *self, mt_msg_t *msg);
static void s_on_abandon (agent_t *self, mt_msg_t *msg);
static void s_on_error (agent_t *self, mt_msg_t *msg);

static const handler_t s_handlers [] = {
    { "WELCOME", s_on_welcome },
    { "HEARTBEAT", s_on_heartbeat },
    { "ASSIGN", s_on_assign },
    { "CHUNK", s_on_chunk },
    { "UPLOADED", s_on_uploaded },
    { "STOP", s_on_stop },
    { "ABANDON", s_on_abandon },
    { "ERROR", s_on_error },
    { NULL, NULL }
};

static int s_on_socket (zloop_t *loop, zsock_t *sock, void *arg);
static int s_on_timer (zloop_t *loop, int timer_id, void *arg);
static int s_on_child (zloop_t *loop, zmq_pollitem_t *item, void *arg);
static void s_connect (agent_t *self);
static void s_hello (agent_t *self);
static void s_refuse (agent_t *self, int64_t job, int attempt, const char *why);
static void s_send (agent_t *self, mt_msg_t **msg_p);
static mt_msg_t *s_job_msg (agent_t *self, const char *command);
static int s_pump (agent_t *self, mt_transfer_t *transfer);
static void s_fetch_next (agent_t *self);
static void s_spawn (agent_t *self);
static int s_trainer_start (agent_t *self);
static void s_trainer_main (int report_fd, int command_fd);
static void s_trainer_end (agent_t *self);
static void s_finish (agent_t *self);
static int s_done_carrying (agent_t *self, const char *path);
static void s_done (agent_t *self, const char *hash, const void *model, size_t size);
static void s_checkpoint_upload (agent_t *self);
static bool s_checkpoint_waits (agent_t *self);
static void s_upload_complete (agent_t *self);
static void s_reset (agent_t *self);
static void s_kill_child (agent_t *self);
static void s_child_exit (agent_t *self, int code, int sig);
static void s_fail (agent_t *self, const char *reason, bool retryable);
static void s_fail_because (agent_t *self, const char *what, const char *why);
static void s_end_job (agent_t *self, mt_msg_t **final_p);
static void s_final_again (agent_t *self);
static void s_leave (agent_t *self, bool at_once);
static void s_bye (agent_t *self, bool barrier);
static int s_on_upload_timer (zloop_t *loop, int timer_id, void *arg);
static void s_upload_timer_end (agent_t *self);

void
agent_config_init (agent_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->broker = "tcp://127.0.0.1:5556";
    config->cache_dir = "mt-cache";
    config->threads = 1;
    config->progress_ms = 1000;
    config->nice = AGENT_NICE;
    config->checkpoint_min_ms = AGENT_CHECKPOINT_MIN_MS;
}

agent_t *
agent_new (const agent_config_t *config, char **cause)
{
    agent_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->child_fd = -1;
    self->command_fd = -1;
    self->jobs_lock = -1;
    //  A training process that died between jobs fails our next command's
    //  write with EPIPE (and we start another) instead of killing us
    signal (SIGPIPE, SIG_IGN);
    self->heartbeat_ms = AGENT_HEARTBEAT_MS;
    self->liveness = AGENT_LIVENESS;
    mt_spec_init (&self->spec);
    gethostname (self->host, sizeof self->host - 1);
    snprintf (self->name, sizeof self->name, "%s:%ld", self->host, (long) getpid ());
    //  Absolute, so the paths a training child gets hold in its job's folder
    if (mkdir (config->cache_dir, 0700) && errno != EEXIST)
        mt_fail (cause, "%s: cannot create the folder: %s", config->cache_dir, strerror (errno));
    else
    if (!(self->root = realpath (config->cache_dir, NULL)))
        mt_fail (cause, "%s: %s", config->cache_dir, strerror (errno));
    if (!self->root || asprintf (&self->spare, "%s/jobs/" AGENT_SPARE_DIR, self->root) < 0) {
        self->spare = NULL;
        if (self->root)
            mt_fail (cause, "out of memory");
        agent_destroy (&self);
        return NULL;
    }
    self->config.cache_dir = self->root;
    char jobs [4200];
    snprintf (jobs, sizeof jobs, "%s/jobs", self->root);
    if ((config->cert && !(self->curve = mt_curve_new (config->cert, config->broker_key, cause)))
    ||  !(self->cache = blob_store_new (self->root, cause))
    ||  (mkdir (jobs, 0700) && errno != EEXIST && mt_fail (cause, "%s: %s", jobs, strerror (errno)))) {
        agent_destroy (&self);
        return NULL;
    }
    int left = 0;
    if (cache_claim_jobs (jobs, &self->jobs_lock, &left)) {
        mt_fail (cause, "%s/.lock: cannot lock the job folders: %s", jobs, strerror (errno));
        agent_destroy (&self);
        return NULL;
    }
    if (left > 0)
        mt_info ("agent: removed %d job folders left in %s by a worker that died", left, jobs);
    //  libsodium is initialised: blob_store_new did it
    unsigned char random [8];
    randombytes_buf (random, sizeof random);
    sodium_bin2hex (self->instance, sizeof self->instance, random, sizeof random);
    self->loop = zloop_new ();
    zloop_timer (self->loop, AGENT_HEARTBEAT_MS / 4, 0, s_on_timer, self);
    s_connect (self);
    return self;
}

void
agent_destroy (agent_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_t *self = *self_p;
    s_trainer_end (self);
    s_reset (self);
    mt_msg_destroy (&self->final);
    zloop_destroy (&self->loop);
    zsock_destroy (&self->sock);
    blob_store_destroy (&self->cache);
    mt_curve_destroy (&self->curve);
    if (self->jobs_lock >= 0)
        close (self->jobs_lock);
    free (self->root);
    free (self->spare);
    free (self);
    *self_p = NULL;
}

int
agent_run (agent_t *self, char **cause)
{
    mt_info ("agent: %s serving %s with %d threads", self->name, self->config.broker,
             self->config.threads);
    //  A signal interrupts the poll and zloop returns 0; the timer acts on it
    while (!self->quit && zloop_start (self->loop) == 0)
        ;
    if (self->fatal [0])
        return mt_fail (cause, "%s", self->fatal);
    return 0;
}

//  A new DEALER and a HELLO naming the attempt we run, if any. Used at start
//  and whenever the broker falls silent.
static void
s_connect (agent_t *self)
{
    if (self->sock) {
        zloop_reader_end (self->loop, self->sock);
        zsock_destroy (&self->sock);
    }
    self->sock = zsock_new (ZMQ_DEALER);
    zsock_set_linger (self->sock, 0);
    zsock_set_maxmsgsize (self->sock, MT_MAX_MESSAGE);
    zsock_set_sndhwm (self->sock, 10000);
    if (self->curve)
        mt_curve_apply (self->curve, self->sock);
    zsock_connect (self->sock, "%s", self->config.broker);
    zloop_reader (self->loop, self->sock, s_on_socket, self);
    self->last_heard = zclock_mono ();
    s_hello (self);
    //  Chunks in flight on the old socket are lost: ask again from what we have
    if (self->fetch) {
        mt_transfer_resend (self->fetch);
        if (s_pump (self, self->fetch))
            return;
    }
    if (self->upload) {
        mt_transfer_resend (self->upload);
        s_pump (self, self->upload);
    }
}

//  HELLO, naming the attempt we run, if any. Its req tells an ERROR that
//  answers it (from a socket that is not a broker's workers socket).
static void
s_hello (agent_t *self)
{
    mt_msg_t *hello = mt_msg_new ("HELLO");
    json_t *body = mt_msg_body (hello);
    json_object_set_new (body, "name", json_string (self->name));
    json_object_set_new (body, "host", json_string (self->host));
    json_object_set_new (body, "pid", json_integer (getpid ()));
    json_object_set_new (body, "cores", json_integer (sysconf (_SC_NPROCESSORS_ONLN)));
    json_object_set_new (body, "threads", json_integer (self->config.threads));
    json_object_set_new (body, "version", json_string (MT_VERSION));
    json_object_set_new (body, "instance", json_string (self->instance));
    if (self->phase != PHASE_IDLE) {
        json_object_set_new (body, "job", json_integer (self->job));
        json_object_set_new (body, "attempt", json_integer (self->attempt));
    }
    json_object_set_new (body, "req", json_integer (++self->hello_req));
    s_send (self, &hello);
}

static void
s_send (agent_t *self, mt_msg_t **msg_p)
{
    mt_msg_send (*msg_p, self->sock, NULL);
    mt_msg_destroy (msg_p);
}

static mt_msg_t *
s_job_msg (agent_t *self, const char *command)
{
    mt_msg_t *msg = mt_msg_new (command);
    json_object_set_new (mt_msg_body (msg), "job", json_integer (self->job));
    json_object_set_new (mt_msg_body (msg), "attempt", json_integer (self->attempt));
    return msg;
}

//  Forget the job in hand (the training process, if any, no longer runs
//  it). The final message stays: it outlives its job.
static void
s_reset (agent_t *self)
{
    s_kill_child (self);
    mt_transfer_destroy (&self->fetch);
    mt_transfer_destroy (&self->upload);
    s_upload_timer_end (self);
    memset (self->needs, 0, sizeof self->needs);
    self->next_need = 0;
    mt_spec_clear (&self->spec);
    json_decref (self->metrics);
    self->metrics = NULL;
    if (self->dir)   // the job ended here: its files are uploaded; the folder serves the next
        cache_park_job_dir (self->dir, self->spare, "model.safetensors");
    free (self->dir);
    free (self->reason);
    self->dir = self->reason = NULL;
    self->phase = PHASE_IDLE;
    self->job = 0;
    self->attempt = 0;
    self->pending_checkpoint = 0;
    self->checkpoint_hash [0] = 0;
    self->stop_sent = 0;
    self->stop_requested = false;
    self->ending = END_NONE;
    self->line_len = 0;
}

//  The training process runs the job in hand no more: a busy one is killed
//  (the next job gets a new one), an idle one is kept.
static void
s_kill_child (agent_t *self)
{
    if (self->busy)
        s_trainer_end (self);
}

//  Forget the training process: its pipes closed, it reaped (killed first
//  with kill, else it has exited or is about to). Returns its wait status.
static int
s_trainer_reap (agent_t *self, bool kill_first)
{
    if (self->child_fd >= 0) {
        zmq_pollitem_t item = { NULL, self->child_fd, ZMQ_POLLIN, 0 };
        zloop_poller_end (self->loop, &item);
        close (self->child_fd);
        self->child_fd = -1;
    }
    if (self->command_fd >= 0)
        close (self->command_fd);
    self->command_fd = -1;
    int status = 0;
    if (self->child > 0) {
        if (kill_first)
            kill (-self->child, SIGKILL);
        waitpid (self->child, &status, 0);
        mt_debug ("agent: training process %d ended", (int) self->child);
    }
    self->child = 0;
    self->busy = false;
    self->line_len = 0;
    return status;
}

//  Kill the training process, whatever it does, and forget it.
static void
s_trainer_end (agent_t *self)
{
    s_trainer_reap (self, true);
}

//  Ask the training process to stop the job in hand (once): a real-time
//  signal carrying the job's number, which a later job ignores.
static void
s_stop_trainer (agent_t *self)
{
    if (!self->busy || self->stop_sent)
        return;
    union sigval value = { .sival_int = (int) self->job_seq };
    if (sigqueue (self->child, AGENT_STOP_SIGNAL, value))
        mt_warn ("agent: cannot signal the training process %d: %s", (int) self->child,
                 strerror (errno));
    self->stop_sent = zclock_mono ();
}

//  Send what transfer has to send now. Returns 0, or -1 when the file being
//  uploaded could not be read: the job has then failed.
static int
s_pump (agent_t *self, mt_transfer_t *transfer)
{
    char *cause = NULL;
    mt_msg_t *msg = NULL;
    while (mt_transfer_next (transfer, &msg, &cause) == 0 && msg)
        s_send (self, &msg);
    if (!cause) {
        //  An upload told retry_later waits, then probes: wake for it
        int64_t wait_ms = mt_transfer_wait_ms (transfer);
        if (transfer == self->upload && wait_ms > 0 && !self->upload_timer
        &&  mt_transfer_in_flight (transfer) == 0) {
            int id = zloop_timer (self->loop, (size_t) wait_ms, 1, s_on_upload_timer, self);
            self->upload_timer = id > 0 ? id : 0;
        }
        return 0;
    }
    s_fail_because (self, "cannot send a file of the job", cause);
    free (cause);
    return -1;
}

//  An upload's retry_later wait is over: probe the broker again.
static int
s_on_upload_timer (zloop_t *loop, int timer_id, void *arg)
{
    agent_t *self = arg;
    self->upload_timer = 0;
    if (self->upload)
        s_pump (self, self->upload);
    return 0;
}

static void
s_upload_timer_end (agent_t *self)
{
    if (self->upload_timer)
        zloop_timer_end (self->loop, self->upload_timer);
    self->upload_timer = 0;
}

//  --- Messages from the broker ----------------------------------------------

static int
s_on_socket (zloop_t *loop, zsock_t *sock, void *arg)
{
    agent_t *self = arg;
    zmsg_t *zmsg = zmsg_recv (sock);
    if (!zmsg)
        return 0;
    const char *code;
    char *cause = NULL;
    mt_msg_t *msg = mt_msg_decode (zmsg, &code, &cause);
    zmsg_destroy (&zmsg);
    if (!msg) {
        mt_warn ("agent: bad message from the broker: %s", cause);
        free (cause);
        return 0;
    }
    self->last_heard = zclock_mono ();
    const handler_t *h = s_handlers;
    while (h->command && !mt_msg_is (msg, h->command))
        h++;
    if (h->handler)
        h->handler (self, msg);
    else
        mt_debug ("agent: ignoring %s from the broker", mt_msg_command (msg));
    mt_msg_destroy (&msg);
    return self->quit ? -1 : 0;
}

static void
s_on_welcome (agent_t *self, mt_msg_t *msg)
{
    int64_t hb = self->heartbeat_ms, liveness = self->liveness;
    mt_msg_get_int (msg, "heartbeat_ms", 10, 600000, &hb, NULL);
    mt_msg_get_int (msg, "liveness", 1, 1000, &liveness, NULL);
    self->heartbeat_ms = (int) hb;
    self->liveness = (int) liveness;
    //  A broker that does not say takes every model by UPLOAD
    self->model_inline_max = 0;
    mt_msg_get_int (msg, "model_inline_max", 0, MT_MAX_PAYLOAD, &self->model_inline_max, NULL);
}

//  A sign of life, which s_on_socket has noted already.
static void
s_on_heartbeat (agent_t *self, mt_msg_t *msg)
{
}

//  True when msg names the (job, attempt) we run.
static bool
s_about_our_job (agent_t *self, mt_msg_t *msg)
{
    int64_t job = 0, attempt = 0;
    mt_msg_get_int (msg, "job", 1, INT64_MAX, &job, NULL);
    mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &attempt, NULL);
    return self->phase != PHASE_IDLE && job == self->job && attempt == self->attempt;
}

//  Note blob hash (none when NULL or "") as needed by the job, with its size
//  from the ASSIGN's size_key.
static void
s_need (agent_t *self, int which, const char *hash, mt_msg_t *assign, const char *size_key)
{
    need_t *need = &self->needs [which];
    need->hash [0] = 0;
    need->size = -1;
    if (!hash || !blob_hash_valid (hash))
        return;
    mt_strlcpy (need->hash, hash, sizeof need->hash);
    mt_msg_opt_int (assign, size_key, 0, BLOB_MAX_SIZE, &need->size, NULL);
}

//  The ASSIGN's fields past job and attempt: *spec its JSON text (borrowed).
//  Returns 0, or -1 with *cause naming the field.
static int
s_assign_fields (mt_msg_t *msg, const char **spec, char **cause)
{
    const char *resume = NULL;
    const char *sizes [] = { "data_size", "resume_size", "init_size", "val_data_size" };
    int64_t size;
    if (mt_msg_get_str (msg, "spec", MT_MAX_STRING, spec, cause)
    ||  mt_msg_opt_str (msg, "resume_hash", MT_HASH_HEX, &resume, cause))
        return -1;
    if (resume && !blob_hash_valid (resume))
        return mt_fail (cause, "ASSIGN: field 'resume_hash' must be a SHA-256 in lower-case hex");
    for (int i = 0; i < 4; i++)
        if (mt_msg_opt_int (msg, sizes [i], 0, BLOB_MAX_SIZE, &size, cause))
            return -1;
    return 0;
}

//  Every ASSIGN that names an attempt is answered, so the broker never
//  believes we run a job we do not. Busy with another attempt, or leaving,
//  the worker hands the new one back (s_refuse). Idle, it takes it, or
//  answers FAILED (not retryable: the same ASSIGN fails the same way on any
//  worker) naming what is wrong, and is idle again.
static void
s_on_assign (agent_t *self, mt_msg_t *msg)
{
    int64_t job, attempt;
    const char *text = NULL;
    char *cause = NULL;
    if (mt_msg_get_int (msg, "job", 1, INT64_MAX, &job, &cause)
    ||  mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &attempt, &cause)) {
        //  No attempt to answer for; the broker's stall watchdog ends it
        mt_error ("agent: an ASSIGN that names no attempt cannot be answered: %s", cause);
        free (cause);
        return;
    }
    if (self->phase != PHASE_IDLE && job == self->job && attempt == self->attempt)
        return;         // the attempt we run already: the broker and we agree
    if (self->phase != PHASE_IDLE || self->leaving || self->draining) {
        s_refuse (self, job, (int) attempt, self->phase != PHASE_IDLE ? "busy" : "leaving");
        return;
    }
    //  The broker assigns only to a worker whose last job's end it recorded
    mt_msg_destroy (&self->final);
    self->retry_at = 0;
    self->job = job;
    self->attempt = (int) attempt;
    self->phase = PHASE_FETCHING;
    mt_info ("agent: job %lld attempt %d assigned", (long long) job, self->attempt);
    char reason [4200];
    if (s_assign_fields (msg, &text, &cause))
        snprintf (reason, sizeof reason, "the worker cannot take this ASSIGN: %s", cause);
    else
    if (mt_spec_from_json (&self->spec, text, &cause))
        snprintf (reason, sizeof reason, "bad spec: %s", cause ? cause : "?");
    if (cause) {
        free (cause);
        s_fail (self, reason, false);
        return;
    }
    if (asprintf (&self->dir, "%s/jobs/%lld-%d", self->config.cache_dir, (long long) job,
                  self->attempt) < 0)
        self->dir = NULL;
    if (!self->dir || cache_take_job_dir (self->spare, self->dir)) {
        s_fail (self, "cannot create the job's folder in the cache", true);
        return;
    }
    const char *resume = NULL;
    mt_msg_opt_str (msg, "resume_hash", MT_HASH_HEX, &resume, NULL);
    s_need (self, NEED_DATA, self->spec.data_hash, msg, "data_size");
    s_need (self, NEED_RESUME, resume, msg, "resume_size");
    s_need (self, NEED_INIT, self->spec.init_hash, msg, "init_size");
    s_need (self, NEED_VAL, self->spec.val_data_hash, msg, "val_data_size");
    s_fetch_next (self);
}

//  An ASSIGN of (job, attempt) we will not run, busy with another attempt
//  or leaving: RELEASE hands it back (queued again at once, no retry
//  spent). Busy, a HELLO naming the attempt we run follows, so the broker,
//  which thought us idle, adopts that attempt or tells us to ABANDON it.
static void
s_refuse (agent_t *self, int64_t job, int attempt, const char *why)
{
    mt_warn ("agent: job %lld attempt %d assigned while %s: handing it back", (long long) job,
             attempt, why);
    mt_msg_t *msg = mt_msg_new ("RELEASE");
    json_object_set_new (mt_msg_body (msg), "job", json_integer (job));
    json_object_set_new (mt_msg_body (msg), "attempt", json_integer (attempt));
    s_send (self, &msg);
    if (self->phase != PHASE_IDLE)
        s_hello (self);
}

//  Fetch the job's blobs that are not in the cache, one after another, up
//  to MT_TRANSFER_CREDIT requests in flight; when all are in, start training.
static void
s_fetch_next (agent_t *self)
{
    while (!self->fetch && self->next_need < NEEDS) {
        need_t *need = &self->needs [self->next_need++];
        if (need->hash [0] && blob_store_has (self->cache, need->hash, NULL))
            cache_touch (self->cache, need->hash);
        if (!need->hash [0] || blob_store_has (self->cache, need->hash, NULL))
            continue;
        char *path = blob_store_path (self->cache, need->hash);
        char *cause = NULL;
        self->fetch = path ? mt_transfer_fetch_new (path, need->hash, need->size, &cause) : NULL;
        free (path);
        if (!self->fetch) {
            s_fail_because (self, "cannot fetch a file of the job into the cache", cause);
            free (cause);
            return;
        }
    }
    if (self->fetch)
        s_pump (self, self->fetch);
    else {
        if (self->config.cache_max_bytes > 0) {
            const char *keep [NEEDS];
            for (int i = 0; i < NEEDS; i++)
                keep [i] = self->needs [i].hash;
            cache_trim (self->cache, self->config.cache_dir, self->config.cache_max_bytes,
                        keep, NEEDS);
        }
        s_spawn (self);
    }
}

//  Fail the job in hand, retryable, because of what and why; its child, if
//  any, is killed first.
static void
s_fail_because (agent_t *self, const char *what, const char *why)
{
    char reason [4200];
    snprintf (reason, sizeof reason, "%s: %s", what, why ? why : "out of memory");
    s_kill_child (self);
    s_fail (self, reason, true);
}

//  Give transfer its reply. True when taken; else the job has failed, with
//  what as the reason's start.
static bool
s_take (agent_t *self, mt_transfer_t *transfer, mt_msg_t *msg, const char *what)
{
    char *cause = NULL;
    if (mt_transfer_take (transfer, msg, &cause) == 0)
        return true;
    s_fail_because (self, what, cause);
    free (cause);
    return false;
}

static void
s_on_chunk (agent_t *self, mt_msg_t *msg)
{
    if (!self->fetch || !mt_transfer_concerns (self->fetch, msg))
        return;     // left over from a fetch that ended
    if (!s_take (self, self->fetch, msg, "cannot fetch the job's files from the broker"))
        return;
    if (mt_transfer_done (self->fetch)) {
        mt_info ("agent: fetched %.12s (%lld bytes)", mt_transfer_hash (self->fetch),
                 (long long) mt_transfer_size (self->fetch));
        mt_transfer_destroy (&self->fetch);
    }
    s_fetch_next (self);
}

static void
s_on_uploaded (agent_t *self, mt_msg_t *msg)
{
    if (!self->upload || !mt_transfer_concerns (self->upload, msg))
        return;     // left over from an upload that ended
    if (!s_take (self, self->upload, msg, "the broker refused an upload"))
        return;
    if (mt_transfer_done (self->upload))
        s_upload_complete (self);
    else
        s_pump (self, self->upload);
}

static void
s_on_stop (agent_t *self, mt_msg_t *msg)
{
    if (!s_about_our_job (self, msg))
        return;
    self->stop_requested = true;
    if (self->phase == PHASE_FETCHING) {
        mt_msg_t *stopped = s_job_msg (self, "STOPPED");
        s_end_job (self, &stopped);
    }
    else
    if (self->phase == PHASE_TRAINING && self->busy && !self->stop_sent) {
        mt_info ("agent: stopping job %lld", (long long) self->job);
        s_stop_trainer (self);
    }
}

//  The attempt is not ours any more. An ABANDON of one we do not run (a
//  final message sent again after the broker took it) changes nothing.
static void
s_on_abandon (agent_t *self, mt_msg_t *msg)
{
    if (!s_about_our_job (self, msg))
        return;
    mt_info ("agent: job %lld attempt %d is superseded: abandoning it", (long long) self->job,
             self->attempt);
    s_kill_child (self);
    s_reset (self);
    if (self->draining)
        s_leave (self, false);
}

static void
s_on_error (agent_t *self, mt_msg_t *msg)
{
    const char *code = "?", *text = "?";
    int64_t req = 0;
    mt_msg_get_str (msg, "code", 64, &code, NULL);
    mt_msg_get_str (msg, "text", 4096, &text, NULL);
    mt_msg_opt_int (msg, "req", 0, INT64_MAX, &req, NULL);
    if (strcmp (code, MT_ERR_BAD_COMMAND) == 0 && req == self->hello_req) {
        //  A broker's workers socket knows HELLO: this is its clients socket
        //  (or no broker's), and asking again would only be refused again
        snprintf (self->fatal, sizeof self->fatal, "%.200s answered HELLO with '%.200s' (%s): it"
                  " reached the broker's clients socket, which is mtclient's; point --broker at"
                  " the broker's workers socket (mtbroker --workers, default"
                  " tcp://127.0.0.1:5556)", self->config.broker, text, code);
        self->quit = true;
        return;
    }
    if (strcmp (code, "unknown_peer") == 0) {
        //  Leaving, it answers the HEARTBEAT after our BYE: all before it is recorded
        if (self->leaving && !self->retry_at) {
            mt_info ("agent: the broker has taken our goodbye; leaving");
            self->quit = true;
        }
        else
        if (!self->leaving)
            s_connect (self);
        return;
    }
    if (strcmp (code, MT_ERR_RETRY_LATER) == 0 && self->upload
    &&  mt_transfer_concerns (self->upload, msg)) {
        //  No upload slot free for now, or our blob's upload began again:
        //  the transfer backs off and probes, as mtclient's does
        mt_info ("agent: broker says %s: %s; the upload waits and tries again", code, text);
        if (s_take (self, self->upload, msg, "the broker refused an upload"))
            s_pump (self, self->upload);
        return;
    }
    mt_warn ("agent: broker says %s: %s", code, text);
    if (strcmp (code, MT_ERR_STORAGE) == 0 && self->final) {
        //  The broker could not record the job's end: once the delay is over
        //  (however many errors come meanwhile), say it again
        if (!self->retry_at)
            self->retry_at = zclock_mono () + AGENT_RETRY_MS;
        return;
    }
    //  A file of the job cannot be fetched, or an upload was refused: fail
    //  the attempt rather than wait
    if (self->phase == PHASE_FETCHING)
        s_fail_because (self, "cannot fetch the job's files from the broker", text);
    else
    if (self->upload)
        s_fail_because (self, "the broker refused an upload", text);
}

//  --- The job's end ----------------------------------------------------------

//  Send the job's final message (DONE, FAILED, STOPPED or RELEASE, taken)
//  and keep it until the next ASSIGN, to send again should the broker
//  answer ERROR storage; then forget the job. A draining worker then leaves.
static void
s_end_job (agent_t *self, mt_msg_t **final_p)
{
    mt_msg_destroy (&self->final);
    self->final = *final_p;
    *final_p = NULL;
    self->retry_at = 0;
    mt_msg_send (self->final, self->sock, NULL);
    s_reset (self);
    if (self->draining)
        s_leave (self, false);
}

//  The delay after an ERROR storage is over: the kept final message again,
//  and a leaving worker's goodbye after it.
static void
s_final_again (agent_t *self)
{
    self->retry_at = 0;
    int64_t job = 0;
    mt_msg_get_int (self->final, "job", 1, INT64_MAX, &job, NULL);
    mt_info ("agent: sending %s of job %lld again", mt_msg_command (self->final),
             (long long) job);
    mt_msg_send (self->final, self->sock, NULL);
    if (self->leaving)
        s_bye (self, true);
}

//  --- Uploads: checkpoints and the final model --------------------------------

//  Start uploading the file at path; returns 0, or -1 when it cannot be read.
//  The file is hashed through the descriptor it is sent from, so a newer
//  checkpoint renamed over the path meanwhile does not mix in.
static int
s_upload_start (agent_t *self, const char *path, bool model, int epoch)
{
    char *cause = NULL;
    self->upload = mt_transfer_upload_new (path, NULL, 0, &cause);
    if (!self->upload) {
        mt_debug ("agent: %s", cause);
        free (cause);
        return -1;
    }
    self->upload_model = model;
    self->upload_epoch = epoch;
    s_pump (self, self->upload);
    return 0;
}

static void
s_checkpoint_upload (agent_t *self)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/checkpoint.safetensors", self->dir);
    int epoch = self->pending_checkpoint;
    self->pending_checkpoint = 0;
    self->checkpoint_ms = zclock_mono ();
    if (s_upload_start (self, path, false, epoch))
        mt_warn ("agent: cannot read checkpoint %s", path);
}

//  True when the pending checkpoint is the last epoch's and came within
//  --checkpoint-min-ms of the last one sent (or of the start): it waits for
//  the training's end, and goes only if the job stopped or failed. A job
//  that is done sends its model instead, which supersedes it: a trivial job
//  stores one file rather than two, and a crash meanwhile loses no more
//  training than the floor lets periodic checkpoints lose.
static bool
s_checkpoint_waits (agent_t *self)
{
    return self->pending_checkpoint == self->spec.epochs && self->phase == PHASE_TRAINING
        && zclock_mono () - self->checkpoint_ms < self->config.checkpoint_min_ms;
}

//  An upload finished: say what it was for.
static void
s_upload_complete (agent_t *self)
{
    char hash [MT_HASH_HEX + 1];
    mt_strlcpy (hash, mt_transfer_hash (self->upload), sizeof hash);
    mt_transfer_destroy (&self->upload);
    s_upload_timer_end (self);
    if (!self->upload_model) {
        memcpy (self->checkpoint_hash, hash, sizeof hash);
        mt_msg_t *msg = s_job_msg (self, "CHECKPOINT");
        json_object_set_new (mt_msg_body (msg), "hash", json_string (hash));
        json_object_set_new (mt_msg_body (msg), "epoch", json_integer (self->upload_epoch));
        s_send (self, &msg);
        if (self->pending_checkpoint && !s_checkpoint_waits (self))
            s_checkpoint_upload (self);
        else
        if (self->phase == PHASE_FINISHING)
            s_finish (self);
        return;
    }
    s_done (self, hash, NULL, 0);
}

//  DONE naming model hash, carrying size bytes of it (none when NULL).
static void
s_done (agent_t *self, const char *hash, const void *model, size_t size)
{
    mt_msg_t *msg = s_job_msg (self, "DONE");
    json_object_set_new (mt_msg_body (msg), "model_hash", json_string (hash));
    json_object_set_new (mt_msg_body (msg), "metrics", json_incref (self->metrics));
    if (model)
        mt_msg_set_payload (msg, model, size);
    mt_info ("agent: job %lld done", (long long) self->job);
    s_end_job (self, &msg);
}

//  A model no larger than the broker's model_inline_max goes in the DONE
//  itself (PROTOCOL.md section 6): no UPLOAD, no round trip of its own.
//  Returns 0 when the DONE was sent, -1 when the model is to be uploaded.
static int
s_done_carrying (agent_t *self, const char *path)
{
    if (self->model_inline_max <= 0)
        return -1;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    unsigned char *bytes = NULL;
    char hash [MT_HASH_HEX + 1];
    int rc = -1;
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size <= self->model_inline_max
    &&  (bytes = malloc ((size_t) st.st_size + 1))
    &&  mt_read_at (fd, bytes, (size_t) st.st_size, 0) == 0
    &&  blob_hash_bytes (bytes, (size_t) st.st_size, hash) == 0) {
        s_done (self, hash, bytes, (size_t) st.st_size);
        rc = 0;
    }
    free (bytes);
    close (fd);
    return rc;
}

//  Report a failure of the job in hand and go idle.
static void
s_fail (agent_t *self, const char *reason, bool retryable)
{
    mt_warn ("agent: job %lld failed: %s", (long long) self->job, reason);
    mt_msg_t *msg = s_job_msg (self, "FAILED");
    json_object_set_new (mt_msg_body (msg), "reason", json_string (reason));
    json_object_set_new (mt_msg_body (msg), "retryable", json_boolean (retryable));
    s_end_job (self, &msg);
}

//  The child is gone: upload what it left and report how it ended.
static void
s_finish (agent_t *self)
{
    self->phase = PHASE_FINISHING;
    if (self->upload)
        return;         // a checkpoint upload is still going; it calls us again
    //  A checkpoint that waited is sent unless the model supersedes it
    if (self->ending != END_DONE && self->pending_checkpoint) {
        s_checkpoint_upload (self);
        if (self->upload || self->phase == PHASE_IDLE)
            return;     // uploading, or failed reading it
    }
    char path [4200];
    if (self->ending == END_DONE) {
        snprintf (path, sizeof path, "%s/model.safetensors", self->dir);
        if (s_done_carrying (self, path) == 0)
            return;
        if (s_upload_start (self, path, true, 0))
            s_fail (self, "the training finished but its model file cannot be read", true);
        return;
    }
    if (self->ending == END_STOPPED) {
        mt_msg_t *msg = s_job_msg (self, self->draining ? "RELEASE" : "STOPPED");
        if (self->checkpoint_hash [0])
            json_object_set_new (mt_msg_body (msg), "checkpoint_hash",
                                 json_string (self->checkpoint_hash));
        mt_info ("agent: job %lld %s", (long long) self->job,
                 self->draining ? "handed back to the broker" : "stopped");
        s_end_job (self, &msg);
        return;
    }
    s_fail (self, self->reason ? self->reason : "the training process failed", self->retryable);
}

//  --- The training child --------------------------------------------------

//  The file a spec's data_path names, inside config.data_root, as a real
//  path the caller frees; NULL with *cause when it is elsewhere or missing.
//  A path from a peer never reaches a file outside the folder it was given.
static char *
s_data_path (agent_t *self, const char *path, char **cause)
{
    if (!self->config.data_root) {
        mt_fail (cause, "this worker reads no shared files (data_path '%.200s'); start it with"
                 " --data-root DIR, or submit with --data to upload the file", path);
        return NULL;
    }
    char *root = realpath (self->config.data_root, NULL);
    char *joined = NULL, *real = NULL;
    if (root && asprintf (&joined, "%s/%s", root, path) > 0)
        real = realpath (path [0] == '/' ? path : joined, NULL);
    size_t len = root ? strlen (root) : 0;
    if (!real || strncmp (real, root, len) != 0 || (real [len] != '/' && real [len] != 0)) {
        mt_fail (cause, "data_path '%.200s' is not a readable file inside this worker's"
                 " --data-root", path);
        free (real);
        real = NULL;
    }
    free (root);
    free (joined);
    return real;
}

static void
s_spawn (agent_t *self)
{
    char data_path [4200], threads [16], progress [16], min_ms [16];
    char *cause = NULL;
    const char *data_hash = self->spec.data_hash [0] ? self->spec.data_hash : NULL;
    const char *shared = self->spec.data_path;
    char *blob = data_hash ? blob_store_path (self->cache, data_hash)
               : shared ? s_data_path (self, shared, &cause) : NULL;
    if (!blob) {
        s_fail (self, cause ? cause : "the job names no data", false);
        free (cause);
        return;
    }
    snprintf (data_path, sizeof data_path, "%s", blob);
    free (blob);
    snprintf (threads, sizeof threads, "%d", self->config.threads);
    snprintf (progress, sizeof progress, "%d", self->config.progress_ms);
    snprintf (min_ms, sizeof min_ms, "%d", self->config.checkpoint_min_ms);
    //  The spec (defaults filled in) goes to the forked child in memory, as
    //  an argument no exec copies: no file to create per job
    char *spec_json = mt_spec_to_json (&self->spec);
    if (!spec_json) {
        s_fail (self, "cannot pass the spec to the training process: out of memory", true);
        return;
    }
    const char *argv [24] = { "mtworker", "--train-child", "--dir", self->dir, "--spec-json",
                              spec_json, "--threads", threads, "--progress-ms", progress,
                              "--checkpoint-min-ms", min_ms };
    int argc = 12;
    if (data_path [0]) {
        argv [argc++] = "--data";
        argv [argc++] = data_path;
    }
    char *resume = self->needs [NEED_RESUME].hash [0]
                 ? blob_store_path (self->cache, self->needs [NEED_RESUME].hash) : NULL;
    char *init = self->needs [NEED_INIT].hash [0]
               ? blob_store_path (self->cache, self->needs [NEED_INIT].hash) : NULL;
    char *val = self->needs [NEED_VAL].hash [0]
              ? blob_store_path (self->cache, self->needs [NEED_VAL].hash) : NULL;
    if (resume) {
        argv [argc++] = "--resume";
        argv [argc++] = resume;
    }
    if (init) {
        argv [argc++] = "--init";
        argv [argc++] = init;
    }
    if (val) {
        argv [argc++] = "--val-data";
        argv [argc++] = val;
    }
    //  The command: its length, the job's number, then NUL-separated
    //  arguments, the job's folder first
    size_t len = strlen (self->dir) + 1;
    for (int i = 0; i < argc; i++)
        len += strlen (argv [i]) + 1;
    char *command = malloc (8 + len);
    if (command) {
        uint32_t head [2] = { (uint32_t) len, ++self->job_seq };
        memcpy (command, head, sizeof head);
        char *at = command + 8;
        at = stpcpy (at, self->dir) + 1;
        for (int i = 0; i < argc; i++)
            at = stpcpy (at, argv [i]) + 1;
    }
    free (spec_json);
    free (resume);
    free (init);
    free (val);
    if (!command) {
        s_fail (self, "cannot pass the job to the training process: out of memory", true);
        return;
    }
    //  A kept process that died since its last job (killed, or out of
    //  memory) fails the write: a new one takes the job
    int rc = -1;
    for (int tries = 0; tries < 2 && rc; tries++) {
        if (self->child <= 0 && s_trainer_start (self))
            break;
        rc = mt_write_at (self->command_fd, command, 8 + len, -1);
        if (rc)
            s_trainer_end (self);
    }
    free (command);
    if (rc) {
        s_fail (self, "cannot start the training process", true);
        return;
    }
    self->busy = true;
    self->checkpoint_ms = zclock_mono ();
    self->phase = PHASE_TRAINING;
    self->ending = END_NONE;
    mt_info ("agent: job %lld training in process %d", (long long) self->job, (int) self->child);
}

//  A new training process, kept for the jobs to come. Returns 0, or -1
//  when it cannot be made (no pipe, no fork).
static int
s_trainer_start (agent_t *self)
{
    int report [2], command [2];
    if (pipe2 (report, O_CLOEXEC))
        return -1;
    if (pipe2 (command, O_CLOEXEC)) {
        close (report [0]);
        close (report [1]);
        return -1;
    }
    //  A stop that comes before the process has its own handlers waits,
    //  blocked, for them (the agent's would take it unseen)
    sigset_t term, was;
    sigemptyset (&term);
    sigaddset (&term, SIGTERM);
    sigaddset (&term, SIGINT);
    sigaddset (&term, AGENT_STOP_SIGNAL);
    sigprocmask (SIG_BLOCK, &term, &was);
    fflush (NULL);          // nothing buffered here is written by the child too
    pid_t pid = fork ();
    if (pid == 0) {
        //  Training yields the cores to a broker or gateway on the same box;
        //  a worker already nicer than that passes its own niceness on
        if (self->config.nice > getpriority (PRIO_PROCESS, 0))
            setpriority (PRIO_PROCESS, 0, self->config.nice);
        s_trainer_main (report [1], command [0]);
    }
    sigprocmask (SIG_SETMASK, &was, NULL);
    close (report [1]);
    close (command [0]);
    if (pid < 0) {
        close (report [0]);
        close (command [1]);
        return -1;
    }
    setpgid (pid, pid);
    self->child = pid;
    self->child_fd = report [0];
    self->command_fd = command [1];
    self->line_len = 0;
    zmq_pollitem_t item = { NULL, self->child_fd, ZMQ_POLLIN, 0 };
    zloop_poller (self->loop, &item, s_on_child, self);
    //  libzmq reports a pipe's hang-up as ZMQ_POLLERR, on which zloop drops
    //  an intolerant poller unheard: we want to read the end of file
    zloop_poller_set_tolerant (self->loop, &item);
    mt_debug ("agent: training process %d started", (int) pid);
    return 0;
}

//  The forked training process, which never returns: its own process group
//  (so a stop past its grace can kill it whole), reports on fd 3, takes
//  jobs on fd 4, and holds none of the agent's other descriptors (a copy of
//  the broker's socket would keep a connection the agent closed open). It
//  trains with the code already loaded, as exec'ing mtworker --train-child
//  would (at several ms a job in the dynamic loader and library start-up),
//  and it is kept across jobs, as a fork per job costs the worker and the
//  child more than a trivial job's training (copied page tables, faults,
//  the exit's unmapping). It leaves by _exit: the agent's exit handlers
//  (czmq's waits for I/O threads) are not this process's to run. Its
//  command line is the agent's; its name (mtworker-job) and its working
//  folder, the job's while it runs one, tell it apart.
static void
s_trainer_main (int report_fd, int command_fd)
{
    setpgid (0, 0);
    prctl (PR_SET_NAME, "mtworker-job", 0, 0, 0);
    //  Above both slots first, so neither dup2 overwrites the other
    int report = fcntl (report_fd, F_DUPFD, 5), command = fcntl (command_fd, F_DUPFD, 5);
    if (report < 0 || command < 0 || dup2 (report, 3) != 3 || dup2 (command, 4) != 4)
        _exit (1);
    //  Kernels before 5.9 (or a seccomp filter) refuse close_range
    for (int fd = 0; fd < 3; fd++)
        if (fd == report_fd || fd == command_fd)
            close (fd);     // the agent started with that stdio descriptor closed
    if (close_range (5, ~0U, 0)) {
        long last = sysconf (_SC_OPEN_MAX);
        for (long fd = 5; fd < (last > 0 ? last : 65536); fd++)
            close ((int) fd);
    }
    //  The stop signals stay blocked until agent_child_serve has its handlers
    int rc = agent_child_serve ();
    fflush (NULL);
    _exit (rc);
}

static void
s_progress_line (agent_t *self, const char *text)
{
    json_t *p = json_loads (text, 0, NULL);
    if (!json_is_object (p)) {
        json_decref (p);
        return;
    }
    mt_msg_t *msg = s_job_msg (self, "PROGRESS");
    json_object_update_missing (mt_msg_body (msg), p);
    json_decref (p);
    s_send (self, &msg);
}

//  One line from the training process: progress {json}, checkpoint EPOCH,
//  done {json}, stopped {json}, error TEXT, bad_input TEXT, or exit CODE
//  (the job's end: the process is ready for the next).
static void
s_child_line (agent_t *self, char *line)
{
    char *arg = strchr (line, ' ');
    if (arg)
        *arg++ = 0;
    else
        arg = line + strlen (line);
    if (!self->busy)
        return;     // nothing is due from a process between jobs
    if (strcmp (line, "exit") == 0) {
        self->busy = false;
        s_child_exit (self, atoi (arg), 0);
    }
    else
    if (strcmp (line, "progress") == 0)
        s_progress_line (self, arg);
    else
    if (strcmp (line, "checkpoint") == 0) {
        self->pending_checkpoint = atoi (arg) > 0 ? atoi (arg) : 1;
        if (!self->upload && !s_checkpoint_waits (self))
            s_checkpoint_upload (self);
    }
    else
    if (strcmp (line, "done") == 0 || strcmp (line, "stopped") == 0) {
        self->ending = line [0] == 'd' ? END_DONE : END_STOPPED;
        json_decref (self->metrics);
        self->metrics = json_loads (arg, 0, NULL);
        if (!json_is_object (self->metrics)) {
            json_decref (self->metrics);
            self->metrics = json_object ();
        }
    }
    else
    if (strcmp (line, "error") == 0 || strcmp (line, "bad_input") == 0) {
        self->ending = END_FAILED;
        free (self->reason);
        self->reason = strdup (arg);
        self->retryable = line [0] == 'e';
    }
}

//  The job in the training process ended: with its exit code, or killed
//  by signal sig (when not 0). Why, in words a user can act on.
static void
s_child_exit (agent_t *self, int code, int sig)
{
    char reason [256];
    if (sig && self->ending != END_STOPPED) {
        snprintf (reason, sizeof reason, "the training process was killed by signal %d (%s)%s",
                  sig, strsignal (sig), sig == SIGKILL ? "; the out-of-memory killer is a"
                  " common cause: try a smaller --batch-size or --hidden" : "");
        free (self->reason);
        self->reason = strdup (reason);
        self->ending = END_FAILED;
        self->retryable = true;
    }
    else
    if (self->ending == END_NONE || (!sig && code != 0 && self->ending != END_FAILED)) {
        snprintf (reason, sizeof reason, "the training process exited with status %d without"
                  " a result", sig ? -1 : code);
        free (self->reason);
        self->reason = strdup (reason);
        self->ending = END_FAILED;
        self->retryable = true;
    }
    s_finish (self);
}

static int
s_on_child (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    agent_t *self = arg;
    ssize_t n = read (self->child_fd, self->line + self->line_len,
                      sizeof self->line - 1 - self->line_len);
    if (n > 0) {
        self->line_len += (size_t) n;
        char *start = self->line, *nl;
        while ((nl = memchr (start, '\n', self->line_len - (size_t) (start - self->line)))) {
            *nl = 0;
            s_child_line (self, start);
            if (self->phase == PHASE_IDLE)
                return 0;
            start = nl + 1;
        }
        self->line_len -= (size_t) (start - self->line);
        memmove (self->line, start, self->line_len);
        if (self->line_len == sizeof self->line - 1)
            self->line_len = 0;     // an overlong line is dropped
        return 0;
    }
    if (n < 0 && errno == EINTR)
        return 0;
    //  End of file: the process has exited (or closed fd 3 and is about to)
    bool busy = self->busy;
    int status = s_trainer_reap (self, false);
    if (busy)
        s_child_exit (self, WIFEXITED (status) ? WEXITSTATUS (status) : -1,
                      WIFSIGNALED (status) ? WTERMSIG (status) : 0);
    return self->quit ? -1 : 0;
}

//  --- Leaving ------------------------------------------------------------------

//  Say goodbye and end the reactor; a job still in hand is killed (the
//  broker requeues it). Unless at_once, a worker that sent a final message
//  first waits, up to AGENT_LEAVE_WAIT_MS, to hear that the broker recorded
//  it: the broker answers the HEARTBEAT sent after BYE with unknown_peer
//  once BYE, and all before it, is taken; an ERROR storage before that
//  sends the final message and BYE again (s_final_again).
static void
s_leave (agent_t *self, bool at_once)
{
    s_kill_child (self);
    bool linger = !at_once && self->final;
    s_bye (self, linger);
    if (!linger) {
        mt_info ("agent: leaving");
        self->quit = true;
        return;
    }
    if (!self->leaving) {
        mt_info ("agent: leaving once the broker has recorded the %s",
                 mt_msg_command (self->final));
        self->leaving = true;
        self->leave_by = zclock_mono () + AGENT_LEAVE_WAIT_MS;
    }
}

//  BYE; with barrier, a HEARTBEAT after it, which the broker answers
//  unknown_peer once it has taken the BYE and everything before it.
static void
s_bye (agent_t *self, bool barrier)
{
    mt_msg_t *msg = s_job_msg (self, "BYE");
    s_send (self, &msg);
    if (barrier) {
        msg = s_job_msg (self, "HEARTBEAT");
        s_send (self, &msg);
    }
}

//  SIGTERM or SIGINT: the first drains, the second leaves at once.
static void
s_on_signal (agent_t *self)
{
    self->signals_seen = *self->config.signals;
    if (self->signals_seen >= 2) {
        s_leave (self, true);
        return;
    }
    if (self->draining)
        return;
    self->draining = true;
    if (self->phase == PHASE_IDLE) {
        s_leave (self, false);
        return;
    }
    mt_info ("agent: draining: job %lld will checkpoint and go back to the broker",
             (long long) self->job);
    if (self->phase == PHASE_TRAINING && self->busy)
        s_stop_trainer (self);
    else
    if (self->phase == PHASE_FETCHING) {
        mt_msg_t *msg = s_job_msg (self, "RELEASE");
        s_end_job (self, &msg);
    }
}

//  Heartbeats, broker liveness, the stop grace period, a final message due
//  again, and the bound on leaving.
static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    agent_t *self = arg;
    int64_t now = zclock_mono ();
    if (self->config.signals && *self->config.signals != self->signals_seen)
        s_on_signal (self);
    if (self->leaving && now >= self->leave_by) {
        mt_warn ("agent: the broker did not confirm the %s within %d ms; leaving anyway",
                 mt_msg_command (self->final), AGENT_LEAVE_WAIT_MS);
        self->quit = true;
    }
    if (self->quit)
        return -1;
    if (self->retry_at && now >= self->retry_at)
        s_final_again (self);
    if (!self->leaving && now - self->last_heard > (int64_t) self->heartbeat_ms * self->liveness) {
        mt_warn ("agent: no word from the broker at %s for %lld ms; reconnecting",
                 self->config.broker, (long long) (now - self->last_heard));
        s_connect (self);
    }
    if (now - self->last_beat >= self->heartbeat_ms) {
        mt_msg_t *msg = s_job_msg (self, "HEARTBEAT");
        s_send (self, &msg);
        self->last_beat = now;
    }
    if (self->stop_sent && self->busy && now - self->stop_sent > AGENT_STOP_GRACE_MS) {
        mt_warn ("agent: job %lld did not stop within %d ms: killing it", (long long) self->job,
                 AGENT_STOP_GRACE_MS);
        kill (-self->child, SIGKILL);
        self->ending = END_STOPPED;
        self->stop_sent = 0;
    }
    return 0;
}
