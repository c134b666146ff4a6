/*  fleet - the workers connected to the broker: who they are, what they run, when last heard  */
#include "fleet.h"
#include "mt/util.h"

#include <czmq.h>
#include <sodium.h>

//  What a commit guards: everything a transaction's rollback puts back.
typedef struct {
    char name [129];            // host:pid as the worker announced it
    char instance [33];         // its process's random instance id, "" when none
    char user [64];             // the key it connected with (Z85) with --keys, else "local"
    char host [129];
    char version [33];
    int64_t pid;
    int cores, threads;
    int64_t job;                // job it runs, 0 when idle
    int attempt;
    int64_t attempt_started_at; // wall clock ms the broker started it; 0 when not known
    int resumed_from_epoch;
    char checkpoint [65];       // the job's latest checkpoint hash, "" when none
    int64_t deadline;           // wall clock ms the job's time limit ends, 0 = none
    fleet_shape_t shape;        // what its model must fit
    int64_t stop_sent;          // monotonic ms a STOP was sent, 0 when none
    struct {                    // the last (job, attempt) pairs it was told to abandon,
        int64_t job;            //   newest at abandoned_next - 1 (a ring)
        int attempt;
    } abandoned [FLEET_ABANDONED];
    int abandoned_next;
} state_t;

struct fleet_worker_t {
    fleet_worker_t *prev, *next;    // the line, in order of being chosen
    char key [2 * FLEET_MAX_IDENTITY + 1];  // the routing id in hex
    unsigned char identity [FLEET_MAX_IDENTITY];
    size_t identity_size;
    state_t state;
    bool recorded;              // its state is saved in the open transaction
    int64_t connected_at;       // wall clock, ms since epoch
    int64_t last_seen;          // monotonic ms of its last message
    int64_t last_step;          // the job's last reported step
    int64_t step_moved;         // monotonic ms the step last changed (or the job started)
};

//  One change inside a transaction, to undo it.
typedef enum { UNDO_STATE, UNDO_ADD, UNDO_REMOVE } undo_kind_t;
typedef struct {
    undo_kind_t kind;
    fleet_worker_t *worker;
    state_t saved;              // UNDO_STATE: the state before the transaction
} undo_t;

struct fleet_t {
    fleet_worker_t *head, *tail;
    size_t size;
    zhashx_t *by_key;           // hex routing id -> fleet_worker_t (not owned)
    bool recording;
    undo_t *undo;
    size_t nundo, undo_cap;
};

static void s_link (fleet_t *self, fleet_worker_t *worker);
static void s_unlink (fleet_t *self, fleet_worker_t *worker);
static bool s_record (fleet_t *self, undo_kind_t kind, fleet_worker_t *worker);
static void s_touch (fleet_t *self, fleet_worker_t *worker);
static void s_forget (fleet_t *self, bool undo);

fleet_t *
fleet_new (void)
{
    fleet_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->by_key = zhashx_new ();
    if (!self->by_key) {
        free (self);
        return NULL;
    }
    return self;
}

void
fleet_destroy (fleet_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fleet_t *self = *self_p;
    fleet_commit (self);
    while (self->head)
        fleet_remove (self, self->head);
    zhashx_destroy (&self->by_key);
    free (self->undo);
    free (self);
    *self_p = NULL;
}

//  --- The line and the index ----------------------------------------------------

static void
s_link (fleet_t *self, fleet_worker_t *worker)
{
    worker->prev = self->tail;
    worker->next = NULL;
    if (self->tail)
        self->tail->next = worker;
    else
        self->head = worker;
    self->tail = worker;
    self->size++;
    zhashx_insert (self->by_key, worker->key, worker);
}

static void
s_unlink (fleet_t *self, fleet_worker_t *worker)
{
    if (worker->prev)
        worker->prev->next = worker->next;
    else
        self->head = worker->next;
    if (worker->next)
        worker->next->prev = worker->prev;
    else
        self->tail = worker->prev;
    worker->prev = worker->next = NULL;
    self->size--;
    zhashx_delete (self->by_key, worker->key);
}

