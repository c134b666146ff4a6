/*  api - the gateway's JSON routes: the old /api/train ones, /api/v1, /health, /metrics  */
//  Each route is one broker request through a pooled conn (client/conn.c)
//  and the reply's maps passed on as they came: the same JSON that
//  `mtclient status/list/workers --json` prints (cmd_json_text encodes
//  both). The broker validates specs and names the bad field; its ERROR
//  codes become HTTP statuses in s_broker_error.
#include "api.h"
#include "cmd.h"
#include "dataset.h"
#include "metrics.h"
#include "mt/blob.h"
#include "mt/log.h"
#include "mt/util.h"
#include "mt/version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define API_MAX_ID          ((int64_t) 1 << 53)   // the protocol's largest job id
#define API_DEFAULT_LIMIT   100         // jobs per page of GET /api/v1/jobs
#define API_MAX_LIMIT       10000       // the broker's LIST limit
#define API_MAX_NAME        256         // bytes of ?name= and ?name= of an upload

typedef void (api_fn) (api_t *self, api_req_t *req);

struct api_route_t {
    const char *method;
    const char *pattern;        // the path; "{id}" stands for one segment
    tokens_role_t role;         // TOKENS_NONE: open without a token
    api_body_t body;
    api_fn *run;
};

struct api_t {
    pool_t *pool;
    hub_t *hub;
    cache_t *cache;             // NULL: every GET of a job asks the broker
    char *default_path;         // --default-data, or NULL
    char *default_name;         // its file name
    char default_hash [65];
    int64_t default_size;
    char *default_target;       // its last column: the target when a body names none
    mt_format_t default_format;
};

static api_fn s_health, s_train, s_train_status, s_train_stop, s_train_jobs, s_upload,
              s_submit, s_list, s_job, s_stop, s_history, s_model, s_workers, s_stats,
              s_whoami, s_events, s_metrics, s_resume, s_delete, s_checkpoint,
              s_sweeps, s_sweep_create, s_sweep, s_sweep_stop, s_sweep_resume;

static const api_route_t s_routes [] = {
    { "GET",  "/health",                    TOKENS_NONE,   API_BODY_NONE, s_health },
    { "POST", "/api/train",                 TOKENS_SUBMIT, API_BODY_JSON, s_train },
    { "GET",  "/api/train/status",          TOKENS_READ,   API_BODY_NONE, s_train_status },
    { "POST", "/api/train/stop",            TOKENS_SUBMIT, API_BODY_JSON, s_train_stop },
    { "GET",  "/api/train/jobs",            TOKENS_READ,   API_BODY_NONE, s_train_jobs },
    { "POST", "/api/v1/datasets",           TOKENS_SUBMIT, API_BODY_RAW,  s_upload },
    { "POST", "/api/v1/jobs",               TOKENS_SUBMIT, API_BODY_JSON, s_submit },
    { "GET",  "/api/v1/jobs",               TOKENS_READ,   API_BODY_NONE, s_list },
    { "GET",  "/api/v1/jobs/{id}",          TOKENS_READ,   API_BODY_NONE, s_job },
    { "POST", "/api/v1/jobs/{id}/stop",     TOKENS_SUBMIT, API_BODY_JSON, s_stop },  // body unread
    { "GET",  "/api/v1/jobs/{id}/history",  TOKENS_READ,   API_BODY_NONE, s_history },
    { "GET",  "/api/v1/jobs/{id}/model",    TOKENS_READ,   API_BODY_NONE, s_model },
    { "GET",  "/api/v1/jobs/{id}/checkpoint", TOKENS_READ, API_BODY_NONE, s_checkpoint },
    { "POST", "/api/v1/jobs/{id}/resume",   TOKENS_SUBMIT, API_BODY_JSON, s_resume },  // body unread
    { "DELETE", "/api/v1/jobs/{id}",        TOKENS_ADMIN,  API_BODY_NONE, s_delete },
    { "GET",  "/api/v1/sweeps",             TOKENS_READ,   API_BODY_NONE, s_sweeps },
    { "POST", "/api/v1/sweeps",             TOKENS_SUBMIT, API_BODY_JSON, s_sweep_create },
    { "GET",  "/api/v1/sweeps/{id}",        TOKENS_READ,   API_BODY_NONE, s_sweep },
    { "POST", "/api/v1/sweeps/{id}/stop",   TOKENS_SUBMIT, API_BODY_JSON, s_sweep_stop },
    { "POST", "/api/v1/sweeps/{id}/resume", TOKENS_SUBMIT, API_BODY_JSON, s_sweep_resume },
    { "GET",  "/api/v1/workers",            TOKENS_READ,   API_BODY_NONE, s_workers },
    { "GET",  "/api/v1/stats",              TOKENS_READ,   API_BODY_NONE, s_stats },
    { "GET",  "/api/v1/whoami",             TOKENS_READ,   API_BODY_NONE, s_whoami },
    { "GET",  "/api/v1/events",             TOKENS_READ,   API_BODY_NONE, s_events },
    { "GET",  "/metrics",                   TOKENS_READ,   API_BODY_NONE, s_metrics },
};
#define API_ROUTES (sizeof s_routes / sizeof s_routes [0])

