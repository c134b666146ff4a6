/*  render - mtclient's human output: job tables, progress bars, loss curves drawn in text  */
#include "render.h"
#include "mt/spec.h"
#include "mt/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RENDER_MAX_COLS     12      // columns in a table
#define RENDER_LABEL        10      // width of the y-axis labels of a curve

//  A plot canvas: dots at sub-cell resolution (2x4 per cell in braille,
//  1x1 in ASCII), plus cells marked with a validation dot.
typedef struct {
    int width, height;          // cells
    int sx, sy;                 // dots per cell
    unsigned char *bits;        // per cell: braille dot bits (ASCII: non-zero = set)
    bool *marks;                // per cell: a validation point
} s_canvas_t;

//  The parts of a progress line, in the order shown.
enum { RENDER_PART_PERCENT, RENDER_PART_EPOCH, RENDER_PART_STEP, RENDER_PART_LOSS,
       RENDER_PART_VAL_LOSS, RENDER_PART_METRIC, RENDER_PART_SPEED, RENDER_PART_ETA,
       RENDER_PARTS };
#define RENDER_PART         48      // bytes of one part's text
//  Stands for a hash the broker hid (a redacted job map): never shown
#define RENDER_HIDDEN_HASH  "0000000000000000000000000000000000000000000000000000000000000000"

typedef struct {
    char text [RENDER_PARTS][RENDER_PART];  // "" when the job map lacks it
    double done;                // 0 .. 1
} s_progress_t;

typedef struct {
    double xmin, xmax, ymin, ymax;
    bool log_y;                 // plot log10 of the losses
} s_range_t;

static bool s_num (json_t *object, const char *key, double *out);
static bool s_item_num (json_t *array, size_t index, double *out);
static const char *s_str (json_t *object, const char *key, const char *none);
static void s_val_metrics (FILE *out, json_t *val);
static void s_confusion (FILE *out, json_t *classes, json_t *rows);
static const char *s_nth (json_t *list, size_t i);
static bool s_range (json_t *history, s_range_t *range);
static void s_dot (s_canvas_t *canvas, int px, int py);
static void s_line (s_canvas_t *canvas, int x0, int y0, int x1, int y1);
static void s_plot (s_canvas_t *canvas, json_t *history, const s_range_t *range);
static void s_print_canvas (FILE *out, const s_canvas_t *canvas, const s_range_t *range, bool utf8);
static void s_table (FILE *out, int cols, int rows, char **cells);
static char **s_cells_new (const char **header, int cols, int rows);
static void s_cells_print (FILE *out, char **cells, int cols, int rows);
static void s_job_attempts (FILE *out, json_t *attempts);
static bool s_spec_read (json_t *job, mt_spec_t *spec, char **cause);
static json_t *s_spec_stand_ins (json_t *value);
static void s_job_spec (FILE *out, json_t *job);
static const char *s_metric_label (json_t *job);
static double s_spec_epochs (json_t *job);
static void s_progress_parts (json_t *job, s_progress_t *parts);
static char *s_progress_line (const s_progress_t *parts, unsigned shown, int bar_width,
                              bool utf8);
static int s_columns (const char *text);

//  A number field: integer or real, not nil.
static bool
s_num (json_t *object, const char *key, double *out)
{
    json_t *value = json_object_get (object, key);
    if (!json_is_number (value))
        return false;
    *out = json_number_value (value);
    return isfinite (*out);
}

static bool
s_item_num (json_t *array, size_t index, double *out)
{
    json_t *value = json_array_get (array, index);
    if (!json_is_number (value))
        return false;
    *out = json_number_value (value);
    return isfinite (*out);
}

static const char *
s_str (json_t *object, const char *key, const char *none)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value && *value ? value : none;
}