//  --- Transactions -----------------------------------------------------------

void
fleet_begin (fleet_t *self)
{
    self->recording = true;
}

void
fleet_commit (fleet_t *self)
{
    s_forget (self, false);
}

void
fleet_rollback (fleet_t *self)
{
    s_forget (self, true);
}

//  End the transaction: undo its changes newest first, or keep them. The
//  workers it removed (on commit) or added (on rollback) are freed last,
//  once no note names them.
static void
s_forget (fleet_t *self, bool undo)
{
    for (size_t i = self->nundo; i-- > 0; ) {
        undo_t *u = &self->undo [i];
        u->worker->recorded = false;
        if (!undo)
            continue;
        if (u->kind == UNDO_STATE)
            u->worker->state = u->saved;
        else
        if (u->kind == UNDO_ADD)
            s_unlink (self, u->worker);
        else
            s_link (self, u->worker);
    }
    for (size_t i = 0; i < self->nundo; i++)
        if (self->undo [i].kind == (undo ? UNDO_ADD : UNDO_REMOVE))
            free (self->undo [i].worker);
    self->nundo = 0;
    self->recording = false;
}

//  Note a change to undo; false when memory ran out. The change is made all
//  the same: a rollback then leaves it, which the broker survives (a worker
//  it forgot says HELLO again).
static bool
s_record (fleet_t *self, undo_kind_t kind, fleet_worker_t *worker)
{
    if (self->nundo == self->undo_cap) {
        size_t cap = self->undo_cap ? self->undo_cap * 2 : 64;
        undo_t *undo = realloc (self->undo, cap * sizeof *undo);
        if (!undo)
            return false;
        self->undo = undo;
        self->undo_cap = cap;
    }
    undo_t *u = &self->undo [self->nundo++];
    u->kind = kind;
    u->worker = worker;
    u->saved = worker->state;
    //  Saved once; and a worker added in this transaction goes whole on a
    //  rollback, so its later changes need no note
    worker->recorded = true;
    return true;
}

//  Before a worker's state changes: save it, once per transaction.
static void
s_touch (fleet_t *self, fleet_worker_t *worker)
{
    if (self->recording && !worker->recorded)
        s_record (self, UNDO_STATE, worker);
}

//  --- The fleet ----------------------------------------------------------------

static void
s_key (const void *identity, size_t size, char key [2 * FLEET_MAX_IDENTITY + 1])
{
    sodium_bin2hex (key, 2 * FLEET_MAX_IDENTITY + 1, identity, size);
}

fleet_worker_t *
fleet_find (fleet_t *self, const void *identity, size_t size)
{
    if (size > FLEET_MAX_IDENTITY)
        return NULL;
    char key [2 * FLEET_MAX_IDENTITY + 1];
    s_key (identity, size, key);
    return zhashx_lookup (self->by_key, key);
}

fleet_worker_t *
fleet_find_job (fleet_t *self, int64_t job)
{
    for (fleet_worker_t *w = self->head; w; w = w->next)
        if (w->state.job == job)
            return w;
    return NULL;
}

fleet_worker_t *
fleet_find_twin (fleet_t *self, const fleet_worker_t *except, const char *name,
                 const char *instance, const char *user)
{
    if (!*instance)
        return NULL;
    for (fleet_worker_t *w = self->head; w; w = w->next)
        if (w != except && strcmp (w->state.instance, instance) == 0
        &&  strcmp (w->state.name, name) == 0 && strcmp (w->state.user, user) == 0)
            return w;
    return NULL;
}