static const char *s_states [] = { "queued", "running", "stopping", "succeeded", "failed",
                                   "stopped", "pruned" };
#define API_STATES  (sizeof s_states / sizeof s_states [0])

static bool s_match (const char *pattern, const char *path);
static void s_reply (api_req_t *req, unsigned status, json_t *value);
static mt_msg_t *s_call (api_t *self, api_req_t *req, mt_msg_t **request_p, const char *expect);
static void s_broker_error (api_t *self, api_req_t *req, conn_t *conn, const char *cause);
static json_t *s_body_object (api_req_t *req);
static json_t *s_spec (api_t *self, api_req_t *req, json_t *body, json_t **key);
static int s_path_id (api_req_t *req, int64_t *id);
static int s_query_id (api_req_t *req, const char *name, const char *text, int64_t *id);
static json_t *s_job_status (api_t *self, api_req_t *req, int64_t id);
static int64_t s_submit_spec (api_t *self, api_req_t *req, bool *existing);
static json_t *s_with_status (int64_t id, json_t *job);
static int s_default_data (api_t *self, const char *path, char **cause);

// --- The table and the server's side -----------------------------------------------------

api_t *
api_new (const gw_config_t *config, pool_t *pool, char **cause)
{
    api_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->pool = pool;
    if (config->default_data && s_default_data (self, config->default_data, cause)) {
        api_destroy (&self);
        return NULL;
    }
    return self;
}

void api_set_hub (api_t *self, hub_t *hub) { self->hub = hub; }
void api_set_cache (api_t *self, cache_t *cache) { self->cache = cache; }

void
api_destroy (api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    api_t *self = *self_p;
    free (self->default_path);
    free (self->default_name);
    free (self->default_target);
    free (self);
    *self_p = NULL;
}

//  --default-data: hashed once, its columns read (the last one is the
//  target when a body names none); uploaded when first used.
static int
s_default_data (api_t *self, const char *path, char **cause)
{
    char *why = NULL;
    dataset_columns_t *columns = NULL;
    if (blob_hash_file (path, self->default_hash, &self->default_size, &why)
    ||  !(columns = dataset_columns (path, MT_FORMAT_AUTO, &why))) {
        mt_fail (cause, "--default-data: %s", why);
        free (why);
        return -1;
    }
    if (self->default_size == 0 || columns->count < 2) {
        dataset_columns_destroy (&columns);
        return mt_fail (cause, "--default-data: '%s' needs a header of two columns or more "
                        "(inputs, then the target)", path);
    }
    const char *base = strrchr (path, '/');
    self->default_path = strdup (path);
    self->default_name = strdup (base ? base + 1 : path);
    self->default_target = strdup (columns->names [columns->count - 1]);
    self->default_format = columns->format;
    dataset_columns_destroy (&columns);
    mt_info ("gateway: default data %s (%lld bytes, target '%s')", path,
             (long long) self->default_size, self->default_target);
    return 0;
}

const api_route_t *
api_find (const char *method, const char *path, bool *known, char *allow, size_t size)
{
    *known = false;
    if (size)
        allow [0] = 0;
    for (size_t i = 0; i < API_ROUTES; i++) {
        if (!s_match (s_routes [i].pattern, path))
            continue;
        if (strcmp (s_routes [i].method, method) == 0
        ||  (strcmp (method, "HEAD") == 0 && strcmp (s_routes [i].method, "GET") == 0))
            return &s_routes [i];
        size_t used = strlen (allow);
        snprintf (allow + used, size - used, "%s%s", *known ? ", " : "", s_routes [i].method);
        *known = true;
    }
    return NULL;
}

api_body_t api_route_body (const api_route_t *route) { return route->body; }
tokens_role_t api_route_role (const api_route_t *route) { return route->role; }

void
api_run (api_t *self, const api_route_t *route, api_req_t *req)
{
    route->run (self, req);
    if (!req->response)
        api_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
}

//  pattern against path, segment by segment; {id} matches any one segment.
static bool
s_match (const char *pattern, const char *path)
{
    while (*pattern && *path) {
        if (strncmp (pattern, "{id}", 4) == 0) {
            size_t len = strcspn (path, "/");
            if (len == 0)
                return false;
            pattern += 4;
            path += len;
        }
        else
        if (*pattern++ != *path++)
            return false;
    }
    return *pattern == 0 && *path == 0;
}

// --- Replies --------------------------------------------------------------------------

