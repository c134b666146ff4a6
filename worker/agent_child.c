/*  agent_child - the training process: load the spec and data, train, report on fd 3  */
#include "agent.h"
#include "dataset.h"
#include "metrics.h"
#include "train.h"
#include "mt/log.h"
#include "mt/spec.h"
#include "mt/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHILD_FD 3
#define COMMAND_FD 4
#define COMMAND_MAX (MT_SPEC_MAX_JSON + 64 * 1024)  // bytes in one job's command
#define COMMAND_ARGS 32

typedef struct {
    FILE *out;                  // the report stream (fd 3)
    const char *dir;
} child_t;

//  The options of one training child.
typedef struct {
    const char *spec, *data, *resume, *init;    // paths; NULL = not given
    const char *spec_json;      // the spec itself (the agent's fork passes it so), or NULL
    const char *val;            // the fixed validation file; NULL = a split
    int threads;                // OpenBLAS threads
    int progress_ms;            // least interval between progress reports
    int checkpoint_min_ms;      // least time between periodic checkpoints
} child_args_t;

//  The process state a signal handler may touch. The agent's stop is
//  AGENT_STOP_SIGNAL (a real-time signal: queued, never merged with one
//  pending) with the job's sequence number as its value, so a stop that
//  comes late, after its job ended, cannot stop the next, and one that
//  comes early, before its job's command is read, is kept for it. A plain
//  SIGTERM or SIGINT (no value) stops the job in hand and ends the process.
static volatile sig_atomic_t s_stop = 0;        // the engine's flag: stop the job in hand
static volatile sig_atomic_t s_job_seq = 0;     // the job in hand, 0 = none yet
static volatile sig_atomic_t s_stop_seq = 0;    // the last job a stop was for
static volatile sig_atomic_t s_quit = 0;        // leave once the job in hand ends

static void
s_on_term (int sig, siginfo_t *info, void *context)
{
    if (info && info->si_code == SI_QUEUE)
        s_stop_seq = info->si_value.sival_int;
    else {
        s_stop_seq = s_job_seq;
        s_quit = 1;
    }
    if (s_stop_seq == s_job_seq)
        s_stop = 1;
}

//  The table the last job read, kept by a training process that serves
//  jobs (agent_child_serve) for the next job that reads the same file the
//  same way: a sweep's trials, or a stream of small jobs, would otherwise
//  spend their time reading it again. The key names the file (an uploaded
//  table by its content's hash; a shared file by its device, inode, size
//  and modification time, so one rewritten since is read again) and every
//  reading option a spec gives; the table is never changed once read
//  (train_run takes it const).
#define KEEP_DATA_MAX ((size_t) 256 << 20)     // bytes of features kept at most
static bool s_serving = false;
static dataset_t *s_kept = NULL;
static char *s_kept_key = NULL;

static void
s_key_list (FILE *f, const char *const *list, int n)
{
    fprintf (f, "[%d", n);
    for (int i = 0; i < n; i++)
        fprintf (f, " %zu:%s", strlen (list [i]), list [i]);
    fprintf (f, "]");
}

