/*  gateway - mtgateway's HTTP server: libmicrohttpd, limits, access, static files, the routes  */
//  libmicrohttpd parses HTTP and runs a pool of threads (--threads), each
//  with its own epoll; it calls s_access once after a request's headers,
//  once per piece of its body, and once at its end. Errors found at the
//  headers (no route, no token, a Content-Length over the limit) are
//  answered at once; MHD then reads no more of the body. A body past its
//  limit while it streams (chunked) is dropped from there on and answered
//  413 at its end, or the connection is closed once GW_DRAIN_MAX more
//  bytes came. Routes (api.c) run at the end, on the thread of the
//  connection.
#include "gateway.h"
#include "api.h"
#include "cache.h"
#include "hub.h"
#include "pool.h"
#include "tokens.h"
#include "mt/blob.h"
#include "mt/log.h"
#include "mt/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GW_DRAIN_MAX    ((int64_t) 1 << 20)   // bytes past a limit read before closing
#define GW_MAX_PEM      ((int64_t) 1 << 20)   // bytes of a TLS cert or key file

struct gw_t {
    gw_config_t config;
    struct MHD_Daemon *daemon;
    pool_t *pool;
    cache_t *cache;             // GET /api/v1/jobs/{id}'s answers, kept true by the hub
    hub_t *hub;
    api_t *api;
    tokens_t *tokens;           // NULL: no tokens, every caller is admin
    char *www;                  // the dashboard's folder, or NULL when not found
    char *url;
    char *tls_cert, *tls_key;   // PEM text
    char start_error [200];     // libmicrohttpd's first complaint while the daemon starts
    bool starting;
};

//  One request's state, from its headers to its completion.
typedef struct {
    api_req_t api;
    const api_route_t *route;
    char *body;                 // a JSON body, NUL-terminated
    size_t body_len, body_cap;
    int spool_fd;               // a raw body's temp file, -1 when none
    char *spool_path;
    crypto_hash_sha256_state sha;
    char hash [65];
    int64_t received;           // bytes of body so far
    int64_t limit;              // bytes of body allowed
    bool too_large;
    bool spool_failed;
    bool deferred;              // no body: answered at the call after the headers
    char spool_error [160];
} s_req_t;

static enum MHD_Result s_access (void *cls, struct MHD_Connection *connection,
                                 const char *url, const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls);
static void s_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode code);
static enum MHD_Result s_queue (gw_t *self, struct MHD_Connection *connection,
                                unsigned status, struct MHD_Response *response);
static enum MHD_Result s_queue_error (gw_t *self, struct MHD_Connection *connection,
                                      unsigned status, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));
static bool s_static (gw_t *self, struct MHD_Connection *connection, const char *path,
                      enum MHD_Result *result);
static tokens_role_t s_role (gw_t *self, struct MHD_Connection *connection,
                             const char **who, bool *given);
static int s_parse_listen (const char *listen, struct sockaddr_storage *addr, bool *loopback,
                           char **cause);
static char *s_find_www (const char *given);
static char *s_read_pem (const char *flag, const char *path, char **cause);
static void s_mhd_log (void *cls, const char *fmt, va_list args);

void
gw_config_init (gw_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->broker = GW_DEFAULT_BROKER;
    config->listen = GW_DEFAULT_LISTEN;
    config->chartjs = GW_CHARTJS;
    config->max_body = GW_DEFAULT_MAX_BODY;
    config->max_upload = GW_DEFAULT_MAX_UPLOAD;
    config->max_connections = GW_DEFAULT_CONNECTIONS;
    config->idle_timeout_s = GW_DEFAULT_IDLE_S;
    config->threads = GW_DEFAULT_THREADS;
    config->timeout_ms = (int) (GW_DEFAULT_TIMEOUT_S * 1000);
}

//  The checks of the options that need no file: 0, or -1 with *cause.
static int
s_check_config (const gw_config_t *config, bool loopback, char **cause)
{
    if (!config->cert != !config->broker_key)
        return mt_fail (cause, "CurveZMQ needs both --cert FILE (this client's NAME_secret) "
                        "and --broker-key FILE (the broker's public cert)");
    if (!config->tls_cert != !config->tls_key)
        return mt_fail (cause, "HTTPS needs both --tls-cert FILE and --tls-key FILE (PEM)");
    if (config->tls_cert && MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES)
        return mt_fail (cause, "--tls-cert: this libmicrohttpd was built without TLS "
                        "(MHD_FEATURE_TLS); serve HTTP on loopback behind a TLS proxy instead");
    if (!loopback && !config->tokens && !config->insecure)
        return mt_fail (cause, "--listen %s is not a loopback address: give --tokens FILE "
                        "(lines NAME ROLE SECRET) so callers must sign in, or --insecure to "
                        "serve everyone without tokens", config->listen);
    if (config->cors && (strchr (config->cors, '\r') || strchr (config->cors, '\n')
                         || !*config->cors))
        return mt_fail (cause, "--cors: give one origin, like https://ops.example.com");
    return 0;
}