void
render_time (int64_t ms, char *buf, size_t size)
{
    if (ms <= 0) {
        snprintf (buf, size, "-");
        return;
    }
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    if (!localtime_r (&seconds, &tm) || strftime (buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf (buf, size, "-");
}

void
render_duration (double seconds, char *buf, size_t size)
{
    if (!isfinite (seconds) || seconds < 0 || seconds > 1e9)
        snprintf (buf, size, "-");
    else
    if (seconds < 60)
        snprintf (buf, size, "%.0fs", seconds);
    else
    if (seconds < 3600)
        snprintf (buf, size, "%dm%02ds", (int) seconds / 60, (int) seconds % 60);
    else
        snprintf (buf, size, "%dh%02dm", (int) seconds / 3600, (int) seconds % 3600 / 60);
}

//  The box around the finite points of both series; false when none.
static bool
s_range (json_t *history, s_range_t *range)
{
    size_t i;
    json_t *point;
    bool any = false;
    double ymin = INFINITY, ymax = -INFINITY;
    json_array_foreach (history, i, point) {
        double x, y;
        if (!s_item_num (point, 0, &x))
            continue;
        for (size_t k = 2; k <= 3; k++)
            if (s_item_num (point, k, &y)) {
                if (!any || x < range->xmin) range->xmin = x;
                if (!any || x > range->xmax) range->xmax = x;
                any = true;
                ymin = fmin (ymin, y);
                ymax = fmax (ymax, y);
            }
    }
    if (!any)
        return false;
    range->log_y = ymin > 0 && ymax / ymin > 100;
    if (range->log_y) {
        ymin = log10 (ymin);
        ymax = log10 (ymax);
    }
    if (ymax - ymin < 1e-12 * fmax (1, fabs (ymax))) {
        double pad = fabs (ymax) > 0 ? fabs (ymax) * 0.1 : 0.5;
        ymin -= pad;
        ymax += pad;
    }
    if (range->xmax <= range->xmin)
        range->xmax = range->xmin + 1;
    range->ymin = ymin;
    range->ymax = ymax;
    return true;
}

static void
s_dot (s_canvas_t *canvas, int px, int py)
{
    int cx = px / canvas->sx, cy = py / canvas->sy;
    if (px < 0 || py < 0 || cx >= canvas->width || cy >= canvas->height)
        return;
    //  Braille dot numbering: column 0 is dots 1,2,3,7; column 1 is 4,5,6,8
    static const unsigned char braille [2][4] = { { 0x01, 0x02, 0x04, 0x40 },
                                                  { 0x08, 0x10, 0x20, 0x80 } };
    unsigned char bit = canvas->sx == 2 ? braille [px % 2][py % 4] : 1;
    canvas->bits [cy * canvas->width + cx] |= bit;
}

//  A straight line of dots; steps along the longer axis.
static void
s_line (s_canvas_t *canvas, int x0, int y0, int x1, int y1)
{
    int steps = abs (x1 - x0) > abs (y1 - y0) ? abs (x1 - x0) : abs (y1 - y0);
    if (steps == 0) {
        s_dot (canvas, x0, y0);
        return;
    }
    for (int i = 0; i <= steps; i++)
        s_dot (canvas, x0 + (int) lround ((double) (x1 - x0) * i / steps),
               y0 + (int) lround ((double) (y1 - y0) * i / steps));
}

static void
s_plot (s_canvas_t *canvas, json_t *history, const s_range_t *range)
{
    int dots_x = canvas->width * canvas->sx - 1, dots_y = canvas->height * canvas->sy - 1;
    bool have_last = false;
    int last_x = 0, last_y = 0;
    size_t i;
    json_t *point;
    json_array_foreach (history, i, point) {
        double x, y;
        if (!s_item_num (point, 0, &x))
            continue;
        int px = (int) lround ((x - range->xmin) / (range->xmax - range->xmin) * dots_x);
        for (size_t k = 2; k <= 3; k++) {
            if (!s_item_num (point, k, &y) || (range->log_y && y <= 0))
                continue;
            double ty = range->log_y ? log10 (y) : y;
            int py = (int) lround ((range->ymax - ty) / (range->ymax - range->ymin) * dots_y);
            if (k == 3) {
                int cx = px / canvas->sx, cy = py / canvas->sy;
                if (cx >= 0 && cx < canvas->width && cy >= 0 && cy < canvas->height)
                    canvas->marks [cy * canvas->width + cx] = true;
                continue;
            }
            if (have_last)
                s_line (canvas, last_x, last_y, px, py);
            else
                s_dot (canvas, px, py);
            have_last = true;
            last_x = px;
            last_y = py;
        }
    }
}

static void
s_print_canvas (FILE *out, const s_canvas_t *canvas, const s_range_t *range, bool utf8)
{
    for (int row = 0; row < canvas->height; row++) {
        char label [32] = "";
        double frac = canvas->height > 1 ? (double) row / (canvas->height - 1) : 0;
        if (row == 0 || row == canvas->height - 1 || row == canvas->height / 2) {
            double value = range->ymax - frac * (range->ymax - range->ymin);
            snprintf (label, sizeof label, "%.4g", range->log_y ? pow (10, value) : value);
        }
        fprintf (out, "%*s %s", RENDER_LABEL - 1, label, utf8 ? "\u2524" : "|");
        for (int col = 0; col < canvas->width; col++) {
            int cell = row * canvas->width + col;
            unsigned char bits = canvas->bits [cell];
            if (canvas->marks [cell])
                fputs (utf8 ? "\u2022" : "o", out);
            else
            if (!bits)
                fputc (' ', out);
            else
            if (utf8)
                fprintf (out, "%c%c%c", 0xe2, 0xa0 | (bits >> 6), 0x80 | (bits & 0x3f));
            else
                fputc ('*', out);
        }
        fputc ('\n', out);
    }
    fprintf (out, "%*s %s", RENDER_LABEL - 1, "", utf8 ? "\u2514" : "+");
    for (int col = 0; col < canvas->width; col++)
        fputs (utf8 ? "\u2500" : "-", out);
    char left [32], right [32];
    snprintf (left, sizeof left, "%.0f", range->xmin);
    snprintf (right, sizeof right, "%.0f", range->xmax);
    int gap = canvas->width + 1 - (int) strlen (left) - (int) strlen (right) - 4;
    fprintf (out, "\n%*s %s%*s%s%*s%s\n", RENDER_LABEL - 1, "", left,
             gap > 1 ? gap / 2 : 1, "", "step", gap > 1 ? gap - gap / 2 : 1, "", right);
}

char *
render_curve (json_t *history, int width, int height, bool utf8)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    s_range_t range = { 0 };
    if (width < 2) width = 2;
    if (height < 2) height = 2;
    if (!json_is_array (history) || !s_range (history, &range)) {
        fprintf (out, "  (no loss history yet)\n");
        fclose (out);
        return text;
    }
    s_canvas_t canvas = { width, height, utf8 ? 2 : 1, utf8 ? 4 : 1,
                          calloc ((size_t) (width * height), 1),
                          calloc ((size_t) (width * height), sizeof (bool)) };
    if (canvas.bits && canvas.marks) {
        s_plot (&canvas, history, &range);
        fprintf (out, "%*s %s train loss   %s validation loss%s\n", RENDER_LABEL - 1, "",
                 utf8 ? "\u2824\u2824" : "**", utf8 ? "\u2022" : "o",
                 range.log_y ? "   (log scale)" : "");
        s_print_canvas (out, &canvas, &range, utf8);
    }
    free (canvas.bits);
    free (canvas.marks);
    fclose (out);
    return text;
}

//  The spec of a job map, read by the spec module into *spec (the caller
//  clears it). False, with spec at its defaults, when the map has no spec
//  or one the spec module refuses (*cause, optional, says why).
static bool
s_spec_read (json_t *job, mt_spec_t *spec, char **cause)
{
    json_t *value = json_object_get (job, "spec");
    json_t *copy = NULL;
    if (json_is_object (value) && json_is_true (json_object_get (job, "redacted")))
        value = copy = s_spec_stand_ins (value);
    bool read = false;
    if (json_is_object (value))
        read = mt_spec_from_value (spec, value, cause) == 0;
    else {
        mt_spec_init (spec);
        mt_fail (cause, "the job map has no spec");
    }
    json_decref (copy);
    return read;
}

//  A copy of a redacted job's spec (another client's job: the broker sent its
//  hashes as null) with a stand-in for each, so the rest can be read. NULL
//  when out of memory.
static json_t *
s_spec_stand_ins (json_t *value)
{
    json_t *copy = json_copy (value);
    const char *keys [] = { "data_hash", "init_hash", "val_data_hash" };
    for (size_t i = 0; copy && i < sizeof keys / sizeof keys [0]; i++)
        if (json_is_null (json_object_get (copy, keys [i])))
            json_object_set_new (copy, keys [i], json_string (RENDER_HIDDEN_HASH));
    return copy;
}

//  The job's epochs as its spec sets them; 0 when it has no spec it can read.
static double
s_spec_epochs (json_t *job)
{
    mt_spec_t spec;
    double epochs = s_spec_read (job, &spec, NULL) ? spec.epochs : 0;
    mt_spec_clear (&spec);
    return epochs;
}

//  "val_acc" for a classification job, "val_r2" for regression (and for a
//  spec it cannot read, as the spec's default task).
static const char *
s_metric_label (json_t *job)
{
    mt_spec_t spec;
    s_spec_read (job, &spec, NULL);
    bool classify = spec.task == MT_TASK_CLASSIFICATION;
    mt_metric_t metric = spec.metric;
    mt_spec_clear (&spec);
    //  val_metric is the metric --metric names, else accuracy or R^2
    static const char *labels [] = {
        [MT_METRIC_ACCURACY] = "val_acc", [MT_METRIC_BALANCED_ACCURACY] = "val_bal_acc",
        [MT_METRIC_F1_MACRO] = "val_f1", [MT_METRIC_LOG_LOSS] = "val_log_loss",
        [MT_METRIC_ROC_AUC] = "val_auc", [MT_METRIC_R2] = "val_r2", [MT_METRIC_MAE] = "val_mae",
        [MT_METRIC_RMSE] = "val_rmse"
    };
    if (metric != MT_METRIC_VAL_LOSS && (size_t) metric < sizeof labels / sizeof labels [0]
    &&  labels [metric])
        return labels [metric];
    return classify ? "val_acc" : "val_r2";
}

//  The parts of a progress line from a job map; "" for what it lacks.
static void
s_progress_parts (json_t *job, s_progress_t *parts)
{
    memset (parts, 0, sizeof *parts);
    json_t *progress = json_object_get (job, "progress");
    double epoch = 0, epochs = 0, step = 0, steps = 0, value;
    s_num (progress, "epoch", &epoch);
    s_num (progress, "epochs", &epochs);
    if (epochs <= 0)
        epochs = s_spec_epochs (job);
    s_num (progress, "step", &step);
    s_num (progress, "steps", &steps);
    double done = steps > 0 ? step / steps : epochs > 0 ? epoch / epochs : 0;
    if (strcmp (s_str (job, "state", ""), "succeeded") == 0)
        done = 1;
    parts->done = fmin (1, fmax (0, done));
    char (*text) [RENDER_PART] = parts->text;
    snprintf (text [RENDER_PART_PERCENT], RENDER_PART, "%.0f%%", parts->done * 100);
    snprintf (text [RENDER_PART_EPOCH], RENDER_PART, "epoch %.0f/%.0f", epoch, epochs);
    snprintf (text [RENDER_PART_STEP], RENDER_PART, "step %.0f", step);
    if (s_num (progress, "loss", &value))
        snprintf (text [RENDER_PART_LOSS], RENDER_PART, "loss %.4g", value);
    if (s_num (progress, "val_loss", &value))
        snprintf (text [RENDER_PART_VAL_LOSS], RENDER_PART, "val_loss %.4g", value);
    if (s_num (progress, "val_metric", &value))
        snprintf (text [RENDER_PART_METRIC], RENDER_PART, "%s %.4g", s_metric_label (job),
                  value);
    if (s_num (progress, "samples_per_sec", &value) && value > 0)
        snprintf (text [RENDER_PART_SPEED], RENDER_PART, "%.0f samples/s", value);
    if (s_num (progress, "eta_s", &value) && parts->done < 1
    &&  strcmp (s_str (job, "state", "running"), "running") == 0) {
        char eta [32];
        render_duration (value, eta, sizeof eta);
        snprintf (text [RENDER_PART_ETA], RENDER_PART, "ETA %s", eta);
    }
}

//  The line of the parts whose bit is set in shown, with a bar of bar_width
//  cells first (none when 0). Caller frees.
static char *
s_progress_line (const s_progress_t *parts, unsigned shown, int bar_width, bool utf8)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    if (bar_width > 0) {
        int filled = (int) lround (parts->done * bar_width);
        fputc ('[', out);
        for (int i = 0; i < bar_width; i++)
            fputs (i < filled ? (utf8 ? "\u2588" : "#") : (utf8 ? "\u2591" : "."), out);
        //  The percent right-aligned after a bar, so the line does not jump
        fprintf (out, "] %4s", parts->text [RENDER_PART_PERCENT]);
    }
    else
        fputs (parts->text [RENDER_PART_PERCENT], out);
    for (int i = RENDER_PART_PERCENT + 1; i < RENDER_PARTS; i++)
        if ((shown & (1u << i)) && parts->text [i][0])
            fprintf (out, "  %s", parts->text [i]);
    fclose (out);
    return text;
}