//  The key of path (the blob of hash, when not NULL: the worker's cache
//  copy, whose times its LRU order moves) read with opts, or NULL (not
//  kept: no such file, or no memory). Strings are length-prefixed, so no
//  two options give one key.
static char *
s_data_key (const char *path, const char *hash, const dataset_opts_t *opts)
{
    struct stat st = { 0 };
    if (!s_serving || (!hash && stat (path, &st)))
        return NULL;
    char *key = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&key, &len);
    if (!f)
        return NULL;
    if (hash)
        fprintf (f, "blob %s", hash);
    else
        fprintf (f, "file %zu:%s %llu %llu %lld %lld.%09ld", strlen (path), path,
                 (unsigned long long) st.st_dev, (unsigned long long) st.st_ino,
                 (long long) st.st_size, (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    fprintf (f, " %d %d %zu:%s %d %d",
             (int) opts->format, (int) opts->task, opts->target ? strlen (opts->target) : 0,
             opts->target ? opts->target : "", opts->max_categories,
             (int) opts->missing_target_error);
    s_key_list (f, opts->features, opts->features ? opts->n_features : -1);
    s_key_list (f, opts->categorical, opts->n_categorical);
    s_key_list (f, opts->numeric, opts->n_numeric);
    s_key_list (f, opts->ignore, opts->n_ignore);
    s_key_list (f, opts->na_values, opts->na_values ? opts->n_na_values : -1);
    if (fclose (f)) {
        free (key);
        return NULL;
    }
    return key;
}

//  The kept table for key, or one read now (the kept one freed first, so
//  two tables are never held at once); NULL with *cause.
static dataset_t *
s_data_load (const char *path, const dataset_opts_t *opts, const char *key, char **cause)
{
    if (key && s_kept_key && strcmp (key, s_kept_key) == 0)
        return s_kept;
    dataset_destroy (&s_kept);
    free (s_kept_key);
    s_kept_key = NULL;
    return dataset_load (path, opts, cause);
}

//  A job is done with ds: keep it for the next (under key), or free it.
static void
s_data_done (dataset_t **ds_p, char **key_p)
{
    dataset_t *ds = *ds_p;
    char *key = *key_p;
    *ds_p = NULL;
    *key_p = NULL;
    if (ds == s_kept) {
        free (key);
        return;
    }
    if (key && ds && ds->rows * (ds->cols + 2) * sizeof (float) <= KEEP_DATA_MAX) {
        s_kept = ds;        // s_data_load freed the one kept before
        s_kept_key = key;
        return;
    }
    dataset_destroy (&ds);
    free (key);
}

static json_t *
s_number (double value)
{
    return isfinite (value) ? json_real (value) : json_null ();
}

static void
s_put_defined (json_t *object, const char *key, double value)
{
    if (isfinite (value))
        json_object_set_new (object, key, json_real (value));
}

static void
s_report (child_t *child, const char *kind, json_t *value)
{
    char *text = json_dumps (value, JSON_COMPACT);
    fprintf (child->out, "%s %s\n", kind, text ? text : "{}");
    fflush (child->out);
    free (text);
    json_decref (value);
}

static void
s_on_progress (const train_progress_t *p, void *arg)
{
    json_t *value = json_object ();
    json_object_set_new (value, "epoch", json_integer (p->epoch));
    json_object_set_new (value, "epochs", json_integer (p->epochs));
    json_object_set_new (value, "step", json_integer (p->step));
    json_object_set_new (value, "steps", json_integer (p->steps));
    //  A value not defined yet (or at all: no validation rows) is left out
    s_put_defined (value, "loss", p->loss);
    s_put_defined (value, "val_loss", p->val_loss);
    s_put_defined (value, "val_metric", p->val_metric);
    s_put_defined (value, "samples_per_sec", p->samples_per_sec);
    s_put_defined (value, "eta_s", p->eta_s);
    //  At an epoch end, that epoch's validation metrics (null with reasons
    //  when undefined, so a curve shows the gap)
    if (p->metrics) {
        json_t *metrics = json_object ();
        metrics_to_json (p->metrics, metrics);
        json_object_set_new (value, "metrics", metrics);
    }
    s_report (arg, "progress", value);
}

static void
s_on_checkpoint (const char *path, int epoch, void *arg)
{
    child_t *child = arg;
    fprintf (child->out, "checkpoint %d\n", epoch);
    fflush (child->out);
}

static json_t *
s_metrics (const mt_spec_t *spec, const train_result_t *r, const dataset_t *ds,
           const dataset_t *vds)
{
    json_t *m = train_metrics (r, spec->task);     // with "undefined" reasons
    //  What the loader left out, never silently: rows without a target (in
    //  the --val-data file too, when there is one), and columns dropped as ids
    json_object_set_new (m, "rows_skipped_missing_target", json_integer ((json_int_t) ds->rows_skipped));
    if (vds)
        json_object_set_new (m, "val_rows_skipped_missing_target",
                             json_integer ((json_int_t) vds->rows_skipped));
    if (ds->n_warnings > 0) {
        json_t *warnings = json_array ();
        for (int i = 0; i < ds->n_warnings; i++)
            json_array_append_new (warnings, json_string (ds->warnings [i]));
        json_object_set_new (m, "warnings", warnings);
    }
    json_object_set_new (m, "epochs_run", json_integer (r->epochs_run));
    json_object_set_new (m, "steps", json_integer (r->steps));
    json_object_set_new (m, "seconds", s_number (r->seconds));
    json_object_set_new (m, "resumed_from_epoch", json_integer (r->resumed_from_epoch));
    return m;
}

static int
s_fail (child_t *child, const char *kind, const char *what, char *cause)
{
    fprintf (child->out, "%s %s%s\n", kind, what, cause ? cause : "unknown error");
    fflush (child->out);
    free (cause);
    return strcmp (kind, "bad_input") == 0 ? 2 : 1;
}

static char *
s_read_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    char *text = calloc (1, MT_SPEC_MAX_JSON + 1);
    size_t n = text ? fread (text, 1, MT_SPEC_MAX_JSON, f) : 0;
    fclose (f);
    if (text)
        text [n] = 0;
    return text;
}