struct MHD_Response *
api_json_response (json_t *value)
{
    char *text = value ? cmd_json_text (value, false) : NULL;
    json_decref (value);
    if (!text)
        return NULL;
    struct MHD_Response *response = MHD_create_response_from_buffer (
        strlen (text), text, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free (text);
        return NULL;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return response;
}

static void
s_reply (api_req_t *req, unsigned status, json_t *value)
{
    req->status = status;
    req->response = api_json_response (value);
}

void
api_error (api_req_t *req, unsigned status, const char *code, const char *fmt, ...)
{
    char *message = NULL;
    va_list args;
    va_start (args, fmt);
    if (vasprintf (&message, fmt, args) < 0)
        message = NULL;
    va_end (args);
    if (req->response)
        MHD_destroy_response (req->response);
    s_reply (req, status, json_pack ("{s:{s:s,s:s}}", "error", "code", code, "message",
                                     message ? message : code));
    free (message);
}

//  A broker failure as an HTTP error: no answer is 503, an ERROR's code
//  picks the status and passes through with its text.
static void
s_broker_error (api_t *self, api_req_t *req, conn_t *conn, const char *cause)
{
    static const struct { const char *code; unsigned status; } map [] = {
        { "not_found", 404 }, { "bad_spec", 400 }, { "bad_state", 409 },
        { "key_conflict", 409 }, { "too_large", 413 }, { "forbidden", 403 },
        { "bad_message", 400 }, { "bad_hash", 400 }, { "storage", 503 },
    };
    const char *code = conn ? conn_error_code (conn) : NULL;
    if (!conn || conn_timed_out (conn) || !code) {
        bool away = !conn || conn_timed_out (conn);
        api_error (req, away ? 503 : 502, away ? "broker_unavailable" : "bad_gateway",
                   "%s", cause ? cause : "the broker cannot be reached");
        return;
    }
    for (size_t i = 0; i < sizeof map / sizeof map [0]; i++)
        if (strcmp (code, map [i].code) == 0) {
            api_error (req, map [i].status, strcmp (code, "bad_message") == 0
                       ? "bad_request" : code, "%s", cause);
            return;
        }
    api_error (req, 502, code, "%s", cause);
}

//  Send request (taken) through a pooled conn and wait for expect; NULL
//  with req's error reply set. A broker known to be away is not waited for.
static mt_msg_t *
s_call (api_t *self, api_req_t *req, mt_msg_t **request_p, const char *expect)
{
    if (!pool_up (self->pool)) {
        mt_msg_destroy (request_p);
        api_error (req, 503, "broker_unavailable", "the broker at %s does not answer; the "
                   "gateway tries again every second", pool_endpoint (self->pool));
        return NULL;
    }
    char *cause = NULL;
    mt_msg_t *reply = NULL;
    conn_t *conn = pool_get (self->pool, &cause);
    if (!conn)
        api_error (req, 503, "broker_unavailable", "%s", cause);
    else
    if (conn_call (conn, request_p, expect, &reply, &cause))
        s_broker_error (self, req, conn, cause);
    mt_msg_destroy (request_p);
    pool_put (self->pool, &conn);
    free (cause);
    return reply;
}

// --- Input --------------------------------------------------------------------------------

//  The body as a JSON object, or NULL with a 400 reply naming the error.
static json_t *
s_body_object (api_req_t *req)
{
    if (!req->body || req->body_len == 0) {
        api_error (req, 400, "bad_request", "the body is empty; send a JSON object "
                   "(Content-Type: application/json)");
        return NULL;
    }
    json_error_t error;
    json_t *body = json_loadb (req->body, req->body_len, JSON_REJECT_DUPLICATES, &error);
    if (!body) {
        api_error (req, 400, "bad_request", "the body is not valid JSON: %s (line %d, column "
                   "%d)", error.text, error.line, error.column);
        return NULL;
    }
    if (!json_is_object (body)) {
        json_decref (body);
        api_error (req, 400, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    return body;
}

//  A positive job id from text, or -1 with a 400 reply naming what.
static int
s_query_id (api_req_t *req, const char *name, const char *text, int64_t *id)
{
    char *cause = NULL;
    if (!text) {
        api_error (req, 400, "bad_request", "%s is missing: give a job id", name);
        return -1;
    }
    if (mt_parse_int (name, text, 1, API_MAX_ID, id, &cause)) {
        api_error (req, 400, "bad_request", "%s", cause);
        free (cause);
        return -1;
    }
    return 0;
}

//  The {id} segment of a path under prefix ("/api/v1/jobs/"), named what.
static int
s_segment_id (api_req_t *req, const char *prefix, const char *what, int64_t *id)
{
    const char *start = req->path + strlen (prefix);
    size_t len = strcspn (start, "/");
    char text [32];
    if (len >= sizeof text) {
        api_error (req, 400, "bad_request", "%s '%.*s...' is not a %s", what, 20, start, what);
        return -1;
    }
    memcpy (text, start, len);
    text [len] = 0;
    return s_query_id (req, what, text, id);
}

//  The {id} segment of a /api/v1/jobs/{id} path.
static int
s_path_id (api_req_t *req, int64_t *id)
{
    return s_segment_id (req, "/api/v1/jobs/", "job id", id);
}

//  The spec of a submit body: its fields as they are (the broker checks
//  them), `dataset` as data_hash, --default-data when it names no data.
//  *key (caller owns, may be NULL) gets the body's idempotency key.
static json_t *
s_spec (api_t *self, api_req_t *req, json_t *body, json_t **key)
{
    json_t *spec = json_deep_copy (body);
    *key = json_incref (json_object_get (spec, "key"));
    json_object_del (spec, "key");
    json_t *dataset = json_object_get (spec, "dataset");
    if (dataset) {
        if (!json_is_string (dataset) || json_object_get (spec, "data_hash")) {
            api_error (req, 400, "bad_spec", "'dataset' must be the hash of an upload (a "
                       "string; not beside 'data_hash')");
            goto err;
        }
        json_object_set (spec, "data_hash", dataset);
        json_object_del (spec, "dataset");
    }
    if (*key && !json_is_string (*key)) {
        api_error (req, 400, "bad_request", "'key' must be a string (an idempotency key)");
        goto err;
    }
    if (json_object_get (spec, "data_hash") || json_object_get (spec, "data_path"))
        return spec;
    if (!self->default_path) {
        api_error (req, 400, "bad_spec", "no data: upload a file with POST /api/v1/datasets "
                   "and name its hash in 'dataset', or give 'data_path' (a file every worker "
                   "can read)");
        goto err;
    }
    json_object_set_new (spec, "data_hash", json_string (self->default_hash));
    if (!json_object_get (spec, "data_name"))
        json_object_set_new (spec, "data_name", json_string (self->default_name));
    if (!json_object_get (spec, "format"))
        json_object_set_new (spec, "format", json_string (mt_format_name (self->default_format)));
    if (!json_object_get (spec, "target"))
        json_object_set_new (spec, "target", json_string (self->default_target));
    return spec;
err:
    json_decref (spec);
    json_decref (*key);
    *key = NULL;
    return NULL;
}

// --- Jobs ---------------------------------------------------------------------------------

//  When spec names --default-data, upload it (the broker answers at once
//  when it holds it). 0, or -1 with req's error reply.
static int
s_upload_default (api_t *self, api_req_t *req, json_t *spec)
{
    const char *hash = json_string_value (json_object_get (spec, "data_hash"));
    if (!self->default_path || !hash || strcmp (hash, self->default_hash))
        return 0;
    char *cause = NULL;
    conn_t *conn = pool_up (self->pool) ? pool_get (self->pool, &cause) : NULL;
    int rc = conn ? conn_upload (conn, self->default_path, self->default_hash,
                                 self->default_size, &cause) : -1;
    if (rc)
        s_broker_error (self, req, conn, cause);
    pool_put (self->pool, &conn);
    free (cause);
    return rc;
}

//  SUBMIT the body's spec (uploading --default-data first when it is
//  used). Returns the job id, or -1 with req's error reply.
static int64_t
s_submit_spec (api_t *self, api_req_t *req, bool *existing)
{
    json_t *key = NULL, *spec = NULL, *body = s_body_object (req);
    int64_t id = -1;
    if (!body || !(spec = s_spec (self, req, body, &key)))
        goto done;
    if (s_upload_default (self, req, spec))
        goto done;
    mt_msg_t *request = mt_msg_new ("SUBMIT");
    json_object_set (mt_msg_body (request), "spec", spec);
    if (key)
        json_object_set (mt_msg_body (request), "key", key);
    mt_msg_t *reply = s_call (self, req, &request, "SUBMITTED");
    if (reply) {
        id = json_integer_value (json_object_get (mt_msg_body (reply), "job"));
        *existing = json_is_true (json_object_get (mt_msg_body (reply), "existing"));
    }
    mt_msg_destroy (&reply);
done:
    json_decref (body);
    json_decref (spec);
    json_decref (key);
    return id;
}

//  STATUS of a job: the map with history (caller owns), or NULL with req's
//  error reply.
static json_t *
s_job_status (api_t *self, api_req_t *req, int64_t id)
{
    mt_msg_t *request = mt_msg_new ("STATUS");
    json_object_set_new (mt_msg_body (request), "job", json_integer (id));
    mt_msg_t *reply = s_call (self, req, &request, "JOB");
    json_t *job = reply ? json_incref (json_object_get (mt_msg_body (reply), "job")) : NULL;
    mt_msg_destroy (&reply);
    if (reply && !json_is_object (job))
        api_error (req, 502, "bad_gateway", "the broker's JOB reply has no job map");
    return json_is_object (job) ? job : (json_decref (job), NULL);
}

//  The old routes' shape: job_id, status and progress first, then the map.
static json_t *
s_with_status (int64_t id, json_t *job)
{
    json_t *out = json_object ();
    json_object_set_new (out, "job_id", json_integer (id));
    json_object_set (out, "status", json_object_get (job, "state"));
    json_object_set (out, "progress", json_object_get (job, "progress"));
    json_object_update_missing (out, job);
    json_decref (job);
    return out;
}

static void
s_train (api_t *self, api_req_t *req)
{
    bool existing = false;
    int64_t id = s_submit_spec (self, req, &existing);
    if (id > 0)
        s_reply (req, 200, json_pack ("{s:I,s:s}", "job_id", (json_int_t) id, "status",
                                      "queued"));
}

static void
s_submit (api_t *self, api_req_t *req)
{
    bool existing = false;
    int64_t id = s_submit_spec (self, req, &existing);
    if (id > 0)
        s_reply (req, existing ? 200 : 201, json_pack ("{s:I,s:b}", "job_id",
                                                       (json_int_t) id, "existing", existing));
}

static void
s_train_status (api_t *self, api_req_t *req)
{
    int64_t id;
    const char *text = MHD_lookup_connection_value (req->connection, MHD_GET_ARGUMENT_KIND,
                                                    "job_id");
    if (s_query_id (req, "job_id", text, &id))
        return;
    json_t *job = s_job_status (self, req, id);
    if (job)
        s_reply (req, 200, s_with_status (id, job));
}

//  STOP job id: the map after the change, or NULL with req's error reply.
static json_t *
s_stop_job (api_t *self, api_req_t *req, int64_t id)
{
    mt_msg_t *request = mt_msg_new ("STOP");
    json_object_set_new (mt_msg_body (request), "job", json_integer (id));
    mt_msg_t *reply = s_call (self, req, &request, "JOB");
    json_t *job = reply ? json_incref (json_object_get (mt_msg_body (reply), "job")) : NULL;
    mt_msg_destroy (&reply);
    return job;
}

static void
s_train_stop (api_t *self, api_req_t *req)
{
    json_t *body = s_body_object (req);
    if (!body)
        return;
    json_t *value = json_object_get (body, "job_id");
    json_int_t id = json_integer_value (value);
    if (!json_is_integer (value) || id < 1 || id > API_MAX_ID)
        api_error (req, 400, "bad_request", "'job_id' must be a job id (an integer from 1)");
    else {
        json_t *job = s_stop_job (self, req, id);
        if (job)
            s_reply (req, 200, s_with_status (id, job));
    }
    json_decref (body);
}

static void
s_stop (api_t *self, api_req_t *req)
{
    int64_t id;
    if (s_path_id (req, &id))
        return;
    json_t *job = s_stop_job (self, req, id);
    if (job)
        s_reply (req, 200, job);
}

//  A job's JSON text as a 200 reply (text taken); X-Cache says whether it
//  came from the cache.
static void
s_reply_text (api_req_t *req, char *text, size_t len, bool hit)
{
    req->status = 200;
    req->response = MHD_create_response_from_buffer (len, text, MHD_RESPMEM_MUST_FREE);
    if (req->response) {
        MHD_add_response_header (req->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                 "application/json");
        MHD_add_response_header (req->response, "X-Cache", hit ? "hit" : "miss");
    }
    else
        free (text);
}

//  From the cache when the hub keeps it true, else from the broker; a map
//  with `waiting` (a queued job's) changes with the workers, so is not kept.
static void
s_job (api_t *self, api_req_t *req)
{
    int64_t id;
    size_t len = 0;
    if (s_path_id (req, &id))
        return;
    char *text = self->cache ? cache_get (self->cache, id, &len) : NULL;
    if (text) {
        s_reply_text (req, text, len, true);
        return;
    }
    uint64_t ticket = self->cache ? cache_ticket (self->cache) : 0;
    json_t *job = s_job_status (self, req, id);
    if (!job)
        return;
    bool keep = ticket && !json_object_get (job, "waiting");
    text = cmd_json_text (job, false);
    json_decref (job);
    if (!text) {
        api_error (req, 500, "internal", "out of memory");
        return;
    }
    len = strlen (text);
    if (keep)
        cache_put (self->cache, id, ticket, text, len);
    s_reply_text (req, text, len, false);
}

static void
s_history (api_t *self, api_req_t *req)
{
    int64_t id;
    json_t *job = s_path_id (req, &id) ? NULL : s_job_status (self, req, id);
    if (!job)
        return;
    json_t *out = json_object ();
    json_object_set_new (out, "job_id", json_integer (id));
    const char *keys [] = { "history", "epochs" };
    for (int i = 0; i < 2; i++) {
        json_t *list = json_object_get (job, keys [i]);
        json_object_set_new (out, keys [i], json_is_array (list) ? json_incref (list)
                                                                 : json_array ());
    }
    json_decref (job);
    s_reply (req, 200, out);
}

//  The query of GET /api/v1/jobs, checked: the broker's LIST filters.
typedef struct {
    const char *state, *name;
    int64_t sweep;              // 0: any
    int64_t limit, cursor;      // cursor: only ids below it (LIST's before); 0 = the newest
} s_query_t;

//  LIST with query's filters: the reply's body (caller owns), or NULL with
//  req's error.
static json_t *
s_list_jobs (api_t *self, api_req_t *req, const s_query_t *query)
{
    mt_msg_t *request = mt_msg_new ("LIST");
    json_t *body = mt_msg_body (request);
    if (query->state)
        json_object_set_new (body, "state", json_string (query->state));
    if (query->name)
        json_object_set_new (body, "name", mt_json_string (query->name,
                                                           strlen (query->name)));
    if (query->sweep)
        json_object_set_new (body, "sweep", json_integer (query->sweep));
    if (query->cursor)
        json_object_set_new (body, "before", json_integer (query->cursor));
    json_object_set_new (body, "limit", json_integer (query->limit));
    mt_msg_t *reply = s_call (self, req, &request, "JOBS");
    json_t *out = reply ? json_incref (mt_msg_body (reply)) : NULL;
    mt_msg_destroy (&reply);
    if (out && !json_is_array (json_object_get (out, "jobs"))) {
        api_error (req, 502, "bad_gateway", "the broker's JOBS reply has no list");
        json_decref (out);
        out = NULL;
    }
    return out;
}

static void
s_train_jobs (api_t *self, api_req_t *req)
{
    s_query_t query = { .limit = API_DEFAULT_LIMIT };
    json_t *reply = s_list_jobs (self, req, &query);
    if (reply)
        s_reply (req, 200, json_pack ("{s:O}", "jobs", json_object_get (reply, "jobs")));
    json_decref (reply);
}

static int
s_list_query (api_req_t *req, s_query_t *query)
{
    struct MHD_Connection *c = req->connection;
    query->state = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "state");
    query->name = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "name");
    const char *sweep = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "sweep");
    const char *limit = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cursor = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "cursor");
    char *cause = NULL;
    query->limit = API_DEFAULT_LIMIT;
    query->cursor = 0;
    query->sweep = 0;
    if (query->state && *query->state) {
        size_t i = 0;
        while (i < API_STATES && strcmp (query->state, s_states [i]))
            i++;
        if (i == API_STATES) {
            api_error (req, 400, "bad_request", "state: '%s' is not one of queued, running, "
                       "stopping, succeeded, failed, stopped, pruned", query->state);
            return -1;
        }
    }
    else
        query->state = NULL;
    if ((limit && mt_parse_int ("limit", limit, 1, API_MAX_LIMIT, &query->limit, &cause))
    ||  (cursor && *cursor && mt_parse_int ("cursor", cursor, 1, API_MAX_ID, &query->cursor,
                                            &cause))
    ||  (sweep && *sweep && mt_parse_int ("sweep", sweep, 1, API_MAX_ID, &query->sweep,
                                          &cause))) {
        api_error (req, 400, "bad_request", "%s", cause);
        free (cause);
        return -1;
    }
    if (query->name && strlen (query->name) > API_MAX_NAME) {
        api_error (req, 400, "bad_request", "name: longer than %d bytes", API_MAX_NAME);
        return -1;
    }
    if (query->name && !*query->name)
        query->name = NULL;
    return 0;
}