//  Characters on screen: UTF-8 continuation bytes take no column.
static int
s_columns (const char *text)
{
    int columns = 0;
    for (; text && *text; text++)
        columns += (*text & 0xc0) != 0x80;
    return columns;
}

char *
render_progress (json_t *job, int bar_width, bool utf8)
{
    s_progress_t parts;
    s_progress_parts (job, &parts);
    return s_progress_line (&parts, ~0u, bar_width, utf8);
}

char *
render_progress_fit (json_t *job, int width, bool utf8)
{
    //  What goes first when the line is too long: the bar shrinks to its
    //  least, then these parts go, least important first; the bar itself
    //  goes before the ETA
    static const int drop [] = { RENDER_PART_STEP, RENDER_PART_VAL_LOSS, RENDER_PART_SPEED,
                                 -1, RENDER_PART_ETA, RENDER_PART_METRIC, RENDER_PART_LOSS,
                                 RENDER_PART_EPOCH };
    s_progress_t parts;
    s_progress_parts (job, &parts);
    unsigned shown = ~0u;
    int bar = RENDER_BAR_MAX;
    char *line = s_progress_line (&parts, shown, bar, utf8);
    for (size_t next = 0; line && s_columns (line) > width; ) {
        int over = s_columns (line) - width;
        if (bar > RENDER_BAR_MIN)
            bar = bar - over > RENDER_BAR_MIN ? bar - over : RENDER_BAR_MIN;
        else
        if (next == sizeof drop / sizeof drop [0])
            break;              // the percent alone: never cut it
        else
        if (drop [next] < 0) {
            bar = 0;
            next++;
        }
        else
            shown &= ~(1u << drop [next++]);
        free (line);
        line = s_progress_line (&parts, shown, bar, utf8);
    }
    return line;
}

