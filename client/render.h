/*  render - mtclient's human output: job tables, progress bars, loss curves drawn in text  */
#ifndef MT_CLIENT_RENDER_H_INCLUDED
#define MT_CLIENT_RENDER_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RENDER_CURVE_WIDTH  60      // plot columns (characters)
#define RENDER_CURVE_HEIGHT 12      // plot rows (lines)

//  The loss curve of a job's history ([[step, epoch, loss, val_loss,
//  val_metric], ...], nil for missing values): train loss as a line and
//  validation loss as dots against the step, width x height characters in
//  braille (utf8) or ASCII, plus a legend line above and two axis lines
//  below, so height + 3 lines; or one line saying there is no history.
//  Returns a string the caller frees, NULL when out of memory.
char *render_curve (json_t *history, int width, int height, bool utf8);

//  One line of progress for a job map: bar, percent, epoch/epochs, step,
//  loss, validation loss and metric, samples/s, ETA. Caller frees.
char *render_progress (json_t *job, int bar_width, bool utf8);

//  The full status of one job map (with history) as for `mtclient status`.
void render_job (FILE *out, json_t *job, bool utf8);

//  A table of job maps, in the order given.
void render_jobs (FILE *out, json_t *jobs);

//  A table of worker maps.
void render_workers (FILE *out, json_t *workers);

//  A job's metrics map as "name value" pairs on one line (no newline).
void render_metrics (FILE *out, json_t *metrics);

//  ms since the epoch as local time "2025-01-31 14:05:09", or "-" when
//  missing (ms <= 0).
void render_time (int64_t ms, char *buf, size_t size);

//  A duration in seconds as "45s", "3m05s", "2h03m" or "-" when unknown.
void render_duration (double seconds, char *buf, size_t size);

#endif
