/*  clients - the commands of the clients socket: submit, status, list, stop, workers, fetch  */
#include "reactor.h"
#include "store_pages.h"
#include "sweeps.h"
#include "mt/spec.h"
#include "mt/util.h"
#include "mt/version.h"

#include <ctype.h>
#include <math.h>

static void s_client_ping (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_submit (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_status (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_list (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_stop (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_workers (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_fetch (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_stats (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_resume (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_delete (broker_t *self, peer_t *peer, mt_msg_t *msg);
static int s_may_act (broker_t *self, peer_t *peer, int64_t id, const char *owner,
                      const char *verb);
static void s_owner_name (broker_t *self, const char *owner, char *name, size_t size);
static void s_show_owner (broker_t *self, json_t *job);
static int s_show_job (broker_t *self, peer_t *peer, json_t *job);
static int s_redact (json_t *job);
static int s_scrub_hashes (json_t *value);
static int s_scrub_string (json_t *value);

const handler_t clients_handlers [] = {
    { "PING", s_client_ping },
    { "UPLOAD", chunks_upload },
    { "SUBMIT", s_client_submit },
    { "STATUS", s_client_status },
    { "LIST", s_client_list },
    { "STOP", s_client_stop },
    { "WORKERS", s_client_workers },
    { "FETCH", s_client_fetch },
    { "STATS", s_client_stats },
    { "SUBSCRIBE", events_client_subscribe },
    { "UNSUBSCRIBE", events_client_unsubscribe },
    { "SWEEP", sweeps_client_sweep },
    { "SWEEP_STATUS", sweeps_client_status },
    { "SWEEP_LIST", sweeps_client_list },
    { "SWEEP_STOP", sweeps_client_stop },
    { "SWEEP_RESUME", sweeps_client_resume },
    { "SWEEP_DELETE", sweeps_client_delete },
    { "RESUME", s_client_resume },
    { "DELETE", s_client_delete },
    { NULL, NULL }
};

static void
s_client_ping (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    mt_msg_t *reply = mt_msg_new ("PONG");
    json_object_set_new (mt_msg_body (reply), "version", json_string (MT_VERSION));
    json_object_set_new (mt_msg_body (reply), "protocol", json_string (MT_PROTOCOL));
    broker_send (self, peer, &reply);
}

//  Read the spec from the body's "spec" map: parsed and validated by the
//  spec module, its blobs stored, *text the map's compact JSON (caller
//  frees). Returns 0, or -1 (answered).
static int
s_read_spec (broker_t *self, peer_t *peer, mt_msg_t *msg, mt_spec_t *spec, char **text)
{
    json_t *value = json_object_get (mt_msg_body (msg), "spec");
    if (!json_is_object (value)) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "SUBMIT: field 'spec' must be a map");
        return -1;
    }
    char *cause = NULL;
    if (mt_spec_from_value (spec, value, &cause)) {
        broker_error (self, peer, MT_ERR_BAD_SPEC, "bad spec: %s", cause ? cause : "?");
        free (cause);
        return -1;
    }
    const char *missing = NULL;
    if (spec->data_hash [0] && !blobs_has (self, spec->data_hash, NULL))
        missing = spec->data_hash;
    else
    if (spec->init_hash [0] && !blobs_has (self, spec->init_hash, NULL))
        missing = spec->init_hash;
    else
    if (spec->val_data_hash [0] && !blobs_has (self, spec->val_data_hash, NULL))
        missing = spec->val_data_hash;
    if (missing) {
        broker_error (self, peer, MT_ERR_NOT_FOUND, "blob %.12s was not uploaded; send it with"
                 " UPLOAD first", missing);
        mt_spec_clear (spec);
        return -1;
    }
    if (!(*text = mt_json_compact (value))) {
        broker_error (self, peer, MT_ERR_STORAGE, "the broker is out of memory; retry later");
        mt_spec_clear (spec);
        return -1;
    }
    return 0;
}

static void
s_client_submit (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    const char *key = NULL;
    char *cause = NULL;
    if (mt_msg_opt_str (msg, "key", 128, &key, &cause)) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    int64_t queued = jobs_queued (self->jobs, peer->user);
    if (queued >= self->config.max_queued) {
        broker_error (self, peer, MT_ERR_TOO_LARGE, "you have %lld jobs queued, the limit per"
                 " client (mtbroker --max-queued); wait for some to start", (long long) queued);
        return;
    }
    mt_spec_t spec;
    char *text;
    if (s_read_spec (self, peer, msg, &spec, &text))
        return;
    bool existing = false, conflict = false;
    int64_t id = jobs_submit (self->jobs, &spec, text, key, peer->user, zclock_time (),
                              &existing, &conflict);
    mt_spec_clear (&spec);
    free (text);
    if (id < 0)
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not record the job (disk full"
                 " or I/O error); retry later");
    else
    if (conflict)
        broker_error (self, peer, MT_ERR_KEY_CONFLICT, "key '%s' names job %lld, which was"
                 " submitted with another spec; use a new key for a new job", key, (long long) id);
    else {
        if (!existing)
            broker_announce (self, MT_LOG_INFO, "broker: job %lld queued", (long long) id);
        //  The hot messages are packed as they are built, without a JSON tree
        mt_msg_t *reply = mt_msg_new ("SUBMITTED");
        mt_msg_add_int (reply, "job", id);
        mt_msg_add_bool (reply, "existing", existing);
        broker_send (self, peer, &reply);
    }
}

//  Why a queued job has not started yet, in words.
static json_t *
s_waiting (broker_t *self, json_t *job)
{
    int64_t not_before = json_integer_value (json_object_get (job, "not_before"));
    if (not_before > zclock_time ()) {
        char stamp [32];
        time_t when = (time_t) (not_before / 1000);
        struct tm tm;
        localtime_r (&when, &tm);
        strftime (stamp, sizeof stamp, "%H:%M:%S", &tm);
        return json_sprintf ("backing off until %s before attempt %lld", stamp,
                             (long long) json_integer_value (json_object_get (job, "attempt")) + 1);
    }
    size_t workers = fleet_size (self->fleet);
    if (workers == 0)
        return json_string ("no worker connected");
    if (fleet_busy (self->fleet) == workers)
        return json_sprintf ("all %zu workers busy", workers);
    return json_string ("waiting for its turn or for its retry backoff to end");
}

static int
s_job_arg (broker_t *self, peer_t *peer, mt_msg_t *msg, int64_t *id)
{
    char *cause = NULL;
    if (mt_msg_get_int (msg, "job", 1, INT64_MAX, id, &cause) == 0)
        return 0;
    broker_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
    free (cause);
    return -1;
}

static void
s_reply_job (broker_t *self, peer_t *peer, int64_t id, bool history)
{
    json_t *job = store_job_json (self->store, id, history);
    if (!job) {
        broker_error (self, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    if (strcmp (json_string_value (json_object_get (job, "state")), "queued") == 0)
        json_object_set_new (job, "waiting", s_waiting (self, job));
    if (s_show_job (self, peer, job)) {
        json_decref (job);
        broker_error (self, peer, MT_ERR_STORAGE, "the broker is out of memory; retry later");
        return;
    }
    mt_msg_t *reply = mt_msg_new ("JOB");
    json_object_set_new (mt_msg_body (reply), "job", job);
    broker_send (self, peer, &reply);
}

static void
s_client_status (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t id;
    if (s_job_arg (self, peer, msg, &id) == 0)
        s_reply_job (self, peer, id, true);
}

//  LIST: one page of jobs, newest first, filtered in SQL; capped by its
//  encoded size as well as by limit, and `next` says where the next page
//  starts (the `before` to send), null at the last job.
static void
s_client_list (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    const char *state_name = NULL;
    store_page_t page = { .state = -1, .limit = 100, .max_bytes = STORE_PAGE_MAX_BYTES };
    int64_t limit = 100;
    job_state_t state;
    char *cause = NULL;
    if (mt_msg_opt_str (msg, "state", 16, &state_name, &cause)
    ||  mt_msg_opt_str (msg, "name", MT_MAX_STRING, &page.name, &cause)
    ||  mt_msg_opt_int (msg, "before", 1, INT64_MAX, &page.before, &cause)
    ||  mt_msg_opt_int (msg, "limit", 1, 10000, &limit, &cause)
    ||  mt_msg_opt_int (msg, "sweep", 1, INT64_MAX, &page.sweep, &cause)
    ||  (state_name && job_state_parse (state_name, &state)
         && mt_fail (&cause, "LIST: unknown state '%s'", state_name))) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    page.state = state_name ? (int) state : -1;
    page.limit = (int) limit;
    int64_t next = 0;
    json_t *jobs = store_job_page (self->store, &page, &next);
    size_t i;
    json_t *job;
    int rc = jobs ? 0 : -1;
    json_array_foreach (jobs, i, job)
        rc |= s_show_job (self, peer, job);
    if (rc) {
        json_decref (jobs);
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not read its jobs (out of"
                      " memory or I/O error); retry later");
        return;
    }
    mt_msg_t *reply = mt_msg_new ("JOBS");
    json_object_set_new (mt_msg_body (reply), "jobs", jobs);
    json_object_set_new (mt_msg_body (reply), "next", next ? json_integer (next) : json_null ());
    broker_send (self, peer, &reply);
}

//  RESUME: a failed or stopped job back to the queue with its checkpoint.
static void
s_client_resume (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t id;
    if (s_job_arg (self, peer, msg, &id))
        return;
    store_job_t job;
    if (store_job_state (self->store, id, &job)) {
        broker_error (self, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    //  The limit is the owner's: an admin's resume queues the owner's job
    int rc = s_may_act (self, peer, id, job.client, "resume");
    int64_t queued = rc ? 0 : jobs_queued (self->jobs, job.client);
    bool own = !job.client [0] || strcmp (job.client, peer->user) == 0;
    char name [128];
    s_owner_name (self, job.client, name, sizeof name);
    store_job_clear (&job);
    if (rc)
        return;
    if (queued >= self->config.max_queued) {
        if (own)
            broker_error (self, peer, MT_ERR_TOO_LARGE, "you have %lld jobs queued, the limit per"
                     " client (mtbroker --max-queued); wait for some to start",
                     (long long) queued);
        else
            broker_error (self, peer, MT_ERR_TOO_LARGE, "job %lld's owner, %s, has %lld jobs"
                     " queued, the limit per client (mtbroker --max-queued); wait for some to"
                     " start", (long long) id, name, (long long) queued);
        return;
    }
    job_move_t move;
    if (jobs_resume (self->jobs, id, zclock_time (), &move))
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not record the resume (disk"
                 " full or I/O error); retry later");
    else
    if (move.refusal [0])
        broker_error (self, peer, MT_ERR_BAD_STATE, "%s", move.refusal);
    else {
        broker_announce (self, MT_LOG_INFO, "broker: %s", move.note);
        s_reply_job (self, peer, id, false);
    }
}

//  DELETE: an ended job, its history and attempts; the blobs it named that
//  no job names any more are removed after the commit (and a grace delay:
//  broker_doom).
static void
s_client_delete (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t id;
    if (s_job_arg (self, peer, msg, &id))
        return;
    store_job_t job;
    if (store_job_state (self->store, id, &job)) {
        broker_error (self, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    int rc = s_may_act (self, peer, id, job.client, "delete");
    job_state_t state = job.state;
    store_job_clear (&job);
    if (rc)
        return;
    //  A trial goes with its sweep: the sweep's counts and a SWEEP_RESUME
    //  need its row
    int64_t sweep = 0;
    if (sweeps_trial_of (self->sweeps, id, &sweep)) {
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not read job %lld's sweep"
                 " (I/O error); retry later", (long long) id);
        return;
    }
    if (sweep) {
        broker_error (self, peer, MT_ERR_BAD_STATE, "job %lld is a trial of sweep %lld: delete"
                 " the sweep (mtclient delete --sweep %lld)", (long long) id, (long long) sweep,
                 (long long) sweep);
        return;
    }
    json_t *doomed = json_array ();
    rc = jobs_delete (self->jobs, id, doomed, &state);
    if (rc < 0)
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not delete job %lld (disk"
                 " full or I/O error); retry later", (long long) id);
    else
    if (rc == 1)
        broker_error (self, peer, MT_ERR_BAD_STATE, "job %lld is %s; stop it first (mtclient"
                 " stop %lld), then delete it", (long long) id, job_state_name (state),
                 (long long) id);
    else {
        size_t i;
        json_t *hash;
        json_array_foreach (doomed, i, hash)
            broker_doom (self, json_string_value (hash));
        broker_announce (self, MT_LOG_INFO, "broker: job %lld deleted (%zu blobs to remove)",
                         (long long) id, json_array_size (doomed));
        mt_msg_t *reply = mt_msg_new ("DELETED");
        json_object_set_new (mt_msg_body (reply), "job", json_integer (id));
        json_object_set_new (mt_msg_body (reply), "blobs", json_integer ((json_int_t) json_array_size (doomed)));
        broker_send (self, peer, &reply);
    }
    json_decref (doomed);
}

static void
s_client_stop (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t id;
    if (s_job_arg (self, peer, msg, &id))
        return;
    //  Only with keys is there an owner to check: the loopback path reads nothing more
    store_job_t job;
    if (self->auth && store_job_state (self->store, id, &job) == 0) {
        int rc = s_may_act (self, peer, id, job.client, "stop");
        store_job_clear (&job);
        if (rc)
            return;
    }
    job_move_t move;
    if (jobs_event (self->jobs, id, -1, JOB_EV_STOP, NULL, zclock_time (), &move))
        broker_error (self, peer, MT_ERR_STORAGE, "the broker could not record the stop (disk full"
                 " or I/O error); retry later");
    else
    if (!move.found)
        broker_error (self, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
    else
    if (move.refusal [0])
        broker_error (self, peer, MT_ERR_BAD_STATE, "%s", move.refusal);
    else {
        fleet_worker_t *worker = fleet_find_job (self->fleet, id);
        if (worker && move.tell == JOB_TELL_STOP) {
            broker_tell (self, worker, "STOP", id, fleet_worker_attempt (worker));
            fleet_worker_stop_sent (self->fleet, worker, zclock_mono ());
        }
        if (move.note [0])
            broker_announce (self, MT_LOG_INFO, "broker: %s", move.note);
        s_reply_job (self, peer, id, false);
    }
}

static void
s_client_workers (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    json_t *list = json_array ();
    int64_t now = zclock_mono ();
    for (fleet_worker_t *w = fleet_first (self->fleet); w; w = fleet_next (self->fleet, w))
        json_array_append_new (list, fleet_worker_json (w, now));
    mt_msg_t *reply = mt_msg_new ("WORKERS");
    json_object_set_new (mt_msg_body (reply), "workers", list);
    broker_send (self, peer, &reply);
}

//  The figures, kept in memory: one reply, no database read.
static void
s_client_stats (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    size_t busy = fleet_busy (self->fleet);
    json_t *stats = stats_json (self->stats, (int64_t) (fleet_size (self->fleet) - busy),
                                (int64_t) busy);
    if (!stats) {
        broker_error (self, peer, MT_ERR_STORAGE, "the broker is out of memory; retry later");
        return;
    }
    mt_msg_t *reply = mt_msg_new ("STATS");
    json_object_update (mt_msg_body (reply), stats);
    json_decref (stats);
    broker_send (self, peer, &reply);
}

static void
s_client_fetch (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t id, offset, length;
    char *cause = NULL;
    if (s_job_arg (self, peer, msg, &id))
        return;
    if (mt_msg_get_int (msg, "offset", 0, BLOB_MAX_SIZE, &offset, &cause)
    ||  mt_msg_get_int (msg, "length", 1, BROKER_CHUNK_MAX, &length, &cause)) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    const char *what = "model";
    if (mt_msg_opt_str (msg, "what", 16, &what, &cause)
    ||  (strcmp (what, "model") && strcmp (what, "checkpoint")
         && mt_fail (&cause, "FETCH: 'what' is '%s', not model or checkpoint", what))) {
        broker_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    store_job_t job;
    if (store_job_get (self->store, id, &job)) {
        broker_error (self, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    bool checkpoint = strcmp (what, "checkpoint") == 0;
    if (s_may_act (self, peer, id, job.client, "fetch the model of"))
        ;
    else
    if (checkpoint && !job.checkpoint_hash [0])
        broker_error (self, peer, MT_ERR_BAD_STATE, "job %lld is %s and has no checkpoint%s",
                 (long long) id, job_state_name (job.state),
                 job.state == JOB_SUCCEEDED ? " (a job that succeeded keeps only its model)"
                 : " (none was written yet, or it was pruned)");
    else
    if (checkpoint)
        chunks_send (self, peer, job.checkpoint_hash, offset, length, id);
    else
    if (!job.model_hash [0])
        broker_error (self, peer, MT_ERR_BAD_STATE, "job %lld is %s and has no model%s",
                 (long long) id, job_state_name (job.state),
                 job_state_ended (job.state) ? "" : " yet");
    else
        chunks_send (self, peer, job.model_hash, offset, length, id);
    store_job_clear (&job);
}

//  --- Owners ----------------------------------------------------------------------

//  The rule of auth_may_act, answered: 0 when peer may act on job id, whose
//  jobs.client is owner; else -1, with ERROR forbidden naming the owner and
//  what to do. Every command that acts on a job (stop, fetch, delete) asks here.
static int
s_may_act (broker_t *self, peer_t *peer, int64_t id, const char *owner, const char *verb)
{
    if (auth_may_act (self->auth, peer->user, owner))
        return 0;
    char name [128];
    s_owner_name (self, owner, name, sizeof name);
    broker_error (self, peer, MT_ERR_FORBIDDEN, "job %lld belongs to %s, not to your key; you"
                  " may not %s it: ask its owner, or an admin (a key in the broker's %s/"
                  " folder)", (long long) id, name, verb, AUTH_ADMINS);
    return -1;
}

//  Who owner (a job's jobs.client) is, in words: its key's file name where
//  auth knows the key, else the key itself; "local" for a job submitted
//  without keys.
static void
s_owner_name (broker_t *self, const char *owner, char *name, size_t size)
{
    const char *file = self->auth && owner ? auth_name (self->auth, owner) : NULL;
    if (file)
        snprintf (name, size, "%s", file);
    else
    if (!owner || !*owner)
        snprintf (name, size, "an unknown client");
    else
    if (strcmp (owner, "local") == 0)
        snprintf (name, size, "a client without keys (local)");
    else
        snprintf (name, size, "key %s (no longer in the broker's keys)", owner);
}

//  A job's map names its owner by its key's file name where auth knows it;
//  otherwise it keeps jobs.client (the key, or "local").
static void
s_show_owner (broker_t *self, json_t *job)
{
    const char *owner = json_string_value (json_object_get (job, "owner"));
    const char *file = self->auth && owner ? auth_name (self->auth, owner) : NULL;
    if (file)
        json_object_set_new (job, "owner", json_string (file));
}

//  A job's map as peer may see it. With keys, a reader who may not act on
//  the job (auth_may_act) gets it without its blobs' hashes: a hash is as
//  good as the bytes (a SUBMIT may name any stored blob, and an upload of a
//  blob the broker holds is skipped), so it goes only to those who may
//  fetch the job's model. Without keys nothing is looked up or changed.
//  0, or -1 out of memory: the map must not be sent then.
static int
s_show_job (broker_t *self, peer_t *peer, json_t *job)
{
    if (self->auth
    &&  !auth_may_act (self->auth, peer->user,
                       json_string_value (json_object_get (job, "owner")))
    &&  s_redact (job))
        return -1;
    s_show_owner (self, job);
    return 0;
}

int
clients_show_job (broker_t *self, const char *user, json_t *job)
{
    peer_t peer = { .req = -1 };
    mt_strlcpy (peer.user, user, sizeof peer.user);
    return s_show_job (self, &peer, job);
}

//  Take every blob hash out of a job's map: model_hash, and the spec's
//  data_hash, init_hash and val_data_hash where set, become null; a hash quoted in any
//  other string (an error, a path, a name) is overwritten; and
//  "redacted": true says so. 0, or -1 out of memory.
static int
s_redact (json_t *job)
{
    int rc = json_object_set_new (job, "model_hash", json_null ());
    json_t *spec = json_object_get (job, "spec");
    const char *keys [] = { "data_hash", "init_hash", "val_data_hash" };
    for (size_t i = 0; i < sizeof keys / sizeof keys [0]; i++)
        if (json_is_object (spec) && json_object_get (spec, keys [i]))
            rc |= json_object_set_new (spec, keys [i], json_null ());
    rc |= s_scrub_hashes (job);
    return rc | json_object_set_new (job, "redacted", json_true ());
}

//  Overwrite with 'x's each run of MT_HASH_HEX or more hex digits (a
//  SHA-256: a worker's fetch error quotes one) in every string under value.
//  0, or -1 out of memory (some string may still hold a hash).
static int
s_scrub_hashes (json_t *value)
{
    const char *key;
    size_t index;
    json_t *item;
    int rc = 0;
    if (json_is_object (value))
        json_object_foreach (value, key, item)
            rc |= s_scrub_hashes (item);
    else
    if (json_is_array (value))
        json_array_foreach (value, index, item)
            rc |= s_scrub_hashes (item);
    else
    if (json_is_string (value))
        rc = s_scrub_string (value);
    return rc;
}

//  The same for one string; it is copied only when it holds a hash.
static int
s_scrub_string (json_t *value)
{
    const char *from = json_string_value (value);
    size_t size = json_string_length (value), len;
    char *text = NULL;
    for (size_t at = 0; at < size; at += len ? len : 1) {
        for (len = 0; at + len < size && isxdigit ((unsigned char) from [at + len]); len++)
            ;
        if (len < MT_HASH_HEX)
            continue;
        if (!text && (text = malloc (size)))
            memcpy (text, from, size);
        if (!text)
            return -1;
        memset (text + at, 'x', len);
    }
    int rc = text ? json_string_setn (value, text, size) : 0;
    free (text);
    return rc;
}