//  The best epoch's validation metrics, then its confusion matrix, a row
//  per true class
static void
s_val_metrics (FILE *out, json_t *val)
{
    if (json_object_size (val) == 0)
        return;
    fprintf (out, "  val       ");
    render_metrics (out, val);
    fputc ('\n', out);
    json_t *rows = json_object_get (val, "confusion");
    size_t t, p;
    json_t *row, *count;
    json_array_foreach (rows, t, row) {
        fprintf (out, "  %s", t == 0 ? "confusion " : "          ");
        json_array_foreach (row, p, count)
            fprintf (out, " %6lld", (long long) json_integer_value (count));
        fputc ('\n', out);
    }
}

void
render_eval (FILE *out, json_t *eval)
{
    long long rows = json_integer_value (json_object_get (eval, "rows"));
    long long skipped = json_integer_value (json_object_get (eval, "rows_skipped_missing_target"));
    long long unseen = json_integer_value (json_object_get (eval, "unseen_categories"));
    long long imputed = json_integer_value (json_object_get (eval, "imputed_values"));
    fprintf (out, "%s of %s: %lld row%s; %lld skipped (target missing), %lld unseen "
             "categor%s mapped to (other), %lld missing value%s imputed\n",
             s_str (eval, "task", "?"), s_str (eval, "target", "?"), rows, rows == 1 ? "" : "s",
             skipped, unseen, unseen == 1 ? "y" : "ies", imputed, imputed == 1 ? "" : "s");
    render_metrics (out, json_object_get (eval, "metrics"));
    fputc ('\n', out);
    s_confusion (out, json_object_get (eval, "classes"), json_object_get (eval, "confusion"));
}