gw_t *
gw_new (const gw_config_t *config, bool *usage, char **cause)
{
    struct sockaddr_storage addr;
    bool loopback = false;
    *usage = true;
    gw_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->config = *config;
    if (s_parse_listen (config->listen, &addr, &loopback, cause)
    ||  s_check_config (config, loopback, cause)
    ||  mt_endpoint_check ("--broker", config->broker, false, cause))
        goto err;
    if (config->tokens && !(self->tokens = tokens_load (config->tokens, cause)))
        goto err;
    if (config->tls_cert && (!(self->tls_cert = s_read_pem ("--tls-cert", config->tls_cert,
                                                             cause))
                             || !(self->tls_key = s_read_pem ("--tls-key", config->tls_key,
                                                              cause))))
        goto err;
    if (!(self->pool = pool_new (config->broker, config->cert, config->broker_key,
                                 config->timeout_ms, cause))
    ||  !(self->api = api_new (config, self->pool, cause)))
        goto err;
    self->www = s_find_www (config->www);
    if (config->www && !self->www) {
        mt_fail (cause, "--www: '%s' is not a folder with index.html", config->www);
        goto err;
    }
    if (!self->www)
        mt_warn ("gateway: no dashboard files found beside mtgateway (give --www DIR)");
    if (!(self->cache = cache_new (CACHE_MAX_ENTRIES, CACHE_MAX_BYTES))) {
        mt_fail (cause, "out of memory");
        goto err;
    }
    if (!(self->hub = hub_new (config->broker, config->cert, config->broker_key,
                               config->timeout_ms, self->pool, self->cache, cause)))
        goto err;
    api_set_hub (self->api, self->hub);
    api_set_cache (self->api, self->cache);
    *usage = false;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME
                   | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (self->tls_cert)
        flags |= MHD_USE_TLS;
    uint16_t port = addr.ss_family == AF_INET6
                  ? ntohs (((struct sockaddr_in6 *) &addr)->sin6_port)
                  : ntohs (((struct sockaddr_in *) &addr)->sin_port);
    self->starting = true;
    self->daemon = MHD_start_daemon (
        flags, port, NULL, NULL, s_access, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,    // first, so it hears every complaint
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) config->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) config->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) config->idle_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        self->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, self->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, self->tls_key,
        MHD_OPTION_END);
    self->starting = false;
    if (!self->daemon && self->tls_cert && self->start_error [0])
        mt_fail (cause, "cannot serve HTTPS on %s: libmicrohttpd: %s (check that --tls-key "
                 "'%s' is the private key of --tls-cert '%s', both PEM)", config->listen,
                 self->start_error, config->tls_key, config->tls_cert);
    else
    if (!self->daemon)
        mt_fail (cause, "cannot serve HTTP on %s: %s (is the port taken? a TLS cert or key "
                 "that does not parse?)", config->listen, strerror (errno));
    if (!self->daemon)
        goto err;
    if (asprintf (&self->url, "%s://%s", self->tls_cert ? "https" : "http", config->listen) < 0)
        self->url = NULL;
    mt_info ("gateway: serving %s (broker %s, %d threads, %s)", config->listen, config->broker,
             config->threads, self->tokens ? "tokens" : "no tokens");
    return self;
err:
    gw_destroy (&self);
    return NULL;
}

void
gw_destroy (gw_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_t *self = *self_p;
    //  The streams end first: MHD must not stop with a connection suspended
    hub_destroy (&self->hub);
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    api_destroy (&self->api);
    cache_destroy (&self->cache);
    pool_destroy (&self->pool);
    tokens_destroy (&self->tokens);
    free (self->www);
    free (self->url);
    free (self->tls_cert);
    free (self->tls_key);
    free (self);
    *self_p = NULL;
}

const char *gw_url (gw_t *self) { return self->url ? self->url : ""; }

