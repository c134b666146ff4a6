/*  render - mtclient's human output: job tables, progress bars, loss curves drawn in text  */
#ifndef MT_CLIENT_RENDER_H_INCLUDED
#define MT_CLIENT_RENDER_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RENDER_CURVE_WIDTH  60      // plot columns (characters)
#define RENDER_CURVE_HEIGHT 12      // plot rows (lines)
#define RENDER_BAR_MAX      24      // progress bar cells when the line has room
#define RENDER_BAR_MIN      8       // the least a bar shrinks to before it goes

//  The loss curve of a job's history ([[step, epoch, loss, val_loss,
//  val_metric], ...], nil for missing values): train loss as a line and
//  validation loss as dots against the step, width x height characters in
//  braille (utf8) or ASCII, plus a legend line above and two axis lines
//  below, so height + 3 lines; or one line saying there is no history.
//  Returns a string the caller frees, NULL when out of memory.
char *render_curve (json_t *history, int width, int height, bool utf8);

//  One line of progress for a job map: bar, percent, epoch/epochs, step,
//  loss, validation loss and metric, samples/s, ETA. bar_width 0: no bar,
//  the line starts at the percent. Caller frees.
char *render_progress (json_t *job, int bar_width, bool utf8);

//  The same line fit into width characters: the bar shrinks from
//  RENDER_BAR_MAX to RENDER_BAR_MIN cells, then whole parts go, least
//  important first: step, val_loss, samples/s, the bar, ETA, the metric,
//  loss, epoch. The percent always stays, so a width below it is exceeded;
//  no part is ever cut. Caller frees; NULL when out of memory.
char *render_progress_fit (json_t *job, int width, bool utf8);

//  The full status of one job map (with history) as for `mtclient status`.
void render_job (FILE *out, json_t *job, bool utf8);

//  A table of job maps, in the order given.
void render_jobs (FILE *out, json_t *jobs);

//  A table of worker maps.
void render_workers (FILE *out, json_t *workers);

#define RENDER_UNDEFINED    "undefined"     // metrics: {"<metric key>": "<why it is null>"}

//  A job's metrics map as "name value" pairs on one line (no newline); a
//  null metric as "name n/a (<its reason under RENDER_UNDEFINED>)".
void render_metrics (FILE *out, json_t *metrics);

//  An evaluation (eval_to_json's object) as for `mtclient eval`: a line of
//  rows and counts, a line of metrics, and for classification the confusion
//  matrix, rows the true class and columns the predicted one, labelled.
void render_eval (FILE *out, json_t *eval);

//  ms since the epoch as local time "2025-01-31 14:05:09", or "-" when
//  missing (ms <= 0).
void render_time (int64_t ms, char *buf, size_t size);

//  A duration in seconds as "45s", "3m05s", "2h03m" or "-" when unknown.
void render_duration (double seconds, char *buf, size_t size);

#endif