//  The confusion matrix with its classes: a header of predicted classes,
//  then a row per true class, each cell as wide as its column's name
static void
s_confusion (FILE *out, json_t *classes, json_t *rows)
{
    size_t k = json_array_size (classes);
    if (k == 0 || json_array_size (rows) != k)
        return;
    int label = (int) strlen ("true \\ predicted");
    for (size_t c = 0; c < k; c++) {
        int len = (int) strlen (s_nth (classes, c));
        label = len > label ? len : label;
    }
    fprintf (out, "confusion (rows true, columns predicted)\n%-*s", label, "true \\ predicted");
    for (size_t c = 0; c < k; c++)
        fprintf (out, "  %6s", s_nth (classes, c));
    fputc ('\n', out);
    for (size_t t = 0; t < k; t++) {
        fprintf (out, "%-*s", label, s_nth (classes, t));
        json_t *row = json_array_get (rows, t);
        for (size_t p = 0; p < k; p++) {
            int width = (int) strlen (s_nth (classes, p));
            fprintf (out, "  %*lld", width > 6 ? width : 6,
                     (long long) json_integer_value (json_array_get (row, p)));
        }
        fputc ('\n', out);
    }
}

//  A list's i-th string, "" when it is not one
static const char *
s_nth (json_t *list, size_t i)
{
    const char *text = json_string_value (json_array_get (list, i));
    return text ? text : "";
}