// --- Options ---------------------------------------------------------------------------

//  ADDR:PORT with ADDR an IPv4 address, [IPv6], or localhost.
static int
s_parse_listen (const char *listen, struct sockaddr_storage *addr, bool *loopback,
                char **cause)
{
    memset (addr, 0, sizeof *addr);
    const char *colon = strrchr (listen, ':');
    char host [64];
    int64_t port;
    if (!colon || colon == listen || (size_t) (colon - listen) >= sizeof host)
        return mt_fail (cause, "--listen: '%s' is not ADDR:PORT (like 127.0.0.1:8080)", listen);
    memcpy (host, listen, colon - listen);
    host [colon - listen] = 0;
    if (mt_parse_int ("--listen's port", colon + 1, 1, 65535, &port, cause))
        return -1;
    size_t len = strlen (host);
    if (host [0] == '[' && len > 2 && host [len - 1] == ']') {
        host [len - 1] = 0;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons ((uint16_t) port);
        if (inet_pton (AF_INET6, host + 1, &in6->sin6_addr) != 1)
            return mt_fail (cause, "--listen: '%s' is not an IPv6 address", host + 1);
        *loopback = IN6_IS_ADDR_LOOPBACK (&in6->sin6_addr);
        return 0;
    }
    struct sockaddr_in *in = (struct sockaddr_in *) addr;
    in->sin_family = AF_INET;
    in->sin_port = htons ((uint16_t) port);
    if (inet_pton (AF_INET, strcmp (host, "localhost") ? host : "127.0.0.1",
                   &in->sin_addr) != 1)
        return mt_fail (cause, "--listen: '%s' is not an IPv4 address (or [IPv6], "
                        "localhost)", host);
    *loopback = (ntohl (in->sin_addr.s_addr) >> 24) == 127;
    return 0;
}

static char *
s_read_pem (const char *flag, const char *path, char **cause)
{
    FILE *file = fopen (path, "r");
    char *text = NULL;
    if (!file) {
        mt_fail (cause, "%s: cannot read '%s': %s", flag, path, strerror (errno));
        return NULL;
    }
    text = calloc (1, GW_MAX_PEM + 1);
    size_t len = text ? fread (text, 1, GW_MAX_PEM + 1, file) : 0;
    fclose (file);
    if (!text || len == 0 || len > GW_MAX_PEM || !strstr (text, "-----BEGIN ")) {
        mt_fail (cause, "%s: '%s' is not a PEM file", flag, path);
        free (text);
        return NULL;
    }
    return text;
}

static bool
s_has_index (const char *dir)
{
    char *path = NULL;
    struct stat st;
    bool has = asprintf (&path, "%s/index.html", dir) > 0 && stat (path, &st) == 0
               && S_ISREG (st.st_mode);
    free (path);
    return has;
}

//  --www, else www/ beside the executable, else ../share/mt/www from it.
static char *
s_find_www (const char *given)
{
    if (given)
        return s_has_index (given) ? realpath (given, NULL) : NULL;
    char exe [PATH_MAX], path [PATH_MAX + 32];
    ssize_t len = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return NULL;
    exe [len] = 0;
    char *slash = strrchr (exe, '/');
    if (slash)
        *slash = 0;
    const char *tails [] = { "www", "../share/mt/www" };
    for (int i = 0; i < 2; i++) {
        snprintf (path, sizeof path, "%s/%s", exe, tails [i]);
        if (s_has_index (path))
            return realpath (path, NULL);
    }
    return NULL;
}

//  libmicrohttpd's own format and arguments, passed on as it gave them
static void s_mhd_log (void *cls, const char *fmt, va_list args)
    __attribute__ ((format (printf, 2, 0)));

static void
s_mhd_log (void *cls, const char *fmt, va_list args)
{
    char *text = NULL;
    if (vasprintf (&text, fmt, args) < 0)
        return;
    size_t len = strlen (text);
    while (len && text [len - 1] == '\n')
        text [--len] = 0;
    mt_debug ("gateway: libmicrohttpd: %s", text);
    gw_t *self = (gw_t *) cls;
    if (self && self->starting && !self->start_error [0])
        snprintf (self->start_error, sizeof self->start_error, "%s", text);
    free (text);
}

// --- Replies ---------------------------------------------------------------------------

