/*  agent - the worker's side of the protocol: fetch, run a training child, report  */
#include "agent.h"
#include "mt/blob.h"
#include "mt/curve.h"
#include "mt/log.h"
#include "mt/msg.h"
#include "mt/util.h"
#include "mt/version.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef enum { PHASE_IDLE, PHASE_FETCHING, PHASE_TRAINING, PHASE_FINISHING } phase_t;
typedef enum { FOR_DATA, FOR_RESUME, FOR_INIT, FOR_MODEL, FOR_CHECKPOINT } purpose_t;
typedef enum { END_NONE, END_DONE, END_STOPPED, END_FAILED } ending_t;

//  One file moving between the broker and us, in chunks with a credit window.
typedef struct {
    bool active;
    bool upload;                // else a fetch
    purpose_t purpose;
    char hash [65];
    int64_t size;
    int64_t next;               // next offset to ask for or send
    int64_t done;               // bytes confirmed
    int in_flight;
    bool probing;               // upload: waiting to hear where to start
    int fd;                     // upload: the file being sent
    int epoch;                  // checkpoint: its epoch
} transfer_t;

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
    int64_t last_heard;         // monotonic ms
    int64_t last_beat;          // monotonic ms of our last heartbeat
    //  The job in hand
    phase_t phase;
    int64_t job;
    int attempt;
    json_t *assign;             // the ASSIGN body
    char *dir;                  // the job's folder
    transfer_t fetches [3];     // data, resume, init
    transfer_t xfer;            // the upload in progress
    int pending_checkpoint;     // epoch of a checkpoint waiting to upload, 0 = none
    char checkpoint_hash [65];  // last checkpoint uploaded
    pid_t child;
    int child_fd;
    char line [8192];
    size_t line_len;
    int64_t stop_sent;          // monotonic ms a stop was passed to the child, 0 = none
    bool stop_requested;
    ending_t ending;
    char *reason;               // why the training failed
    bool retryable;
    json_t *metrics;
    char *self_exe;
    char *chunk;                // AGENT_CHUNK bytes: the upload chunk being sent
    int signals_seen;           // how many of config.signals we acted on
    bool draining;              // hand the job back and leave
    bool quit;                  // end the reactor
};

static int s_on_socket (zloop_t *loop, zsock_t *sock, void *arg);
static int s_on_timer (zloop_t *loop, int timer_id, void *arg);
static int s_on_child (zloop_t *loop, zmq_pollitem_t *item, void *arg);
static void s_connect (agent_t *self);
static void s_send (agent_t *self, mt_msg_t **msg_p);
static mt_msg_t *s_job_msg (agent_t *self, const char *command);
static void s_fetch_next (agent_t *self);
static void s_spawn (agent_t *self);
static void s_finish (agent_t *self);
static void s_upload_next (agent_t *self);
static void s_reset (agent_t *self);
static void s_fail (agent_t *self, const char *reason, bool retryable);
static void s_leave (agent_t *self);

void
agent_config_init (agent_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->broker = "tcp://127.0.0.1:5556";
    config->cache_dir = "mt-cache";
    config->threads = 1;
    config->progress_ms = 1000;
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
    self->heartbeat_ms = AGENT_HEARTBEAT_MS;
    self->liveness = AGENT_LIVENESS;
    self->chunk = malloc (AGENT_CHUNK);
    self->self_exe = realpath (config->self_exe ? config->self_exe : "/proc/self/exe", NULL);
    if (!self->self_exe)
        self->self_exe = strdup ("/proc/self/exe");
    gethostname (self->host, sizeof self->host - 1);
    snprintf (self->name, sizeof self->name, "%s:%ld", self->host, (long) getpid ());
    char jobs [4200];
    snprintf (jobs, sizeof jobs, "%s/jobs", config->cache_dir);
    if ((!self->chunk && mt_fail (cause, "out of memory"))
    ||  (config->cert && !(self->curve = mt_curve_new (config->cert, config->broker_key, cause)))
    ||  !(self->cache = blob_store_new (config->cache_dir, cause))
    ||  (mkdir (jobs, 0700) && errno != EEXIST && mt_fail (cause, "%s: %s", jobs, strerror (errno)))) {
        agent_destroy (&self);
        return NULL;
    }
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
    if (self->child > 0) {
        kill (-self->child, SIGKILL);
        waitpid (self->child, NULL, 0);
        self->child = 0;
    }
    s_reset (self);
    zloop_destroy (&self->loop);
    zsock_destroy (&self->sock);
    blob_store_destroy (&self->cache);
    mt_curve_destroy (&self->curve);
    free (self->self_exe);
    free (self->chunk);
    free (self);
    *self_p = NULL;
}

