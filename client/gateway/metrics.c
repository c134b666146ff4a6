/*  metrics - the broker's STATS body rendered as Prometheus text (exposition format 0.0.4)  */
#include "metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  One family's name, type and help line
typedef struct {
    const char *name;
    const char *type;               // "gauge", "counter" or "histogram"
    const char *help;
} s_family_t;

//  A histogram in STATS and the family it becomes
typedef struct {
    const char *key;                // under stats.histograms
    s_family_t family;
} s_histogram_t;

static void s_header (FILE *out, const s_family_t *family);
static void s_number (FILE *out, double value);
static void s_value (FILE *out, json_t *value);
static void s_label_value (FILE *out, const char *value);
static void s_by_label (FILE *out, const s_family_t *family, const char *label, json_t *map);
static void s_histogram (FILE *out, const s_family_t *family, json_t *hist);
static bool s_buckets_valid (json_t *le, json_t *counts);

static const s_family_t s_jobs = {
    "mt_jobs", "gauge", "Jobs in the broker's database, by state."
};
static const s_family_t s_workers = {
    "mt_workers", "gauge", "Workers connected to the broker, by state."
};
static const s_family_t s_submitted = {
    "mt_jobs_submitted_total", "counter", "Jobs submitted, counted from the broker's database."
};
static const s_family_t s_finished = {
    "mt_jobs_finished_total", "counter", "Jobs that reached an end state, by outcome."
};
static const s_family_t s_attempts = {
    "mt_attempts_total", "counter", "Attempts that ended, by outcome."
};
static const s_family_t s_started = {
    "mt_broker_start_time_seconds", "gauge", "When the broker started, in seconds since the epoch."
};
static const s_family_t s_build = {
    "mt_build_info", "gauge", "The gateway's and the broker's versions; always 1."
};
static const s_histogram_t s_histograms [] = {
    { "queue_wait_seconds", { "mt_queue_wait_seconds", "histogram",
      "Seconds a job waited in the queue before an attempt started (since the broker's start)." } },
    { "job_duration_seconds", { "mt_job_duration_seconds", "histogram",
      "Seconds from a job's first start to its end state (since the broker's start)." } },
    { "commit_seconds", { "mt_broker_commit_seconds", "histogram",
      "Seconds the broker's SQLite commits took (since the broker's start)." } },
};


char *
gw_metrics_text (json_t *stats, const char *version)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    if (!json_is_object (stats))
        stats = NULL;               // then every json_object_get below is NULL
    s_by_label (out, &s_jobs, "state", json_object_get (stats, "jobs"));
    s_by_label (out, &s_workers, "state", json_object_get (stats, "workers"));
    s_header (out, &s_submitted);
    json_t *submitted = json_object_get (stats, "submitted_total");
    if (json_is_number (submitted)) {
        fprintf (out, "%s ", s_submitted.name);
        s_value (out, submitted);
        fputc ('\n', out);
    }
    s_by_label (out, &s_finished, "outcome", json_object_get (stats, "finished_total"));
    s_by_label (out, &s_attempts, "outcome", json_object_get (stats, "attempts_total"));
    json_t *histograms = json_object_get (stats, "histograms");
    for (size_t i = 0; i < sizeof s_histograms / sizeof s_histograms [0]; i++)
        s_histogram (out, &s_histograms [i].family,
                     json_object_get (histograms, s_histograms [i].key));
    s_header (out, &s_started);
    json_t *started = json_object_get (stats, "started_at");
    if (json_is_number (started)) {
        fprintf (out, "%s ", s_started.name);
        s_number (out, json_number_value (started) / 1000.0);
        fputc ('\n', out);
    }
    s_header (out, &s_build);
    fprintf (out, "%s{version=\"", s_build.name);
    s_label_value (out, version ? version : "unknown");
    const char *broker = json_string_value (json_object_get (stats, "version"));
    if (broker) {
        fputs ("\",broker_version=\"", out);
        s_label_value (out, broker);
    }
    fputs ("\"} 1\n", out);
    if (fclose (out) != 0) {
        free (text);
        return NULL;
    }
    return text;
}

static void
s_header (FILE *out, const s_family_t *family)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n",
             family->name, family->help, family->name, family->type);
}

