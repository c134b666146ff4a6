/*  broker - the reactor: reads both sockets, dispatches to handlers, commits, then sends  */
//  A turn of the reactor reads up to BROKER_BATCH messages into one
//  transaction that spans the store, the queue (jobs) and the fleet, hands
//  each to its handler, starts queued jobs on idle workers, and commits.
//  Handlers never send or log a change themselves: what they produce waits
//  in the outbox (messages, the log lines that announce changes, blobs to
//  delete), and the outbox is let go only by the commit's outcome:
//  - committed and durable (after the sync thread's fdatasync): all of it;
//  - commit failed: the store, queue and fleet roll back together; replies
//    composed after the transaction's first write become ERROR storage,
//    messages to workers composed then are dropped, the announcements are
//    dropped, and every worker whose message tried to write hears ERROR
//    storage, so it sends that message again.
//  Whether a message waits for a write is decided here, when it is queued,
//  from the store itself; no handler can forget to say so.
#include "auth.h"
#include "broker.h"
#include "fleet.h"
#include "jobs.h"
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

//  What a batch produced, let go by its commit's outcome.
typedef enum {
    OUT_MESSAGE,                // a message to a peer
    OUT_NOTE,                   // a log line announcing a change
    OUT_DOOM                    // a superseded blob, deleted later
} out_kind_t;

typedef struct {
    out_kind_t kind;
    zsock_t *sock;              // OUT_MESSAGE: the socket, and the peer's routing id
    size_t identity_size;
    byte identity [FLEET_MAX_IDENTITY];
    mt_msg_t *msg;              //   encoded as it leaves
    int64_t req;                //   the client's req, for an ERROR storage in its place
    bool after_write;           //   queued after the transaction's first write
    mt_log_level_t level;       // OUT_NOTE
    char *text;                 // OUT_NOTE: the line; OUT_DOOM: the hash
} outgoing_t;

//  A worker whose message wrote: its routing id.
typedef struct {
    size_t size;
    byte identity [FLEET_MAX_IDENTITY];
} writer_t;

struct broker_t {
    broker_config_t config;
    zsock_t *clients;
    zsock_t *workers;
    zloop_t *loop;
    store_t *store;
    jobs_t *jobs;               // the job's life, and the queue in memory
    blob_store_t *blobs;
    fleet_t *fleet;
    zlistx_t *outbox;           // outgoing_t of the open transaction
    zlistx_t *pending;          // outgoing_t committed, let go once the sync in flight ends
    zlistx_t *durable;          // outgoing_t of the sync that just ended, being let go
    writer_t *writers;          // workers whose messages wrote in the open transaction,
    size_t nwriters;            //   told ERROR storage if it fails
    size_t writers_cap;
    zactor_t *syncer;           // the sync thread: makes commits durable
    bool syncing;               // a sync is in flight; batches meanwhile join the next commit
    int64_t last_tick;          // monotonic ms of the last liveness check
    int lock_fd;                // DB.lock, held (flock) while the broker runs; -1 when not
    bool fatal;                 // the database could not be made durable: stop
    zlistx_t *doomed;           // doomed_t: superseded blobs, deleted after a delay
    int64_t started;            // monotonic ms
    bool recovered;             // jobs left running by a previous broker were handled
    bool recovering;            //   in the open transaction
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
    zsock_t *sock;              // the socket it spoke on
    const void *identity;       // its routing id (borrowed from the frames)
    size_t identity_size;
    int64_t req;                // -1 when the request had none
    fleet_worker_t *worker;     // workers socket: the sender, NULL before HELLO
    char user [64];             // the peer's public key (Z85) with --keys, else "local"
} peer_t;

typedef void (handler_fn) (broker_t *self, peer_t *peer, mt_msg_t *msg);
typedef struct {
    const char *command;
    handler_fn *handler;
} handler_t;

static void s_client_ping (broker_t *self, peer_t *peer, mt_msg_t *msg);
static void s_upload (broker_t *self, peer_t *peer, mt_msg_t *msg);
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
    { "UPLOAD", s_upload },
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
static int s_on_synced (zloop_t *loop, zsock_t *sock, void *arg);
static void s_begin (broker_t *self);
static void s_end (broker_t *self);
static bool s_commit (broker_t *self, bool *wrote);
static void s_sync (broker_t *self);
static void s_flush (broker_t *self, bool committed);
static void s_flush_list (broker_t *self, zlistx_t *list, bool committed);
static void s_flush_one (broker_t *self, outgoing_t *out, bool committed);
static void s_send (broker_t *self, peer_t *peer, mt_msg_t **msg_p);
static void s_writer (broker_t *self, peer_t *peer);
static void s_tell_writers (broker_t *self);
static void s_tell (broker_t *self, fleet_worker_t *worker, const char *command, int64_t job,
                    int attempt);
