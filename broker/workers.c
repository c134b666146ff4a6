/*  workers - the commands of the workers socket, dispatch to idle workers, and liveness  */
#include "reactor.h"
#include "model.h"
#include "sweeps.h"
#include "mt/spec.h"
#include "mt/util.h"
#include "mt/version.h"

#include <math.h>

static void s_worker_hello (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_heartbeat (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_fetch (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_upload (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_progress (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_checkpoint (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_done (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_failed (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_stopped (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_release (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_bye (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_worker_lost (broker_t *self, fleet_worker_t *worker, const char *why);
static void s_apply (broker_t *self, fleet_worker_t *worker, int64_t job, int attempt,
                     job_event_t event, const job_report_t *report);
static int64_t s_deadline (int64_t time_limit_s, int64_t started_at);
static bool s_bound_to (const store_job_t *job, const char *instance, const char *user);
static fleet_shape_t s_shape (const char *spec_json);
static int s_model_carried (const char *hash, const void *model, size_t size, char **cause);
static int s_model_fits (broker_t *self, const fleet_worker_t *worker, const char *hash,
                         const void *model, size_t size, char **cause);

const handler_t workers_handlers [] = {
    { "HELLO", s_worker_hello },
    { "HEARTBEAT", s_worker_heartbeat },
    { "FETCH", s_worker_fetch },
    { "UPLOAD", s_worker_upload },
    { "PROGRESS", s_worker_progress },
    { "CHECKPOINT", s_worker_checkpoint },
    { "DONE", s_worker_done },
    { "FAILED", s_worker_failed },
    { "STOPPED", s_worker_stopped },
    { "RELEASE", s_worker_release },
    { "BYE", s_worker_bye },
    { NULL, NULL }
};

static void
s_worker_error (broker_t *self, peer_t *peer, const char *code, char **cause)
{
    broker_error (self, peer, code, "%s", *cause ? *cause : code);
    free (*cause);
    *cause = NULL;
}

//  True when the peer said HELLO, with the key it speaks with now; else it
//  is told to say HELLO.
static bool
s_known (broker_t *self, peer_t *peer)
{
    if (!peer->worker)
        broker_error (self, peer, MT_ERR_UNKNOWN_PEER, "send HELLO first");
    else
    if (strcmp (fleet_worker_user (peer->worker), peer->user) != 0) {
        broker_error (self, peer, MT_ERR_UNKNOWN_PEER, "this connection's key is not the one its"
                      " HELLO came with: send HELLO first");
        return false;
    }
    return peer->worker != NULL;
}

//  True when job's running attempt is bound to this worker process: the
//  instance id and key it was started (or adopted) with. A worker that
//  sent no instance id, or an attempt with no binding, is never bound.
static bool
s_bound_to (const store_job_t *job, const char *instance, const char *user)
{
    return *instance && strcmp (job->worker_instance, instance) == 0
        && strcmp (job->worker_key, user) == 0;
}

//  When a job that started at started_at (0 = now) with a time limit runs out.
static int64_t
s_deadline (int64_t time_limit_s, int64_t started_at)
{
    if (time_limit_s <= 0)
        return 0;
    return (started_at ? started_at : zclock_time ()) + time_limit_s * 1000;
}

//  A worker that comes back names the attempt it runs: adopt it if it is
//  still the job's current attempt and bound to this worker's identity
//  (its instance id and key), else tell the worker to drop it, once.
static void
s_adopt (broker_t *self, peer_t *peer, int64_t job_id, int attempt)
{
    store_job_t job;
    bool found = store_job_get (self->store, job_id, &job) == 0;
    bool current = found && job.attempt == attempt
                && (job.state == JOB_RUNNING || job.state == JOB_STOPPING);
    fleet_worker_t *other = current ? fleet_find_job (self->fleet, job_id) : NULL;
    const char *name = fleet_worker_name (peer->worker);
    bool bound = current
              && s_bound_to (&job, fleet_worker_instance (peer->worker), peer->user);
    //  The rows name the worker that reports: its name now, should it differ
    if (bound && (!other || other == peer->worker) && strcmp (job.worker, name) != 0
    &&  store_job_adopt (self->store, job_id, attempt, name))
        bound = false;          // the batch fails; the worker says HELLO again
    if (bound && (!other || other == peer->worker)) {
        fleet_run_t run = {
            .job = job_id, .attempt = attempt, .started_at = 0,     // the job's row knows
            .checkpoint = job.checkpoint_hash,
            .deadline = s_deadline (job.time_limit_s, job.started_at),
            .shape = s_shape (job.spec)
        };
        fleet_worker_assign (self->fleet, peer->worker, &run, zclock_mono ());
        events_worker (self, peer->worker, "busy");
        broker_announce (self, MT_LOG_INFO, "broker: worker %s still runs job %lld attempt %d:"
                    " adopted", name, (long long) job_id, attempt);
        if (job.state == JOB_STOPPING) {
            broker_tell (self, peer->worker, "STOP", job_id, attempt);
            fleet_worker_stop_sent (self->fleet, peer->worker, zclock_mono ());
        }
    }
    else
    if (fleet_worker_abandon_once (self->fleet, peer->worker, job_id, attempt)) {
        mt_info ("broker: worker %s claims job %lld attempt %d, which %s: abandon", name,
                 (long long) job_id, attempt, !current ? "is superseded"
                 : !bound ? "another worker process started" : "another worker runs");
        broker_tell (self, peer->worker, "ABANDON", job_id, attempt);
    }
    if (found)
        store_job_clear (&job);
}

//  A HELLO from a worker process the fleet knows on another connection (the
//  same name, the same random instance id and, with --keys, the same key)
//  is that worker reconnecting: the old connection is forgotten. A job it
//  held is adopted by the new one when the HELLO claims it, and ends its
//  attempt otherwise. Two processes that share a name (containers that are
//  all pid 1 on one host name) have different instance ids and stay apart.
static void
s_forget_old_connection (broker_t *self, peer_t *peer, const char *name, const char *instance,
                         int64_t job, int attempt)
{
    fleet_worker_t *old = fleet_find_twin (self->fleet, peer->worker, name, instance, peer->user);
    if (!old)
        return;
    int64_t old_job = fleet_worker_job (old);
    if (old_job && (old_job != job || fleet_worker_attempt (old) != attempt))
        s_worker_lost (self, old, "reconnected without its job");
    else {
        broker_announce (self, MT_LOG_INFO, "broker: worker %s reconnected; its old connection is"
                    " forgotten", name);
        fleet_remove (self->fleet, old);
    }
}

static void
s_worker_hello (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    fleet_hello_t hello = { .instance = "", .user = peer->user };
    int64_t pid, cores, threads, job = 0, attempt = 0;
    char *cause = NULL;
    if (mt_msg_get_str (msg, "name", 128, &hello.name, &cause)
    ||  (!*hello.name && mt_fail (&cause, "HELLO: field 'name' must not be empty"))
    ||  mt_msg_get_str (msg, "host", 128, &hello.host, &cause)
    ||  mt_msg_get_str (msg, "version", 32, &hello.version, &cause)
    ||  mt_msg_get_int (msg, "pid", 0, INT32_MAX, &pid, &cause)
    ||  mt_msg_get_int (msg, "cores", 0, 1 << 20, &cores, &cause)
    ||  mt_msg_get_int (msg, "threads", 0, 1 << 20, &threads, &cause)
    ||  mt_msg_opt_int (msg, "job", 0, INT64_MAX, &job, &cause)
    ||  mt_msg_opt_int (msg, "attempt", 0, INT32_MAX, &attempt, &cause)
    ||  mt_msg_opt_str (msg, "instance", 32, &hello.instance, &cause)) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    hello.pid = pid;
    hello.cores = (int) cores;
    hello.threads = (int) threads;
    //  A connection holding a job stays with the process that said HELLO on it
    if (peer->worker && fleet_worker_job (peer->worker)
    &&  (strcmp (fleet_worker_instance (peer->worker), hello.instance) != 0
    ||   strcmp (fleet_worker_user (peer->worker), peer->user) != 0)) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "HELLO: this connection runs job %lld for"
                      " another worker process; connect anew",
                      (long long) fleet_worker_job (peer->worker));
        return;
    }
    s_forget_old_connection (self, peer, hello.name, hello.instance, job, (int) attempt);
    if (!peer->worker && fleet_size (self->fleet) >= (size_t) self->config.max_workers) {
        broker_error (self, peer, MT_ERR_TOO_LARGE, "the broker has %d workers, its limit (mtbroker"
                 " --max-workers)", self->config.max_workers);
        return;
    }
    if (!peer->worker && !(peer->worker = fleet_add (self->fleet, peer->identity,
                                                     peer->identity_size, zclock_mono ()))) {
        broker_error (self, peer, MT_ERR_TOO_LARGE, "the broker cannot add a worker (out of memory)");
        return;
    }
    fleet_worker_hello (self->fleet, peer->worker, &hello);
    events_worker (self, peer->worker, "connected");
    broker_announce (self, MT_LOG_INFO, "broker: worker %s connected (%d threads, version %s)",
                hello.name, hello.threads, hello.version);
    mt_msg_t *reply = mt_msg_new ("WELCOME");
    mt_msg_add_int (reply, "heartbeat_ms", self->config.heartbeat_ms);
    mt_msg_add_int (reply, "liveness", self->config.liveness);
    mt_msg_add_int (reply, "model_inline_max", BROKER_SMALL_BLOB_MAX);
    broker_send (self, peer, &reply);
    if (job > 0 && fleet_worker_job (peer->worker) != job)
        s_adopt (self, peer, job, (int) attempt);
}

//  A worker message about (job, attempt): true when it is the job's current
//  attempt on this worker. Otherwise the worker is told to abandon it.
static bool
s_fenced_in (broker_t *self, peer_t *peer, mt_msg_t *msg, int64_t *job, int *attempt)
{
    char *cause = NULL;
    int64_t a;
    if (!s_known (self, peer))
        return false;
    if (mt_msg_get_int (msg, "job", 1, INT64_MAX, job, &cause)
    ||  mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &a, &cause)) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return false;
    }
    *attempt = (int) a;
    fleet_worker_t *w = peer->worker;
    if (fleet_worker_job (w) == *job && fleet_worker_attempt (w) == *attempt)
        return true;
    if (fleet_worker_abandon_once (self->fleet, w, *job, *attempt)) {
        mt_info ("broker: %s from %s for job %lld attempt %d, which it does not hold: abandon",
                 mt_msg_command (msg), fleet_worker_name (w), (long long) *job, *attempt);
        broker_tell (self, w, "ABANDON", *job, *attempt);
    }
    return false;
}

static void
s_worker_heartbeat (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    s_known (self, peer);
}

static void
s_worker_fetch (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    const char *hash;
    int64_t offset, length;
    char *cause = NULL;
    if (!s_known (self, peer))
        return;
    if (mt_msg_get_str (msg, "hash", 64, &hash, &cause)
    ||  mt_msg_get_int (msg, "offset", 0, BLOB_MAX_SIZE, &offset, &cause)
    ||  mt_msg_get_int (msg, "length", 1, BROKER_CHUNK_MAX, &length, &cause))
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
    else
        chunks_send (self, peer, hash, offset, length, 0);
}

static void
s_worker_upload (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    if (s_known (self, peer))
        chunks_upload (self, peer, msg);
}

static double
s_real_or_nan (mt_msg_t *msg, const char *key)
{
    double value;
    return mt_msg_get_real (msg, key, &value, NULL) == 0 ? value : NAN;
}

static void
s_worker_progress (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t job, epoch = 0, epochs = 0, step = 0, steps = 0;
    int attempt;
    char *cause = NULL;
    if (!s_fenced_in (self, peer, msg, &job, &attempt))
        return;
    if (mt_msg_get_int (msg, "epoch", 0, INT32_MAX, &epoch, &cause)
    ||  mt_msg_get_int (msg, "epochs", 0, INT32_MAX, &epochs, &cause)
    ||  mt_msg_get_int (msg, "step", 0, INT64_MAX, &step, &cause)
    ||  mt_msg_get_int (msg, "steps", 0, INT64_MAX, &steps, &cause)) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    store_progress_t p = {
        .epoch = (int) epoch, .epochs = (int) epochs, .step = step, .steps = steps,
        .loss = s_real_or_nan (msg, "loss"), .val_loss = s_real_or_nan (msg, "val_loss"),
        .val_metric = s_real_or_nan (msg, "val_metric"),
        .samples_per_sec = s_real_or_nan (msg, "samples_per_sec"),
        .eta_s = s_real_or_nan (msg, "eta_s")
    };
    //  Only an epoch end carries metrics: the reports between cost nothing more
    json_t *metrics = json_object_get (mt_msg_body (msg), "metrics");
    char *text = json_is_object (metrics) ? mt_json_compact (metrics) : NULL;
    if (metrics && !json_is_object (metrics)) {
        char *why = strdup ("PROGRESS: field 'metrics' must be a map");
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &why);
        return;
    }
    p.metrics = text;
    //  A failed write fails the batch, and the worker hears 'storage'
    if (store_job_progress (self->store, job, attempt, &p, zclock_time ()) == 0) {
        fleet_worker_step (peer->worker, step, zclock_mono ());
        events_progress (self, job, attempt, &p);
    }
    //  A sweep's trial: its rule decides at the epoch end, in this batch
    char reason [300];
    if (text && sweeps_epoch_end (self->sweeps, job, &p, reason, sizeof reason) == 1) {
        job_report_t report = { .reason = reason, .metrics = text };
        s_apply (self, peer->worker, job, attempt, JOB_EV_PRUNED, &report);
    }
    free (text);
}

static void
s_worker_checkpoint (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t job, epoch;
    int attempt;
    const char *hash;
    char *cause = NULL;
    if (!s_fenced_in (self, peer, msg, &job, &attempt))
        return;
    if (mt_msg_get_str (msg, "hash", 64, &hash, &cause)
    ||  mt_msg_get_int (msg, "epoch", 0, INT32_MAX, &epoch, &cause)
    ||  (!blobs_has (self, hash, NULL)
         && mt_fail (&cause, "checkpoint %.12s was not uploaded", hash))) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    if (store_job_checkpoint (self->store, job, attempt, hash, (int) epoch))
        return;
    fleet_run_t run;
    fleet_worker_run (peer->worker, &run);
    if (run.checkpoint [0] && strcmp (run.checkpoint, hash) != 0)
        broker_doom (self, run.checkpoint);
    fleet_worker_set_checkpoint (self->fleet, peer->worker, hash);
}

//  Apply event to the attempt worker runs (worker may be NULL: no worker
//  holds it), and carry out what the move says: the worker told, released,
//  a superseded checkpoint doomed, the move announced. A failed write fails
//  the batch; nothing is carried out then.
static void
s_apply (broker_t *self, fleet_worker_t *worker, int64_t job, int attempt, job_event_t event,
         const job_report_t *report)
{
    job_report_t r = report ? *report : (job_report_t) { 0 };
    fleet_run_t run = { .checkpoint = "" };
    if (worker) {
        fleet_worker_run (worker, &run);
        r.worker = fleet_worker_name (worker);
        r.started_at = run.started_at;
        r.resumed_from_epoch = run.resumed_from_epoch;
    }
    job_move_t move;
    if (jobs_event (self->jobs, job, attempt, event, &r, zclock_time (), &move))
        return;
    if (worker && move.tell == JOB_TELL_ABANDON)
        broker_tell (self, worker, "ABANDON", job, attempt);
    if (worker && move.tell == JOB_TELL_STOP) {
        broker_tell (self, worker, "STOP", job, attempt);
        fleet_worker_stop_sent (self->fleet, worker, zclock_mono ());
    }
    if (move.moved && move.to == JOB_SUCCEEDED && run.checkpoint [0])
        broker_doom (self, run.checkpoint);
    //  A DONE no rule took: a pruned trial that finished before its STOP
    //  came keeps its model (it has no later checkpoint); any other's model,
    //  and the run's checkpoint, are removed unless a job names them
    if (event == JOB_EV_DONE && !move.moved) {
        bool model = r.model_hash && *r.model_hash;
        int kept = model ? store_job_keep_model (self->store, job, attempt, r.model_hash) : 0;
        if (kept < 0)
            return;             // the batch fails
        if (model && !kept)
            broker_doom (self, r.model_hash);
        if (run.checkpoint [0])
            broker_doom (self, run.checkpoint);
    }
    if (worker && move.release) {
        fleet_worker_release (self->fleet, worker);
        events_worker (self, worker, "idle");
    }
    if (move.note [0])
        broker_announce (self, MT_LOG_INFO, "broker: %s", move.note);
}

static void
s_worker_done (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t job;
    int attempt;
    const char *hash;
    char *cause = NULL;
    if (!s_fenced_in (self, peer, msg, &job, &attempt))
        return;
    json_t *metrics = json_object_get (mt_msg_body (msg), "metrics");
    size_t size;
    const void *model = mt_msg_payload (msg, &size);
    if (mt_msg_get_str (msg, "model_hash", 64, &hash, &cause)
    ||  (!model && !blobs_has (self, hash, NULL)
         && mt_fail (&cause, "model %.12s was not uploaded", hash))
    ||  (!json_is_object (metrics) && mt_fail (&cause, "DONE: field 'metrics' must be a map"))) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    //  A small model comes in the DONE itself (PROTOCOL.md section 6): its
    //  bytes must be what its hash says, and it must fit the job
    bool refused = model ? s_model_carried (hash, model, size, &cause)
                           || s_model_fits (self, peer->worker, hash, model, size, &cause)
                         : s_model_fits (self, peer->worker, hash, NULL, 0, &cause);
    if (refused) {
        //  Not a model of this job: the attempt failed, and a retry (while
        //  the job has retries) may give a good one
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "DONE refused: %s", cause);
        char reason [600];
        snprintf (reason, sizeof reason, "its model was refused: %s", cause);
        free (cause);
        job_report_t report = { .reason = reason };
        s_apply (self, peer->worker, job, attempt, JOB_EV_CRASHED, &report);
        broker_doom (self, hash);       // no job names a refused model (unless another's)
        return;
    }
    //  Kept in the database, durable with this batch; should the write fail,
    //  the batch fails and the worker says it again
    if (model && blobs_keep_small (self, hash, model, size))
        return;
    char *text = mt_json_compact (metrics);
    job_report_t report = { .metrics = text, .model_hash = hash };
    s_apply (self, peer->worker, job, attempt, JOB_EV_DONE, &report);
    free (text);
}

//  What a model of the job whose spec is spec_json must fit
static fleet_shape_t
s_shape (const char *spec_json)
{
    fleet_shape_t shape = { .known = false };
    mt_spec_t spec;
    if (mt_spec_from_json (&spec, spec_json, NULL) == 0) {
        shape = (fleet_shape_t) { .known = true, .task = spec.task,
                                  .n_features = spec.n_features, .n_hidden = spec.n_hidden };
        memcpy (shape.hidden, spec.hidden, sizeof shape.hidden);
        mt_spec_clear (&spec);
    }
    return shape;
}

//  A model a DONE carries: no larger than the broker takes that way, and
//  its bytes are blob hash. Returns 0, or -1 with *cause.
static int
s_model_carried (const char *hash, const void *model, size_t size, char **cause)
{
    char hex [MT_HASH_HEX + 1];
    if (size > BROKER_SMALL_BLOB_MAX)
        return mt_fail (cause, "model %.12s: DONE carries %zu bytes, over the %d a model may"
                        " carry (upload it)", hash, size, BROKER_SMALL_BLOB_MAX);
    if (blob_hash_bytes (model, size, hex))
        return mt_fail (cause, "model %.12s: its hash cannot be checked", hash);
    if (strcmp (hex, hash) != 0)
        return mt_fail (cause, "model %.12s: the %zu bytes DONE carries hash to %.12s",
                        hash, size, hex);
    return 0;
}

//  The model blob hash (or the size bytes at model, when not NULL) is an mt
//  model of the spec of the attempt worker runs (its shape, kept at the
//  start; model_check reads the header only). Returns 0, or -1 with *cause.
static int
s_model_fits (broker_t *self, const fleet_worker_t *worker, const char *hash,
              const void *model, size_t size, char **cause)
{
    fleet_run_t run;
    fleet_worker_run (worker, &run);
    if (!run.shape.known)
        return mt_fail (cause, "the spec of job %lld cannot be read", (long long) run.job);
    mt_spec_t spec;
    mt_spec_init (&spec);
    spec.task = run.shape.task;
    spec.n_features = run.shape.n_features;
    spec.n_hidden = run.shape.n_hidden;
    memcpy (spec.hidden, run.shape.hidden, sizeof spec.hidden);
    char *why = NULL;
    char name [MT_HASH_HEX + 1];
    mt_strlcpy (name, hash, sizeof name);
    //  Kept in the database: its bytes (a model there is small)
    unsigned char *kept = NULL;
    int64_t kept_size;
    if (!model && store_blob_has (self->store, hash, &kept_size) && kept_size >= 0
    &&  kept_size <= BROKER_SMALL_BLOB_MAX && (kept = malloc ((size_t) kept_size + 1))
    &&  store_blob_read (self->store, hash, 0, kept, (size_t) kept_size, &size, NULL) == 0)
        model = kept;
    char *path = model ? NULL : blob_store_path (self->blobs, hash);
    int rc = model ? model_check_bytes (name, model, size, &spec, &why)
           : path ? model_check (path, &spec, &why) : mt_fail (&why, "no path for the model");
    if (rc) {
        //  The reason names the blob's path in the broker's folder (or the
        //  hash): the hash alone says which
        const char *text = why ? why : "?", *prefix = path ? path : name;
        if (strncmp (text, prefix, strlen (prefix)) == 0)
            text += strlen (prefix) + (text [strlen (prefix)] == ':' ? 2 : 0);
        mt_fail (cause, "model %.12s: %s", hash, text);
    }
    free (kept);
    mt_spec_clear (&spec);
    free (why);
    free (path);
    return rc;
}

static void
s_worker_failed (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t job;
    int attempt;
    const char *reason;
    bool retryable;
    char *cause = NULL;
    if (!s_fenced_in (self, peer, msg, &job, &attempt))
        return;
    if (mt_msg_get_str (msg, "reason", 4096, &reason, &cause)
    ||  mt_msg_get_bool (msg, "retryable", &retryable, &cause)) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    job_report_t report = { .reason = reason };
    s_apply (self, peer->worker, job, attempt, retryable ? JOB_EV_CRASHED : JOB_EV_FAILED,
             &report);
}

static void
s_worker_stopped (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t job;
    int attempt;
    const char *hash = NULL;
    char *cause = NULL;
    if (!s_fenced_in (self, peer, msg, &job, &attempt))
        return;
    if (mt_msg_opt_str (msg, "checkpoint_hash", 64, &hash, &cause)) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    //  The checkpoint named here was recorded by the CHECKPOINT sent before
    s_apply (self, peer->worker, job, attempt, JOB_EV_STOPPED, NULL);
}

//  A draining worker hands its job back: queued again at once, resuming from
//  the checkpoint it just recorded; this costs no retry.
static void
s_worker_release (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t job;
    int attempt;
    if (s_fenced_in (self, peer, msg, &job, &attempt))
        s_apply (self, peer->worker, job, attempt, JOB_EV_DRAINED, NULL);
}

//  A worker leaving: forget it now rather than after the heartbeat timeout.
static void
s_worker_bye (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    if (!peer->worker)
        return;
    broker_announce (self, MT_LOG_INFO, "broker: worker %s left", fleet_worker_name (peer->worker));
    s_worker_lost (self, peer->worker, "left (BYE)");
    peer->worker = NULL;
}

//  A worker is gone (why ends "its worker ..."): its job is lost (requeued,
//  or failed when out of retries) and the worker forgotten.
static void
s_worker_lost (broker_t *self, fleet_worker_t *worker, const char *why)
{
    int64_t job = fleet_worker_job (worker);
    if (job) {
        char reason [300];
        snprintf (reason, sizeof reason, "its worker %s", why);
        broker_announce (self, MT_LOG_WARN, "broker: worker %s %s while running job %lld",
                    fleet_worker_name (worker), why, (long long) job);
        job_report_t report = { .reason = reason };
        s_apply (self, worker, job, fleet_worker_attempt (worker), JOB_EV_LOST, &report);
    }
    events_worker (self, worker, "lost");
    fleet_remove (self->fleet, worker);
}

//  The ASSIGN for a job just started on a worker. The spec travels as the
//  JSON text the store keeps (the spec module wrote it), parsed by the
//  worker; what the broker acts on has columns of its own.
static mt_msg_t *
s_assignment (broker_t *self, const store_job_t *job)
{
    mt_msg_t *msg = mt_msg_new ("ASSIGN");
    mt_msg_add_int (msg, "job", job->id);
    mt_msg_add_int (msg, "attempt", job->attempt);
    mt_msg_add_str (msg, "spec", job->spec, strlen (job->spec));
    int64_t size;
    if (job->data_hash [0] && blobs_has (self, job->data_hash, &size)) {
        mt_msg_add_str (msg, "data_hash", job->data_hash, strlen (job->data_hash));
        mt_msg_add_int (msg, "data_size", size);
    }
    if (job->checkpoint_hash [0] && blobs_has (self, job->checkpoint_hash, &size)) {
        mt_msg_add_str (msg, "resume_hash", job->checkpoint_hash, strlen (job->checkpoint_hash));
        mt_msg_add_int (msg, "resume_size", size);
    }
    if (job->init_hash [0] && blobs_has (self, job->init_hash, &size))
        mt_msg_add_int (msg, "init_size", size);
    if (job->val_data_hash [0] && blobs_has (self, job->val_data_hash, &size))
        mt_msg_add_int (msg, "val_data_size", size);
    return msg;
}

//  One job per idle worker, highest priority first, then oldest; no prefetch.
void
workers_dispatch (broker_t *self)
{
    int64_t now = zclock_time ();
    fleet_worker_t *worker;
    while ((worker = fleet_idle (self->fleet))) {
        const char *name = fleet_worker_name (worker);
        store_worker_t who = { .name = name, .instance = fleet_worker_instance (worker),
                               .key = fleet_worker_user (worker) };
        store_job_t job;
        bool started;
        if (jobs_start (self->jobs, &who, now, &job, &started) || !started)
            break;
        //  job is the row after the start: started_at is the first start's time
        fleet_run_t run = {
            .job = job.id, .attempt = job.attempt, .started_at = now,
            .resumed_from_epoch = job.checkpoint_epoch, .checkpoint = job.checkpoint_hash,
            .deadline = s_deadline (job.time_limit_s, job.started_at),
            .shape = s_shape (job.spec)     // the row is at hand: a DONE reads none
        };
        fleet_worker_assign (self->fleet, worker, &run, zclock_mono ());
        events_worker (self, worker, "busy");
        mt_msg_t *msg = s_assignment (self, &job);
        peer_t peer = { .sock = self->workers, .req = -1 };
        peer.identity = fleet_worker_identity (worker, &peer.identity_size);
        broker_send (self, &peer, &msg);
        broker_announce (self, MT_LOG_INFO, "broker: job %lld attempt %d -> %s", (long long) job.id,
                    job.attempt, name);
        store_job_clear (&job);
    }
}

//  Jobs a previous broker left running that no worker has claimed within
//  one liveness period are requeued.
void
workers_recover (broker_t *self)
{
    json_t *ids = store_jobs_active (self->store);
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        int64_t job = json_integer_value (id);
        if (!fleet_find_job (self->fleet, job)) {
            job_report_t report = { .reason = "no worker claimed it after the broker restarted" };
            s_apply (self, NULL, job, -1, JOB_EV_LOST, &report);
        }
    }
    json_decref (ids);
    self->recovered = true;
    self->recovering = true;
}

//  What the liveness tick finds of one worker: lost, late with a stop, past
//  its time limit, stalled, or well (it gets a heartbeat).
void
workers_check (broker_t *self, fleet_worker_t *w, int64_t now, int64_t dead_after)
{
    int64_t job = fleet_worker_job (w), stop_sent = fleet_worker_stop_sent_at (w);
    int attempt = fleet_worker_attempt (w);
    fleet_run_t run;
    fleet_worker_run (w, &run);
    if (now - fleet_worker_last_seen (w) > dead_after) {
        broker_announce (self, MT_LOG_WARN, "broker: worker %s lost (missed heartbeats)",
                    fleet_worker_name (w));
        s_worker_lost (self, w, "stopped answering heartbeats");
    }
    else
    if (stop_sent && now - stop_sent > BROKER_STOP_GRACE_MS)
        s_apply (self, w, job, attempt, JOB_EV_STOP_LATE, NULL);
    else
    if (job && !stop_sent && run.deadline && zclock_time () > run.deadline)
        s_apply (self, w, job, attempt, JOB_EV_TIMED_OUT, NULL);
    else
    if (job && !stop_sent && self->config.stall_ms
    &&  now - fleet_worker_step_moved (w) > self->config.stall_ms) {
        //  An attempt that never reported a step is told apart from one that stopped moving
        job_report_t report = {
            .stepped = fleet_worker_step_last (w) >= 0, .step = fleet_worker_step_last (w),
            .stall_ms = self->config.stall_ms
        };
        s_apply (self, w, job, attempt, JOB_EV_STALLED, &report);
    }
    else {
        mt_msg_t *msg = mt_msg_new ("HEARTBEAT");
        peer_t peer = { .sock = self->workers, .req = -1 };
        peer.identity = fleet_worker_identity (w, &peer.identity_size);
        broker_send (self, &peer, &msg);
    }
}
