/*  broker - the reactor: two ROUTER sockets, the job store, the fleet, dispatch  */
#include "auth.h"
#include "broker.h"
#include "fleet.h"
#include "queue.h"
#include "store.h"
#include "mt/blob.h"
#include "mt/log.h"
#include "mt/msg.h"
#include "mt/spec.h"
#include "mt/util.h"
#include "mt/version.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>

//  A message waiting for the batch's commit before it is sent; it is
//  encoded as it leaves.
typedef struct {
    zsock_t *sock;
    mt_msg_t *msg;
    size_t identity_size;
    byte identity [255];        // the peer's routing identity (ZMTP allows 255 bytes)
    bool needs_commit;          // a write's reply: ERROR storage when the commit fails
    int64_t req;                // the client's req, for that ERROR
    int64_t assigned_job;       // an ASSIGN: undo the worker's job on failure
} outgoing_t;

struct broker_t {
    broker_config_t config;
    zsock_t *clients;
    zsock_t *workers;
    zloop_t *loop;
    store_t *store;
    queue_t *queue;             // the store's queued jobs, in dispatch order
    blob_store_t *blobs;
    fleet_t *fleet;
    zlistx_t *outbox;           // outgoing_t, sent after commit
    zlistx_t *pending;          // outgoing_t committed, sent once the sync in flight ends
    zactor_t *syncer;           // the sync thread: makes commits durable
    bool syncing;               // a sync is in flight; batches meanwhile join the next commit
    int64_t last_tick;          // monotonic ms of the last liveness check
    int lock_fd;                // DB.lock, held (flock) while the broker runs; -1 when not
    bool fatal;                 // the database could not be made durable: stop
    zlistx_t *doomed;           // doomed_t: superseded blobs, deleted after a delay
    int64_t started;            // monotonic ms
    bool recovered;             // jobs left running by a previous broker were handled
    char *clients_endpoint;
    char *workers_endpoint;
    void *chunk;                // BROKER_CHUNK_MAX bytes for FETCH replies
    auth_t *auth;               // CurveZMQ, with --keys; NULL otherwise
};

//  A superseded blob. Blobs are stored by content, so an identical job may
//  have uploaded the same bytes and not yet named them: deletion waits.
typedef struct {
    char hash [65];
    int64_t since;              // monotonic ms
} doomed_t;

//  The peer and request a handler is answering.
typedef struct {
    zframe_t *identity;
    int64_t req;                // -1 when the request had none
    fleet_worker_t *worker;     // workers socket: the sender, NULL before HELLO
    bool wrote;                 // the handler changed the store
    char user [64];             // the peer's public key (Z85) with --keys, else "local"
} peer_t;

typedef void (handler_fn) (broker_t *self, peer_t *peer, mt_msg_t *msg);
typedef struct {
    const char *command;
    handler_fn *handler;
} handler_t;