void
render_metrics (FILE *out, json_t *metrics)
{
    //  A metric undefined for its split (accuracy or R^2 of an empty or
    //  constant one) is null, its reason under "undefined"
    json_t *undefined = json_object_get (metrics, RENDER_UNDEFINED);
    const char *key;
    json_t *value;
    const char *sep = "";
    json_object_foreach (metrics, key, value) {
        //  Nested maps and lists (val_metrics, confusion) have lines of their own
        if (json_is_object (value) || json_is_array (value))
            continue;
        if (json_is_number (value))
            fprintf (out, "%s%s %.6g", sep, key, json_number_value (value));
        else
        if (json_is_string (value))
            fprintf (out, "%s%s %s", sep, key, json_string_value (value));
        else
        if (json_is_boolean (value))
            fprintf (out, "%s%s %s", sep, key, json_is_true (value) ? "true" : "false");
        else
        if (json_is_null (value))
            fprintf (out, "%s%s n/a (%s)", sep, key,
                     s_str (undefined, key, "undefined for this split"));
        else
            fprintf (out, "%s%s -", sep, key);
        sep = "  ";
    }
}

//  Print cells (rows x cols, row 0 the header) in aligned columns.
static void
s_table (FILE *out, int cols, int rows, char **cells)
{
    int widths [RENDER_MAX_COLS] = { 0 };
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            int len = (int) strlen (cells [r * cols + c]);
            if (len > widths [c])
                widths [c] = len;
        }
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            if (c == cols - 1)
                fprintf (out, "%s", cells [r * cols + c]);
            else
                fprintf (out, "%-*s  ", widths [c], cells [r * cols + c]);
        }
        fputc ('\n', out);
    }
}

//  A number cell: whole (%.0f) or with 4 significant digits; "-" when missing.
static char *
s_cell_num (json_t *object, const char *key, bool whole)
{
    double value;
    char *cell = NULL;
    if (!s_num (object, key, &value)
    ||  (whole ? asprintf (&cell, "%.0f", value) : asprintf (&cell, "%.4g", value)) < 0)
        cell = strdup ("-");
    return cell;
}

//  A table of cols x rows owned strings, the header row filled; NULL on
//  allocation failure.
static char **
s_cells_new (const char **header, int cols, int rows)
{
    char **cells = calloc ((size_t) (cols * rows), sizeof (char *));
    for (int c = 0; cells && c < cols; c++)
        cells [c] = strdup (header [c]);
    return cells;
}