int
agent_run (agent_t *self)
{
    mt_info ("agent: %s serving %s with %d threads", self->name, self->config.broker,
             self->config.threads);
    //  A signal interrupts the poll and zloop returns 0; the timer acts on it
    while (!self->quit && zloop_start (self->loop) == 0)
        ;
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
    s_send (self, &hello);
    //  Chunks in flight on the old socket are lost: ask again from what we have
    for (int i = 0; i < 3; i++) {
        transfer_t *t = &self->fetches [i];
        if (t->active && t->in_flight) {
            t->next = t->done;
            t->in_flight = 0;
        }
    }
    if (self->xfer.active) {
        self->xfer.next = self->xfer.done;
        self->xfer.in_flight = 0;
        self->xfer.probing = false;
    }
    if (self->phase == PHASE_FETCHING)
        s_fetch_next (self);
    if (self->xfer.active)
        s_upload_next (self);
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

//  Forget the job in hand (the child, if any, is gone already).
static void
s_reset (agent_t *self)
{
    for (int i = 0; i < 3; i++)
        if (self->fetches [i].active)
            blob_store_abort (self->cache, self->fetches [i].hash);
    memset (self->fetches, 0, sizeof self->fetches);
    if (self->xfer.active && self->xfer.fd >= 0)
        close (self->xfer.fd);
    memset (&self->xfer, 0, sizeof self->xfer);
    if (self->child_fd >= 0) {
        zmq_pollitem_t item = { NULL, self->child_fd, ZMQ_POLLIN, 0 };
        zloop_poller_end (self->loop, &item);
        close (self->child_fd);
        self->child_fd = -1;
    }
    json_decref (self->assign);
    json_decref (self->metrics);
    self->assign = self->metrics = NULL;
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

static void
s_kill_child (agent_t *self)
{
    if (self->child > 0) {
        kill (-self->child, SIGKILL);
        waitpid (self->child, NULL, 0);
        self->child = 0;
    }
}

//  --- Messages from the broker ----------------------------------------------

static bool
s_about_our_job (agent_t *self, mt_msg_t *msg)
{
    int64_t job = 0, attempt = 0;
    mt_msg_get_int (msg, "job", 1, INT64_MAX, &job, NULL);
    mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &attempt, NULL);
    return self->phase != PHASE_IDLE && job == self->job && attempt == self->attempt;
}

static void
s_add_fetch (agent_t *self, int slot, purpose_t purpose, const char *hash_key, const char *size_key)
{
    json_t *body = self->assign;
    const char *hash = json_string_value (json_object_get (body, hash_key));
    if (!hash && purpose == FOR_INIT)
        hash = json_string_value (json_object_get (json_object_get (body, "spec"), hash_key));
    json_t *size = json_object_get (body, size_key);
    if (!hash || !blob_hash_valid (hash) || !json_is_integer (size))
        return;
    transfer_t *t = &self->fetches [slot];
    memset (t, 0, sizeof *t);
    memcpy (t->hash, hash, 65);
    t->size = json_integer_value (size);
    t->purpose = purpose;
    t->active = !blob_store_has (self->cache, hash, NULL);
}

static void
s_on_assign (agent_t *self, mt_msg_t *msg)
{
    int64_t job, attempt;
    const char *text = NULL;
    json_t *spec = NULL;
    if (self->phase == PHASE_IDLE
    &&  mt_msg_get_int (msg, "job", 1, INT64_MAX, &job, NULL) == 0
    &&  mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &attempt, NULL) == 0
    &&  mt_msg_get_str (msg, "spec", MT_MAX_STRING, &text, NULL) == 0)
        spec = json_loads (text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object (spec)) {
        mt_warn ("agent: ignoring an ASSIGN while busy or malformed");
        json_decref (spec);
        return;
    }
    //  From here on the body holds the spec as a map
    json_object_set_new (mt_msg_body (msg), "spec", spec);
    self->job = job;
    self->attempt = (int) attempt;
    self->assign = json_incref (mt_msg_body (msg));
    self->phase = PHASE_FETCHING;
    if (asprintf (&self->dir, "%s/jobs/%lld-%d", self->config.cache_dir, (long long) job,
                  self->attempt) < 0 || (mkdir (self->dir, 0700) && errno != EEXIST)) {
        s_fail (self, "cannot create the job's folder in the cache", true);
        return;
    }
    mt_info ("agent: job %lld attempt %d assigned", (long long) job, self->attempt);
    s_add_fetch (self, FOR_DATA, FOR_DATA, "data_hash", "data_size");
    s_add_fetch (self, FOR_RESUME, FOR_RESUME, "resume_hash", "resume_size");
    s_add_fetch (self, FOR_INIT, FOR_INIT, "init_hash", "init_size");
    s_fetch_next (self);
}