static void s_client_ping (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_upload (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_submit (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_status (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_list (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_stop (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_workers (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_client_fetch (broker_t *self, peer_t *peer, mt_msg_t *msg);
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

static const handler_t s_client_handlers [] = {
    { "PING", s_client_ping },
    { "UPLOAD", s_client_upload },
    { "SUBMIT", s_client_submit },
    { "STATUS", s_client_status },
    { "LIST", s_client_list },
    { "STOP", s_client_stop },
    { "WORKERS", s_client_workers },
    { "FETCH", s_client_fetch },
    { NULL, NULL }
};

static const handler_t s_worker_handlers [] = {
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

static int s_on_clients (zloop_t *loop, zsock_t *sock, void *arg);
static int s_on_workers (zloop_t *loop, zsock_t *sock, void *arg);
static int s_on_timer (zloop_t *loop, int timer_id, void *arg);
static void s_dispatch (broker_t *self);
static void s_flush (broker_t *self, bool committed);
static void s_flush_one (broker_t *self, outgoing_t *out, bool committed);
static void s_send (broker_t *self, zsock_t *sock, peer_t *peer, mt_msg_t **msg_p);
static void s_error (broker_t *self, zsock_t *sock, peer_t *peer, const char *code,
                     const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
static void s_worker_lost (broker_t *self, fleet_worker_t *worker, const char *why);
static void s_forget_old_connection (broker_t *self, peer_t *peer, const char *name,
                                     const char *instance, int64_t job, int attempt);
static void s_stalled (broker_t *self, int64_t late, int64_t dead_after);
static int s_lock_db (broker_t *self, const char *db, char **cause);
static int s_same_spec (broker_t *self, int64_t id, const mt_spec_t *spec);
static bool s_is_loopback (const char *endpoint);
static void s_doomed_free (void **item);
static int64_t s_deadline (int64_t limit_s, int64_t started_at);
static void s_release (broker_t *self, fleet_worker_t *worker);
static void s_reap (broker_t *self);
static int s_enqueue (void *queue, int64_t id, int priority, int64_t created_at,
                      int64_t not_before, const char *client);
static void s_begin (broker_t *self);
static void s_end (broker_t *self);
static void s_syncer (zsock_t *pipe, void *store);
static int s_on_synced (zloop_t *loop, zsock_t *sock, void *arg);
static void s_finish (broker_t *self);
static void s_drop (zlistx_t *list);
static void s_outgoing_free (outgoing_t *out);
static void s_move (zlistx_t *from, zlistx_t *to);
static int s_sync_reply (zsock_t *sock);

void
broker_config_init (broker_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->clients = "tcp://127.0.0.1:5555";
    config->workers = "tcp://127.0.0.1:5556";
    config->db = "mt.db";
    config->data_dir = "mt-data";
    config->heartbeat_ms = BROKER_HEARTBEAT_MS;
    config->liveness = BROKER_LIVENESS;
    config->stall_ms = BROKER_STALL_MS;
    config->max_queued = BROKER_MAX_QUEUED;
    config->max_workers = FLEET_MAX_WORKERS;
}

//  A ROUTER bound to endpoint; with auth, a CURVE server admitting the keys
//  of domain only (its handshake settings must precede the bind).
static zsock_t *
s_bind (auth_t *auth, const char *domain, const char *endpoint, char **bound, char **cause)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        mt_fail (cause, "cannot create a socket");
        return NULL;
    }
    zsock_set_maxmsgsize (sock, MT_MAX_MESSAGE);
    //  Per peer: a peer that sends faster than the broker reads is held back
    //  by ZeroMQ at this many messages, so no peer can fill the broker's memory
    zsock_set_sndhwm (sock, 100000);
    zsock_set_rcvhwm (sock, BROKER_PEER_HWM);
    zsock_set_linger (sock, 0);
    if (auth)
        auth_server (auth, sock, domain);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        mt_fail (cause, "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    *bound = zsock_last_endpoint (sock);
    return sock;
}

broker_t *
broker_new (const broker_config_t *config, char **cause)
{
    bool public = !s_is_loopback (config->clients) || !s_is_loopback (config->workers);
    if (public && !config->keys && !config->insecure) {
        mt_fail (cause, "refusing to bind a non-loopback address without keys: a job port runs"
                 " code on every worker; bind 127.0.0.1, give --keys DIR (README, Security),"
                 " or pass --insecure on a trusted network");
        return NULL;
    }
    broker_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->lock_fd = -1;
    self->chunk = malloc (BROKER_CHUNK_MAX);
    self->fleet = fleet_new ();
    self->outbox = zlistx_new ();
    self->pending = zlistx_new ();
    self->doomed = zlistx_new ();
    zlistx_set_destructor (self->doomed, s_doomed_free);
    self->started = zclock_mono ();
    if (!self->chunk || !self->fleet || !self->outbox || !self->pending || !self->doomed
    ||  (config->keys && !(self->auth = auth_new (config->keys, config->hups, cause)))
    ||  s_lock_db (self, config->db, cause)
    ||  !(self->store = store_open (config->db, cause))
    ||  !(self->queue = queue_new ())
    ||  !(self->syncer = zactor_new (s_syncer, self->store))
    ||  (store_queued_load (self->store, s_enqueue, self->queue)
         && mt_fail (cause, "%s: cannot load the queued jobs", config->db))
    ||  !(self->blobs = blob_store_new (config->data_dir, cause))
    ||  !(self->clients = s_bind (self->auth, AUTH_CLIENTS, config->clients,
                                  &self->clients_endpoint, cause))
    ||  !(self->workers = s_bind (self->auth, AUTH_WORKERS, config->workers,
                                  &self->workers_endpoint, cause))) {
        broker_destroy (&self);
        return NULL;
    }
    if (public && !config->keys)
        mt_warn ("broker: --insecure: listening beyond loopback with no authentication; anyone"
                 " who reaches these ports can submit jobs or pose as a worker");
    self->loop = zloop_new ();
    zloop_reader (self->loop, self->clients, s_on_clients, self);
    zloop_reader (self->loop, self->workers, s_on_workers, self);
    zloop_reader (self->loop, zactor_sock (self->syncer), s_on_synced, self);
    zloop_timer (self->loop, (size_t) config->heartbeat_ms, 0, s_on_timer, self);
    if (self->auth)
        auth_attach (self->auth, self->loop);
    return self;
}

void
broker_destroy (broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    broker_t *self = *self_p;
    zloop_destroy (&self->loop);
    s_finish (self);
    zsock_destroy (&self->clients);
    zsock_destroy (&self->workers);
    auth_destroy (&self->auth);
    store_destroy (&self->store);
    queue_destroy (&self->queue);
    blob_store_destroy (&self->blobs);
    if (self->outbox) {
        s_flush (self, false);
        zlistx_destroy (&self->outbox);
    }
    fleet_destroy (&self->fleet);
    if (self->pending) {
        s_drop (self->pending);
        zlistx_destroy (&self->pending);
    }
    zlistx_destroy (&self->doomed);
    free (self->clients_endpoint);
    free (self->workers_endpoint);
    free (self->chunk);
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    free (self);
    *self_p = NULL;
}

//  One broker per database: its queue and its workers' claims live in its
//  memory, so a second broker on the same file would hand out the same jobs.
//  The lock is DB.lock beside the database's real path (links resolved, so
//  two spellings of one file share it), held with flock for the life of the
//  broker (the kernel drops it when the process ends, however it ends); it
//  holds the pid, for the message the second broker prints. flock is local
//  to a host: on NFS two hosts can each take it. 0 or -1.
static int
s_lock_db (broker_t *self, const char *db, char **cause)
{
    char path [PATH_MAX + 16];
    char *real = realpath (db, NULL);
    if (!real) {
        //  A database not created yet: its folder's real path and its name
        char *copy = strdup (db), *name = strdup (db);
        char *folder = copy && name ? realpath (dirname (copy), NULL) : NULL;
        if (folder && asprintf (&real, "%s/%s", folder, basename (name)) < 0)
            real = NULL;
        free (folder);
        free (copy);
        free (name);
    }
    int len = snprintf (path, sizeof path, "%s.lock", real ? real : db);
    free (real);
    if (len >= (int) sizeof path)
        return mt_fail (cause, "%s: the path is too long", db);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd < 0) {
        mt_fail (cause, "%s: cannot create the lock file: %s", path, strerror (errno));
        return -1;
    }
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB)) {
        char pid [32] = "";
        ssize_t n = pread (self->lock_fd, pid, sizeof pid - 1, 0);
        pid [n > 0 ? n : 0] = 0;
        pid [strcspn (pid, "\n")] = 0;
        mt_fail (cause, "%s: another mtbroker%s%s%s uses this database (it holds %s); stop it"
                 " or give this one another --db", db, *pid ? " (pid " : "", pid, *pid ? ")" : "",
                 path);
        return -1;
    }
    char pid [32];
    len = snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
    if (ftruncate (self->lock_fd, 0) || pwrite (self->lock_fd, pid, (size_t) len, 0) != len)
        mt_warn ("broker: %s: cannot write the pid: %s", path, strerror (errno));
    return 0;
}

int
broker_run (broker_t *self)
{
    mt_info ("broker: clients on %s, workers on %s, database %s", self->clients_endpoint,
             self->workers_endpoint, self->config.db);
    //  A SIGHUP (reload the keys) also interrupts the poll and ends
    //  zloop_start with 0; only SIGINT and SIGTERM (zsys_interrupted) stop us
    errno = 0;
    while (zloop_start (self->loop) == 0 && !zsys_interrupted && errno == EINTR) {
        if (self->auth)
            auth_refresh (self->auth);
        errno = 0;
    }
    mt_info ("broker: shutting down");
    return self->fatal ? 1 : 0;
}

struct store_t *broker_store (broker_t *self) { return self->store; }
const char *broker_clients_endpoint (broker_t *self) { return self->clients_endpoint; }
const char *broker_workers_endpoint (broker_t *self) { return self->workers_endpoint; }

static bool
s_is_loopback (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    return strncmp (endpoint, "tcp://127.", 10) == 0 || strncmp (endpoint, "tcp://localhost:", 16) == 0
        || strncmp (endpoint, "tcp://[::1]:", 12) == 0;
}

//  Handle one message from sock. Returns false when none was waiting.
static bool
s_handle_one (broker_t *self, zsock_t *sock, const handler_t *table, bool workers)
{
    //  A non-blocking read of the frames straight from ZeroMQ (asking
    //  ZMQ_EVENTS first costs a poll per call, czmq frames an allocation each)
    mt_frames_t frames;
    if (mt_frames_recv (&frames, zsock_resolve (sock)) <= 0)
        return false;
    //  The connection's key, from the handshake: a key removed since then
    //  has its messages dropped, as a new connection's handshake would be
    const char *user = self->auth && frames.count > 1
                     ? zmq_msg_gets (&frames.part [1], "User-Id") : NULL;
    if (self->auth && !auth_admits (self->auth, workers ? AUTH_WORKERS : AUTH_CLIENTS, user)) {
        mt_frames_close (&frames);
        return true;
    }
    peer_t peer = { .req = -1 };
    peer.identity = zframe_new (mt_frames_data (&frames, 0), mt_frames_size (&frames, 0));
    mt_strlcpy (peer.user, user ? user : "local", sizeof peer.user);
    if (workers && peer.identity) {
        peer.worker = fleet_find (self->fleet, peer.identity);
        if (peer.worker)
            peer.worker->last_seen = zclock_mono ();
    }
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *msg = mt_frames_decode (&frames, 1, &code, &cause);
    if (!msg)
        s_error (self, sock, &peer, code ? code : MT_ERR_BAD_MESSAGE, "%s",
                 cause ? cause : "empty message");
    else {
        mt_msg_opt_int (msg, "req", 0, INT64_C (1) << 53, &peer.req, NULL);
        const handler_t *h = table;
        while (h->command && !mt_msg_is (msg, h->command))
            h++;
        if (h->handler)
            h->handler (self, &peer, msg);
        else
            s_error (self, sock, &peer, MT_ERR_BAD_COMMAND, "unknown command %s on the %s"
                     " socket", mt_msg_command (msg), workers ? "workers" : "clients");
    }
    free (cause);
    mt_msg_destroy (&msg);
    zframe_destroy (&peer.identity);
    mt_frames_close (&frames);
    return true;
}

//  One batch: up to BROKER_BATCH messages from both sockets in one
//  transaction, then dispatch, then commit, then the replies. A reply never
//  leaves before its commit, and one commit serves every peer in the batch.
static void
s_batch (broker_t *self)
{
    s_begin (self);
    //  A socket found empty is not asked again in this batch: each empty
    //  read costs ZeroMQ two system calls
    bool clients = true, workers = true;
    for (int n = 0; n < BROKER_BATCH && (clients || workers); n++) {
        if (clients)
            clients = s_handle_one (self, self->clients, s_client_handlers, false);
        if (workers)
            workers = s_handle_one (self, self->workers, s_worker_handlers, true);
    }
    s_dispatch (self);
    s_end (self);
}

//  A batch's transaction covers the store and the queue in memory alike.
//  While a sync is in flight the transaction stays open, and the batches
//  that arrive meanwhile commit together when it ends (group commit).
static void
s_begin (broker_t *self)
{
    if (store_in_transaction (self->store))
        return;
    if (store_begin (self->store))
        mt_error ("broker: cannot begin a transaction; writes will fail");
    queue_begin (self->queue);
}

//  Commit, unless a sync is in flight. A commit that wrote is made durable
//  by the sync thread before its replies leave; one that wrote nothing
//  replies at once; when the commit fails the queue is put back as it was
//  and writers hear a storage error.
static void
s_end (broker_t *self)
{
    if (self->syncing)
        return;
    bool wrote = store_dirty (self->store);
    bool committed = store_commit (self->store) == 0;
    if (committed)
        queue_commit (self->queue);
    else
        queue_rollback (self->queue);
    if (committed && wrote) {
        zstr_send (self->syncer, "SYNC");
        self->syncing = true;
        s_move (self->outbox, self->pending);
    }
    else
        s_flush (self, committed);
}

//  The sync thread: one fdatasync of the write-ahead log per request,
//  answered "SYNCED errno" (0 when the commits are durable). It takes no
//  signal (SIGHUP reloads keys, SIGTERM stops the reactor), so a signal can
//  never cut its wait short.
static void
s_syncer (zsock_t *pipe, void *store)
{
    sigset_t all;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, NULL);
    zsock_signal (pipe, 0);
    char *request;
    while ((request = zstr_recv (pipe)) && strcmp (request, "SYNC") == 0) {
        zstr_sendf (pipe, "SYNCED %d", store_sync (store));
        zstr_free (&request);
    }
    zstr_free (&request);
}

//  Read the sync thread's answer: the errno it carries; EIO for anything
//  else, such as the note a thread leaves when it ends.
static int
s_sync_reply (zsock_t *sock)
{
    char *reply = zstr_recv (sock);
    int err;
    if (!reply || sscanf (reply, "SYNCED %d", &err) != 1)
        err = EIO;
    zstr_free (&reply);
    return err;
}

//  Move every message from one list to the end of another, in order.
static void
s_move (zlistx_t *from, zlistx_t *to)
{
    outgoing_t *out;
    while ((out = zlistx_first (from))) {
        zlistx_detach_cur (from);
        zlistx_add_end (to, out);
    }
}

//  A sync ended: the replies it covers leave, and what gathered meanwhile
//  commits now.
static int
s_on_synced (zloop_t *loop, zsock_t *sock, void *arg)
{
    broker_t *self = arg;
    int err = s_sync_reply (sock);
    self->syncing = false;
    if (err) {
        //  What was committed may or may not be on disk; nobody has been told
        //  of it, so stopping here keeps every acknowledgement true
        mt_error ("broker: cannot make the database durable (fdatasync of %s-wal: %s);"
                  " stopping without acknowledging the last commits", self->config.db,
                  strerror (err));
        self->fatal = true;
        return -1;
    }
    s_move (self->pending, self->outbox);
    s_flush (self, true);
    if (store_in_transaction (self->store))
        s_end (self);
    return 0;
}

static void
s_outgoing_free (outgoing_t *out)
{
    mt_msg_destroy (&out->msg);
    free (out);
}

static void
s_drop (zlistx_t *list)
{
    outgoing_t *out;
    while ((out = zlistx_first (list))) {
        zlistx_detach_cur (list);
        s_outgoing_free (out);
    }
}

//  At exit: commit what gathered, make it durable and send what can be sent.
static void
s_finish (broker_t *self)
{
    if (!self->syncer)
        return;
    if (self->syncing) {
        self->syncing = false;
        if (s_sync_reply (zactor_sock (self->syncer)) != 0)
            self->fatal = true;
    }
    zactor_destroy (&self->syncer);
    if (self->fatal) {
        //  Nothing more is said: a reply could speak of what is not on disk
        store_rollback (self->store);
        s_drop (self->outbox);
        s_drop (self->pending);
        return;
    }
    bool committed = !store_in_transaction (self->store) || store_commit (self->store) == 0;
    if (committed && store_sync (self->store) == 0) {
        s_move (self->pending, self->outbox);
        s_flush (self, true);
    }
}

static int
s_enqueue (void *queue, int64_t id, int priority, int64_t created_at, int64_t not_before,
           const char *client)
{
    return queue_add (queue, id, priority, created_at, not_before, client);
}

static int
s_on_clients (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_batch ((broker_t *) arg);
    return 0;
}

static int
s_on_workers (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_batch ((broker_t *) arg);
    return 0;
}

//  Queue a message for after the commit.
static void
s_send (broker_t *self, zsock_t *sock, peer_t *peer, mt_msg_t **msg_p)
{
    mt_msg_t *msg = *msg_p;
    *msg_p = NULL;
    if (peer->req >= 0)
        mt_msg_add_int (msg, "req", peer->req);
    outgoing_t *out = calloc (1, sizeof *out);
    assert (out);
    out->sock = sock;
    out->msg = msg;
    out->identity_size = zframe_size (peer->identity);
    assert (out->identity_size <= sizeof out->identity);
    memcpy (out->identity, zframe_data (peer->identity), out->identity_size);
    out->needs_commit = peer->wrote;
    out->req = peer->req;
    zlistx_add_end (self->outbox, out);
}

static void
s_error (broker_t *self, zsock_t *sock, peer_t *peer, const char *code, const char *fmt, ...)
{
    char text [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    mt_debug ("broker: %s: %s", code, text);
    if (!peer->identity)
        return;
    mt_msg_t *msg = mt_msg_error (code, text);
    s_send (self, sock, peer, &msg);
}

//  Send everything queued. When the commit failed, clients hear a storage
//  error instead of their reply and workers' assignments are undone.
static void
s_flush (broker_t *self, bool committed)
{
    //  Workers' messages first: a worker waits for its next ASSIGN, while a
    //  client keeps many requests in flight. Each peer's messages keep
    //  their order (a peer talks on one socket).
    outgoing_t *out;
    for (out = zlistx_first (self->outbox); out; out = zlistx_next (self->outbox))
        if (out->sock == self->workers) {
            zlistx_detach_cur (self->outbox);
            s_flush_one (self, out, committed);
        }
    while ((out = zlistx_first (self->outbox))) {
        zlistx_detach_cur (self->outbox);
        s_flush_one (self, out, committed);
    }
}

//  Send one message taken off the outbox, and free it. When the commit
//  failed, a write's reply becomes a storage error and an ASSIGN is undone.
static void
s_flush_one (broker_t *self, outgoing_t *out, bool committed)
{
    if (!committed && out->needs_commit) {
        mt_msg_destroy (&out->msg);
        out->msg = mt_msg_error (MT_ERR_STORAGE, "the broker could not write its database"
                                 " (disk full or I/O error); nothing was changed: retry later");
        if (out->req >= 0)
            mt_msg_add_int (out->msg, "req", out->req);
    }
    if (!committed && out->assigned_job && !out->needs_commit) {
        fleet_worker_t *worker = fleet_find_job (self->fleet, out->assigned_job);
        if (worker)
            s_release (self, worker);
    }
    else
        mt_msg_send_to (out->msg, zsock_resolve (out->sock), out->identity, out->identity_size);
    s_outgoing_free (out);
}

//  --- Clients -------------------------------------------------------------

static void
s_client_ping (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    mt_msg_t *reply = mt_msg_new ("PONG");
    json_object_set_new (mt_msg_body (reply), "version", json_string (MT_VERSION));
    json_object_set_new (mt_msg_body (reply), "protocol", json_string (MT_PROTOCOL));
    s_send (self, self->clients, peer, &reply);
}

//  UPLOAD, on either socket: one chunk of a blob, in order.
static void
s_upload (broker_t *self, zsock_t *sock, peer_t *peer, mt_msg_t *msg)
{
    const char *hash;
    int64_t size, offset;
    bool last;
    char *cause = NULL;
    if (mt_msg_get_str (msg, "hash", 64, &hash, &cause)
    ||  mt_msg_get_int (msg, "size", 0, BLOB_MAX_SIZE, &size, &cause)
    ||  mt_msg_get_int (msg, "offset", 0, BLOB_MAX_SIZE, &offset, &cause)
    ||  mt_msg_get_bool (msg, "last", &last, &cause)) {
        s_error (self, sock, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    size_t len;
    const void *data = mt_msg_payload (msg, &len);
    bool complete;
    int64_t next;
    if (blob_store_write (self->blobs, hash, size, offset, data, len, &complete, &next, &cause)) {
        static const char *codes [] = {
            [BLOB_ERR_REQUEST] = MT_ERR_BAD_MESSAGE, [BLOB_ERR_HASH] = MT_ERR_BAD_HASH,
            [BLOB_ERR_DISK] = MT_ERR_STORAGE, [BLOB_ERR_BUSY] = MT_ERR_TOO_LARGE
        };
        s_error (self, sock, peer, codes [blob_store_error (self->blobs)], "%s", cause);
        free (cause);
        return;
    }
    if (complete && offset + (int64_t) len == size && len > 0)
        mt_debug ("broker: stored blob %.12s (%lld bytes)", hash, (long long) size);
    mt_msg_t *reply = mt_msg_new ("UPLOADED");
    json_object_set_new (mt_msg_body (reply), "hash", json_string (hash));
    json_object_set_new (mt_msg_body (reply), "offset", json_integer (next));
    json_object_set_new (mt_msg_body (reply), "complete", json_boolean (complete));
    s_send (self, sock, peer, &reply);
}

static void
s_client_upload (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    s_upload (self, self->clients, peer, msg);
}

//  Read a spec from the body's "spec" map; validated. Returns 0 or -1 (answered).
static int
s_read_spec (broker_t *self, peer_t *peer, mt_msg_t *msg, mt_spec_t *spec)
{
    json_t *value = json_object_get (mt_msg_body (msg), "spec");
    if (!json_is_object (value)) {
        s_error (self, self->clients, peer, MT_ERR_BAD_MESSAGE, "SUBMIT: field 'spec' must be a map");
        return -1;
    }
    char *cause = NULL;
    if (mt_spec_from_value (spec, value, &cause)) {
        s_error (self, self->clients, peer, MT_ERR_BAD_SPEC, "bad spec: %s", cause ? cause : "?");
        free (cause);
        return -1;
    }
    const char *missing = NULL;
    if (spec->data_hash [0] && !blob_store_has (self->blobs, spec->data_hash, NULL))
        missing = spec->data_hash;
    else
    if (spec->init_hash [0] && !blob_store_has (self->blobs, spec->init_hash, NULL))
        missing = spec->init_hash;
    if (missing) {
        s_error (self, self->clients, peer, MT_ERR_NOT_FOUND, "blob %.12s was not uploaded;"
                 " send it with UPLOAD first", missing);
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
        s_error (self, self->clients, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    int64_t queued = queue_count (self->queue, peer->user);
    if (queued >= self->config.max_queued) {
        s_error (self, self->clients, peer, MT_ERR_TOO_LARGE, "you have %lld jobs queued, the"
                 " limit per client (mtbroker --max-queued); wait for some to start",
                 (long long) queued);
        return;
    }
    mt_spec_t spec;
    if (s_read_spec (self, peer, msg, &spec))
        return;
    bool existing;
    int64_t now = zclock_time ();
    int64_t id = store_job_insert (self->store, &spec, key, peer->user, now, &existing);
    if (id > 0 && !existing && queue_add (self->queue, id, spec.priority, now, 0, peer->user))
        id = -1;
    int same = id > 0 && existing ? s_same_spec (self, id, &spec) : 1;
    mt_spec_clear (&spec);
    peer->wrote = true;
    if (same == 0) {
        s_error (self, self->clients, peer, MT_ERR_KEY_CONFLICT, "key '%s' names job %lld, which"
                 " was submitted with another spec; use a new key for a new job", key,
                 (long long) id);
        return;
    }
    if (same < 0)
        id = -1;
    if (id < 0) {
        s_error (self, self->clients, peer, MT_ERR_STORAGE, "the broker could not record the"
                 " job (disk full or I/O error); retry later");
        return;
    }
    if (!existing)
        mt_info ("broker: job %lld queued", (long long) id);
    //  The hot messages are packed as they are built, without a JSON tree
    mt_msg_t *reply = mt_msg_new ("SUBMITTED");
    mt_msg_add_int (reply, "job", id);
    mt_msg_add_bool (reply, "existing", existing);
    s_send (self, self->clients, peer, &reply);
}

//  Whether job id was submitted with the same spec, as a SUBMIT repeated
//  under its key must be: both as the spec module writes them (defaults
//  filled, numbers as numbers, fields in one order). 1 same, 0 not, -1
//  when the job cannot be read.
static int
s_same_spec (broker_t *self, int64_t id, const mt_spec_t *spec)
{
    store_job_t job;
    if (store_job_get (self->store, id, &job))
        return -1;
    mt_spec_t stored;
    char *a = NULL, *b = NULL;
    int same = mt_spec_from_json (&stored, job.spec, NULL) ? -1 : 0;
    if (same == 0 && (a = mt_spec_to_json (&stored)) && (b = mt_spec_to_json (spec)))
        same = strcmp (a, b) == 0;
    else
        same = -1;
    free (a);
    free (b);
    mt_spec_clear (&stored);
    store_job_clear (&job);
    return same;
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
    s_error (self, self->clients, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
    free (cause);
    return -1;
}

static void
s_reply_job (broker_t *self, peer_t *peer, int64_t id, bool history)
{
    json_t *job = store_job_json (self->store, id, history);
    if (!job) {
        s_error (self, self->clients, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    if (strcmp (json_string_value (json_object_get (job, "state")), "queued") == 0)
        json_object_set_new (job, "waiting", s_waiting (self, job));
    mt_msg_t *reply = mt_msg_new ("JOB");
    json_object_set_new (mt_msg_body (reply), "job", job);
    s_send (self, self->clients, peer, &reply);
}

static void
s_client_status (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t id;
    if (s_job_arg (self, peer, msg, &id) == 0)
        s_reply_job (self, peer, id, true);
}

static void
s_client_list (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    const char *state = NULL;
    job_state_t parsed;
    int64_t limit = 100;
    char *cause = NULL;
    if (mt_msg_opt_str (msg, "state", 16, &state, &cause)
    ||  mt_msg_opt_int (msg, "limit", 1, 10000, &limit, &cause)
    ||  (state && job_state_parse (state, &parsed)
         && mt_fail (&cause, "LIST: unknown state '%s'", state))) {
        s_error (self, self->clients, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    mt_msg_t *reply = mt_msg_new ("JOBS");
    int filter = state ? (int) parsed : -1;
    json_object_set_new (mt_msg_body (reply), "jobs", store_job_list (self->store, filter, (int) limit));
    s_send (self, self->clients, peer, &reply);
}

static void
s_send_worker (broker_t *self, fleet_worker_t *worker, const char *command, int64_t job,
               int attempt)
{
    mt_msg_t *msg = mt_msg_new (command);
    json_object_set_new (mt_msg_body (msg), "job", json_integer (job));
    json_object_set_new (mt_msg_body (msg), "attempt", json_integer (attempt));
    peer_t peer = { .identity = worker->identity, .req = -1 };
    s_send (self, self->workers, &peer, &msg);
}

static void
s_client_stop (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t id;
    store_job_t job;
    if (s_job_arg (self, peer, msg, &id))
        return;
    if (store_job_get (self->store, id, &job)) {
        s_error (self, self->clients, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    int rc = 0;
    peer->wrote = true;
    if (job.state == JOB_QUEUED) {
        store_end_t end = { .state = JOB_STOPPED, .error = "stopped by request before it started",
                            .now_ms = zclock_time () };
        rc = store_job_end (self->store, id, job.attempt, &end, NULL);
        if (rc == 0)
            queue_remove (self->queue, id);
    }
    else
    if (job.state == JOB_RUNNING) {
        rc = store_job_set_state (self->store, id, JOB_STOPPING);
        fleet_worker_t *worker = fleet_find_job (self->fleet, id);
        if (worker && rc == 0) {
            s_send_worker (self, worker, "STOP", id, job.attempt);
            worker->stop_sent = zclock_mono ();
        }
    }
    else
    if (job.state != JOB_STOPPING) {
        s_error (self, self->clients, peer, MT_ERR_BAD_STATE, "job %lld already %s; there is"
                 " nothing to stop", (long long) id, job_state_name (job.state));
        store_job_clear (&job);
        return;
    }
    store_job_clear (&job);
    if (rc)
        s_error (self, self->clients, peer, MT_ERR_STORAGE, "the broker could not record the stop");
    else
        s_reply_job (self, peer, id, false);
}

static void
s_client_workers (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    json_t *list = json_array ();
    int64_t now = zclock_mono ();
    for (fleet_worker_t *w = fleet_first (self->fleet); w; w = fleet_next (self->fleet))
        json_array_append_new (list, fleet_worker_json (w, now));
    mt_msg_t *reply = mt_msg_new ("WORKERS");
    json_object_set_new (mt_msg_body (reply), "workers", list);
    s_send (self, self->clients, peer, &reply);
}

//  A CHUNK reply: bytes of blob hash at offset.
static void
s_chunk (broker_t *self, zsock_t *sock, peer_t *peer, const char *hash, int64_t offset,
         int64_t length, json_t *extra)
{
    int64_t size;
    char *cause = NULL;
    size_t got = 0;
    if (!blob_store_has (self->blobs, hash, &size))
        mt_fail (&cause, "blob %.12s is not stored", hash);
    else
    if (offset > size)
        mt_fail (&cause, "offset %lld is past the end of blob %.12s (%lld bytes)",
                 (long long) offset, hash, (long long) size);
    else
        blob_store_read (self->blobs, hash, offset, self->chunk, (size_t) length, &got, &cause);
    if (cause) {
        s_error (self, sock, peer, MT_ERR_NOT_FOUND, "%s", cause);
        free (cause);
        json_decref (extra);
        return;
    }
    mt_msg_t *reply = mt_msg_new ("CHUNK");
    json_t *body = mt_msg_body (reply);
    if (extra)
        json_object_update (body, extra);
    json_decref (extra);
    json_object_set_new (body, "hash", json_string (hash));
    json_object_set_new (body, "size", json_integer (size));
    json_object_set_new (body, "offset", json_integer (offset));
    mt_msg_set_payload (reply, self->chunk, got);
    s_send (self, sock, peer, &reply);
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
        s_error (self, self->clients, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    store_job_t job;
    if (store_job_get (self->store, id, &job)) {
        s_error (self, self->clients, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    if (!job.model_hash [0])
        s_error (self, self->clients, peer, MT_ERR_BAD_STATE, "job %lld is %s and has no model%s",
                 (long long) id, job_state_name (job.state),
                 job_state_ended (job.state) ? "" : " yet");
    else {
        json_t *extra = json_object ();
        json_object_set_new (extra, "job", json_integer (id));
        s_chunk (self, self->clients, peer, job.model_hash, offset, length, extra);
    }
    store_job_clear (&job);
}

//  --- Workers -------------------------------------------------------------

static void
s_worker_error (broker_t *self, peer_t *peer, const char *code, char **cause)
{
    s_error (self, self->workers, peer, code, "%s", *cause ? *cause : code);
    free (*cause);
    *cause = NULL;
}

static void
s_welcome (broker_t *self, peer_t *peer)
{
    mt_msg_t *reply = mt_msg_new ("WELCOME");
    json_object_set_new (mt_msg_body (reply), "heartbeat_ms", json_integer (self->config.heartbeat_ms));
    json_object_set_new (mt_msg_body (reply), "liveness", json_integer (self->config.liveness));
    s_send (self, self->workers, peer, &reply);
}

//  A worker that comes back names the attempt it runs: adopt it if it is
//  still the job's current attempt, else tell the worker to drop it.
static void
s_adopt (broker_t *self, peer_t *peer, int64_t job_id, int attempt)
{
    store_job_t job;
    bool current = store_job_get (self->store, job_id, &job) == 0 && job.attempt == attempt
                && (job.state == JOB_RUNNING || job.state == JOB_STOPPING);
    fleet_worker_t *other = current ? fleet_find_job (self->fleet, job_id) : NULL;
    if (current && (!other || other == peer->worker)) {
        peer->worker->job = job_id;
        peer->worker->attempt = attempt;
        peer->worker->attempt_started_at = 0;       // the job's row knows
        memcpy (peer->worker->checkpoint, job.checkpoint_hash, sizeof peer->worker->checkpoint);
        peer->worker->deadline = s_deadline (job.time_limit_s, job.started_at);
        peer->worker->last_step = -1;
        peer->worker->step_moved = zclock_mono ();
        mt_info ("broker: worker %s still runs job %lld attempt %d: adopted",
                 peer->worker->name, (long long) job_id, attempt);
        if (job.state == JOB_STOPPING) {
            s_send_worker (self, peer->worker, "STOP", job_id, attempt);
            peer->worker->stop_sent = zclock_mono ();
        }
    }
    else {
        mt_info ("broker: worker %s runs job %lld attempt %d, which is superseded: abandon",
                 peer->worker->name, (long long) job_id, attempt);
        s_send_worker (self, peer->worker, "ABANDON", job_id, attempt);
    }
    if (job.spec)
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
    if (!*instance)
        return;                         // nothing tells it from a namesake
    fleet_worker_t *old = NULL;
    for (fleet_worker_t *w = fleet_first (self->fleet); w && !old; w = fleet_next (self->fleet))
        if (w != peer->worker && strcmp (w->instance, instance) == 0
        &&  strcmp (w->name, name) == 0 && strcmp (w->user, peer->user) == 0)
            old = w;
    if (!old)
        return;
    if (old->job && (old->job != job || old->attempt != attempt)) {
        peer->wrote = true;             // the attempt's end is written
        s_worker_lost (self, old, "reconnected without its job");
    }
    else {
        mt_info ("broker: worker %s reconnected; its old connection is forgotten", name);
        fleet_remove (self->fleet, old);
    }
}

static void
s_worker_hello (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    const char *name, *host, *version, *instance = "";
    int64_t pid, cores, threads, job = 0, attempt = 0;
    char *cause = NULL;
    if (mt_msg_get_str (msg, "name", 128, &name, &cause)
    ||  (!*name && mt_fail (&cause, "HELLO: field 'name' must not be empty"))
    ||  mt_msg_get_str (msg, "host", 128, &host, &cause)
    ||  mt_msg_get_str (msg, "version", 32, &version, &cause)
    ||  mt_msg_get_int (msg, "pid", 0, INT32_MAX, &pid, &cause)
    ||  mt_msg_get_int (msg, "cores", 0, 1 << 20, &cores, &cause)
    ||  mt_msg_get_int (msg, "threads", 0, 1 << 20, &threads, &cause)
    ||  mt_msg_opt_int (msg, "job", 0, INT64_MAX, &job, &cause)
    ||  mt_msg_opt_int (msg, "attempt", 0, INT32_MAX, &attempt, &cause)
    ||  mt_msg_opt_str (msg, "instance", 32, &instance, &cause)) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    s_forget_old_connection (self, peer, name, instance, job, (int) attempt);
    if (!peer->worker && fleet_size (self->fleet) >= (size_t) self->config.max_workers) {
        s_error (self, self->workers, peer, MT_ERR_TOO_LARGE, "the broker has %d workers, its"
                 " limit (mtbroker --max-workers)", self->config.max_workers);
        return;
    }
    if (!peer->worker && !(peer->worker = fleet_add (self->fleet, peer->identity))) {
        s_error (self, self->workers, peer, MT_ERR_TOO_LARGE, "the broker cannot add a worker"
                 " (out of memory)");
        return;
    }
    fleet_worker_t *w = peer->worker;
    if (strcmp (w->name, name) != 0)
        w->attempt_started_at = 0;      // its attempt's row names it as it was
    snprintf (w->name, sizeof w->name, "%s", name);
    snprintf (w->instance, sizeof w->instance, "%s", instance);
    snprintf (w->user, sizeof w->user, "%s", peer->user);
    snprintf (w->host, sizeof w->host, "%s", host);
    snprintf (w->version, sizeof w->version, "%s", version);
    w->pid = pid;
    w->cores = (int) cores;
    w->threads = (int) threads;
    mt_info ("broker: worker %s connected (%d threads, version %s)", w->name, w->threads, version);
    s_welcome (self, peer);
    if (job > 0 && w->job != job) {
        peer->wrote = true;
        s_adopt (self, peer, job, (int) attempt);
    }
}

//  A worker message about (job, attempt): true when it is the job's current
//  attempt on this worker. Otherwise the worker is told to abandon it.
static bool
s_fenced_in (broker_t *self, peer_t *peer, mt_msg_t *msg, int64_t *job, int *attempt)
{
    char *cause = NULL;
    int64_t a;
    if (!peer->worker) {
        s_error (self, self->workers, peer, "unknown_peer", "send HELLO first");
        return false;
    }
    if (mt_msg_get_int (msg, "job", 1, INT64_MAX, job, &cause)
    ||  mt_msg_get_int (msg, "attempt", 1, INT32_MAX, &a, &cause)) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return false;
    }
    *attempt = (int) a;
    if (peer->worker->job == *job && peer->worker->attempt == *attempt)
        return true;
    if (peer->worker->abandoned_job == *job && peer->worker->abandoned_attempt == *attempt)
        return false;
    peer->worker->abandoned_job = *job;
    peer->worker->abandoned_attempt = *attempt;
    mt_info ("broker: %s from %s for job %lld attempt %d, which it does not hold: abandon",
             mt_msg_command (msg), peer->worker->name, (long long) *job, *attempt);
    s_send_worker (self, peer->worker, "ABANDON", *job, *attempt);
    return false;
}

static void
s_worker_heartbeat (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    if (!peer->worker)
        s_error (self, self->workers, peer, "unknown_peer", "send HELLO first");
}

static void
s_worker_fetch (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    const char *hash;
    int64_t offset, length;
    char *cause = NULL;
    if (!peer->worker) {
        s_error (self, self->workers, peer, "unknown_peer", "send HELLO first");
        return;
    }
    if (mt_msg_get_str (msg, "hash", 64, &hash, &cause)
    ||  mt_msg_get_int (msg, "offset", 0, BLOB_MAX_SIZE, &offset, &cause)
    ||  mt_msg_get_int (msg, "length", 1, BROKER_CHUNK_MAX, &length, &cause))
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
    else
        s_chunk (self, self->workers, peer, hash, offset, length, NULL);
}

static void
s_worker_upload (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    if (!peer->worker)
        s_error (self, self->workers, peer, "unknown_peer", "send HELLO first");
    else
        s_upload (self, self->workers, peer, msg);
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
    peer->wrote = true;
    if (step != peer->worker->last_step) {
        peer->worker->last_step = step;
        peer->worker->step_moved = zclock_mono ();
    }
    store_job_progress (self->store, job, attempt, &p, zclock_time ());
}

static void
s_doomed_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  The latest checkpoint of the job worker runs, unless it is keep, is
//  deleted later, once no job names it.
static void
s_doom_checkpoint (broker_t *self, fleet_worker_t *worker, const char *keep)
{
    const char *hash = worker->checkpoint;
    doomed_t *doomed = calloc (1, sizeof *doomed);
    if (doomed && hash [0] && (!keep || strcmp (hash, keep) != 0)) {
        memcpy (doomed->hash, hash, 65);
        doomed->since = zclock_mono ();
        zlistx_add_end (self->doomed, doomed);
    }
    else
        free (doomed);
}

//  Delete superseded blobs that have waited BROKER_DOOM_DELAY_MS and that no
//  committed job names.
static void
s_reap (broker_t *self)
{
    int64_t now = zclock_mono ();
    doomed_t *doomed = zlistx_first (self->doomed);
    while (doomed && now - doomed->since > BROKER_DOOM_DELAY_MS) {
        if (!store_blob_in_use (self->store, doomed->hash)
        &&  blob_store_remove (self->blobs, doomed->hash) == 0)
            mt_debug ("broker: removed superseded blob %.12s", doomed->hash);
        zlistx_delete (self->doomed, zlistx_cursor (self->doomed));
        doomed = zlistx_first (self->doomed);
    }
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
    ||  (!blob_store_has (self->blobs, hash, NULL)
         && mt_fail (&cause, "checkpoint %.12s was not uploaded", hash))) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    peer->wrote = true;
    s_doom_checkpoint (self, peer->worker, hash);
    if (store_job_checkpoint (self->store, job, attempt, hash, (int) epoch) == 0)
        snprintf (peer->worker->checkpoint, sizeof peer->worker->checkpoint, "%s", hash);
}

//  The worker is free again; the job ended one way or another.
static void
s_release (broker_t *self, fleet_worker_t *worker)
{
    worker->job = 0;
    worker->attempt = 0;
    worker->attempt_started_at = 0;
    worker->stop_sent = 0;
}

//  The attempt worker runs as its attempts row will record it, when the
//  broker knows it without asking the store; else NULL.
static const store_run_t *
s_run (const fleet_worker_t *worker, store_run_t *run)
{
    if (!worker->attempt_started_at)
        return NULL;
    mt_strlcpy (run->worker, worker->name, sizeof run->worker);
    run->started_at = worker->attempt_started_at;
    run->resumed_from_epoch = worker->resumed_from_epoch;
    return run;
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
    if (mt_msg_get_str (msg, "model_hash", 64, &hash, &cause)
    ||  (!blob_store_has (self->blobs, hash, NULL)
         && mt_fail (&cause, "model %.12s was not uploaded", hash))
    ||  (!json_is_object (metrics) && mt_fail (&cause, "DONE: field 'metrics' must be a map"))) {
        s_worker_error (self, peer, MT_ERR_BAD_MESSAGE, &cause);
        return;
    }
    char *text = mt_json_compact (metrics);
    peer->wrote = true;
    s_doom_checkpoint (self, peer->worker, NULL);
    store_run_t run;
    store_end_t end = { .state = JOB_SUCCEEDED, .outcome = "succeeded", .metrics = text,
                        .model_hash = hash, .now_ms = zclock_time (),
                        .run = s_run (peer->worker, &run) };
    store_job_end (self->store, job, attempt, &end, NULL);
    free (text);
    mt_info ("broker: job %lld succeeded on %s", (long long) job, peer->worker->name);
    s_release (self, peer->worker);
}

//  End an attempt that failed: again after a backoff when a retry can help
//  and retries remain, else for good.
static void
s_fail (broker_t *self, int64_t id, int attempt, const char *outcome, const char *reason,
        bool retryable)
{
    store_job_t job;
    if (store_job_get (self->store, id, &job))
        return;
    int64_t now = zclock_time ();
    store_end_t end = { .state = JOB_FAILED, .outcome = outcome, .error = reason, .now_ms = now };
    if (job.state == JOB_STOPPING) {
        end.state = JOB_STOPPED;
        store_job_end (self->store, id, attempt, &end, NULL);
    }
    else
    if (retryable && store_job_failures (self->store, id) < job.max_retries) {
        int64_t backoff = BROKER_BACKOFF_MS << (attempt - 1 < 6 ? attempt - 1 : 6);
        if (backoff > BROKER_BACKOFF_MAX_MS)
            backoff = BROKER_BACKOFF_MAX_MS;
        store_end_t requeue = { .state = JOB_QUEUED, .outcome = outcome,
                                .not_before_ms = now + backoff, .now_ms = now };
        if (store_job_end (self->store, id, attempt, &requeue, NULL) == 0)
            queue_add (self->queue, id, job.priority, job.created_at, now + backoff, job.client);
        mt_info ("broker: job %lld attempt %d: %s (%s); retry in %lld ms", (long long) id,
                 attempt, outcome, reason, (long long) backoff);
    }
    else {
        store_job_end (self->store, id, attempt, &end, NULL);
        mt_info ("broker: job %lld failed: %s", (long long) id, reason);
    }
    store_job_clear (&job);
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
    peer->wrote = true;
    s_fail (self, job, attempt, retryable ? "crashed" : "failed", reason, retryable);
    s_release (self, peer->worker);
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
    peer->wrote = true;
    store_end_t end = { .state = JOB_STOPPED, .outcome = "stopped", .error = "stopped by request",
                        .now_ms = zclock_time () };
    store_job_end (self->store, job, attempt, &end, NULL);
    mt_info ("broker: job %lld stopped", (long long) job);
    s_release (self, peer->worker);
}

//  A draining worker hands its job back: queued again at once, resuming from
//  the checkpoint it just recorded; this costs no retry.
static void
s_worker_release (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t job;
    int attempt;
    if (!s_fenced_in (self, peer, msg, &job, &attempt))
        return;
    peer->wrote = true;
    store_job_t record;
    if (store_job_get (self->store, job, &record) == 0) {
        store_end_t end = { .state = JOB_STOPPED, .outcome = "stopped",
                            .error = "stopped by request", .now_ms = zclock_time () };
        store_end_t requeue = { .state = JOB_QUEUED, .outcome = "drained",
                                .now_ms = zclock_time () };
        if (record.state == JOB_STOPPING)
            store_job_end (self->store, job, attempt, &end, NULL);
        else
        if (store_job_end (self->store, job, attempt, &requeue, NULL) == 0)
            queue_add (self->queue, job, record.priority, record.created_at, 0, record.client);
        store_job_clear (&record);
    }
    mt_info ("broker: worker %s handed back job %lld", peer->worker->name, (long long) job);
    s_release (self, peer->worker);
}

//  A worker leaving: forget it now rather than after the heartbeat timeout.
static void
s_worker_bye (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    if (!peer->worker)
        return;
    peer->wrote = true;
    mt_info ("broker: worker %s left", peer->worker->name);
    s_worker_lost (self, peer->worker, "left (BYE)");
    peer->worker = NULL;
}

//  When a job with a time limit of limit_s (0 = none) that started at
//  started_at (0 = now) runs out of time.
static int64_t
s_deadline (int64_t limit_s, int64_t started_at)
{
    return limit_s > 0 ? (started_at ? started_at : zclock_time ()) + limit_s * 1000 : 0;
}

//  --- Dispatch and housekeeping ---------------------------------------------

//  Build the ASSIGN for a job just started on worker. The spec travels as
//  the JSON text stored at submit, parsed by the worker; the two fields the
//  broker acts on are columns of the job's row.
static mt_msg_t *
s_assignment (broker_t *self, store_job_t *job, int attempt, int64_t *deadline)
{
    mt_msg_t *msg = mt_msg_new ("ASSIGN");
    mt_msg_add_int (msg, "job", job->id);
    mt_msg_add_int (msg, "attempt", attempt);
    mt_msg_add_str (msg, "spec", job->spec, strlen (job->spec));
    //  job is the row after the start: started_at is the first start's time
    *deadline = s_deadline (job->time_limit_s, job->started_at);
    int64_t size;
    if (job->data_hash [0] && blob_store_has (self->blobs, job->data_hash, &size)) {
        mt_msg_add_str (msg, "data_hash", job->data_hash, strlen (job->data_hash));
        mt_msg_add_int (msg, "data_size", size);
    }
    if (job->checkpoint_hash [0] && blob_store_has (self->blobs, job->checkpoint_hash, &size)) {
        mt_msg_add_str (msg, "resume_hash", job->checkpoint_hash, strlen (job->checkpoint_hash));
        mt_msg_add_int (msg, "resume_size", size);
    }
    if (job->init_hash [0] && blob_store_has (self->blobs, job->init_hash, &size))
        mt_msg_add_int (msg, "init_size", size);
    return msg;
}

//  One job per idle worker, highest priority first, then oldest; no prefetch.
static void
s_dispatch (broker_t *self)
{
    int64_t now = zclock_time ();
    fleet_worker_t *worker;
    while ((worker = fleet_idle (self->fleet)) && worker->name [0]) {
        int64_t id = queue_next (self->queue, now);
        if (id == 0)
            break;
        store_job_t job;
        int attempt = store_job_take (self->store, id, worker->name, now, &job);
        //  Out of the queue either way: a job the store would not start is
        //  not startable (a failed write fails the batch, which puts it back)
        queue_remove (self->queue, id);
        if (attempt < 0)
            break;
        memcpy (worker->checkpoint, job.checkpoint_hash, sizeof worker->checkpoint);
        mt_msg_t *msg = s_assignment (self, &job, attempt, &worker->deadline);
        store_job_clear (&job);
        worker->job = id;
        worker->attempt = attempt;
        worker->attempt_started_at = now;
        worker->resumed_from_epoch = job.checkpoint_epoch;
        worker->stop_sent = 0;
        worker->last_step = -1;
        worker->step_moved = zclock_mono ();
        peer_t peer = { .identity = worker->identity, .req = -1 };
        s_send (self, self->workers, &peer, &msg);
        outgoing_t *out = zlistx_last (self->outbox);
        out->assigned_job = id;
        mt_info ("broker: job %lld attempt %d -> %s", (long long) id, attempt, worker->name);
    }
}

//  This tick came late ms after it was due: the reactor did not run (the
//  process was stopped or starved), and what the workers sent meanwhile
//  waits unread (timers run before readers). Nobody is judged on that gap:
//  every worker's clocks, and the grace before jobs left running by a
//  previous broker are requeued, move on by it.
static void
s_stalled (broker_t *self, int64_t late, int64_t dead_after)
{
    if (late > dead_after)
        mt_warn ("broker: the broker did not run for %lld ms (stopped or starved); no worker"
                 " is judged on that gap", (long long) late);
    for (fleet_worker_t *w = fleet_first (self->fleet); w; w = fleet_next (self->fleet)) {
        w->last_seen += late;
        w->step_moved += late;
        if (w->stop_sent)
            w->stop_sent += late;
    }
    if (!self->recovered)
        self->started += late;
}

//  A worker is gone (why ends "its worker ..."): forget it and requeue what
//  it ran, or fail it when out of attempts.
static void
s_worker_lost (broker_t *self, fleet_worker_t *worker, const char *why)
{
    if (worker->job) {
        char text [128];
        snprintf (text, sizeof text, "its worker %s", why);
        mt_warn ("broker: worker %s %s while running job %lld", worker->name, why,
                 (long long) worker->job);
        s_fail (self, worker->job, worker->attempt, "worker_lost", text, true);
    }
    fleet_remove (self->fleet, worker);
}

//  Jobs a previous broker left running that no worker has claimed within
//  one liveness period are requeued.
static void
s_recover (broker_t *self)
{
    json_t *ids = store_jobs_active (self->store);
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        int64_t job_id = json_integer_value (id);
        if (fleet_find_job (self->fleet, job_id))
            continue;
        store_job_t job;
        if (store_job_get (self->store, job_id, &job) == 0) {
            s_fail (self, job_id, job.attempt, "worker_lost", "no worker claimed it after the"
                    " broker restarted", true);
            store_job_clear (&job);
        }
    }
    json_decref (ids);
    self->recovered = true;
}

//  Fail a running attempt for good from the broker's side and tell its
//  worker to drop it.
static void
s_end_attempt (broker_t *self, fleet_worker_t *w, const char *outcome, const char *reason)
{
    mt_warn ("broker: job %lld on %s: %s", (long long) w->job, w->name, reason);
    store_end_t end = { .state = JOB_FAILED, .outcome = outcome, .error = reason,
                        .now_ms = zclock_time () };
    store_job_end (self->store, w->job, w->attempt, &end, NULL);
    s_send_worker (self, w, "ABANDON", w->job, w->attempt);
    s_release (self, w);
}

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    broker_t *self = arg;
    int64_t now = zclock_mono ();
    int64_t dead_after = (int64_t) self->config.heartbeat_ms * self->config.liveness;
    int64_t late = self->last_tick ? now - self->last_tick - self->config.heartbeat_ms : 0;
    if (late > 0)
        s_stalled (self, late, dead_after);
    self->last_tick = now;
    s_begin (self);
    //  Lost workers are collected first: removing one moves the fleet's cursor
    zlistx_t *lost = zlistx_new ();
    for (fleet_worker_t *w = fleet_first (self->fleet); w; w = fleet_next (self->fleet)) {
        if (now - w->last_seen > dead_after)
            zlistx_add_end (lost, w);
        else
        if (w->stop_sent && now - w->stop_sent > BROKER_STOP_GRACE_MS) {
            mt_warn ("broker: worker %s did not confirm the stop of job %lld in time",
                     w->name, (long long) w->job);
            store_end_t end = { .state = JOB_STOPPED, .outcome = "stopped",
                                .error = "stopped (the worker did not confirm in time)",
                                .now_ms = zclock_time () };
            store_job_end (self->store, w->job, w->attempt, &end, NULL);
            s_send_worker (self, w, "ABANDON", w->job, w->attempt);
            s_release (self, w);
        }
        else
        if (w->job && !w->stop_sent && w->deadline && zclock_time () > w->deadline)
            s_end_attempt (self, w, "timed_out", "the job ran past its time limit (--time-limit)");
        else
        if (w->job && !w->stop_sent && self->config.stall_ms
        &&  now - w->step_moved > self->config.stall_ms)
            s_end_attempt (self, w, "stalled", "no training step for longer than the stall"
                           " timeout (mtbroker --stall-timeout): the training hung");
        else {
            mt_msg_t *msg = mt_msg_new ("HEARTBEAT");
            peer_t peer = { .identity = w->identity, .req = -1 };
            s_send (self, self->workers, &peer, &msg);
        }
    }
    for (fleet_worker_t *w = zlistx_first (lost); w; w = zlistx_next (lost)) {
        mt_warn ("broker: worker %s lost (missed heartbeats)", w->name);
        s_worker_lost (self, w, "stopped answering heartbeats");
    }
    zlistx_destroy (&lost);
    if (!self->recovered && now - self->started > dead_after)
        s_recover (self);
    blob_store_expire (self->blobs, BROKER_UPLOAD_IDLE_MS);
    s_reap (self);
    s_dispatch (self);
    s_end (self);
    return 0;
}
