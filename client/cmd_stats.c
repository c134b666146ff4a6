/*  cmd_stats - `mtclient stats`: the broker's figures: jobs by state, totals, histograms  */
#include "cmd.h"
#include <stdio.h>

static int s_exec (client_t *client, int argc, char **argv);
static void s_print (json_t *stats);
static void s_print_counts (const char *title, json_t *map);
static void s_print_histogram (const char *name, json_t *h);

const cmd_entry_t cmd_stats_entry = {
    .name = "stats",
    .usage = "",
    .summary = "the broker's figures: jobs by state, workers, totals, wait and run times",
    .help = "  --json    print the broker's STATS body (PROTOCOL.md section 5)\n",
    .exec = s_exec,
};

static int
s_exec (client_t *client, int argc, char **argv)
{
    return cmd_show_exec (client, &cmd_stats_entry, argc, argv, &(cmd_show_t) {
                              .command = "STATS", .reply = "STATS", .field = "jobs",
                              .type = JSON_OBJECT, .whole = true, .print = s_print });
}

static void
s_print (json_t *stats)
{
    printf ("broker %s, up since %lld (ms since epoch)\n",
            json_string_value (json_object_get (stats, "version")),
            (long long) json_integer_value (json_object_get (stats, "started_at")));
    s_print_counts ("jobs", json_object_get (stats, "jobs"));
    s_print_counts ("workers", json_object_get (stats, "workers"));
    printf ("%-10s %lld\n", "submitted",
            (long long) json_integer_value (json_object_get (stats, "submitted_total")));
    s_print_counts ("finished", json_object_get (stats, "finished_total"));
    s_print_counts ("attempts", json_object_get (stats, "attempts_total"));
    const char *key;
    json_t *h;
    json_object_foreach (json_object_get (stats, "histograms"), key, h)
        s_print_histogram (key, h);
}

//  One line: the title, then name=count for each entry of map.
static void
s_print_counts (const char *title, json_t *map)
{
    printf ("%-10s", title);
    const char *key;
    json_t *value;
    json_object_foreach (map, key, value)
        printf (" %s=%lld", key, (long long) json_integer_value (value));
    printf ("\n");
}

//  One line: the count, the mean and the buckets that gained (<= bound: count).
static void
s_print_histogram (const char *name, json_t *h)
{
    int64_t count = json_integer_value (json_object_get (h, "count"));
    double sum = json_number_value (json_object_get (h, "sum"));
    printf ("%s: %lld observed", name, (long long) count);
    if (count > 0)
        printf (", mean %.4g s;", sum / (double) count);
    json_t *le = json_object_get (h, "le"), *counts = json_object_get (h, "counts");
    int64_t before = 0;
    for (size_t i = 0; i < json_array_size (counts); i++) {
        int64_t c = json_integer_value (json_array_get (counts, i));
        if (c == before)
            continue;
        if (i < json_array_size (le))
            printf (" <=%g: %lld", json_number_value (json_array_get (le, i)), (long long) c);
        else
            printf (" +Inf: %lld", (long long) c);
        before = c;
    }
    printf ("\n");
}