//  True when --cors is set and the request's Origin is that origin.
static bool
s_origin_allowed (gw_t *self, struct MHD_Connection *connection)
{
    const char *origin = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_ORIGIN);
    return self->config.cors && origin && strcmp (origin, self->config.cors) == 0;
}

//  Queue response (taken) with the headers every reply has.
static enum MHD_Result
s_queue (gw_t *self, struct MHD_Connection *connection, unsigned status,
         struct MHD_Response *response)
{
    if (!response)
        return MHD_NO;
    if (self->config.cors) {
        if (s_origin_allowed (self, connection))
            MHD_add_response_header (response, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN,
                                     self->config.cors);
        MHD_add_response_header (response, MHD_HTTP_HEADER_VARY, "Origin");
    }
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    if (!MHD_get_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return rc;
}

static enum MHD_Result
s_queue_error (gw_t *self, struct MHD_Connection *connection, unsigned status,
               const char *code, const char *fmt, ...)
{
    char *message = NULL;
    va_list args;
    va_start (args, fmt);
    if (vasprintf (&message, fmt, args) < 0)
        message = NULL;
    va_end (args);
    struct MHD_Response *response = api_json_response (
        json_pack ("{s:{s:s,s:s}}", "error", "code", code, "message", message ? message : code));
    free (message);
    if (response && status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return s_queue (self, connection, status, response);
}

// --- Static files --------------------------------------------------------------------

static const char *
s_content_type (const char *path)
{
    static const struct { const char *ext, *type; } types [] = {
        { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" }, { ".json", "application/json" },
        { ".svg", "image/svg+xml" }, { ".png", "image/png" }, { ".ico", "image/x-icon" },
        { ".txt", "text/plain; charset=utf-8" }, { ".map", "application/json" },
    };
    const char *dot = strrchr (path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types [0]; i++)
        if (strcmp (dot, types [i].ext) == 0)
            return types [i].type;
    return "application/octet-stream";
}

//  A /static/ name: segments of [A-Za-z0-9._-], none empty or starting with a dot.
static bool
s_safe_name (const char *name)
{
    if (!*name || strlen (name) > 200)
        return false;
    for (const char *p = name; *p; p++) {
        bool start = p == name || p [-1] == '/';
        if ((start && (*p == '.' || *p == '/'))
        ||  !(strchr ("._-/", *p) || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')))
            return false;
    }
    return name [strlen (name) - 1] != '/';
}

static enum MHD_Result
s_send_file (gw_t *self, struct MHD_Connection *connection, const char *path,
             const char *what)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) || !S_ISREG (st.st_mode)) {
        if (fd >= 0)
            close (fd);
        return s_queue_error (self, connection, 404, "not_found", "%s is not there", what);
    }
    struct MHD_Response *response = MHD_create_response_from_fd ((uint64_t) st.st_size, fd);
    if (!response) {
        close (fd);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, s_content_type (path));
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return s_queue (self, connection, 200, response);
}

//  GET / and /static/ (the dashboard), /vendor/chart.js, /api/openapi.json.
//  True when path is one of them, with *result the queue's.
static bool
s_static (gw_t *self, struct MHD_Connection *connection, const char *path,
          enum MHD_Result *result)
{
    char file [PATH_MAX + 256];
    const char *name = NULL;
    if (strcmp (path, "/") == 0 || strcmp (path, "/index.html") == 0)
        name = "index.html";
    else
    if (strncmp (path, "/static/", 8) == 0)
        name = path + 8;
    else
    if (strcmp (path, "/api/openapi.json") == 0)
        name = "openapi.json";
    else
    if (strcmp (path, "/vendor/chart.js") == 0) {
        *result = s_send_file (self, connection, self->config.chartjs,
                               "Chart.js (apt-get install libjs-chart.js, or --chartjs FILE)");
        return true;
    }
    else
        return false;
    if (!s_safe_name (name))
        *result = s_queue_error (self, connection, 404, "not_found", "no such file: %s", path);
    else
    if (!self->www)
        *result = s_queue_error (self, connection, 404, "not_found", "the dashboard's files "
                                 "are not installed beside mtgateway; give --www DIR");
    else {
        snprintf (file, sizeof file, "%s/%s", self->www, name);
        *result = s_send_file (self, connection, file, path);
    }
    return true;
}

// --- Requests -----------------------------------------------------------------------

//  The caller's role by its Authorization header; *given when it sent one.
static tokens_role_t
s_role (gw_t *self, struct MHD_Connection *connection, const char **who, bool *given)
{
    *who = "local";
    *given = false;
    if (!self->tokens)
        return TOKENS_ADMIN;
    const char *header = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_AUTHORIZATION);
    if (!header)
        return TOKENS_NONE;
    *given = true;
    if (strncasecmp (header, "Bearer ", 7))
        return TOKENS_NONE;
    const char *secret = header + 7;
    while (*secret == ' ')
        secret++;
    return tokens_check (self->tokens, secret, who);
}

static s_req_t *
s_req_new (struct MHD_Connection *connection, const char *path)
{
    s_req_t *req = calloc (1, sizeof *req);
    if (!req)
        return NULL;
    req->api.connection = connection;
    req->api.path = path;
    req->spool_fd = -1;
    return req;
}

static void
s_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
             enum MHD_RequestTerminationCode code)
{
    s_req_t *req = *con_cls;
    if (!req)
        return;
    if (req->spool_fd >= 0)
        close (req->spool_fd);
    if (req->spool_path)
        unlink (req->spool_path);
    free (req->spool_path);
    free (req->body);
    free (req);
    *con_cls = NULL;
}