fleet_worker_t *
fleet_add (fleet_t *self, const void *identity, size_t size, int64_t now_mono)
{
    if (self->size >= FLEET_MAX_WORKERS || size > FLEET_MAX_IDENTITY
    ||  fleet_find (self, identity, size))
        return NULL;
    fleet_worker_t *worker = calloc (1, sizeof *worker);
    if (!worker)
        return NULL;
    memcpy (worker->identity, identity, size);
    worker->identity_size = size;
    s_key (identity, size, worker->key);
    worker->connected_at = zclock_time ();
    worker->last_seen = now_mono;
    s_link (self, worker);
    if (self->recording)
        s_record (self, UNDO_ADD, worker);
    return worker;
}

void
fleet_remove (fleet_t *self, fleet_worker_t *worker)
{
    s_unlink (self, worker);
    if (!self->recording || !s_record (self, UNDO_REMOVE, worker))
        free (worker);
}

fleet_worker_t *
fleet_idle (fleet_t *self)
{
    fleet_worker_t *w = self->head;
    while (w && (w->state.job || !w->state.name [0]))
        w = w->next;
    if (w && w != self->tail) {
        //  To the back of the line, without touching the index
        if (w->prev)
            w->prev->next = w->next;
        else
            self->head = w->next;
        w->next->prev = w->prev;
        w->prev = self->tail;
        w->next = NULL;
        self->tail->next = w;
        self->tail = w;
    }
    return w;
}

size_t
fleet_size (fleet_t *self)
{
    return self->size;
}

size_t
fleet_busy (fleet_t *self)
{
    size_t busy = 0;
    for (fleet_worker_t *w = self->head; w; w = w->next)
        busy += w->state.job != 0;
    return busy;
}

fleet_worker_t *
fleet_first (fleet_t *self)
{
    return self->head;
}

fleet_worker_t *
fleet_next (fleet_t *self, const fleet_worker_t *worker)
{
    return worker->next;
}

void
fleet_shift (fleet_t *self, int64_t ms)
{
    for (fleet_worker_t *w = self->head; w; w = w->next) {
        w->last_seen += ms;
        w->step_moved += ms;
        if (w->state.stop_sent)
            w->state.stop_sent += ms;
    }
}

//  --- One worker ---------------------------------------------------------------

void
fleet_worker_hello (fleet_t *self, fleet_worker_t *worker, const fleet_hello_t *hello)
{
    s_touch (self, worker);
    state_t *s = &worker->state;
    if (strcmp (s->name, hello->name) != 0)
        s->attempt_started_at = 0;      // its attempt's row names it as it was
    mt_strlcpy (s->name, hello->name, sizeof s->name);
    mt_strlcpy (s->instance, hello->instance, sizeof s->instance);
    mt_strlcpy (s->user, hello->user, sizeof s->user);
    mt_strlcpy (s->host, hello->host, sizeof s->host);
    mt_strlcpy (s->version, hello->version, sizeof s->version);
    s->pid = hello->pid;
    s->cores = hello->cores;
    s->threads = hello->threads;
}

void
fleet_worker_assign (fleet_t *self, fleet_worker_t *worker, const fleet_run_t *run,
                     int64_t now_mono)
{
    s_touch (self, worker);
    state_t *s = &worker->state;
    s->job = run->job;
    s->attempt = run->attempt;
    s->attempt_started_at = run->started_at;
    s->resumed_from_epoch = run->resumed_from_epoch;
    mt_strlcpy (s->checkpoint, run->checkpoint ? run->checkpoint : "", sizeof s->checkpoint);
    s->deadline = run->deadline;
    s->shape = run->shape;
    s->stop_sent = 0;
    worker->last_step = -1;
    worker->step_moved = now_mono;
}

void
fleet_worker_release (fleet_t *self, fleet_worker_t *worker)
{
    s_touch (self, worker);
    state_t *s = &worker->state;
    s->job = 0;
    s->attempt = 0;
    s->attempt_started_at = 0;
    s->resumed_from_epoch = 0;
    s->checkpoint [0] = 0;
    s->deadline = 0;
    s->shape.known = false;
    s->stop_sent = 0;
}