//  The broker's LIST does the filters and the paging; its `next` is the
//  cursor of the next page, as a string (null on the last page).
static void
s_list (api_t *self, api_req_t *req)
{
    s_query_t query;
    if (s_list_query (req, &query))
        return;
    json_t *reply = s_list_jobs (self, req, &query);
    if (!reply)
        return;
    json_t *next = json_object_get (reply, "next");
    json_t *cursor = json_null ();
    if (json_is_integer (next)) {
        char text [32];
        snprintf (text, sizeof text, "%lld", (long long) json_integer_value (next));
        cursor = json_string (text);
    }
    s_reply (req, 200, json_pack ("{s:O,s:o}", "jobs", json_object_get (reply, "jobs"),
                                  "next", cursor));
    json_decref (reply);
}

//  The model's or checkpoint's (what) bytes: fetched (and checked against
//  its hash) into a private temp folder, then sent from the open file, which
//  is already unlinked.
static void
s_send_blob (api_t *self, api_req_t *req, const char *what)
{
    int64_t id;
    if (s_path_id (req, &id))
        return;
    if (!pool_up (self->pool)) {
        api_error (req, 503, "broker_unavailable", "the broker at %s does not answer",
                   pool_endpoint (self->pool));
        return;
    }
    const char *tmp = getenv ("TMPDIR");
    char *template = NULL;
    if (asprintf (&template, "%s/mtgateway-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", what) < 0
    ||  !mkdtemp (template)) {
        api_error (req, 500, "internal", "cannot make a temp folder: %s", strerror (errno));
        free (template);
        return;
    }
    char *path = NULL, *cause = NULL;
    conn_t *conn = NULL;
    if (asprintf (&path, "%s/%s.safetensors", template, what) < 0)
        path = NULL;
    conn = path ? pool_get (self->pool, &cause) : NULL;
    int64_t size = 0;
    if (!conn || conn_fetch_what (conn, id, what, path, NULL, &size, &cause))
        s_broker_error (self, req, conn, cause);
    else {
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        req->response = fd >= 0 ? MHD_create_response_from_fd ((uint64_t) size, fd) : NULL;
        if (!req->response) {
            if (fd >= 0)
                close (fd);
            api_error (req, 500, "internal", "cannot read the fetched %s", what);
        }
        else {
            char disposition [96];
            snprintf (disposition, sizeof disposition,
                      "attachment; filename=\"job-%lld%s.safetensors\"", (long long) id,
                      strcmp (what, "model") ? "-checkpoint" : "");
            MHD_add_response_header (req->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                     "application/octet-stream");
            MHD_add_response_header (req->response, "Content-Disposition", disposition);
            req->status = 200;
        }
    }
    pool_put (self->pool, &conn);
    if (path)
        unlink (path);
    rmdir (template);
    free (path);
    free (template);
    free (cause);
}