//  Print the table if every cell was made (an allocation may have failed),
//  then free it.
static void
s_cells_print (FILE *out, char **cells, int cols, int rows)
{
    bool ok = true;
    for (int i = 0; i < cols * rows; i++)
        ok = ok && cells [i];
    if (ok)
        s_table (out, cols, rows, cells);
    for (int i = 0; i < cols * rows; i++)
        free (cells [i]);
    free (cells);
}

void
render_jobs (FILE *out, json_t *jobs)
{
    const char *header [] = { "ID", "NAME", "STATE", "ATTEMPT", "EPOCH", "LOSS", "WORKER", "CREATED" };
    int cols = 8, rows = (int) json_array_size (jobs) + 1;
    char **cells = s_cells_new (header, cols, rows);
    if (!cells)
        return;
    for (int r = 1; r < rows; r++) {
        json_t *job = json_array_get (jobs, (size_t) r - 1);
        json_t *progress = json_object_get (job, "progress");
        char **row = cells + r * cols;
        double epoch = 0, epochs = 0, created = 0;
        s_num (progress, "epoch", &epoch);
        if (!s_num (progress, "epochs", &epochs))
            epochs = s_spec_epochs (job);
        char when [32];
        s_num (job, "created_at", &created);
        render_time ((int64_t) created, when, sizeof when);
        row [0] = s_cell_num (job, "id", true);
        row [1] = strdup (s_str (job, "name", "-"));
        row [2] = strdup (s_str (job, "state", "?"));
        row [3] = s_cell_num (job, "attempt", true);
        if (asprintf (&row [4], "%.0f/%.0f", epoch, epochs) < 0)
            row [4] = NULL;
        row [5] = s_cell_num (progress, "loss", false);
        row [6] = strdup (s_str (job, "worker", "-"));
        row [7] = strdup (when);
    }
    s_cells_print (out, cells, cols, rows);
}

void
render_workers (FILE *out, json_t *workers)
{
    const char *header [] = { "NAME", "HOST", "STATE", "JOB", "THREADS", "LAST SEEN" };
    int cols = 6, rows = (int) json_array_size (workers) + 1;
    char **cells = s_cells_new (header, cols, rows);
    if (!cells)
        return;
    for (int r = 1; r < rows; r++) {
        json_t *worker = json_array_get (workers, (size_t) r - 1);
        char **row = cells + r * cols;
        double job = 0, seen = -1;
        row [0] = strdup (s_str (worker, "name", "?"));
        row [1] = strdup (s_str (worker, "host", "-"));
        row [2] = strdup (s_str (worker, "state", "?"));
        if (s_num (worker, "job", &job) && job > 0)
            row [3] = s_cell_num (worker, "job", true);
        else
            row [3] = strdup ("-");
        row [4] = s_cell_num (worker, "threads", true);
        if (s_num (worker, "last_seen_ms", &seen) && seen >= 0) {
            if (asprintf (&row [5], "%.1f s ago", seen / 1000) < 0)
                row [5] = NULL;
        }
        else
            row [5] = strdup ("-");
    }
    s_cells_print (out, cells, cols, rows);
}

//  The spec's line and the data's, as the spec module reads the job's spec.
static void
s_job_spec (FILE *out, json_t *job)
{
    if (!json_is_object (json_object_get (job, "spec")))
        return;
    mt_spec_t spec;
    char *cause = NULL;
    if (!s_spec_read (job, &spec, &cause)) {
        fprintf (out, "  spec      (unreadable: %s)\n", cause ? cause : "?");
        free (cause);
        return;
    }
    fprintf (out, "  spec      %s of '%s', hidden [", mt_task_name (spec.task), spec.target);
    for (int i = 0; i < spec.n_hidden; i++)
        fprintf (out, "%s%d", i ? "," : "", spec.hidden [i]);
    fprintf (out, "] %s, %s lr %g, batch %d, %d epochs\n", mt_act_name (spec.activation),
             mt_opt_name (spec.optimizer), spec.lr, spec.batch_size, spec.epochs);
    if (json_is_true (json_object_get (job, "redacted")) && !spec.data_path)
        fprintf (out, "  data      sha256 hidden (another client's job)\n");
    else
        fprintf (out, "  data      %s%s\n", spec.data_path ? "" : "sha256 ",
                 spec.data_path ? spec.data_path : spec.data_hash);
    mt_spec_clear (&spec);
}