void
fleet_worker_set_checkpoint (fleet_t *self, fleet_worker_t *worker, const char *hash)
{
    s_touch (self, worker);
    mt_strlcpy (worker->state.checkpoint, hash, sizeof worker->state.checkpoint);
}

void
fleet_worker_stop_sent (fleet_t *self, fleet_worker_t *worker, int64_t now_mono)
{
    s_touch (self, worker);
    worker->state.stop_sent = now_mono;
}

bool
fleet_worker_abandon_once (fleet_t *self, fleet_worker_t *worker, int64_t job, int attempt)
{
    state_t *s = &worker->state;
    for (int i = 0; i < FLEET_ABANDONED; i++)
        if (s->abandoned [i].job == job && s->abandoned [i].attempt == attempt)
            return false;
    s_touch (self, worker);
    s->abandoned [s->abandoned_next].job = job;
    s->abandoned [s->abandoned_next].attempt = attempt;
    s->abandoned_next = (s->abandoned_next + 1) % FLEET_ABANDONED;
    return true;
}

void
fleet_worker_seen (fleet_worker_t *worker, int64_t now_mono)
{
    worker->last_seen = now_mono;
}

void
fleet_worker_step (fleet_worker_t *worker, int64_t step, int64_t now_mono)
{
    if (step != worker->last_step) {
        worker->last_step = step;
        worker->step_moved = now_mono;
    }
}

const void *
fleet_worker_identity (const fleet_worker_t *worker, size_t *size)
{
    *size = worker->identity_size;
    return worker->identity;
}

const char *
fleet_worker_name (const fleet_worker_t *worker)
{
    return worker->state.name;
}

const char *
fleet_worker_instance (const fleet_worker_t *worker)
{
    return worker->state.instance;
}

const char *
fleet_worker_user (const fleet_worker_t *worker)
{
    return worker->state.user;
}

int64_t
fleet_worker_job (const fleet_worker_t *worker)
{
    return worker->state.job;
}

int
fleet_worker_attempt (const fleet_worker_t *worker)
{
    return worker->state.attempt;
}

void
fleet_worker_run (const fleet_worker_t *worker, fleet_run_t *run)
{
    const state_t *s = &worker->state;
    *run = (fleet_run_t) {
        .job = s->job, .attempt = s->attempt, .started_at = s->attempt_started_at,
        .resumed_from_epoch = s->resumed_from_epoch, .checkpoint = s->checkpoint,
        .deadline = s->deadline, .shape = s->shape
    };
}

int64_t
fleet_worker_stop_sent_at (const fleet_worker_t *worker)
{
    return worker->state.stop_sent;
}

int64_t
fleet_worker_last_seen (const fleet_worker_t *worker)
{
    return worker->last_seen;
}

int64_t
fleet_worker_step_moved (const fleet_worker_t *worker)
{
    return worker->step_moved;
}

int64_t
fleet_worker_step_last (const fleet_worker_t *worker)
{
    return worker->last_step;
}

json_t *
fleet_worker_json (const fleet_worker_t *w, int64_t now_mono)
{
    const state_t *s = &w->state;
    json_t *item = json_object ();
    json_object_set_new (item, "name", json_string (s->name));
    json_object_set_new (item, "host", json_string (s->host));
    json_object_set_new (item, "pid", json_integer (s->pid));
    json_object_set_new (item, "cores", json_integer (s->cores));
    json_object_set_new (item, "threads", json_integer (s->threads));
    json_object_set_new (item, "version", json_string (s->version));
    json_object_set_new (item, "state", json_string (s->job ? "busy" : "idle"));
    json_object_set_new (item, "job", s->job ? json_integer (s->job) : json_null ());
    json_object_set_new (item, "attempt", s->job ? json_integer (s->attempt) : json_null ());
    json_object_set_new (item, "connected_at", json_integer (w->connected_at));
    json_object_set_new (item, "last_seen_ms", json_integer (now_mono - w->last_seen));
    return item;
}