//  The fixed validation rows, read as the training rows were: the same
//  feature columns and classes (by the training data's names), the format
//  from the file's content (the cache's copy has no name to go by)
static int
s_load_val (const mt_spec_t *spec, const dataset_t *ds, const char *path, dataset_t **vds,
            char **cause)
{
    //  Read as the training rows were: their plan (kinds, medians,
    //  categories), their classes, the spec's missing values and target rule
    dataset_opts_t opts;
    dataset_opts_from_spec (&opts, spec);
    opts.format = MT_FORMAT_AUTO;
    opts.plan = ds->plan;
    opts.classes = (const char *const *) ds->classes;
    opts.n_classes = spec->task == MT_TASK_CLASSIFICATION ? ds->n_classes : 0;
    *vds = dataset_load (path, &opts, cause);
    if (!*vds && *cause && spec->val_data_name && strncmp (*cause, path, strlen (path)) == 0) {
        char *named = NULL;
        if (asprintf (&named, "%s%s", spec->val_data_name, *cause + strlen (path)) > 0) {
            free (*cause);
            *cause = named;
        }
    }
    return *vds ? 0 : -1;
}

//  How messages name the --init model. The user knows it by a file name we
//  never saw; its hash is the next best name (the cache's path would mean
//  nothing to them)
static void
s_init_name (const mt_spec_t *spec, const char *init, char *buf, size_t size)
{
    const char *slash = init ? strrchr (init, '/') : NULL;
    snprintf (buf, size, "the --init model %.12s",
              spec->init_hash [0] ? spec->init_hash : slash ? slash + 1 : init ? init : "");
}