//  Keep AGENT_CREDIT chunk requests in flight for the first unfinished
//  fetch; when all are in, start training.
static void
s_fetch_next (agent_t *self)
{
    transfer_t *t = NULL;
    for (int i = 0; i < 3 && !t; i++)
        if (self->fetches [i].active)
            t = &self->fetches [i];
    if (!t) {
        s_spawn (self);
        return;
    }
    while (t->in_flight < AGENT_CREDIT && t->next < t->size) {
        int64_t length = t->size - t->next < AGENT_CHUNK ? t->size - t->next : AGENT_CHUNK;
        mt_msg_t *msg = mt_msg_new ("FETCH");
        json_object_set_new (mt_msg_body (msg), "hash", json_string (t->hash));
        json_object_set_new (mt_msg_body (msg), "offset", json_integer (t->next));
        json_object_set_new (mt_msg_body (msg), "length", json_integer (length));
        s_send (self, &msg);
        t->next += length;
        t->in_flight++;
    }
}

static void
s_on_chunk (agent_t *self, mt_msg_t *msg)
{
    const char *hash;
    int64_t offset;
    transfer_t *t = NULL;
    if (self->phase != PHASE_FETCHING || mt_msg_get_str (msg, "hash", 64, &hash, NULL)
    ||  mt_msg_get_int (msg, "offset", 0, BLOB_MAX_SIZE, &offset, NULL))
        return;
    for (int i = 0; i < 3 && !t; i++)
        if (self->fetches [i].active && strcmp (self->fetches [i].hash, hash) == 0)
            t = &self->fetches [i];
    if (!t || offset != t->done)
        return;     // a stale chunk from before a reconnect
    size_t len;
    const void *data = mt_msg_payload (msg, &len);
    bool complete;
    int64_t next;
    char *cause = NULL;
    t->in_flight--;
    if (len == 0 && t->size > 0)
        mt_fail (&cause, "the broker sent an empty chunk of %.12s", hash);
    else
        blob_store_write (self->cache, hash, t->size, offset, data, len, &complete, &next, &cause);
    if (cause) {
        s_fail (self, cause, true);
        free (cause);
        return;
    }
    t->done = next;
    if (complete) {
        t->active = false;
        mt_info ("agent: fetched %.12s (%lld bytes)", hash, (long long) t->size);
    }
    s_fetch_next (self);
}