static void s_model (api_t *self, api_req_t *req) { s_send_blob (self, req, "model"); }
static void s_checkpoint (api_t *self, api_req_t *req) { s_send_blob (self, req, "checkpoint"); }

//  RESUME a failed or stopped job: its map, queued again.
static void
s_resume (api_t *self, api_req_t *req)
{
    int64_t id;
    if (s_path_id (req, &id))
        return;
    mt_msg_t *request = mt_msg_new ("RESUME");
    json_object_set_new (mt_msg_body (request), "job", json_integer (id));
    mt_msg_t *reply = s_call (self, req, &request, "JOB");
    if (reply)
        s_reply (req, 200, json_pack ("{s:O}", "job", json_object_get (mt_msg_body (reply),
                                                                        "job")));
    mt_msg_destroy (&reply);
}

//  DELETE an ended job: {job_id, blobs} as the broker's DELETED says.
static void
s_delete (api_t *self, api_req_t *req)
{
    int64_t id;
    if (s_path_id (req, &id))
        return;
    mt_msg_t *request = mt_msg_new ("DELETE");
    json_object_set_new (mt_msg_body (request), "job", json_integer (id));
    mt_msg_t *reply = s_call (self, req, &request, "DELETED");
    if (reply)
        s_reply (req, 200, json_pack ("{s:I,s:O}", "job_id", (json_int_t) id, "blobs",
                                      json_object_get (mt_msg_body (reply), "blobs")));
    mt_msg_destroy (&reply);
}