//  Open the temp file a raw body is spooled to while it is hashed.
static int
s_spool_open (s_req_t *req)
{
    const char *tmp = getenv ("TMPDIR");
    if (asprintf (&req->spool_path, "%s/mtgateway-upload.XXXXXX", tmp && *tmp ? tmp : "/tmp")
        < 0) {
        req->spool_path = NULL;
        return -1;
    }
    req->spool_fd = mkostemp (req->spool_path, O_CLOEXEC);
    if (req->spool_fd < 0) {
        free (req->spool_path);
        req->spool_path = NULL;
        return -1;
    }
    crypto_hash_sha256_init (&req->sha);
    return 0;
}

//  One piece of a body: kept (JSON), spooled and hashed (raw), or dropped
//  past the limit. MHD_NO closes the connection: far past the limit.
static enum MHD_Result
s_take_body (s_req_t *req, const char *data, size_t size)
{
    req->received += (int64_t) size;
    if (req->too_large || req->received > req->limit) {
        req->too_large = true;
        free (req->body);
        req->body = NULL;
        req->body_len = 0;
        return req->received - req->limit > GW_DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (api_route_body (req->route) == API_BODY_RAW) {
        if (!req->spool_failed && mt_write_at (req->spool_fd, data, size,
                                               req->received - (int64_t) size)) {
            req->spool_failed = true;
            snprintf (req->spool_error, sizeof req->spool_error, "cannot spool the upload: %s",
                      strerror (errno));
        }
        crypto_hash_sha256_update (&req->sha, (const unsigned char *) data, size);
        return MHD_YES;
    }
    if (req->body_len + size + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + size + 1)
            cap *= 2;
        char *body = realloc (req->body, cap);
        if (!body)
            return MHD_NO;
        req->body = body;
        req->body_cap = cap;
    }
    memcpy (req->body + req->body_len, data, size);
    req->body_len += size;
    req->body [req->body_len] = 0;
    return MHD_YES;
}

static const char *
s_limit_flag (const s_req_t *req)
{
    return api_route_body (req->route) == API_BODY_RAW ? "--max-upload" : "--max-body";
}

//  After the headers of a request with a route: its access and its size.
//  Returns MHD_YES with *answered false to go on reading the body.
static enum MHD_Result
s_start (gw_t *self, struct MHD_Connection *connection, s_req_t *req, const char *method,
         bool *answered)
{
    *answered = true;
    bool given;
    tokens_role_t need = api_route_role (req->route);
    req->api.role = s_role (self, connection, &req->api.who, &given);
    if (need != TOKENS_NONE && req->api.role == TOKENS_NONE)
        return s_queue_error (self, connection, 401, "unauthorized", given
                              ? "the token is not one of this gateway's (--tokens)"
                              : "this gateway needs a token: send Authorization: Bearer SECRET");
    if (req->api.role < need)
        return s_queue_error (self, connection, 403, "forbidden", "token '%s' has the role "
                              "%s; %s %s needs %s", req->api.who,
                              tokens_role_name (req->api.role), method, req->api.path,
                              tokens_role_name (need));
    api_body_t body = api_route_body (req->route);
    if (body == API_BODY_NONE) {
        *answered = false;
        return MHD_YES;
    }
    req->limit = body == API_BODY_RAW ? self->config.max_upload : self->config.max_body;
    const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long declared = length ? strtoll (length, NULL, 10) : 0;
    if (declared > req->limit)
        return s_queue_error (self, connection, 413, "too_large", "the body is %lld bytes; "
                              "this gateway takes %lld at most (%s)", declared,
                              (long long) req->limit, s_limit_flag (req));
    if (body == API_BODY_RAW && s_spool_open (req))
        return s_queue_error (self, connection, 500, "internal", "cannot make a temp file "
                              "for the upload: %s", strerror (errno));
    *answered = false;
    return MHD_YES;
}