static void
s_on_stop (agent_t *self)
{
    self->stop_requested = true;
    if (self->phase == PHASE_FETCHING) {
        mt_msg_t *msg = s_job_msg (self, "STOPPED");
        s_send (self, &msg);
        s_reset (self);
    }
    else
    if (self->phase == PHASE_TRAINING && self->child > 0 && !self->stop_sent) {
        mt_info ("agent: stopping job %lld", (long long) self->job);
        kill (self->child, SIGTERM);
        self->stop_sent = zclock_mono ();
    }
}

static void
s_on_abandon (agent_t *self)
{
    mt_info ("agent: job %lld attempt %d is superseded: abandoning it", (long long) self->job,
             self->attempt);
    s_kill_child (self);
    s_reset (self);
}

static void
s_on_error (agent_t *self, mt_msg_t *msg)
{
    const char *code = "?", *text = "?";
    mt_msg_get_str (msg, "code", 64, &code, NULL);
    mt_msg_get_str (msg, "text", 4096, &text, NULL);
    if (strcmp (code, "unknown_peer") == 0) {
        s_connect (self);
        return;
    }
    mt_warn ("agent: broker says %s: %s", code, text);
    if (self->phase == PHASE_FETCHING) {
        //  A file of the job cannot be fetched: fail the attempt rather than wait
        char reason [4200];
        snprintf (reason, sizeof reason, "cannot fetch the job's files from the broker: %s", text);
        s_fail (self, reason, true);
    }
    else
    if (self->xfer.active) {
        //  An upload was refused: report the job failed rather than hang
        s_kill_child (self);
        char reason [4200];
        snprintf (reason, sizeof reason, "the broker refused an upload: %s", text);
        s_fail (self, reason, true);
    }
}

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
    if (mt_msg_is (msg, "WELCOME")) {
        int64_t hb = self->heartbeat_ms, liveness = self->liveness;
        mt_msg_get_int (msg, "heartbeat_ms", 10, 600000, &hb, NULL);
        mt_msg_get_int (msg, "liveness", 1, 1000, &liveness, NULL);
        self->heartbeat_ms = (int) hb;
        self->liveness = (int) liveness;
    }
    else if (mt_msg_is (msg, "ASSIGN"))
        s_on_assign (self, msg);
    else if (mt_msg_is (msg, "CHUNK"))
        s_on_chunk (self, msg);
    else if (mt_msg_is (msg, "UPLOADED")) {
        int64_t offset = 0;
        bool complete = false;
        mt_msg_get_int (msg, "offset", 0, BLOB_MAX_SIZE, &offset, NULL);
        mt_msg_get_bool (msg, "complete", &complete, NULL);
        if (self->xfer.active) {
            self->xfer.in_flight = self->xfer.in_flight > 0 ? self->xfer.in_flight - 1 : 0;
            self->xfer.probing = false;
            self->xfer.done = complete ? self->xfer.size : offset;
            if (self->xfer.done > self->xfer.next || complete)
                self->xfer.next = self->xfer.done;
            s_upload_next (self);
        }
    }
    else if (mt_msg_is (msg, "STOP") && s_about_our_job (self, msg))
        s_on_stop (self);
    else if (mt_msg_is (msg, "ABANDON") && s_about_our_job (self, msg))
        s_on_abandon (self);
    else if (mt_msg_is (msg, "ERROR"))
        s_on_error (self, msg);
    mt_msg_destroy (&msg);
    return self->quit ? -1 : 0;
}

//  --- Uploads: checkpoints and the final model --------------------------------

//  Start uploading the file at path; returns 0, or -1 when it cannot be read.
//  The file is hashed through the descriptor it is sent from, so a newer
//  checkpoint renamed over the path meanwhile does not mix in.
static int
s_upload_start (agent_t *self, const char *path, purpose_t purpose, int epoch)
{
    transfer_t *t = &self->xfer;
    memset (t, 0, sizeof *t);
    t->fd = open (path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0 || blob_hash_fd (t->fd, t->hash, &t->size, NULL)) {
        if (t->fd >= 0)
            close (t->fd);
        t->fd = -1;
        return -1;
    }
    t->active = true;
    t->upload = true;
    t->purpose = purpose;
    t->epoch = epoch;
    t->probing = true;
    t->in_flight = 1;
    mt_msg_t *msg = mt_msg_new ("UPLOAD");
    json_object_set_new (mt_msg_body (msg), "hash", json_string (t->hash));
    json_object_set_new (mt_msg_body (msg), "size", json_integer (t->size));
    json_object_set_new (mt_msg_body (msg), "offset", json_integer (0));
    json_object_set_new (mt_msg_body (msg), "last", json_false ());
    s_send (self, &msg);
    return 0;
}