// --- Sweeps -------------------------------------------------------------------------------

//  command (SWEEP_STATUS, _STOP, _RESUME) of the path's sweep: the map as
//  mtclient sweep status --json prints it; ?top=N keeps the best N trials
//  (a status's), ?full=1 adds the broker's whole map (counts, each trial's
//  `trial`, the settings) as "full", and a resume its "resumed" count.
static void
s_sweep_command (api_t *self, api_req_t *req, const char *command)
{
    int64_t id, top = 0;
    if (s_segment_id (req, "/api/v1/sweeps/", "sweep id", &id))
        return;
    const char *top_text = strcmp (command, "SWEEP_STATUS") == 0
        ? MHD_lookup_connection_value (req->connection, MHD_GET_ARGUMENT_KIND, "top") : NULL;
    char *cause = NULL;
    if (top_text && mt_parse_int ("top", top_text, 1, API_MAX_LIMIT, &top, &cause)) {
        api_error (req, 400, "bad_request", "%s", cause);
        free (cause);
        return;
    }
    mt_msg_t *request = mt_msg_new (command);
    json_object_set_new (mt_msg_body (request), "sweep", json_integer (id));
    if (top)
        json_object_set_new (mt_msg_body (request), "limit", json_integer (top));
    mt_msg_t *reply = s_call (self, req, &request, "SWEEP");
    if (!reply)
        return;
    json_t *sweep = json_object_get (mt_msg_body (reply), "sweep");
    if (!json_is_object (sweep))
        api_error (req, 502, "bad_gateway", "the broker's SWEEP reply has no sweep map");
    else {
        json_t *out = cmd_sweep_public (sweep);
        const char *full = MHD_lookup_connection_value (req->connection,
                                                        MHD_GET_ARGUMENT_KIND, "full");
        if (out && full && strcmp (full, "0"))
            json_object_set (out, "full", sweep);
        json_t *resumed = json_object_get (mt_msg_body (reply), "resumed");
        if (out && json_is_integer (resumed))
            json_object_set (out, "resumed", resumed);
        s_reply (req, 200, out);
    }
    mt_msg_destroy (&reply);
}

