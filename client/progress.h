/*  progress - a transfer's bar on the terminal: bytes, rate and ETA, drawn on stderr  */
#ifndef MT_CLIENT_PROGRESS_H_INCLUDED
#define MT_CLIENT_PROGRESS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRESS_DELAY_MS   1000    // a transfer is drawn once it has taken this long
#define PROGRESS_EVERY_MS   100     // redrawn at most this often

typedef struct progress_t progress_t;

//  A bar for a transfer of total bytes (-1 when not known yet) named label
//  (borrowed, kept for the bar's life). It is drawn on stderr, and only when
//  stdout and stderr are both terminals, so captured or redirected output
//  never holds one. Returns a new
//  bar, or NULL out of memory (every call below accepts NULL).
progress_t *progress_new (const char *label, int64_t total);
//  Erase the bar, if drawn, and free it.
void progress_destroy (progress_t **self_p);

//  done bytes of total (total -1: unchanged) have moved; redraws when due.
void progress_update (progress_t *self, int64_t done, int64_t total);

//  The bar's text for done of total bytes after elapsed_ms, into line (at
//  most size bytes, cut to width columns): "label  12.0/30.0 MB  4.1 MB/s
//  ETA 4 s". Separate from the drawing so a test can check it.
void progress_format (const char *label, int64_t done, int64_t total, int64_t elapsed_ms,
                      int width, char *line, size_t size);

#endif
