/*  test_gwmetrics - the gateway's /metrics text from a STATS body: exact lines, escaping, bad fields  */
#include "testutil.h"
#include "metrics.h"

static json_t *
s_parse (const char *text)
{
    json_error_t error;
    json_t *json = json_loads (text, 0, &error);
    CHECK_MSG (json, "bad fixture JSON: %s", error.text);
    return json;
}

//  A whole STATS body gives exactly these lines, in this order
static void
test_full_body (void)
{
    json_t *stats = s_parse (
        "{\"version\": \"0.1.0\", \"started_at\": 1764650000123,"
        " \"jobs\": {\"queued\": 3, \"running\": 1, \"stopping\": 0, \"succeeded\": 5,"
        "          \"failed\": 1, \"stopped\": 2},"
        " \"workers\": {\"idle\": 1, \"busy\": 1},"
        " \"submitted_total\": 12,"
        " \"finished_total\": {\"succeeded\": 5, \"failed\": 1, \"stopped\": 2},"
        " \"attempts_total\": {\"succeeded\": 5, \"worker_lost\": 2},"
        " \"histograms\": {"
        "   \"queue_wait_seconds\": {\"le\": [0.1, 1, 10], \"counts\": [2, 4, 5, 6],"
        "                            \"sum\": 13.25, \"count\": 6},"
        "   \"job_duration_seconds\": {\"le\": [1, 60], \"counts\": [0, 3],"
        "                              \"sum\": 95.5, \"count\": 4},"
        "   \"commit_seconds\": {\"le\": [0.001, 0.01], \"counts\": [7, 9, 9],"
        "                        \"sum\": 0.0123, \"count\": 9}}}");
    char *text = gw_metrics_text (stats, "0.1.0");
    const char *want =
        "# HELP mt_jobs Jobs in the broker's database, by state.\n"
        "# TYPE mt_jobs gauge\n"
        "mt_jobs{state=\"queued\"} 3\n"
        "mt_jobs{state=\"running\"} 1\n"
        "mt_jobs{state=\"stopping\"} 0\n"
        "mt_jobs{state=\"succeeded\"} 5\n"
        "mt_jobs{state=\"failed\"} 1\n"
        "mt_jobs{state=\"stopped\"} 2\n"
        "# HELP mt_workers Workers connected to the broker, by state.\n"
        "# TYPE mt_workers gauge\n"
        "mt_workers{state=\"idle\"} 1\n"
        "mt_workers{state=\"busy\"} 1\n"
        "# HELP mt_jobs_submitted_total Jobs submitted, counted from the broker's database.\n"
        "# TYPE mt_jobs_submitted_total counter\n"
        "mt_jobs_submitted_total 12\n"
        "# HELP mt_jobs_finished_total Jobs that reached an end state, by outcome.\n"
        "# TYPE mt_jobs_finished_total counter\n"
        "mt_jobs_finished_total{outcome=\"succeeded\"} 5\n"
        "mt_jobs_finished_total{outcome=\"failed\"} 1\n"
        "mt_jobs_finished_total{outcome=\"stopped\"} 2\n"
        "# HELP mt_attempts_total Attempts that ended, by outcome.\n"
        "# TYPE mt_attempts_total counter\n"
        "mt_attempts_total{outcome=\"succeeded\"} 5\n"
        "mt_attempts_total{outcome=\"worker_lost\"} 2\n"
        "# HELP mt_queue_wait_seconds Seconds a job waited in the queue before an attempt "
        "started (since the broker's start).\n"
        "# TYPE mt_queue_wait_seconds histogram\n"
        "mt_queue_wait_seconds_bucket{le=\"0.1\"} 2\n"
        "mt_queue_wait_seconds_bucket{le=\"1\"} 4\n"
        "mt_queue_wait_seconds_bucket{le=\"10\"} 5\n"
        "mt_queue_wait_seconds_bucket{le=\"+Inf\"} 6\n"
        "mt_queue_wait_seconds_sum 13.25\n"
        "mt_queue_wait_seconds_count 6\n"
        "# HELP mt_job_duration_seconds Seconds from a job's first start to its end state "
        "(since the broker's start).\n"
        "# TYPE mt_job_duration_seconds histogram\n"
        //  counts without the +Inf member: it comes from count
        "mt_job_duration_seconds_bucket{le=\"1\"} 0\n"
        "mt_job_duration_seconds_bucket{le=\"60\"} 3\n"
        "mt_job_duration_seconds_bucket{le=\"+Inf\"} 4\n"
        "mt_job_duration_seconds_sum 95.5\n"
        "mt_job_duration_seconds_count 4\n"
        "# HELP mt_broker_commit_seconds Seconds the broker's SQLite commits took "
        "(since the broker's start).\n"
        "# TYPE mt_broker_commit_seconds histogram\n"
        "mt_broker_commit_seconds_bucket{le=\"0.001\"} 7\n"
        "mt_broker_commit_seconds_bucket{le=\"0.01\"} 9\n"
        "mt_broker_commit_seconds_bucket{le=\"+Inf\"} 9\n"
        "mt_broker_commit_seconds_sum 0.0123\n"
        "mt_broker_commit_seconds_count 9\n"
        "# HELP mt_broker_start_time_seconds When the broker started, in seconds since the epoch.\n"
        "# TYPE mt_broker_start_time_seconds gauge\n"
        "mt_broker_start_time_seconds 1764650000.123\n"
        "# HELP mt_build_info The gateway's and the broker's versions; always 1.\n"
        "# TYPE mt_build_info gauge\n"
        "mt_build_info{version=\"0.1.0\",broker_version=\"0.1.0\"} 1\n";
    CHECK_STR_EQ (text, want);
    free (text);
    json_decref (stats);
}