static int
s_train (child_t *child, const child_args_t *args)
{
    const char *spec_path = args->spec, *data = args->data;
    char *cause = NULL;
    char *text = args->spec_json ? strdup (args->spec_json) : s_read_file (spec_path);
    mt_spec_t spec;
    if (mt_spec_from_json (&spec, text ? text : "", &cause)) {
        free (text);
        return s_fail (child, "bad_input", "bad spec: ", cause);
    }
    free (text);
    const char *path = data ? data : spec.data_path;
    dataset_opts_t opts;
    dataset_opts_from_spec (&opts, &spec);
    //  An uploaded table comes as --data, the cache's copy of spec.data_hash
    const char *hash = data && spec.data_hash [0] ? spec.data_hash : NULL;
    char *key = path ? s_data_key (path, hash, &opts) : NULL;
    dataset_t *ds = path ? s_data_load (path, &opts, key, &cause) : NULL;
    if (!ds && cause && data && spec.data_name && strncmp (cause, data, strlen (data)) == 0) {
        //  Name the user's file rather than the cache's copy of it
        char *named = NULL;
        if (asprintf (&named, "%s%s", spec.data_name, cause + strlen (data)) > 0) {
            free (cause);
            cause = named;
        }
    }
    if (!ds) {
        free (key);
        mt_spec_clear (&spec);
        return s_fail (child, "bad_input", "dataset: ", cause);
    }
    dataset_t *vds = NULL;
    if (args->val && s_load_val (&spec, ds, args->val, &vds, &cause)) {
        s_data_done (&ds, &key);
        mt_spec_clear (&spec);
        return s_fail (child, "bad_input", "validation data (--val-data): ", cause);
    }
    char model [4200], checkpoint [4200], init_name [80];
    snprintf (model, sizeof model, "%s/model.safetensors", child->dir);
    snprintf (checkpoint, sizeof checkpoint, "%s/checkpoint.safetensors", child->dir);
    s_init_name (&spec, args->init, init_name, sizeof init_name);
    train_opts_t topts = {
        .threads = args->threads, .progress_ms = args->progress_ms, .progress = s_on_progress,
        .checkpointed = s_on_checkpoint, .arg = child, .stop = &s_stop,
        .checkpoint_path = checkpoint, .resume_path = args->resume, .init_path = args->init,
        .init_name = init_name, .checkpoint_min_ms = args->checkpoint_min_ms, .val_ds = vds,
        .model_in_place = s_serving     // the agent reads it once told "done"

    };
    train_result_t *result = malloc (sizeof *result);    // a confusion matrix: large
    for (int i = 0; i < ds->n_warnings; i++)
        fprintf (stderr, "dataset: warning: %s\n", ds->warnings [i]);
    int rc = result ? train_run (&spec, ds, model, &topts, result, &cause)
                    : mt_fail (&cause, "out of memory");
    if (rc == 0)
        s_report (child, result->stopped ? "stopped" : "done", s_metrics (&spec, result, ds, vds));
    s_data_done (&ds, &key);
    dataset_destroy (&vds);
    free (result);
    mt_spec_clear (&spec);
    //  Errors in training itself (a shape mismatch with --init, a NaN loss)
    //  are about the job, not the machine: a retry would fail the same way
    bool diverged = rc && cause && strncmp (cause, "diverged:", 9) == 0;
    return rc == 0 ? 0 : s_fail (child, "bad_input", diverged ? "" : "training: ", cause);
}

//  Take SIGTERM, SIGINT and AGENT_STOP_SIGNAL as stops (s_on_term), and
//  unblock them: a process forked by the agent comes with them blocked,
//  and one sent since is taken now.
static void
s_take_stops (void)
{
    struct sigaction sa = { .sa_sigaction = s_on_term, .sa_flags = SA_SIGINFO };
    sigemptyset (&sa.sa_mask);
    sigaddset (&sa.sa_mask, SIGTERM);
    sigaddset (&sa.sa_mask, SIGINT);
    sigaddset (&sa.sa_mask, AGENT_STOP_SIGNAL);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sigaction (AGENT_STOP_SIGNAL, &sa, NULL);
    sigprocmask (SIG_UNBLOCK, &sa.sa_mask, NULL);
}