//  The whole request is in: answer it.
static enum MHD_Result
s_finish (gw_t *self, struct MHD_Connection *connection, s_req_t *req)
{
    if (req->too_large)
        return s_queue_error (self, connection, 413, "too_large", "the body is over %lld "
                              "bytes, the most this gateway takes (%s)",
                              (long long) req->limit, s_limit_flag (req));
    if (req->spool_failed)
        return s_queue_error (self, connection, 500, "internal", "%s", req->spool_error);
    if (api_route_body (req->route) == API_BODY_RAW) {
        blob_sha256_hex (&req->sha, req->hash);
        req->api.upload = req->spool_path;
        req->api.upload_hash = req->hash;
        req->api.upload_size = req->received;
    }
    req->api.body = req->body;
    req->api.body_len = req->body_len;
    api_run (self->api, req->route, &req->api);
    req->api.status = req->api.status ? req->api.status : 500;
    mt_debug ("gateway: %s -> %u", req->api.path, req->api.status);
    enum MHD_Result rc = s_queue (self, connection, req->api.status, req->api.response);
    req->api.response = NULL;
    return rc;
}

//  A request no route takes: a dashboard file, CORS's preflight, or an error.
static enum MHD_Result
s_unrouted (gw_t *self, struct MHD_Connection *connection, const char *path,
            const char *method)
{
    enum MHD_Result result;
    bool get = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    if (get && s_static (self, connection, path, &result))
        return result;
    bool known;
    char allow [64];
    api_find ("GET", path, &known, allow, sizeof allow);
    if (!known)
        api_find ("POST", path, &known, allow, sizeof allow);
    if (strcmp (method, "OPTIONS") == 0 && known && s_origin_allowed (self, connection)) {
        struct MHD_Response *response = MHD_create_response_from_buffer (0, "",
                                                                         MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header (response, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        MHD_add_response_header (response, "Access-Control-Allow-Headers",
                                 "Authorization, Content-Type");
        MHD_add_response_header (response, "Access-Control-Max-Age", "600");
        return s_queue (self, connection, 204, response);
    }
    if (!known)
        return s_queue_error (self, connection, 404, "not_found", "no route %s %s; the API is "
                              "described at /api/openapi.json", method, path);
    api_find (method, path, &known, allow, sizeof allow);
    struct MHD_Response *response = api_json_response (json_pack (
        "{s:{s:s,s:s+}}", "error", "code", "method_not_allowed", "message",
        "use ", allow));
    if (response)
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, allow);
    return s_queue (self, connection, 405, response);
}

//  True when the request says a body follows.
static bool
s_has_body (struct MHD_Connection *connection)
{
    const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
    return MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                        MHD_HTTP_HEADER_TRANSFER_ENCODING)
           || (length && strtoll (length, NULL, 10) != 0);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size,
          void **con_cls)
{
    gw_t *self = cls;
    s_req_t *req = *con_cls;
    if (!req) {
        bool known;
        char allow [64];
        const api_route_t *route = api_find (method, url, &known, allow, sizeof allow);
        if (!route)
            return s_unrouted (self, connection, url, method);
        if (!(req = s_req_new (connection, url)))
            return MHD_NO;
        req->route = route;
        *con_cls = req;
        bool answered;
        enum MHD_Result rc = s_start (self, connection, req, method, &answered);
        if (answered || api_route_body (route) != API_BODY_NONE)
            return rc;
        //  No body to wait for. One declared anyway: answer now, which closes
        //  the connection. Else answer at the next call: MHD keeps a connection
        //  alive only for a response queued once the request is all in.
        if (s_has_body (connection))
            return s_finish (self, connection, req);
        req->deferred = true;
        return MHD_YES;
    }
    if (*upload_data_size > 0 && req->deferred)
        return MHD_NO;          // a body no header announced
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        return s_take_body (req, upload_data, size);
    }
    return s_finish (self, connection, req);
}
