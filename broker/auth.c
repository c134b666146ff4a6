/*  auth - the broker's CurveZMQ: its own cert, and a ZAP handler that admits keys per socket  */
#include "auth.h"
#include "mt/curve.h"
#include "mt/log.h"
#include "mt/util.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

//  czmq 4.2's zauth checks one certificate folder for every ZAP domain, so
//  a client key would be let in on the workers socket. This handler keeps
//  one key set per domain instead, in memory, reloaded when a folder changes.
//  Admins are a third set, keys/admins: admitted on the clients socket
//  as clients are, and allowed to act on every job (auth_may_act).
typedef struct {
    const char *domain;         // AUTH_CLIENTS, AUTH_WORKERS or AUTH_ADMINS
    bool optional;              // a missing folder is an empty set, not an error
    char *dir;                  // keys/domain
    zhashx_t *keys;             // Z85 public key -> certificate file name
    uint64_t signature;         // of the folder's listing when it was loaded
} keyset_t;

struct auth_t {
    char *dir;
    zcert_t *own;               // the broker's keys
    zsock_t *zap;               // REP on AUTH_ZAP_ENDPOINT
    keyset_t sets [AUTH_SETS];
    zhashx_t *refused;          // "domain key" -> time last logged (monotonic ms)
    volatile sig_atomic_t *hups;
    sig_atomic_t hups_seen;
};

static keyset_t *s_set (auth_t *self, const char *domain);
static const char *s_lookup (auth_t *self, const char *domain, const char *key);
static uint64_t s_signature (const char *dir);
static int s_load (keyset_t *set, char **cause);
static void s_free (void **item);
static int s_on_zap (zloop_t *loop, zsock_t *sock, void *arg);
static int s_on_tick (zloop_t *loop, int timer_id, void *arg);
static void s_log_refusal (auth_t *self, const char *domain, const char *key, const char *address);

auth_t *
auth_new (const char *dir, volatile sig_atomic_t *hups, char **cause)
{
    auth_t *self = calloc (1, sizeof *self);
    if (!self)
        return mt_fail (cause, "out of memory"), NULL;
    self->hups = hups;
    self->hups_seen = hups ? *hups : 0;
    self->dir = strdup (dir);
    self->refused = zhashx_new ();
    if (self->refused)
        zhashx_set_destructor (self->refused, s_free);
    const char *domains [AUTH_SETS] = { AUTH_CLIENTS, AUTH_WORKERS, AUTH_ADMINS };
    for (int i = 0; i < AUTH_SETS; i++) {
        self->sets [i].domain = domains [i];
        self->sets [i].optional = i == 2;
        self->sets [i].keys = zhashx_new ();
        if (self->sets [i].keys)
            zhashx_set_destructor (self->sets [i].keys, s_free);
        if (asprintf (&self->sets [i].dir, "%s/%s", dir, domains [i]) < 0)
            self->sets [i].dir = NULL;
    }
    char *own = NULL;
    bool sets = true;
    for (int i = 0; i < AUTH_SETS; i++)
        sets = sets && self->sets [i].keys && self->sets [i].dir;
    if (!self->dir || !self->refused || !sets || asprintf (&own, "%s/%s", dir, AUTH_OWN_CERT) < 0) {
        mt_fail (cause, "out of memory");
        goto err;
    }
    if (!(self->own = mt_curve_load (own, true, cause)))
        goto err;
    for (int i = 0; i < AUTH_SETS; i++)
        if (s_load (&self->sets [i], cause))
            goto err;
    self->zap = zsock_new (ZMQ_REP);
    if (!self->zap || zsock_bind (self->zap, AUTH_ZAP_ENDPOINT) < 0) {
        mt_fail (cause, "cannot bind the ZAP handler %s: %s (one broker with --keys per process)",
                 AUTH_ZAP_ENDPOINT, zmq_strerror (zmq_errno ()));
        goto err;
    }
    mt_info ("auth: CurveZMQ on, broker key %s; %zu client keys, %zu worker keys, %zu admin"
             " keys from %s", zcert_public_txt (self->own), zhashx_size (self->sets [0].keys),
             zhashx_size (self->sets [1].keys), zhashx_size (self->sets [2].keys), dir);
    free (own);
    return self;
err:
    free (own);
    auth_destroy (&self);
    return NULL;
}