static void
s_checkpoint_upload (agent_t *self)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/checkpoint.safetensors", self->dir);
    int epoch = self->pending_checkpoint;
    self->pending_checkpoint = 0;
    if (s_upload_start (self, path, FOR_CHECKPOINT, epoch))
        mt_warn ("agent: cannot read checkpoint %s", path);
}

//  An upload finished: say what it was for.
static void
s_upload_complete (agent_t *self)
{
    transfer_t *t = &self->xfer;
    close (t->fd);
    t->active = false;
    if (t->purpose == FOR_CHECKPOINT) {
        memcpy (self->checkpoint_hash, t->hash, 65);
        mt_msg_t *msg = s_job_msg (self, "CHECKPOINT");
        json_object_set_new (mt_msg_body (msg), "hash", json_string (t->hash));
        json_object_set_new (mt_msg_body (msg), "epoch", json_integer (t->epoch));
        s_send (self, &msg);
        if (self->pending_checkpoint)
            s_checkpoint_upload (self);
        else
        if (self->phase == PHASE_FINISHING)
            s_finish (self);
        return;
    }
    mt_msg_t *msg = s_job_msg (self, "DONE");
    json_object_set_new (mt_msg_body (msg), "model_hash", json_string (t->hash));
    json_object_set_new (mt_msg_body (msg), "metrics", json_incref (self->metrics));
    s_send (self, &msg);
    mt_info ("agent: job %lld done", (long long) self->job);
    s_reset (self);
}

static void
s_upload_next (agent_t *self)
{
    transfer_t *t = &self->xfer;
    if (!t->active || t->probing)
        return;
    if (t->done >= t->size) {
        s_upload_complete (self);
        return;
    }
    while (t->in_flight < AGENT_CREDIT && t->next < t->size) {
        int64_t length = t->size - t->next < AGENT_CHUNK ? t->size - t->next : AGENT_CHUNK;
        if (pread (t->fd, self->chunk, (size_t) length, t->next) != length) {
            s_kill_child (self);
            s_fail (self, "cannot read the file being uploaded", true);
            return;
        }
        mt_msg_t *msg = mt_msg_new ("UPLOAD");
        json_object_set_new (mt_msg_body (msg), "hash", json_string (t->hash));
        json_object_set_new (mt_msg_body (msg), "size", json_integer (t->size));
        json_object_set_new (mt_msg_body (msg), "offset", json_integer (t->next));
        json_object_set_new (mt_msg_body (msg), "last", json_boolean (t->next + length == t->size));
        mt_msg_set_payload (msg, self->chunk, (size_t) length);
        s_send (self, &msg);
        t->next += length;
        t->in_flight++;
    }
}

//  Report a failure of the job in hand and go idle.
static void
s_fail (agent_t *self, const char *reason, bool retryable)
{
    mt_warn ("agent: job %lld failed: %s", (long long) self->job, reason);
    mt_msg_t *msg = s_job_msg (self, "FAILED");
    json_object_set_new (mt_msg_body (msg), "reason", json_string (reason));
    json_object_set_new (mt_msg_body (msg), "retryable", json_boolean (retryable));
    s_send (self, &msg);
    s_reset (self);
}