static void s_sweep (api_t *self, api_req_t *req)
{ s_sweep_command (self, req, "SWEEP_STATUS"); }
static void s_sweep_stop (api_t *self, api_req_t *req)
{ s_sweep_command (self, req, "SWEEP_STOP"); }
static void s_sweep_resume (api_t *self, api_req_t *req)
{ s_sweep_command (self, req, "SWEEP_RESUME"); }

static void
s_sweeps (api_t *self, api_req_t *req)
{
    const char *limit = MHD_lookup_connection_value (req->connection, MHD_GET_ARGUMENT_KIND,
                                                     "limit");
    int64_t count = 100;
    char *cause = NULL;
    if (limit && mt_parse_int ("limit", limit, 1, 1000, &count, &cause)) {
        api_error (req, 400, "bad_request", "%s", cause);
        free (cause);
        return;
    }
    mt_msg_t *request = mt_msg_new ("SWEEP_LIST");
    json_object_set_new (mt_msg_body (request), "limit", json_integer (count));
    mt_msg_t *reply = s_call (self, req, &request, "SWEEPS");
    json_t *sweeps = reply ? json_object_get (mt_msg_body (reply), "sweeps") : NULL;
    if (reply && !json_is_array (sweeps))
        api_error (req, 502, "bad_gateway", "the broker's SWEEPS reply has no list");
    else
    if (reply)
        s_reply (req, 200, json_pack ("{s:O}", "sweeps", sweeps));
    mt_msg_destroy (&reply);
}