//  One job, from its command line (--train-child's options), reported on
//  out. Returns the exit code agent_child_main gives.
static int
s_run (int argc, char **argv, FILE *out)
{
    static struct option options [] = {
        { "train-child", no_argument, 0, 'T' }, { "dir", required_argument, 0, 'd' },
        { "spec", required_argument, 0, 's' }, { "data", required_argument, 0, 'D' },
        { "resume", required_argument, 0, 'r' }, { "init", required_argument, 0, 'i' },
        { "threads", required_argument, 0, 't' }, { "progress-ms", required_argument, 0, 'p' },
        { "checkpoint-min-ms", required_argument, 0, 'c' },
        { "val-data", required_argument, 0, 'V' }, { "spec-json", required_argument, 0, 'J' },
        { 0, 0, 0, 0 }
    };
    child_args_t args = { .threads = 1, .progress_ms = 1000,
                          .checkpoint_min_ms = AGENT_CHECKPOINT_MIN_MS };
    int opt;
    child_t child = { .out = out, .dir = "." };
    optind = 1;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
            case 'd': child.dir = optarg; break;
            case 's': args.spec = optarg; break;
            case 'J': args.spec_json = optarg; break;
            case 'D': args.data = optarg; break;
            case 'r': args.resume = optarg; break;
            case 'i': args.init = optarg; break;
            case 'V': args.val = optarg; break;
            case 't': args.threads = atoi (optarg) > 0 ? atoi (optarg) : 1; break;
            case 'p': args.progress_ms = atoi (optarg) >= 0 ? atoi (optarg) : 1000; break;
            case 'c': args.checkpoint_min_ms = atoi (optarg) >= 0 ? atoi (optarg)
                                             : AGENT_CHECKPOINT_MIN_MS; break;
            case 'T': break;
            default: return 1;
        }
    }
    if (!args.spec && !args.spec_json)
        return s_fail (&child, "error", "", strdup ("--spec FILE (or --spec-json TEXT) is required"));
    return s_train (&child, &args);
}

int
agent_child_main (int argc, char **argv)
{
    FILE *out = fdopen (CHILD_FD, "w");
    s_take_stops ();
    return s_run (argc, argv, out ? out : stderr);
}

//  Exactly size bytes from fd into buf. Returns 0, or -1 at the end of
//  file (the agent is gone), an error, or a plain kill while waiting.
static int
s_read_all (int fd, void *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read (fd, (char *) buf + got, size - got);
        if (n > 0)
            got += (size_t) n;
        else
        if (n < 0 && errno == EINTR && !s_quit)
            continue;
        else
            return -1;
    }
    return 0;
}

int
agent_child_serve (void)
{
    FILE *out = fdopen (CHILD_FD, "w");
    if (!out)
        return 1;
    signal (SIGPIPE, SIG_DFL);      // the agent ignores it; a dead agent ends us
    s_serving = true;
    s_take_stops ();
    while (!s_quit) {
        uint32_t head [2];          // the command's length, then the job's sequence number
        if (s_read_all (COMMAND_FD, head, sizeof head) || head [0] > COMMAND_MAX)
            break;
        char *text = malloc ((size_t) head [0] + 1);
        if (!text || s_read_all (COMMAND_FD, text, head [0])) {
            free (text);
            break;
        }
        text [head [0]] = 0;
        //  NUL-separated arguments, the job's folder first
        char *argv [COMMAND_ARGS + 1];
        int argc = 0;
        for (char *arg = text; arg < text + head [0] && argc < COMMAND_ARGS;
             arg += strlen (arg) + 1)
            argv [argc++] = arg;
        argv [argc] = NULL;
        //  After a late stop (its own job's number) and before an early one
        s_job_seq = (sig_atomic_t) head [1];
        s_stop = s_stop_seq == s_job_seq;
        int rc = argc > 1 && chdir (argv [0]) == 0 ? s_run (argc - 1, argv + 1, out)
               : s_fail (&(child_t) { .out = out }, "error", "", strdup ("cannot enter the"
                         " job's folder"));
        free (text);
        //  Out of the job's folder, which the agent empties and renames for
        //  the next job (a large job's arrays, mapped on their own, went
        //  back to the system as they were freed)
        if (chdir ("/"))
            mt_warn ("training process: cannot leave the job's folder: %s", strerror (errno));
        if (fprintf (out, "exit %d\n", rc) < 0 || fflush (out))
            break;
    }
    return 0;
}