//  The child is gone: upload what it left and report how it ended.
static void
s_finish (agent_t *self)
{
    self->phase = PHASE_FINISHING;
    if (self->xfer.active)
        return;         // a checkpoint upload is still going; it calls us again
    char path [4200];
    if (self->ending == END_DONE) {
        snprintf (path, sizeof path, "%s/model.safetensors", self->dir);
        if (s_upload_start (self, path, FOR_MODEL, 0))
            s_fail (self, "the training finished but its model file cannot be read", true);
        return;
    }
    if (self->ending == END_STOPPED) {
        if (self->pending_checkpoint) {
            s_checkpoint_upload (self);
            if (self->xfer.active)
                return;
        }
        mt_msg_t *msg = s_job_msg (self, self->draining ? "RELEASE" : "STOPPED");
        if (self->checkpoint_hash [0])
            json_object_set_new (mt_msg_body (msg), "checkpoint_hash",
                                 json_string (self->checkpoint_hash));
        s_send (self, &msg);
        mt_info ("agent: job %lld %s", (long long) self->job,
                 self->draining ? "handed back to the broker" : "stopped");
        s_reset (self);
        if (self->draining)
            s_leave (self);
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
    char spec_path [4200], data_path [4200], threads [16], progress [16], min_ms [16];
    snprintf (spec_path, sizeof spec_path, "%s/spec.json", self->dir);
    char *spec = json_dumps (json_object_get (self->assign, "spec"), JSON_COMPACT);
    char *cause = NULL;
    int rc = spec ? mt_file_write_atomic (spec_path, spec, strlen (spec), &cause) : -1;
    free (spec);
    if (rc) {
        s_fail (self, cause ? cause : "cannot write the spec", true);
        free (cause);
        return;
    }
    const char *data_hash = json_string_value (json_object_get (self->assign, "data_hash"));
    const char *shared = json_string_value (json_object_get (json_object_get (self->assign,
                                                                              "spec"), "data_path"));
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
    const char *argv [20] = { "mtworker", "--train-child", "--dir", self->dir, "--spec",
                              spec_path, "--threads", threads, "--progress-ms", progress,
                              "--checkpoint-min-ms", min_ms };
    int argc = 12;
    if (data_path [0]) {
        argv [argc++] = "--data";
        argv [argc++] = data_path;
    }
    char *resume = self->fetches [FOR_RESUME].hash [0]
                 ? blob_store_path (self->cache, self->fetches [FOR_RESUME].hash) : NULL;
    char *init = self->fetches [FOR_INIT].hash [0]
               ? blob_store_path (self->cache, self->fetches [FOR_INIT].hash) : NULL;
    if (resume) {
        argv [argc++] = "--resume";
        argv [argc++] = resume;
    }
    if (init) {
        argv [argc++] = "--init";
        argv [argc++] = init;
    }
    int fds [2];
    if (pipe2 (fds, O_CLOEXEC)) {
        s_fail (self, "cannot create a pipe for the training process", true);
        free (resume);
        free (init);
        return;
    }
    pid_t pid = fork ();
    if (pid == 0) {
        //  The child: its own process group (so a stop can kill it whole),
        //  reports on fd 3
        setpgid (0, 0);
        dup2 (fds [1], 3);
        execv (self->self_exe, (char **) argv);
        _exit (127);
    }
    close (fds [1]);
    free (resume);
    free (init);
    if (pid < 0) {
        close (fds [0]);
        s_fail (self, "cannot fork the training process", true);
        return;
    }
    setpgid (pid, pid);
    self->child = pid;
    self->child_fd = fds [0];
    self->phase = PHASE_TRAINING;
    self->ending = END_NONE;
    zmq_pollitem_t item = { NULL, self->child_fd, ZMQ_POLLIN, 0 };
    zloop_poller (self->loop, &item, s_on_child, self);
    //  libzmq reports a pipe's hang-up as ZMQ_POLLERR, on which zloop drops
    //  an intolerant poller unheard: we want to read the end of file
    zloop_poller_set_tolerant (self->loop, &item);
    mt_info ("agent: job %lld training in process %d", (long long) self->job, (int) pid);
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

//  One line from the child: progress {json}, checkpoint EPOCH, done {json},
//  stopped {json}, error TEXT, or bad_input TEXT.
static void
s_child_line (agent_t *self, char *line)
{
    char *arg = strchr (line, ' ');
    if (arg)
        *arg++ = 0;
    else
        arg = line + strlen (line);
    if (strcmp (line, "progress") == 0)
        s_progress_line (self, arg);
    else
    if (strcmp (line, "checkpoint") == 0) {
        self->pending_checkpoint = atoi (arg) > 0 ? atoi (arg) : 1;
        if (!self->xfer.active)
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

//  Why the child ended, in words a user can act on.
static void
s_child_exit (agent_t *self, int status)
{
    char reason [256];
    if (WIFSIGNALED (status) && self->ending != END_STOPPED) {
        int sig = WTERMSIG (status);
        snprintf (reason, sizeof reason, "the training process was killed by signal %d (%s)%s",
                  sig, strsignal (sig), sig == SIGKILL ? "; the out-of-memory killer is a"
                  " common cause: try a smaller --batch-size or --hidden" : "");
        free (self->reason);
        self->reason = strdup (reason);
        self->ending = END_FAILED;
        self->retryable = true;
    }
    else
    if (self->ending == END_NONE || (WIFEXITED (status) && WEXITSTATUS (status) != 0
                                     && self->ending != END_FAILED)) {
        snprintf (reason, sizeof reason, "the training process exited with status %d without"
                  " a result", WIFEXITED (status) ? WEXITSTATUS (status) : -1);
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
    //  End of file: the child has exited (or closed fd 3 and is about to)
    zloop_poller_end (self->loop, item);
    close (self->child_fd);
    self->child_fd = -1;
    int status = 0;
    waitpid (self->child, &status, 0);
    self->child = 0;
    s_child_exit (self, status);
    return self->quit ? -1 : 0;
}

//  Say goodbye and end the reactor; a job still in hand is killed (the
//  broker requeues it).
static void
s_leave (agent_t *self)
{
    s_kill_child (self);
    mt_msg_t *msg = s_job_msg (self, "BYE");
    s_send (self, &msg);
    mt_info ("agent: leaving");
    self->quit = true;
}

//  SIGTERM or SIGINT: the first drains, the second leaves at once.
static void
s_on_signal (agent_t *self)
{
    self->signals_seen = *self->config.signals;
    if (self->signals_seen >= 2 || self->phase == PHASE_IDLE) {
        s_leave (self);
        return;
    }
    if (self->draining)
        return;
    self->draining = true;
    mt_info ("agent: draining: job %lld will checkpoint and go back to the broker",
             (long long) self->job);
    if (self->phase == PHASE_TRAINING && self->child > 0) {
        kill (self->child, SIGTERM);
        self->stop_sent = zclock_mono ();
    }
    else
    if (self->phase == PHASE_FETCHING) {
        mt_msg_t *msg = s_job_msg (self, "RELEASE");
        s_send (self, &msg);
        s_reset (self);
        s_leave (self);
    }
}

//  Heartbeats, broker liveness, and the stop grace period.
static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    agent_t *self = arg;
    int64_t now = zclock_mono ();
    if (self->config.signals && *self->config.signals != self->signals_seen)
        s_on_signal (self);
    if (self->quit)
        return -1;
    if (now - self->last_heard > (int64_t) self->heartbeat_ms * self->liveness) {
        mt_warn ("agent: no word from the broker at %s for %lld ms; reconnecting",
                 self->config.broker, (long long) (now - self->last_heard));
        s_connect (self);
    }
    if (now - self->last_beat >= self->heartbeat_ms) {
        mt_msg_t *msg = s_job_msg (self, "HEARTBEAT");
        s_send (self, &msg);
        self->last_beat = now;
    }
    if (self->stop_sent && self->child > 0 && now - self->stop_sent > AGENT_STOP_GRACE_MS) {
        mt_warn ("agent: job %lld did not stop within %d ms: killing it", (long long) self->job,
                 AGENT_STOP_GRACE_MS);
        kill (-self->child, SIGKILL);
        self->ending = END_STOPPED;
        self->stop_sent = 0;
    }
    return 0;
}