static void s_error (broker_t *self, peer_t *peer, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static void s_announce (broker_t *self, mt_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void s_doom (broker_t *self, const char *hash);
static void s_apply (broker_t *self, fleet_worker_t *worker, int64_t job, int attempt,
                     job_event_t event, const job_report_t *report);
static void s_worker_lost (broker_t *self, fleet_worker_t *worker, const char *why);
static void s_dispatch (broker_t *self);
static void s_reap (broker_t *self);
static int s_lock_db (broker_t *self, const char *db, char **cause);
static bool s_is_loopback (const char *endpoint);
static int64_t s_deadline (int64_t time_limit_s, int64_t started_at);
static void s_syncer (zsock_t *pipe, void *store);
static int s_sync_reply (zsock_t *sock);
static void s_finish (broker_t *self);
static void s_drop (zlistx_t *list);
static void s_move (zlistx_t *from, zlistx_t *to);
static void s_outgoing_free (void **item);
static void s_doomed_free (void **item);

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

static zlistx_t *
s_outlist (void)
{
    zlistx_t *list = zlistx_new ();
    if (list)
        zlistx_set_destructor (list, s_outgoing_free);
    return list;
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
    self->outbox = s_outlist ();
    self->pending = s_outlist ();
    self->durable = s_outlist ();
    self->doomed = zlistx_new ();
    if (self->doomed)
        zlistx_set_destructor (self->doomed, s_doomed_free);
    self->started = zclock_mono ();
    if (!self->chunk || !self->fleet || !self->outbox || !self->pending || !self->durable
    ||  !self->doomed
    ||  (config->keys && !(self->auth = auth_new (config->keys, config->hups, cause)))
    ||  s_lock_db (self, config->db, cause)
    ||  !(self->store = store_open (config->db, cause))
    ||  !(self->jobs = jobs_new (self->store, cause))
    ||  !(self->syncer = zactor_new (s_syncer, self->store))
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
    jobs_destroy (&self->jobs);
    store_destroy (&self->store);
    blob_store_destroy (&self->blobs);
    fleet_destroy (&self->fleet);
    zlistx_destroy (&self->outbox);
    zlistx_destroy (&self->pending);
    zlistx_destroy (&self->durable);
    free (self->writers);
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

//  --- The reactor: read, dispatch, commit, send --------------------------------

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
    peer_t peer = { .sock = sock, .req = -1 };
    peer.identity = mt_frames_data (&frames, 0);
    peer.identity_size = mt_frames_size (&frames, 0);
    mt_strlcpy (peer.user, user ? user : "local", sizeof peer.user);
    if (workers && (peer.worker = fleet_find (self->fleet, peer.identity, peer.identity_size)))
        fleet_worker_seen (peer.worker, zclock_mono ());
    uint64_t writes = store_writes (self->store);
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *msg = mt_frames_decode (&frames, 1, &code, &cause);
    if (!msg)
        s_error (self, &peer, code ? code : MT_ERR_BAD_MESSAGE, "%s", cause ? cause : "empty message");
    else {
        mt_msg_opt_int (msg, "req", 0, INT64_C (1) << 53, &peer.req, NULL);
        const handler_t *h = table;
        while (h->command && !mt_msg_is (msg, h->command))
            h++;
        if (h->handler)
            h->handler (self, &peer, msg);
        else
            s_error (self, &peer, MT_ERR_BAD_COMMAND, "unknown command %s on the %s socket",
                     mt_msg_command (msg), workers ? "workers" : "clients");
    }
    //  A worker whose message wrote (or tried to) hears of a failed commit,
    //  so it sends that message again
    if (workers && store_writes (self->store) != writes)
        s_writer (self, &peer);
    free (cause);
    mt_msg_destroy (&msg);
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

//  A batch's transaction covers the store, the queue and the fleet alike.
//  While a sync is in flight the transaction stays open, and the batches
//  that arrive meanwhile commit together when it ends (group commit).
static void
s_begin (broker_t *self)
{
    if (store_in_transaction (self->store))
        return;
    if (store_begin (self->store))
        mt_error ("broker: cannot begin a transaction; writes will fail");
    jobs_begin (self->jobs);
    fleet_begin (self->fleet);
}

//  Commit, unless a sync is in flight. A commit that wrote is made durable
//  by the sync thread before its outbox is let go; one that wrote nothing
//  lets it go at once; a failed one rolls everything back.
static void
s_end (broker_t *self)
{
    if (self->syncing)
        return;
    bool wrote;
    bool committed = s_commit (self, &wrote);
    if (committed && wrote)
        s_sync (self);
    else
        s_flush (self, committed);
}

//  Commit the store, and the queue and fleet with it, or roll all three
//  back. True when it committed; *wrote says whether it wrote.
static bool
s_commit (broker_t *self, bool *wrote)
{
    *wrote = store_dirty (self->store);
    bool committed = store_commit (self->store) == 0;
    if (committed) {
        jobs_commit (self->jobs);
        fleet_commit (self->fleet);
        self->nwriters = 0;
    }
    else {
        jobs_rollback (self->jobs);
        fleet_rollback (self->fleet);
        if (self->recovering)
            self->recovered = false;
    }
    self->recovering = false;
    return committed;
}

//  Make the commit just made durable: its outbox waits for the sync thread.
static void
s_sync (broker_t *self)
{
    zstr_send (self->syncer, "SYNC");
    self->syncing = true;
    s_move (self->outbox, self->pending);
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

//  A sync ended: the outbox it covers is let go, and what gathered
//  meanwhile commits now.
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
    //  What gathered meanwhile commits and its sync starts before the durable
    //  messages go out, so the disk is not idle while they are sent; a
    //  transaction that wrote nothing waits until they are out, so that no
    //  peer's later reply overtakes an earlier one
    zlistx_t *durable = self->pending;
    self->pending = self->durable;
    self->durable = durable;
    if (store_in_transaction (self->store) && store_dirty (self->store)) {
        bool wrote, committed = s_commit (self, &wrote);
        if (committed)
            s_sync (self);
        s_flush_list (self, durable, true);
        if (!committed)
            s_flush (self, false);
    }
    else {
        s_flush_list (self, durable, true);
        if (store_in_transaction (self->store))
            s_end (self);
    }
    return 0;
}

//  At exit: commit what gathered, make it durable and let it go.
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
        //  The older commit's outbox first
        s_move (self->outbox, self->pending);
        s_move (self->pending, self->outbox);
        s_flush (self, true);
    }
}

//  --- The outbox -----------------------------------------------------------------

static void
s_outgoing_free (void **item)
{
    outgoing_t *out = *item;
    if (out) {
        mt_msg_destroy (&out->msg);
        free (out->text);
        free (out);
        *item = NULL;
    }
}

static void
s_doomed_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_drop (zlistx_t *list)
{
    zlistx_purge (list);
}

//  Move every item from one list to the end of another, in order.
static void
s_move (zlistx_t *from, zlistx_t *to)
{
    void *item;
    while ((item = zlistx_first (from))) {
        zlistx_detach_cur (from);
        zlistx_add_end (to, item);
    }
}

//  A message to peer, as the outbox holds it.
static outgoing_t *
s_outgoing (broker_t *self, peer_t *peer, mt_msg_t **msg_p)
{
    mt_msg_t *msg = *msg_p;
    *msg_p = NULL;
    if (peer->req >= 0)
        mt_msg_add_int (msg, "req", peer->req);
    outgoing_t *out = calloc (1, sizeof *out);
    assert (out);
    assert (peer->identity_size <= sizeof out->identity);
    out->kind = OUT_MESSAGE;
    out->sock = peer->sock;
    out->msg = msg;
    out->identity_size = peer->identity_size;
    memcpy (out->identity, peer->identity, peer->identity_size);
    out->req = peer->req;
    out->after_write = store_dirty (self->store);
    return out;
}

//  Queue a message to peer for after the commit.
static void
s_send (broker_t *self, peer_t *peer, mt_msg_t **msg_p)
{
    zlistx_add_end (self->outbox, s_outgoing (self, peer, msg_p));
}

static bool
s_same_writer (const writer_t *writer, const void *identity, size_t size)
{
    return writer->size == size && memcmp (writer->identity, identity, size) == 0;
}

//  The worker peer wrote in the open transaction: should its commit fail,
//  it hears ERROR storage (once), so it sends its message again. Only its
//  routing id is kept, once per run of its messages: the errors are made,
//  one per worker, if the commit fails, which is rare.
static void
s_writer (broker_t *self, peer_t *peer)
{
    if (self->nwriters && s_same_writer (&self->writers [self->nwriters - 1], peer->identity,
                                         peer->identity_size))
        return;
    if (self->nwriters == self->writers_cap) {
        size_t cap = self->writers_cap ? self->writers_cap * 2 : 64;
        writer_t *writers = realloc (self->writers, cap * sizeof *writers);
        if (!writers) {
            store_abort (self->store);      // it could not hear of a failure: fail now
            return;
        }
        self->writers = writers;
        self->writers_cap = cap;
    }
    writer_t *w = &self->writers [self->nwriters++];
    w->size = peer->identity_size;
    memcpy (w->identity, peer->identity, peer->identity_size);
}

//  The commit failed: every writer hears ERROR storage, once.
static void
s_tell_writers (broker_t *self)
{
    for (size_t i = 0; i < self->nwriters; i++) {
        bool told = false;
        for (size_t j = 0; j < i && !told; j++)
            told = s_same_writer (&self->writers [j], self->writers [i].identity,
                                  self->writers [i].size);
        if (told)
            continue;
        mt_msg_t *error = mt_msg_error (MT_ERR_STORAGE, "the broker could not write its"
                                        " database (disk full or I/O error); nothing was"
                                        " changed: send it again later");
        peer_t peer = { .sock = self->workers, .req = -1, .identity = self->writers [i].identity,
                        .identity_size = self->writers [i].size };
        s_send (self, &peer, &error);
    }
    self->nwriters = 0;
}

//  Queue a message to a worker the broker speaks to first.
static void
s_tell (broker_t *self, fleet_worker_t *worker, const char *command, int64_t job, int attempt)
{
    mt_msg_t *msg = mt_msg_new (command);
    mt_msg_add_int (msg, "job", job);
    mt_msg_add_int (msg, "attempt", attempt);
    peer_t peer = { .sock = self->workers, .req = -1 };
    peer.identity = fleet_worker_identity (worker, &peer.identity_size);
    s_send (self, &peer, &msg);
}

static void
s_error (broker_t *self, peer_t *peer, const char *code, const char *fmt, ...)
{
    char text [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    mt_debug ("broker: %s: %s", code, text);
    mt_msg_t *msg = mt_msg_error (code, text);
    s_send (self, peer, &msg);
}

//  A log line that announces a change: written once the change is durable,
//  never when it is rolled back.
static void
s_announce (broker_t *self, mt_log_level_t level, const char *fmt, ...)
{
    if (!mt_log_enabled (level))
        return;
    outgoing_t *out = calloc (1, sizeof *out);
    va_list args;
    va_start (args, fmt);
    if (!out || vasprintf (&out->text, fmt, args) < 0) {
        free (out);
        out = NULL;
    }
    va_end (args);
    if (out) {
        out->kind = OUT_NOTE;
        out->level = level;
        zlistx_add_end (self->outbox, out);
    }
}

//  A blob the transaction superseded: deleted later, if it commits.
static void
s_doom (broker_t *self, const char *hash)
{
    outgoing_t *out = calloc (1, sizeof *out);
    if (out && (out->text = strdup (hash))) {
        out->kind = OUT_DOOM;
        zlistx_add_end (self->outbox, out);
    }
    else
        free (out);
}

//  Let the outbox go, as the commit's outcome says.
static void
s_flush (broker_t *self, bool committed)
{
    if (!committed) {
        size_t undone = 0;
        for (outgoing_t *out = zlistx_first (self->outbox); out; out = zlistx_next (self->outbox))
            undone += out->kind == OUT_NOTE;
        s_tell_writers (self);
        mt_warn ("broker: a commit failed (disk full or I/O error); the batch's changes were"
                 " undone (%zu announced), and its writers were told 'storage'", undone);
    }
    s_flush_list (self, self->outbox, committed);
}

//  Let a list of the outbox go. Workers' messages first: a worker waits
//  for its next ASSIGN, while a client keeps many requests in flight. Each
//  peer's messages keep their order (a peer talks on one socket).
static void
s_flush_list (broker_t *self, zlistx_t *list, bool committed)
{
    outgoing_t *out;
    for (out = zlistx_first (list); out; out = zlistx_next (list))
        if (out->kind == OUT_MESSAGE && out->sock == self->workers) {
            zlistx_detach_cur (list);
            s_flush_one (self, out, committed);
        }
    while ((out = zlistx_first (list))) {
        zlistx_detach_cur (list);
        s_flush_one (self, out, committed);
    }
}

//  Let one item of the outbox go, as the commit's outcome says, and free it.
static void
s_flush_one (broker_t *self, outgoing_t *out, bool committed)
{
    if (out->kind == OUT_NOTE && committed)
        mt_log (out->level, "%s", out->text);
    else
    if (out->kind == OUT_DOOM && committed) {
        doomed_t *doomed = calloc (1, sizeof *doomed);
        if (doomed) {
            mt_strlcpy (doomed->hash, out->text, sizeof doomed->hash);
            doomed->since = zclock_mono ();
            zlistx_add_end (self->doomed, doomed);
        }
    }
    else
    if (out->kind == OUT_MESSAGE) {
        bool send = true;
        if (!committed && out->after_write && !mt_msg_is (out->msg, "ERROR")) {
            //  It may speak of what was undone: a client hears why instead,
            //  a worker nothing (what the broker started there was undone)
            send = out->sock == self->clients;
            mt_msg_destroy (&out->msg);
            out->msg = mt_msg_error (MT_ERR_STORAGE, "the broker could not write its database"
                                     " (disk full or I/O error); nothing was changed: retry"
                                     " later");
            if (out->req >= 0)
                mt_msg_add_int (out->msg, "req", out->req);
        }
        if (send)
            mt_msg_send_to (out->msg, zsock_resolve (out->sock), out->identity,
                            out->identity_size);
    }
    void *item = out;
    s_outgoing_free (&item);
}

//  --- Clients --------------------------------------------------------------------

static void
s_client_ping (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    mt_msg_t *reply = mt_msg_new ("PONG");
    json_object_set_new (mt_msg_body (reply), "version", json_string (MT_VERSION));
    json_object_set_new (mt_msg_body (reply), "protocol", json_string (MT_PROTOCOL));
    s_send (self, peer, &reply);
}

//  UPLOAD, on either socket: one chunk of a blob, in order.
static void
s_upload (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    const char *hash;
    int64_t size, offset;
    bool last;
    char *cause = NULL;
    if (mt_msg_get_str (msg, "hash", 64, &hash, &cause)
    ||  mt_msg_get_int (msg, "size", 0, BLOB_MAX_SIZE, &size, &cause)
    ||  mt_msg_get_int (msg, "offset", 0, BLOB_MAX_SIZE, &offset, &cause)
    ||  mt_msg_get_bool (msg, "last", &last, &cause)) {
        s_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
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
        s_error (self, peer, codes [blob_store_error (self->blobs)], "%s", cause);
        free (cause);
        return;
    }
    if (complete && offset + (int64_t) len == size && len > 0)
        mt_debug ("broker: stored blob %.12s (%lld bytes)", hash, (long long) size);
    mt_msg_t *reply = mt_msg_new ("UPLOADED");
    json_object_set_new (mt_msg_body (reply), "hash", json_string (hash));
    json_object_set_new (mt_msg_body (reply), "offset", json_integer (next));
    json_object_set_new (mt_msg_body (reply), "complete", json_boolean (complete));
    s_send (self, peer, &reply);
}

//  Read the spec from the body's "spec" map: parsed and validated by the
//  spec module, its blobs stored, *text the map's compact JSON (caller
//  frees). Returns 0, or -1 (answered).
static int
s_read_spec (broker_t *self, peer_t *peer, mt_msg_t *msg, mt_spec_t *spec, char **text)
{
    json_t *value = json_object_get (mt_msg_body (msg), "spec");
    if (!json_is_object (value)) {
        s_error (self, peer, MT_ERR_BAD_MESSAGE, "SUBMIT: field 'spec' must be a map");
        return -1;
    }
    char *cause = NULL;
    if (mt_spec_from_value (spec, value, &cause)) {
        s_error (self, peer, MT_ERR_BAD_SPEC, "bad spec: %s", cause ? cause : "?");
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
        s_error (self, peer, MT_ERR_NOT_FOUND, "blob %.12s was not uploaded; send it with"
                 " UPLOAD first", missing);
        mt_spec_clear (spec);
        return -1;
    }
    if (!(*text = mt_json_compact (value))) {
        s_error (self, peer, MT_ERR_STORAGE, "the broker is out of memory; retry later");
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
        s_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    int64_t queued = jobs_queued (self->jobs, peer->user);
    if (queued >= self->config.max_queued) {
        s_error (self, peer, MT_ERR_TOO_LARGE, "you have %lld jobs queued, the limit per"
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
        s_error (self, peer, MT_ERR_STORAGE, "the broker could not record the job (disk full"
                 " or I/O error); retry later");
    else
    if (conflict)
        s_error (self, peer, MT_ERR_KEY_CONFLICT, "key '%s' names job %lld, which was"
                 " submitted with another spec; use a new key for a new job", key, (long long) id);
    else {
        if (!existing)
            s_announce (self, MT_LOG_INFO, "broker: job %lld queued", (long long) id);
        //  The hot messages are packed as they are built, without a JSON tree
        mt_msg_t *reply = mt_msg_new ("SUBMITTED");
        mt_msg_add_int (reply, "job", id);
        mt_msg_add_bool (reply, "existing", existing);
        s_send (self, peer, &reply);
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
    s_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
    free (cause);
    return -1;
}

static void
s_reply_job (broker_t *self, peer_t *peer, int64_t id, bool history)
{
    json_t *job = store_job_json (self->store, id, history);
    if (!job) {
        s_error (self, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    if (strcmp (json_string_value (json_object_get (job, "state")), "queued") == 0)
        json_object_set_new (job, "waiting", s_waiting (self, job));
    mt_msg_t *reply = mt_msg_new ("JOB");
    json_object_set_new (mt_msg_body (reply), "job", job);
    s_send (self, peer, &reply);
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
    const char *name = NULL;
    int64_t limit = 100;
    job_state_t state;
    char *cause = NULL;
    if (mt_msg_opt_str (msg, "state", 16, &name, &cause)
    ||  mt_msg_opt_int (msg, "limit", 1, 10000, &limit, &cause)
    ||  (name && job_state_parse (name, &state)
         && mt_fail (&cause, "LIST: unknown state '%s'", name))) {
        s_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    mt_msg_t *reply = mt_msg_new ("JOBS");
    json_object_set_new (mt_msg_body (reply), "jobs",
                         store_job_list (self->store, name ? (int) state : -1, (int) limit));
    s_send (self, peer, &reply);
}

static void
s_client_stop (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    int64_t id;
    if (s_job_arg (self, peer, msg, &id))
        return;
    job_move_t move;
    if (jobs_event (self->jobs, id, -1, JOB_EV_STOP, NULL, zclock_time (), &move))
        s_error (self, peer, MT_ERR_STORAGE, "the broker could not record the stop (disk full"
                 " or I/O error); retry later");
    else
    if (!move.found)
        s_error (self, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
    else
    if (move.refusal [0])
        s_error (self, peer, MT_ERR_BAD_STATE, "%s", move.refusal);
    else {
        fleet_worker_t *worker = fleet_find_job (self->fleet, id);
        if (worker && move.tell == JOB_TELL_STOP) {
            s_tell (self, worker, "STOP", id, fleet_worker_attempt (worker));
            fleet_worker_stop_sent (self->fleet, worker, zclock_mono ());
        }
        if (move.note [0])
            s_announce (self, MT_LOG_INFO, "broker: %s", move.note);
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
    s_send (self, peer, &reply);
}

//  A CHUNK reply: bytes of blob hash at offset; job > 0 names the job whose
//  model it is.
static void
s_chunk (broker_t *self, peer_t *peer, const char *hash, int64_t offset, int64_t length,
         int64_t job)
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
        s_error (self, peer, MT_ERR_NOT_FOUND, "%s", cause);
        free (cause);
        return;
    }
    mt_msg_t *reply = mt_msg_new ("CHUNK");
    json_t *body = mt_msg_body (reply);
    if (job > 0)
        json_object_set_new (body, "job", json_integer (job));
    json_object_set_new (body, "hash", json_string (hash));
    json_object_set_new (body, "size", json_integer (size));
    json_object_set_new (body, "offset", json_integer (offset));
    mt_msg_set_payload (reply, self->chunk, got);
    s_send (self, peer, &reply);
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
        s_error (self, peer, MT_ERR_BAD_MESSAGE, "%s", cause);
        free (cause);
        return;
    }
    store_job_t job;
    if (store_job_get (self->store, id, &job)) {
        s_error (self, peer, MT_ERR_NOT_FOUND, "no job %lld", (long long) id);
        return;
    }
    if (!job.model_hash [0])
        s_error (self, peer, MT_ERR_BAD_STATE, "job %lld is %s and has no model%s",
                 (long long) id, job_state_name (job.state),
                 job_state_ended (job.state) ? "" : " yet");
    else
        s_chunk (self, peer, job.model_hash, offset, length, id);
    store_job_clear (&job);
}

//  --- Workers --------------------------------------------------------------------

static void
s_worker_error (broker_t *self, peer_t *peer, const char *code, char **cause)
{
    s_error (self, peer, code, "%s", *cause ? *cause : code);
    free (*cause);
    *cause = NULL;
}

//  True when the peer said HELLO; else it is told to.
static bool
s_known (broker_t *self, peer_t *peer)
{
    if (!peer->worker)
        s_error (self, peer, MT_ERR_UNKNOWN_PEER, "send HELLO first");
    return peer->worker != NULL;
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
//  still the job's current attempt, else tell the worker to drop it.
static void
s_adopt (broker_t *self, peer_t *peer, int64_t job_id, int attempt)
{
    store_job_t job;
    bool found = store_job_get (self->store, job_id, &job) == 0;
    bool current = found && job.attempt == attempt
                && (job.state == JOB_RUNNING || job.state == JOB_STOPPING);
    fleet_worker_t *other = current ? fleet_find_job (self->fleet, job_id) : NULL;
    const char *name = fleet_worker_name (peer->worker);
    if (current && (!other || other == peer->worker)) {
        fleet_run_t run = {
            .job = job_id, .attempt = attempt, .started_at = 0,     // the job's row knows
            .checkpoint = job.checkpoint_hash,
            .deadline = s_deadline (job.time_limit_s, job.started_at)
        };
        fleet_worker_assign (self->fleet, peer->worker, &run, zclock_mono ());
        s_announce (self, MT_LOG_INFO, "broker: worker %s still runs job %lld attempt %d:"
                    " adopted", name, (long long) job_id, attempt);
        if (job.state == JOB_STOPPING) {
            s_tell (self, peer->worker, "STOP", job_id, attempt);
            fleet_worker_stop_sent (self->fleet, peer->worker, zclock_mono ());
        }
    }
    else {
        mt_info ("broker: worker %s runs job %lld attempt %d, which is superseded: abandon",
                 name, (long long) job_id, attempt);
        s_tell (self, peer->worker, "ABANDON", job_id, attempt);
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
        s_announce (self, MT_LOG_INFO, "broker: worker %s reconnected; its old connection is"
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
    s_forget_old_connection (self, peer, hello.name, hello.instance, job, (int) attempt);
    if (!peer->worker && fleet_size (self->fleet) >= (size_t) self->config.max_workers) {
        s_error (self, peer, MT_ERR_TOO_LARGE, "the broker has %d workers, its limit (mtbroker"
                 " --max-workers)", self->config.max_workers);
        return;
    }
    if (!peer->worker && !(peer->worker = fleet_add (self->fleet, peer->identity,
                                                     peer->identity_size, zclock_mono ()))) {
        s_error (self, peer, MT_ERR_TOO_LARGE, "the broker cannot add a worker (out of memory)");
        return;
    }
    fleet_worker_hello (self->fleet, peer->worker, &hello);
    s_announce (self, MT_LOG_INFO, "broker: worker %s connected (%d threads, version %s)",
                hello.name, hello.threads, hello.version);
    mt_msg_t *reply = mt_msg_new ("WELCOME");
    mt_msg_add_int (reply, "heartbeat_ms", self->config.heartbeat_ms);
    mt_msg_add_int (reply, "liveness", self->config.liveness);
    s_send (self, peer, &reply);
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
        s_tell (self, w, "ABANDON", *job, *attempt);
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
        s_chunk (self, peer, hash, offset, length, 0);
}

static void
s_worker_upload (broker_t *self, peer_t *peer, mt_msg_t *msg)
{
    if (s_known (self, peer))
        s_upload (self, peer, msg);
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
    //  A failed write fails the batch, and the worker hears 'storage'
    if (store_job_progress (self->store, job, attempt, &p, zclock_time ()) == 0)
        fleet_worker_step (peer->worker, step, zclock_mono ());
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
    if (store_job_checkpoint (self->store, job, attempt, hash, (int) epoch))
        return;
    fleet_run_t run;
    fleet_worker_run (peer->worker, &run);
    if (run.checkpoint [0] && strcmp (run.checkpoint, hash) != 0)
        s_doom (self, run.checkpoint);
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
        s_tell (self, worker, "ABANDON", job, attempt);
    if (move.moved && move.to == JOB_SUCCEEDED && run.checkpoint [0])
        s_doom (self, run.checkpoint);
    if (worker && move.release)
        fleet_worker_release (self->fleet, worker);
    if (move.note [0])
        s_announce (self, MT_LOG_INFO, "broker: %s", move.note);
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
    job_report_t report = { .metrics = text, .model_hash = hash };
    s_apply (self, peer->worker, job, attempt, JOB_EV_DONE, &report);
    free (text);
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
    s_announce (self, MT_LOG_INFO, "broker: worker %s left", fleet_worker_name (peer->worker));
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
        s_announce (self, MT_LOG_WARN, "broker: worker %s %s while running job %lld",
                    fleet_worker_name (worker), why, (long long) job);
        job_report_t report = { .reason = reason };
        s_apply (self, worker, job, fleet_worker_attempt (worker), JOB_EV_LOST, &report);
    }
    fleet_remove (self->fleet, worker);
}

//  --- Dispatch and housekeeping ------------------------------------------------

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
    while ((worker = fleet_idle (self->fleet))) {
        const char *name = fleet_worker_name (worker);
        store_job_t job;
        bool started;
        if (jobs_start (self->jobs, name, now, &job, &started) || !started)
            break;
        //  job is the row after the start: started_at is the first start's time
        fleet_run_t run = {
            .job = job.id, .attempt = job.attempt, .started_at = now,
            .resumed_from_epoch = job.checkpoint_epoch, .checkpoint = job.checkpoint_hash,
            .deadline = s_deadline (job.time_limit_s, job.started_at)
        };
        fleet_worker_assign (self->fleet, worker, &run, zclock_mono ());
        mt_msg_t *msg = s_assignment (self, &job);
        peer_t peer = { .sock = self->workers, .req = -1 };
        peer.identity = fleet_worker_identity (worker, &peer.identity_size);
        s_send (self, &peer, &msg);
        s_announce (self, MT_LOG_INFO, "broker: job %lld attempt %d -> %s", (long long) job.id,
                    job.attempt, name);
        store_job_clear (&job);
    }
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
    fleet_shift (self->fleet, late);
    if (!self->recovered)
        self->started += late;
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
static void
s_check (broker_t *self, fleet_worker_t *w, int64_t now, int64_t dead_after)
{
    int64_t job = fleet_worker_job (w), stop_sent = fleet_worker_stop_sent_at (w);
    int attempt = fleet_worker_attempt (w);
    fleet_run_t run;
    fleet_worker_run (w, &run);
    if (now - fleet_worker_last_seen (w) > dead_after) {
        s_announce (self, MT_LOG_WARN, "broker: worker %s lost (missed heartbeats)",
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
    &&  now - fleet_worker_step_moved (w) > self->config.stall_ms)
        s_apply (self, w, job, attempt, JOB_EV_STALLED, NULL);
    else {
        mt_msg_t *msg = mt_msg_new ("HEARTBEAT");
        peer_t peer = { .sock = self->workers, .req = -1 };
        peer.identity = fleet_worker_identity (w, &peer.identity_size);
        s_send (self, &peer, &msg);
    }
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
    fleet_worker_t *next;
    for (fleet_worker_t *w = fleet_first (self->fleet); w; w = next) {
        next = fleet_next (self->fleet, w);     // w may leave the fleet
        s_check (self, w, now, dead_after);
    }
    if (!self->recovered && now - self->started > dead_after)
        s_recover (self);
    blob_store_expire (self->blobs, BROKER_UPLOAD_IDLE_MS);
    s_reap (self);
    s_dispatch (self);
    s_end (self);
    return 0;
}