void
auth_destroy (auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    auth_t *self = *self_p;
    zsock_destroy (&self->zap);
    zcert_destroy (&self->own);
    for (int i = 0; i < AUTH_SETS; i++) {
        zhashx_destroy (&self->sets [i].keys);
        free (self->sets [i].dir);
    }
    zhashx_destroy (&self->refused);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

void
auth_server (auth_t *self, zsock_t *sock, const char *domain)
{
    zcert_apply (self->own, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, domain);
}

void
auth_attach (auth_t *self, zloop_t *loop)
{
    zloop_reader (loop, self->zap, s_on_zap, self);
    zloop_timer (loop, AUTH_POLL_MS, 0, s_on_tick, self);
}

void
auth_refresh (auth_t *self)
{
    bool hup = self->hups && *self->hups != self->hups_seen;
    if (hup) {
        self->hups_seen = *self->hups;
        mt_info ("auth: SIGHUP: reloading the keys in %s", self->dir);
    }
    for (int i = 0; i < AUTH_SETS; i++) {
        keyset_t *set = &self->sets [i];
        if (!hup && s_signature (set->dir) == set->signature)
            continue;
        size_t before = zhashx_size (set->keys);
        char *cause = NULL;
        if (s_load (set, &cause))
            mt_warn ("auth: %s; keeping no %s keys", cause, set->domain);
        else
            mt_info ("auth: reloaded %s: %zu keys (was %zu)", set->dir,
                     zhashx_size (set->keys), before);
        free (cause);
        zhashx_purge (self->refused);
    }
}

bool
auth_admits (auth_t *self, const char *domain, const char *key)
{
    return s_lookup (self, domain, key) != NULL;
}

auth_role_t
auth_role (auth_t *self, const char *key)
{
    keyset_t *admins = s_set (self, AUTH_ADMINS);
    if (key && zhashx_lookup (admins->keys, key))
        return AUTH_ROLE_ADMIN;
    keyset_t *clients = s_set (self, AUTH_CLIENTS);
    return key && zhashx_lookup (clients->keys, key) ? AUTH_ROLE_CLIENT : AUTH_ROLE_NONE;
}

const char *
auth_name (auth_t *self, const char *key)
{
    return s_lookup (self, AUTH_CLIENTS, key);
}

bool
auth_may_act (auth_t *self, const char *user, const char *owner)
{
    if (!self)
        return true;                    // no keys: loopback, everyone is "local"
    auth_role_t role = auth_role (self, user);
    if (role == AUTH_ROLE_ADMIN)
        return true;
    return role == AUTH_ROLE_CLIENT && owner && strcmp (user, owner) == 0;
}

size_t
auth_keys (auth_t *self, const char *domain)
{
    keyset_t *set = s_set (self, domain);
    return set ? zhashx_size (set->keys) : 0;
}

static keyset_t *
s_set (auth_t *self, const char *domain)
{
    for (int i = 0; domain && i < AUTH_SETS; i++)
        if (strcmp (self->sets [i].domain, domain) == 0)
            return &self->sets [i];
    return NULL;
}

//  The certificate file name of key where the socket of domain admits it,
//  NULL where it does not: the clients socket admits admins too.
static const char *
s_lookup (auth_t *self, const char *domain, const char *key)
{
    keyset_t *set = s_set (self, domain);
    if (!set || !key)
        return NULL;
    const char *name = zhashx_lookup (set->keys, key);
    if (!name && strcmp (domain, AUTH_CLIENTS) == 0)
        name = zhashx_lookup (s_set (self, AUTH_ADMINS)->keys, key);
    return name;
}

//  FNV-1a over the folder's own mtime and each entry's name, inode, size
//  and mtime: any file added, removed, replaced or edited changes it.
static uint64_t
s_mix (uint64_t hash, const void *data, size_t len)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ bytes [i]) * UINT64_C (1099511628211);
    return hash;
}

static uint64_t
s_signature (const char *dir)
{
    uint64_t hash = UINT64_C (14695981039346656037);
    struct stat st;
    DIR *listing = opendir (dir);
    if (!listing || fstat (dirfd (listing), &st)) {
        if (listing)
            closedir (listing);
        return 0;
    }
    hash = s_mix (hash, &st.st_mtim, sizeof st.st_mtim);
    struct dirent *entry;
    while ((entry = readdir (listing))) {
        if (entry->d_name [0] == '.' || fstatat (dirfd (listing), entry->d_name, &st, 0))
            continue;
        hash = s_mix (hash, entry->d_name, strlen (entry->d_name) + 1);
        hash = s_mix (hash, &st.st_ino, sizeof st.st_ino);
        hash = s_mix (hash, &st.st_size, sizeof st.st_size);
        hash = s_mix (hash, &st.st_mtim, sizeof st.st_mtim);
    }
    closedir (listing);
    return hash;
}