//  POST /api/v1/sweeps: the sweep's own fields go to SWEEP as they are
//  (the broker checks them); every other field is the base spec, read as
//  POST /api/v1/jobs reads its body.
static void
s_sweep_create (api_t *self, api_req_t *req)
{
    static const char *own [] = { "params", "search", "trials", "seed", "parallel",
                                  "early_stop", "min_epochs", "reduction", "metric", "name" };
    json_t *key = NULL, *spec = NULL, *body = s_body_object (req);
    if (!body)
        return;
    mt_msg_t *request = mt_msg_new ("SWEEP");
    json_t *fields = mt_msg_body (request);
    for (size_t i = 0; i < sizeof own / sizeof own [0]; i++) {
        json_t *value = json_object_get (body, own [i]);
        if (value) {
            json_object_set (fields, own [i], value);
            json_object_del (body, own [i]);
        }
    }
    json_t *params = json_object_get (fields, "params");
    if (!json_is_array (params) || json_array_size (params) == 0) {
        api_error (req, 400, "bad_spec", "'params' must be a list of NAME=SPACE strings, "
                   "such as [\"lr=0.1|0.01|0.001\"]");
        goto done;
    }
    if (!(spec = s_spec (self, req, body, &key)))
        goto done;
    if (key) {
        api_error (req, 400, "bad_request", "a sweep takes no 'key'");
        goto done;
    }
    if (s_upload_default (self, req, spec))
        goto done;
    json_object_set (fields, "spec", spec);
    mt_msg_t *reply = s_call (self, req, &request, "SWEPT");
    if (reply)
        s_reply (req, 201, json_pack ("{s:O,s:O}", "sweep",
                                      json_object_get (mt_msg_body (reply), "sweep"),
                                      "trials", json_object_get (mt_msg_body (reply),
                                                                 "trials")));
    mt_msg_destroy (&reply);
done:
    mt_msg_destroy (&request);
    json_decref (body);
    json_decref (spec);
    json_decref (key);
}

// --- Datasets -----------------------------------------------------------------------------

static void
s_upload (api_t *self, api_req_t *req)
{
    if (!req->upload || req->upload_size == 0) {
        api_error (req, 400, "bad_request", "the body is empty; send the file's bytes as the "
                   "body (curl --data-binary @FILE)");
        return;
    }
    if (!pool_up (self->pool)) {
        api_error (req, 503, "broker_unavailable", "the broker at %s does not answer",
                   pool_endpoint (self->pool));
        return;
    }
    char *cause = NULL;
    conn_t *conn = pool_get (self->pool, &cause);
    if (!conn || conn_upload (conn, req->upload, req->upload_hash, req->upload_size, &cause))
        s_broker_error (self, req, conn, cause);
    else {
        const char *name = MHD_lookup_connection_value (req->connection,
                                                        MHD_GET_ARGUMENT_KIND, "name");
        json_t *out = json_pack ("{s:s,s:I}", "hash", req->upload_hash, "size",
                                 (json_int_t) req->upload_size);
        if (out && name && *name && strlen (name) <= API_MAX_NAME)
            json_object_set_new (out, "name", mt_json_string (name, strlen (name)));
        s_reply (req, 201, out);
    }
    pool_put (self->pool, &conn);
    free (cause);
}

// --- The fleet ----------------------------------------------------------------------------

//  STATS's body (caller owns) without its req, or NULL with req's error.
static json_t *
s_stats_body (api_t *self, api_req_t *req)
{
    mt_msg_t *request = mt_msg_new ("STATS");
    mt_msg_t *reply = s_call (self, req, &request, "STATS");
    json_t *body = reply ? json_deep_copy (mt_msg_body (reply)) : NULL;
    json_object_del (body, "req");
    mt_msg_destroy (&reply);
    return body;
}

static void
s_health (api_t *self, api_req_t *req)
{
    json_t *stats = s_stats_body (self, req);
    if (!stats) {
        if (req->response)
            MHD_destroy_response (req->response);
        s_reply (req, 503, json_pack ("{s:s,s:b,s:i}", "status", "unavailable", "broker", 0,
                                      "workers", 0));
        return;
    }
    json_t *workers = json_object_get (stats, "workers");
    json_int_t count = json_integer_value (json_object_get (workers, "idle"))
                     + json_integer_value (json_object_get (workers, "busy"));
    s_reply (req, 200, json_pack ("{s:s,s:b,s:I}", "status", "ok", "broker", 1,
                                  "workers", count));
    json_decref (stats);
}

static void
s_workers (api_t *self, api_req_t *req)
{
    mt_msg_t *request = mt_msg_new ("WORKERS");
    mt_msg_t *reply = s_call (self, req, &request, "WORKERS");
    if (reply)
        s_reply (req, 200, json_pack ("{s:O}", "workers",
                                      json_object_get (mt_msg_body (reply), "workers")));
    mt_msg_destroy (&reply);
}

static void
s_stats (api_t *self, api_req_t *req)
{
    json_t *stats = s_stats_body (self, req);
    if (stats)
        s_reply (req, 200, stats);
}

static void
s_metrics (api_t *self, api_req_t *req)
{
    json_t *stats = s_stats_body (self, req);
    if (!stats)
        return;
    char *text = gw_metrics_text (stats, MT_VERSION);
    json_decref (stats);
    req->response = text ? MHD_create_response_from_buffer (strlen (text), text,
                                                            MHD_RESPMEM_MUST_FREE) : NULL;
    if (!req->response) {
        free (text);
        return;
    }
    MHD_add_response_header (req->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             GW_METRICS_CONTENT_TYPE);
    req->status = 200;
}

static void
s_whoami (api_t *self, api_req_t *req)
{
    s_reply (req, 200, json_pack ("{s:s,s:s}", "name", req->who, "role",
                                  tokens_role_name (req->role)));
}

static void
s_events (api_t *self, api_req_t *req)
{
    req->response = self->hub ? hub_stream (self->hub, req->connection) : NULL;
    if (!req->response)
        return;
    MHD_add_response_header (req->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             "text/event-stream");
    MHD_add_response_header (req->response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header (req->response, "X-Accel-Buffering", "no");
    req->status = 200;
}
