/*  progress - a transfer's bar on the terminal: bytes, rate and ETA, drawn on stderr  */
#include "progress.h"
#include "mt/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct progress_t {
    const char *label;
    int64_t total;              // bytes, -1 when not known
    int64_t started_ms;         // monotonic
    int64_t drawn_ms;           // monotonic, last draw; 0 = never drawn
    bool tty;                   // stderr is a terminal
};

static int s_width (void);
static void s_bytes (double bytes, char *text, size_t size);

progress_t *
progress_new (const char *label, int64_t total)
{
    progress_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->label = label;
    self->total = total;
    self->started_ms = mt_mono_ms ();
    //  Only for a person at a terminal: stdout redirected (a script taking
    //  the job id) or stderr captured, and nothing is drawn
    self->tty = isatty (STDOUT_FILENO) == 1 && isatty (STDERR_FILENO) == 1;
    return self;
}

void
progress_destroy (progress_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->drawn_ms)
        fputs ("\r\033[K", stderr);     // erase the bar's line
    free (*self_p);
    *self_p = NULL;
}

void
progress_update (progress_t *self, int64_t done, int64_t total)
{
    if (!self || !self->tty)
        return;
    if (total >= 0)
        self->total = total;
    int64_t now = mt_mono_ms ();
    if (now - self->started_ms < PROGRESS_DELAY_MS
    ||  (self->drawn_ms && now - self->drawn_ms < PROGRESS_EVERY_MS))
        return;
    char line [256];
    progress_format (self->label, done, self->total, now - self->started_ms, s_width (),
                     line, sizeof line);
    fprintf (stderr, "\r%s\033[K", line);
    fflush (stderr);
    self->drawn_ms = now;
}

//  Bytes as a person reads them: 512 B, 3.4 kB, 12.0 MB, 1.2 GB.
static void
s_bytes (double bytes, char *text, size_t size)
{
    const char *units [] = { "B", "kB", "MB", "GB", "TB" };
    int unit = 0;
    while (bytes >= 1000 && unit < 4) {
        bytes /= 1000;
        unit++;
    }
    snprintf (text, size, unit ? "%.1f %s" : "%.0f %s", bytes, units [unit]);
}

void
progress_format (const char *label, int64_t done, int64_t total, int64_t elapsed_ms,
                 int width, char *line, size_t size)
{
    char have [32], all [32], rate [32], eta [32] = "";
    double seconds = elapsed_ms > 0 ? (double) elapsed_ms / 1000.0 : 0;
    double per_s = seconds > 0 ? (double) done / seconds : 0;
    s_bytes ((double) done, have, sizeof have);
    s_bytes (total >= 0 ? (double) total : 0, all, sizeof all);
    s_bytes (per_s, rate, sizeof rate);
    if (total > 0 && per_s > 0 && done < total)
        snprintf (eta, sizeof eta, "  ETA %.0f s", (double) (total - done) / per_s);
    char bar [24] = "";
    if (total > 0) {
        int full = (int) (20 * (double) done / (double) total);
        for (int i = 0; i < 20; i++)
            bar [i] = i < full ? '#' : '.';
        bar [20] = 0;
    }
    snprintf (line, size, "%s [%s] %s/%s  %s/s%s", label, bar, have, total >= 0 ? all : "?",
              rate, eta);
    if (width > 0 && (size_t) width < size && strlen (line) > (size_t) width)
        line [width] = 0;
}

static int
s_width (void)
{
    struct winsize ws;
    if (ioctl (STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        return ws.ws_col - 1;
    return 79;
}