//  A sample value as Prometheus reads it: the shortest decimal that reads back
//  as the same double, or +Inf, -Inf, NaN
static void
s_number (FILE *out, double value)
{
    if (isnan (value))
        fputs ("NaN", out);
    else
    if (isinf (value))
        fputs (value > 0 ? "+Inf" : "-Inf", out);
    else {
        char text [40];
        snprintf (text, sizeof text, "%.15g", value);
        if (strtod (text, NULL) != value)
            snprintf (text, sizeof text, "%.17g", value);
        fputs (text, out);
    }
}

static void
s_value (FILE *out, json_t *value)
{
    if (json_is_integer (value))
        fprintf (out, "%lld", (long long) json_integer_value (value));
    else
        s_number (out, json_number_value (value));
}

//  Escape as the text format wants inside a label's quotes: \\, \" and \n
static void
s_label_value (FILE *out, const char *value)
{
    for (const char *c = value; *c; c++) {
        if (*c == '\\')
            fputs ("\\\\", out);
        else
        if (*c == '"')
            fputs ("\\\"", out);
        else
        if (*c == '\n')
            fputs ("\\n", out);
        else
            fputc (*c, out);
    }
}

//  One sample per numeric member of map, labelled with the member's name
static void
s_by_label (FILE *out, const s_family_t *family, const char *label, json_t *map)
{
    s_header (out, family);
    const char *key;
    json_t *value;
    json_object_foreach (map, key, value) {
        if (!json_is_number (value))
            continue;
        fprintf (out, "%s{%s=\"", family->name, label);
        s_label_value (out, key);
        fputs ("\"} ", out);
        s_value (out, value);
        fputc ('\n', out);
    }
}

//  le holds ascending finite bounds; counts one cumulative integer per bound and
//  maybe one more, for +Inf, never decreasing
static bool
s_buckets_valid (json_t *le, json_t *counts)
{
    size_t bounds = json_array_size (le);
    size_t n = json_array_size (counts);
    if (!json_is_array (le) || !json_is_array (counts) || (n != bounds && n != bounds + 1))
        return false;
    for (size_t i = 0; i < bounds; i++) {
        json_t *bound = json_array_get (le, i);
        if (!json_is_number (bound) || !isfinite (json_number_value (bound)))
            return false;
        if (i > 0 && json_number_value (bound) <= json_number_value (json_array_get (le, i - 1)))
            return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *count = json_array_get (counts, i);
        if (!json_is_integer (count) || json_integer_value (count) < 0)
            return false;
        if (i > 0 && json_integer_value (count) < json_integer_value (json_array_get (counts, i - 1)))
            return false;
    }
    return true;
}

//  _bucket lines (the +Inf one from counts' extra member, or else from count),
//  _sum and _count; without a count and a sum there is no histogram to show, and
//  with bounds that do not make sense only the +Inf bucket
static void
s_histogram (FILE *out, const s_family_t *family, json_t *hist)
{
    s_header (out, family);
    json_t *count = json_object_get (hist, "count");
    json_t *sum = json_object_get (hist, "sum");
    if (!json_is_integer (count) || json_integer_value (count) < 0 || !json_is_number (sum))
        return;
    json_int_t total = json_integer_value (count);
    json_t *le = json_object_get (hist, "le");
    json_t *counts = json_object_get (hist, "counts");
    if (s_buckets_valid (le, counts)) {
        for (size_t i = 0; i < json_array_size (le); i++) {
            fprintf (out, "%s_bucket{le=\"", family->name);
            s_number (out, json_number_value (json_array_get (le, i)));
            fprintf (out, "\"} %lld\n",
                     (long long) json_integer_value (json_array_get (counts, i)));
        }
        if (json_array_size (counts) > json_array_size (le))
            total = json_integer_value (json_array_get (counts, json_array_size (le)));
    }
    fprintf (out, "%s_bucket{le=\"+Inf\"} %lld\n", family->name, (long long) total);
    fprintf (out, "%s_sum ", family->name);
    s_number (out, json_number_value (sum));
    fprintf (out, "\n%s_count %lld\n", family->name, (long long) total);
}