static bool
s_ends_with (const char *text, const char *suffix)
{
    size_t n = strlen (text), m = strlen (suffix);
    return n >= m && strcmp (text + n - m, suffix) == 0;
}

//  Replace set's keys with the public certs in its folder; secret files and
//  files that are not certs are skipped with a warning. A folder that cannot
//  be read leaves the set empty (nothing admitted) and fails with *cause.
static int
s_load (keyset_t *set, char **cause)
{
    zhashx_purge (set->keys);
    set->signature = s_signature (set->dir);
    DIR *listing = opendir (set->dir);
    if (!listing && set->optional && errno == ENOENT)
        return 0;
    if (!listing)
        return mt_fail (cause, "%s: %s (make it and put the authorized %s' public certs "
                        "in it)", set->dir, strerror (errno), set->domain);
    struct dirent *entry;
    while ((entry = readdir (listing))) {
        if (entry->d_name [0] == '.')
            continue;
        char *path = NULL;
        if (asprintf (&path, "%s/%s", set->dir, entry->d_name) < 0)
            break;
        struct stat st;
        if (stat (path, &st) || !S_ISREG (st.st_mode))
            ;
        else
        if (s_ends_with (entry->d_name, MT_CURVE_SECRET_SUFFIX))
            mt_warn ("auth: %s is a secret key: only public certs belong here; skipped", path);
        else {
            char *why = NULL;
            zcert_t *cert = mt_curve_load (path, false, &why);
            if (cert)
                zhashx_update (set->keys, zcert_public_txt (cert), strdup (entry->d_name));
            else
                mt_warn ("auth: %s; skipped", why);
            free (why);
            zcert_destroy (&cert);
        }
        free (path);
    }
    closedir (listing);
    return 0;
}

static void
s_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  One ZAP request (RFC 27): version, request id, domain, address, routing
//  id, mechanism, then the client's 32-byte public key for CURVE. The reply
//  names the key as the User-Id, so auth_admits can check it on every message.
static int
s_on_zap (zloop_t *loop, zsock_t *sock, void *arg)
{
    auth_t *self = arg;
    zmsg_t *request = zmsg_recv (sock);
    if (!request)
        return 0;
    char *version = zmsg_popstr (request);
    char *sequence = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    zframe_t *routing = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *credential = zmsg_pop (request);
    char key [41] = "";
    bool allowed = false;
    //  The admins' set is no socket's domain: only the two sockets' are served
    if (version && strcmp (version, "1.0") == 0 && mechanism && strcmp (mechanism, "CURVE") == 0
    &&  credential && zframe_size (credential) == 32 && zmq_z85_encode (key, zframe_data (credential), 32)
    &&  domain && strcmp (domain, AUTH_ADMINS) != 0)
        allowed = s_lookup (self, domain, key) != NULL;
    if (allowed)
        mt_debug ("auth: admitted %s key %s from %s", domain, key, address ? address : "?");
    else
        s_log_refusal (self, domain ? domain : "?", *key ? key : "(none)", address ? address : "?");
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, sequence ? sequence : "");
    zmsg_addstr (reply, allowed ? "200" : "400");
    zmsg_addstr (reply, allowed ? "OK" : "key not authorized for this socket");
    zmsg_addstr (reply, allowed ? key : "");
    zmsg_addmem (reply, NULL, 0);
    zmsg_send (&reply, sock);
    zstr_free (&version);
    zstr_free (&sequence);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&mechanism);
    zframe_destroy (&routing);
    zframe_destroy (&credential);
    zmsg_destroy (&request);
    return 0;
}

//  A refused peer retries its handshake every few hundred ms: log each key
//  once per AUTH_LOG_MS, not every retry.
static void
s_log_refusal (auth_t *self, const char *domain, const char *key, const char *address)
{
    char name [64];
    snprintf (name, sizeof name, "%s %s", domain, key);
    int64_t now = zclock_mono ();
    int64_t *last = zhashx_lookup (self->refused, name);
    if (last && now - *last < AUTH_LOG_MS)
        return;
    if (zhashx_size (self->refused) > 1024)
        zhashx_purge (self->refused);
    mt_warn ("auth: refused key %s on the %s socket from %s: not in %s/%s%s", key, domain,
             address, self->dir, domain,
             strcmp (domain, AUTH_CLIENTS) == 0 ? " nor in " AUTH_ADMINS "/" : "");
    if (last)
        *last = now;
    else {
        int64_t *stamp = malloc (sizeof *stamp);
        if (stamp) {
            *stamp = now;
            zhashx_update (self->refused, name, stamp);
        }
    }
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    auth_refresh ((auth_t *) arg);
    return 0;
}