static void
s_job_attempts (FILE *out, json_t *attempts)
{
    if (json_array_size (attempts) == 0)
        return;
    fprintf (out, "\n  attempts\n");
    size_t i;
    json_t *attempt;
    json_array_foreach (attempts, i, attempt) {
        double number = 0, started = 0, finished = 0, resumed = 0;
        s_num (attempt, "attempt", &number);
        s_num (attempt, "started_at", &started);
        s_num (attempt, "finished_at", &finished);
        s_num (attempt, "resumed_from_epoch", &resumed);
        char from [32], to [32];
        render_time ((int64_t) started, from, sizeof from);
        render_time ((int64_t) finished, to, sizeof to);
        fprintf (out, "    #%-3.0f %-24s %s .. %-19s  %s", number, s_str (attempt, "worker", "-"),
                 from, to, s_str (attempt, "outcome", "running"));
        if (resumed > 0)
            fprintf (out, " (resumed from epoch %.0f)", resumed);
        fputc ('\n', out);
    }
}

void
render_job (FILE *out, json_t *job, bool utf8)
{
    double id = 0, attempt = 0, created = 0, started = 0, finished = 0;
    s_num (job, "id", &id);
    s_num (job, "attempt", &attempt);
    s_num (job, "created_at", &created);
    s_num (job, "started_at", &started);
    s_num (job, "finished_at", &finished);
    const char *state = s_str (job, "state", "?");
    fprintf (out, "job %.0f  %s\n", id, s_str (job, "name", ""));
    fprintf (out, "  state     %s (attempt %.0f", state, attempt);
    if (json_is_string (json_object_get (job, "worker")) && *s_str (job, "worker", ""))
        fprintf (out, ", worker %s", s_str (job, "worker", ""));
    fprintf (out, ")\n");
    s_job_spec (out, job);
    char when [32], took [32];
    render_time ((int64_t) created, when, sizeof when);
    fprintf (out, "  created   %s\n", when);
    render_time ((int64_t) started, when, sizeof when);
    fprintf (out, "  started   %s\n", when);
    render_time ((int64_t) finished, when, sizeof when);
    render_duration (started > 0 && finished >= started ? (finished - started) / 1000 : -1,
                     took, sizeof took);
    fprintf (out, "  finished  %s%s%s%s\n", when, finished > 0 ? " (took " : "",
             finished > 0 ? took : "", finished > 0 ? ")" : "");
    if (json_is_object (json_object_get (job, "progress"))) {
        char *line = render_progress (job, 20, utf8);
        fprintf (out, "  progress  %s\n", line ? line : "-");
        free (line);
    }
    json_t *metrics = json_object_get (job, "metrics");
    if (json_object_size (metrics) > 0) {
        fprintf (out, "  metrics   ");
        render_metrics (out, metrics);
        fputc ('\n', out);
        s_val_metrics (out, json_object_get (metrics, "val_metrics"));
        size_t i;
        json_t *warning;
        json_array_foreach (json_object_get (metrics, "warnings"), i, warning)
            fprintf (out, "  %s%s\n", i == 0 ? "warning   " : "          ",
                     json_string_value (warning) ? json_string_value (warning) : "?");
    }
    if (*s_str (job, "error", ""))
        fprintf (out, "  error     %s\n", s_str (job, "error", ""));
    if (*s_str (job, "model_hash", ""))
        fprintf (out, "  model     sha256 %s (mtclient fetch %.0f)\n", s_str (job, "model_hash", ""), id);
    else
    if (json_is_true (json_object_get (job, "redacted")) && strcmp (s_str (job, "state", ""),
                                                                "succeeded") == 0)
        fprintf (out, "  model     sha256 hidden (another client's job)\n");
    s_job_attempts (out, json_object_get (job, "attempts"));
    char *curve = render_curve (json_object_get (job, "history"), RENDER_CURVE_WIDTH,
                                RENDER_CURVE_HEIGHT, utf8);
    fprintf (out, "\n  loss\n%s", curve ? curve : "");
    free (curve);
}