//  Label values from the body are escaped; the version too
static void
test_escaping (void)
{
    json_t *stats = s_parse ("{\"jobs\": {\"we\\\"ird\\\\st\\nate\": 1}, \"version\": \"x\\\"y\"}");
    char *text = gw_metrics_text (stats, "1.0\n\"b\"");
    CHECK_STR_CONTAINS (text, "\nmt_jobs{state=\"we\\\"ird\\\\st\\nate\"} 1\n");
    CHECK_STR_CONTAINS (text, "\nmt_build_info{version=\"1.0\\n\\\"b\\\"\","
                              "broker_version=\"x\\\"y\"} 1\n");
    free (text);
    json_decref (stats);
}

//  Count the lines of text that are samples (not comments)
static int
s_samples (const char *text)
{
    int samples = 0;
    for (const char *line = text; *line; ) {
        if (*line != '#')
            samples++;
        const char *end = strchr (line, '\n');
        CHECK (end);                // every line ends with a newline
        line = end + 1;
    }
    return samples;
}

//  Missing and wrong-typed fields are left out; the families' headers stay
static void
test_bad_fields (void)
{
    //  No body at all, or not an object: only the headers and build info
    char *text = gw_metrics_text (NULL, NULL);
    CHECK (text && s_samples (text) == 1);
    CHECK_STR_CONTAINS (text, "# TYPE mt_broker_commit_seconds histogram\n");
    CHECK_STR_CONTAINS (text, "mt_build_info{version=\"unknown\"} 1\n");
    free (text);
    json_t *array = s_parse ("[1, 2]");
    text = gw_metrics_text (array, "v");
    CHECK (text && s_samples (text) == 1);
    free (text);
    json_decref (array);

    json_t *stats = s_parse (
        "{\"jobs\": [1, 2], \"workers\": {\"idle\": \"two\", \"busy\": 2, \"x\": null},"
        " \"submitted_total\": \"12\", \"finished_total\": 7, \"started_at\": \"now\","
        " \"attempts_total\": {\"succeeded\": 1.5},"
        " \"histograms\": {"
        "   \"queue_wait_seconds\": {\"le\": [1, 0.5], \"counts\": [1, 2, 3],"
        "                            \"sum\": 2, \"count\": 3},"
        "   \"job_duration_seconds\": {\"le\": [1], \"counts\": [1], \"count\": 1},"
        "   \"commit_seconds\": {\"le\": [1, 2], \"counts\": [3, 2], \"sum\": 1,"
        "                        \"count\": 3}}}");
    text = gw_metrics_text (stats, "v");
    CHECK (strstr (text, "mt_jobs{") == NULL);
    CHECK_STR_CONTAINS (text, "\nmt_workers{state=\"busy\"} 2\n# HELP");
    CHECK (strstr (text, "\nmt_jobs_submitted_total ") == NULL);
    CHECK (strstr (text, "mt_jobs_finished_total{") == NULL);
    CHECK (strstr (text, "\nmt_broker_start_time_seconds ") == NULL);
    CHECK_STR_CONTAINS (text, "\nmt_attempts_total{outcome=\"succeeded\"} 1.5\n");
    //  bounds out of order: only the +Inf bucket, from count
    CHECK_STR_CONTAINS (text, "# TYPE mt_queue_wait_seconds histogram\n"
                              "mt_queue_wait_seconds_bucket{le=\"+Inf\"} 3\n"
                              "mt_queue_wait_seconds_sum 2\n"
                              "mt_queue_wait_seconds_count 3\n# HELP");
    //  no sum: no samples
    CHECK (strstr (text, "mt_job_duration_seconds_") == NULL);
    //  decreasing counts: only the +Inf bucket
    CHECK_STR_CONTAINS (text, "# TYPE mt_broker_commit_seconds histogram\n"
                              "mt_broker_commit_seconds_bucket{le=\"+Inf\"} 3\n");
    CHECK (s_samples (text) == 1 + 1 + 3 + 3 + 1);
    free (text);
    json_decref (stats);
}

//  Values print as the shortest decimal that reads back the same
static void
test_numbers (void)
{
    json_t *stats = s_parse (
        "{\"histograms\": {\"commit_seconds\": {\"le\": [0.1, 0.30000000000000004, 1e-05],"
        " \"counts\": [0, 0, 0], \"sum\": 0.1, \"count\": 0}}}");
    char *text = gw_metrics_text (stats, "v");
    //  1e-05 < 0.3: the bounds are out of order, so only +Inf
    CHECK (strstr (text, "le=\"0.1\"") == NULL);
    free (text);
    json_decref (stats);
    stats = s_parse (
        "{\"histograms\": {\"commit_seconds\": {\"le\": [1e-05, 0.1, 0.30000000000000004],"
        " \"counts\": [0, 1, 1], \"sum\": 0.1, \"count\": 1}}}");
    text = gw_metrics_text (stats, "v");
    CHECK_STR_CONTAINS (text, "mt_broker_commit_seconds_bucket{le=\"1e-05\"} 0\n"
                              "mt_broker_commit_seconds_bucket{le=\"0.1\"} 1\n"
                              "mt_broker_commit_seconds_bucket{le=\"0.30000000000000004\"} 1\n"
                              "mt_broker_commit_seconds_bucket{le=\"+Inf\"} 1\n"
                              "mt_broker_commit_seconds_sum 0.1\n");
    free (text);
    json_decref (stats);
}

int
main (void)
{
    test_full_body ();
    test_escaping ();
    test_bad_fields ();
    test_numbers ();
    printf ("test_gwmetrics: OK\n");
    return 0;
}
