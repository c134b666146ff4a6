/*  encode - the encoding plan: how raw columns (numbers, text, missing values) become model inputs  */
//  A plan is built once, from the training rows (dataset.c gathers each
//  column's values and hands them here), travels in the model's metadata
//  as JSON, and is applied to raw rows by training, predict, eval and the
//  broker's model check alike. Category lookups go through one hash table
//  per column, so applying a plan costs a hash per categorical field.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mt/spec.h"
#include "mt/util.h"
#include "encode.h"

typedef struct {
    char *name;
    encode_kind_t kind;
    float median;               // numeric; NAN = no imputation (legacy)
    bool indicator;             // numeric: a 0/1 missing input follows the value
    char **categories;          // categorical: the kept levels, sorted
    int n_categories;
    bool missing;               // categorical: a (missing) level after them
    size_t offset;              // first output
    size_t width;               // outputs
    int32_t *slots;             // category hash: index + 1, 0 = empty
    size_t n_slots;             // a power of two, at least twice n_categories
} s_column_t;

struct encode_t {
    s_column_t *columns;
    int n_columns;
    int cap_columns;
    size_t width;
    char **na;                  // missing-value tokens
    size_t *na_len;             // their lengths
    size_t na_max;              // the longest
    int n_na;
};

//  A distinct value while choosing the kept categories
typedef struct {
    const char *value;
    size_t count;
    double number;              // when every value is a number
} s_level_t;

//  A numeric column's median window while encode_medians passes over a table
typedef struct {
    bool open;                  // a window was drawn; else the column is gathered
    float lo, hi;               // from the sample; values strictly between are kept
    size_t count;               // values (not missing)
    size_t below, at_lo, at_hi; // values below lo, equal to lo, equal to hi (hi != lo)
    float *kept;                // those strictly between
    size_t n_kept, cap;
} s_window_t;

static const char *s_default_na [] = { "", "NA", "N/A", "NaN", "null", "?" };

#define S_WINDOW_ROWS 65536     // tables with fewer rows gather each column instead
#define S_SAMPLE      8192      // rows drawn for the windows
#define S_SAMPLE_MIN  1024      // values a column's sample needs for a window
#define S_BLOCK_ROWS  2048      // rows the pass reads at a time (in L2 for 64 columns)
#define S_KEPT_SHARE  4         // a window keeping more than 1 / 4 of the rows is closed
#define S_SIGMAS      3.0       // half a window, in standard deviations of the sample
                                //   median's rank (sqrt (m) / 2): 6 of them

static int s_add (encode_t *self, const char *name, char **cause, s_column_t **out);
static int s_index (s_column_t *column);
static uint64_t s_hash (const char *s, size_t len);
static int s_cmp_count (const void *a, const void *b);
static int s_cmp_number (const void *a, const void *b);
static int s_cmp_bytes (const void *a, const void *b);
static float s_select (float *v, size_t n, size_t k);
static float s_median (float *v, size_t n);
static int s_window_open (s_window_t *windows, const float *table, size_t rows, size_t stride,
                          const bool *numeric);
static void s_window_pass (s_window_t *windows, const float *table, size_t rows, size_t stride,
                           const bool *numeric);
static int s_window_room (s_window_t *w, size_t n, size_t rows);
static int s_window_median (s_window_t *w, float *median);
static int s_window_rank (s_window_t *w, size_t rank, float *value);
static int s_gathered_median (const float *table, size_t rows, size_t stride, size_t j,
                              float *median);
static bool s_number (const char *s, double *out);
static int s_reserved (const char *s, size_t len);
static int s_read_column (encode_t *self, json_t *entry, size_t i, char **cause);
static int s_read_categories (encode_t *self, const char *name, json_t *entry, size_t i,
                              char **cause);
static bool s_text_ok (const char *s, size_t len);
static json_t *s_column_json (const s_column_t *column);


//  --------------------------------------------------------------------------
//  Building

encode_t *
encode_new (const char *const *na, int n_na, char **cause)
{
    if (!na) {
        na = s_default_na;
        n_na = (int) (sizeof s_default_na / sizeof s_default_na [0]);
    }
    if (n_na < 0 || n_na > ENCODE_MAX_NA)
        return mt_fail (cause, "encode: %d missing-value tokens (at most %d)", n_na,
                        ENCODE_MAX_NA), NULL;
    encode_t *self = calloc (1, sizeof *self);
    if (self)
        self->na = calloc ((size_t) n_na + 1, sizeof (char *));
    if (self)
        self->na_len = calloc ((size_t) n_na + 1, sizeof (size_t));
    for (int i = 0; self && self->na && self->na_len && i < n_na; i++) {
        if (!(self->na [i] = strdup (na [i] ? na [i] : "")))
            break;
        self->na_len [i] = strlen (self->na [i]);
        if (self->na_len [i] > self->na_max)
            self->na_max = self->na_len [i];
        self->n_na = i + 1;
    }
    if (!self || !self->na || !self->na_len || self->n_na != n_na) {
        encode_destroy (&self);
        mt_fail (cause, "encode: out of memory");
    }
    return self;
}

void
encode_destroy (encode_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    encode_t *self = *self_p;
    for (int i = 0; i < self->n_columns; i++) {
        s_column_t *column = &self->columns [i];
        free (column->name);
        for (int k = 0; k < column->n_categories; k++)
            free (column->categories [k]);
        free (column->categories);
        free (column->slots);
    }
    free (self->columns);
    for (int i = 0; i < self->n_na; i++)
        free (self->na [i]);
    free (self->na);
    free (self->na_len);
    free (self);
    *self_p = NULL;
}

encode_t *
encode_dup (const encode_t *self, char **cause)
{
    char *text = encode_to_json (self);
    if (!text)
        return mt_fail (cause, "encode: out of memory"), NULL;
    encode_t *copy = encode_from_json (text, strlen (text), cause);
    free (text);
    return copy;
}

//  A new column at the end, named name; its outputs are the caller's to set
static int
s_add (encode_t *self, const char *name, char **cause, s_column_t **out)
{
    if (self->n_columns == self->cap_columns) {
        int cap = self->cap_columns ? self->cap_columns * 2 : 16;
        s_column_t *grown = realloc (self->columns, (size_t) cap * sizeof *grown);
        if (!grown)
            return mt_fail (cause, "encode: out of memory");
        self->columns = grown;
        self->cap_columns = cap;
    }
    s_column_t *column = &self->columns [self->n_columns];
    memset (column, 0, sizeof *column);
    if (!(column->name = strdup (name)))
        return mt_fail (cause, "encode: out of memory");
    column->offset = self->width;
    self->n_columns++;
    *out = column;
    return 0;
}

int
encode_add_numeric (encode_t *self, const char *name, const float *values, size_t count,
                    bool indicator, char **cause)
{
    if (self->width + 2 > ENCODE_MAX_WIDTH)
        return mt_fail (cause, "column '%s': the encoded inputs would pass %d", name,
                        ENCODE_MAX_WIDTH);
    s_column_t *column = NULL;
    if (s_add (self, name, cause, &column))
        return -1;
    column->kind = ENCODE_NUMERIC;
    column->indicator = indicator;
    column->width = indicator ? 2 : 1;
    column->median = 0;
    if (count > 0) {
        float *sorted = malloc (count * sizeof *sorted);
        if (!sorted)
            return mt_fail (cause, "encode: out of memory");
        memcpy (sorted, values, count * sizeof *sorted);
        column->median = s_median (sorted, count);
        free (sorted);
    }
    self->width += column->width;
    return 0;
}

//  Small tables, and columns whose window missed: each column's values
//  gathered and selected. Large ones: one pass over the table for all
//  columns, keeping only the values inside a window around each median
//  (from a sample of rows), so that selection runs over a few percent
int
encode_medians (const float *table, size_t rows, size_t stride, const bool *numeric,
                float *medians)
{
    s_window_t *windows = calloc (stride + 1, sizeof *windows);
    int rc = windows ? 0 : -1;
    for (size_t j = 0; j < stride; j++)
        medians [j] = 0;
    if (rc == 0 && rows >= S_WINDOW_ROWS)
        rc = s_window_open (windows, table, rows, stride, numeric);
    if (rc == 0 && rows >= S_WINDOW_ROWS)
        s_window_pass (windows, table, rows, stride, numeric);
    for (size_t j = 0; rc == 0 && j < stride; j++)
        if (numeric [j] && (rows < S_WINDOW_ROWS || s_window_median (&windows [j], &medians [j])))
            rc = s_gathered_median (table, rows, stride, j, &medians [j]);
    for (size_t j = 0; windows && j < stride; j++)
        free (windows [j].kept);
    free (windows);
    return rc;
}

//  Each numeric column's window: its sample's values at the ranks a few
//  standard deviations either side of the sample's median (rows drawn at
//  random, one cache miss each for all columns), and room for the values
//  between them that the pass keeps
static int
s_window_open (s_window_t *windows, const float *table, size_t rows, size_t stride,
               const bool *numeric)
{
    float *sample = malloc ((size_t) S_SAMPLE * (stride + 1) * sizeof *sample);
    if (!sample)
        return -1;
    uint64_t state = UINT64_C (88172645463325252);
    for (size_t i = 0; i < S_SAMPLE; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        memcpy (sample + i * stride, table + (state % rows) * stride, stride * sizeof *sample);
    }
    int rc = 0;
    float *column = sample + (size_t) S_SAMPLE * stride;
    for (size_t j = 0; j < stride && rc == 0; j++) {
        s_window_t *w = &windows [j];
        size_t m = 0;
        for (size_t i = 0; numeric [j] && i < S_SAMPLE; i++)
            if (!isnan (sample [i * stride + j]))
                column [m++] = sample [i * stride + j];
        if (m < S_SAMPLE_MIN)
            continue;           // mostly missing: gathered instead
        size_t margin = (size_t) (S_SIGMAS * sqrt ((double) m)) + 8;
        size_t lo = m / 2 > margin ? m / 2 - margin : 0;
        size_t hi = m / 2 + margin < m ? m / 2 + margin : m - 1;
        w->hi = s_select (column, m, hi);
        w->lo = s_select (column, hi + 1, lo);      // the hi + 1 before hi are the smaller
        //  Expected share kept (hi - lo) / m; room for twice that
        w->cap = (size_t) ((double) rows * 2.0 * (double) (hi - lo) / (double) m) + S_BLOCK_ROWS;
        w->kept = malloc (w->cap * sizeof *w->kept);
        rc = w->kept ? 0 : -1;
        w->open = rc == 0;
    }
    free (sample);
    return rc;
}

//  The pass: per column, the values below, at and inside the window
//  counted, those inside kept. Branch-free, as the window's tests would
//  mispredict; a block of rows at a time, so each column's loop reads the
//  block from the cache with its window in registers, and kept has room
//  for a whole block before it starts. A window that keeps more than
//  S_KEPT_SHARE of the rows is closed: the column is gathered instead.
static void
s_window_pass (s_window_t *windows, const float *table, size_t rows, size_t stride,
               const bool *numeric)
{
    for (size_t start = 0; start < rows; start += S_BLOCK_ROWS) {
        size_t end = rows - start > S_BLOCK_ROWS ? start + S_BLOCK_ROWS : rows;
        for (size_t j = 0; j < stride; j++) {
            s_window_t *w = &windows [j];
            if (!numeric [j] || !w->open || s_window_room (w, end - start, rows))
                continue;
            const float lo = w->lo, hi = w->hi;
            float *kept = w->kept;
            //  Ordered comparisons only (false for NAN, no parity tests)
            size_t count = 0, below = 0, to_lo = 0, under_hi = 0, to_hi = 0, n = w->n_kept;
            for (size_t r = start; r < end; r++) {
                float v = table [r * stride + j];
                count += v == v;                // NAN: missing
                below += v < lo;
                to_lo += v <= lo;
                under_hi += v < hi;
                to_hi += v <= hi;
                kept [n] = v;
                n += (v < hi) & !(v <= lo);
            }
            w->count += count;
            w->below += below;
            w->at_lo += to_lo - below;
            w->at_hi += hi != lo ? to_hi - under_hi : 0;
            w->n_kept = n;
        }
    }
}

//  Room in w->kept for n more values; a window that would keep more than
//  its share of rows, or cannot grow, is closed (1)
static int
s_window_room (s_window_t *w, size_t n, size_t rows)
{
    if (w->n_kept + n <= w->cap)
        return 0;
    size_t cap = w->cap * 2 > w->n_kept + n ? w->cap * 2 : w->n_kept + n;
    float *kept = w->n_kept <= rows / S_KEPT_SHARE ? realloc (w->kept, cap * sizeof *kept)
                                                   : NULL;
    if (!kept) {
        w->open = false;
        return 1;
    }
    w->kept = kept;
    w->cap = cap;
    return 0;
}

//  The median from the window's counts and kept values, or -1 when one of
//  the two middle ranks fell outside the window
static int
s_window_median (s_window_t *w, float *median)
{
    if (!w->open)
        return -1;
    size_t upper_rank = w->count / 2;
    size_t lower_rank = w->count % 2 ? upper_rank : upper_rank - 1;
    float upper, lower;
    if (w->count == 0)
        return -1;
    if (s_window_rank (w, upper_rank, &upper) || s_window_rank (w, lower_rank, &lower))
        return -1;
    *median = w->count % 2 ? upper : (float) (((double) lower + upper) / 2);
    return 0;
}

//  The value at rank (0-based, among the column's values) when it is in the
//  window: lo, one of those kept, or hi
static int
s_window_rank (s_window_t *w, size_t rank, float *value)
{
    if (rank < w->below)
        return -1;
    rank -= w->below;
    if (rank < w->at_lo) {
        *value = w->lo;
        return 0;
    }
    rank -= w->at_lo;
    if (rank < w->n_kept) {
        *value = s_select (w->kept, w->n_kept, rank);
        return 0;
    }
    rank -= w->n_kept;
    if (rank < w->at_hi) {
        *value = w->hi;
        return 0;
    }
    return -1;
}

//  Column j's values that are not missing, gathered and selected
static int
s_gathered_median (const float *table, size_t rows, size_t stride, size_t j, float *median)
{
    float *values = malloc ((rows + 1) * sizeof *values);
    if (!values)
        return -1;
    size_t n = 0;
    for (size_t r = 0; r < rows; r++)
        if (!isnan (table [r * stride + j]))
            values [n++] = table [r * stride + j];
    *median = n ? s_median (values, n) : 0;
    free (values);
    return 0;
}

//  As numpy's median of the n values at v (reordered): the middle one, or
//  the mean of the two. Selection, not a sort: linear in the rows
static float
s_median (float *v, size_t n)
{
    float upper = s_select (v, n, n / 2);
    if (n % 2)
        return upper;
    //  After selecting k, the k values before it are the smaller ones
    float lower = v [0];
    for (size_t i = 1; i < n / 2; i++)
        lower = v [i] > lower ? v [i] : lower;
    return (float) (((double) lower + upper) / 2);
}

int
encode_add_legacy (encode_t *self, const char *name, char **cause)
{
    if (encode_add_numeric (self, name, NULL, 0, false, cause))
        return -1;
    self->columns [self->n_columns - 1].median = NAN;
    return 0;
}

int
encode_add_categorical (encode_t *self, const char *name, const char *const *values,
                        const size_t *counts, int n, bool missing, int max_categories,
                        char **cause)
{
    if (max_categories < 1 || max_categories > ENCODE_MAX_CATEGORIES)
        max_categories = ENCODE_DEFAULT_MAX_CATEGORIES;
    if (n < 0)
        return mt_fail (cause, "column '%s': %d categories", name, n);
    s_level_t *levels = malloc (((size_t) n + 1) * sizeof *levels);
    if (!levels)
        return mt_fail (cause, "encode: out of memory");
    //  A value spelled like a reserved level is that level, not a category:
    //  input names stay unique ("c=(other)" once)
    bool numbers = true;
    int distinct = 0;
    for (int i = 0; i < n; i++) {
        int reserved = s_reserved (values [i], strlen (values [i]));
        if (reserved == 2)
            missing = true;
        if (reserved)
            continue;
        levels [distinct] = (s_level_t) { values [i], counts [i], 0 };
        numbers = numbers && s_number (values [i], &levels [distinct].number);
        distinct++;
    }
    n = distinct;
    int kept = n < max_categories ? n : max_categories;
    size_t width = (size_t) kept + (missing ? 1 : 0) + 1;
    if (self->width + width > ENCODE_MAX_WIDTH) {
        free (levels);
        return mt_fail (cause, "column '%s': %d categories would take the encoded inputs past "
                        "%d; use --max-categories, or --ignore it", name, kept,
                        ENCODE_MAX_WIDTH);
    }
    if (kept < n)
        qsort (levels, (size_t) n, sizeof *levels, s_cmp_count);
    qsort (levels, (size_t) kept, sizeof *levels, numbers ? s_cmp_number : s_cmp_bytes);
    s_column_t *column = NULL;
    int rc = s_add (self, name, cause, &column);
    if (rc == 0) {
        column->kind = ENCODE_CATEGORICAL;
        column->missing = missing;
        column->width = width;
        column->categories = calloc ((size_t) kept + 1, sizeof (char *));
        rc = column->categories ? 0 : -1;
        for (int i = 0; rc == 0 && i < kept; i++)
            if ((column->categories [i] = strdup (levels [i].value)))
                column->n_categories = i + 1;
            else
                rc = -1;
        if (rc == 0)
            rc = s_index (column);
        if (rc)
            mt_fail (cause, "encode: out of memory");
        self->width += width;
    }
    free (levels);
    return rc;
}

//  The category hash of column (open addressing, at most half full)
static int
s_index (s_column_t *column)
{
    size_t n = 16;
    while (n < (size_t) column->n_categories * 2)
        n *= 2;
    column->slots = calloc (n, sizeof *column->slots);
    if (!column->slots)
        return -1;
    column->n_slots = n;
    for (int k = 0; k < column->n_categories; k++) {
        const char *s = column->categories [k];
        size_t i = s_hash (s, strlen (s)) & (n - 1);
        while (column->slots [i])
            i = (i + 1) & (n - 1);
        column->slots [i] = k + 1;
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Sizes and names

size_t encode_width (const encode_t *self) { return self->width; }
int encode_columns (const encode_t *self) { return self->n_columns; }
const char *encode_column_name (const encode_t *self, int col) { return self->columns [col].name; }
encode_kind_t encode_column_kind (const encode_t *self, int col) { return self->columns [col].kind; }
size_t encode_column_offset (const encode_t *self, int col) { return self->columns [col].offset; }
float encode_column_median (const encode_t *self, int col) { return self->columns [col].median; }

const char *const *
encode_column_categories (const encode_t *self, int col, int *count)
{
    if (count)
        *count = self->columns [col].n_categories;
    return (const char *const *) self->columns [col].categories;
}

char **
encode_names (const encode_t *self)
{
    char **names = calloc (self->width + 1, sizeof (char *));
    size_t used = 0;
    for (int c = 0; names && c < self->n_columns; c++) {
        const s_column_t *column = &self->columns [c];
        for (size_t k = 0; k < column->width; k++) {
            const char *level = column->kind == ENCODE_NUMERIC ? ENCODE_MISSING
                              : k < (size_t) column->n_categories ? column->categories [k]
                              : column->missing && k == (size_t) column->n_categories
                              ? ENCODE_MISSING : ENCODE_OTHER;
            bool bare = column->kind == ENCODE_NUMERIC && k == 0;
            if (bare ? !(names [used] = strdup (column->name))
                     : asprintf (&names [used], "%s=%s", column->name, level) < 0) {
                names [used] = NULL;
                encode_names_free (names, used);
                return NULL;
            }
            used++;
        }
    }
    return names;
}

void
encode_names_free (char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        free (names [i]);
    free (names);
}


//  --------------------------------------------------------------------------
//  Applying

//  On every field read: most are longer than any token, or differ at once
bool
encode_is_na (const encode_t *self, const char *s, size_t len)
{
    if (len > self->na_max)
        return false;
    for (int i = 0; i < self->n_na; i++)
        if (self->na_len [i] == len && (len == 0 || (self->na [i][0] == s [0]
                                                 &&  memcmp (self->na [i], s, len) == 0)))
            return true;
    return false;
}

void
encode_put_number (const encode_t *self, int col, float value, float *row)
{
    row [self->columns [col].offset] = value;
}

int
encode_put_missing (const encode_t *self, int col, float *row, encode_counts_t *counts)
{
    const s_column_t *column = &self->columns [col];
    if (column->kind == ENCODE_NUMERIC) {
        if (isnan (column->median))
            return -1;
        row [column->offset] = column->median;
        if (column->indicator)
            row [column->offset + 1] = 1;
        counts->imputed++;
        return 0;
    }
    if (column->missing)
        row [column->offset + (size_t) column->n_categories] = 1;
    else {
        row [column->offset + column->width - 1] = 1;
        counts->imputed++;
    }
    return 0;
}

void
encode_put_category (const encode_t *self, int col, const char *s, size_t len, float *row,
                     encode_counts_t *counts)
{
    const s_column_t *column = &self->columns [col];
    int level = encode_level (self, col, s, len);
    if ((size_t) level == column->width - 1 && !s_reserved (s, len))
        counts->unseen++;
    row [column->offset + (size_t) level] = 1;
}

int
encode_level (const encode_t *self, int col, const char *s, size_t len)
{
    const s_column_t *column = &self->columns [col];
    if (memchr (s, 0, len))
        return (int) column->width - 1;     // no category holds a NUL
    int reserved = s_reserved (s, len);
    if (reserved == 2 && column->missing)
        return column->n_categories;
    if (reserved)
        return (int) column->width - 1;
    size_t mask = column->n_slots - 1;
    for (size_t i = s_hash (s, len) & mask; column->slots [i]; i = (i + 1) & mask) {
        const char *k = column->categories [column->slots [i] - 1];
        if (strncmp (k, s, len) == 0 && k [len] == 0)
            return column->slots [i] - 1;
    }
    return (int) column->width - 1;
}


//  --------------------------------------------------------------------------
//  JSON

static json_t *
s_column_json (const s_column_t *column)
{
    json_t *entry = json_pack ("{s:s, s:s, s:I, s:I}", "name", column->name, "kind",
                               column->kind == ENCODE_NUMERIC ? "numeric" : "categorical",
                               "offset", (json_int_t) column->offset,
                               "width", (json_int_t) column->width);
    if (!entry)
        return NULL;
    if (column->kind == ENCODE_NUMERIC) {
        json_object_set_new (entry, "median", isnan (column->median) ? json_null ()
                                              : json_real (column->median));
        json_object_set_new (entry, "indicator", json_boolean (column->indicator));
        return entry;
    }
    json_t *list = json_array ();
    for (int k = 0; list && k < column->n_categories; k++)
        json_array_append_new (list, json_string (column->categories [k]));
    json_object_set_new (entry, "categories", list);
    json_object_set_new (entry, "missing", json_boolean (column->missing));
    return entry;
}

char *
encode_to_json (const encode_t *self)
{
    json_t *columns = json_array (), *na = json_array ();
    for (int c = 0; columns && c < self->n_columns; c++)
        json_array_append_new (columns, s_column_json (&self->columns [c]));
    for (int i = 0; na && i < self->n_na; i++)
        json_array_append_new (na, json_string (self->na [i]));
    json_t *root = json_pack ("{s:I, s:o, s:o}", "width", (json_int_t) self->width,
                              "na_values", na, "columns", columns);
    char *text = root ? json_dumps (root, JSON_COMPACT | JSON_PRESERVE_ORDER
                                          | JSON_REAL_PRECISION (9)) : NULL;
    json_decref (root);
    return text;
}

encode_t *
encode_from_json (const char *text, size_t len, char **cause)
{
    json_error_t error;
    json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &error);
    if (!root)
        return mt_fail (cause, "plan is not valid JSON: %s", error.text), NULL;
    json_t *na = json_object_get (root, "na_values"), *columns = json_object_get (root, "columns");
    json_t *width = json_object_get (root, "width");
    encode_t *self = NULL;
    if (!json_is_object (root) || !json_is_array (na) || !json_is_array (columns)
    ||  !json_is_integer (width))
        mt_fail (cause, "plan must be an object with width, na_values and columns");
    else
    if (json_array_size (na) > ENCODE_MAX_NA || json_array_size (columns) == 0
    ||  json_array_size (columns) > MT_SPEC_MAX_FEATURES)
        mt_fail (cause, "plan has %zu missing-value tokens (at most %d) and %zu columns (1 to %d)",
                 json_array_size (na), ENCODE_MAX_NA, json_array_size (columns),
                 MT_SPEC_MAX_FEATURES);
    else {
        const char *tokens [ENCODE_MAX_NA];
        size_t i;
        json_t *item;
        bool ok = true;
        json_array_foreach (na, i, item) {
            tokens [i] = json_string_value (item);
            ok = ok && tokens [i] && s_text_ok (tokens [i], json_string_length (item));
        }
        if (!ok)
            mt_fail (cause, "plan: na_values must be strings of printable text");
        else
            self = encode_new (tokens, (int) json_array_size (na), cause);
        json_array_foreach (columns, i, item)
            if (self && s_read_column (self, item, i, cause))
                encode_destroy (&self);
        if (self && (json_int_t) self->width != json_integer_value (width)) {
            mt_fail (cause, "plan: width %lld, but its columns make %zu",
                     (long long) json_integer_value (width), self->width);
            encode_destroy (&self);
        }
    }
    json_decref (root);
    return self;
}

static int
s_read_column (encode_t *self, json_t *entry, size_t i, char **cause)
{
    const char *name = json_string_value (json_object_get (entry, "name"));
    const char *kind = json_string_value (json_object_get (entry, "kind"));
    json_t *offset = json_object_get (entry, "offset"), *width = json_object_get (entry, "width");
    if (!json_is_object (entry) || !name || !kind || !json_is_integer (offset)
    ||  !json_is_integer (width))
        return mt_fail (cause, "plan: column %zu lacks name, kind, offset or width", i);
    size_t name_len = json_string_length (json_object_get (entry, "name"));
    if (name_len == 0 || name_len > MT_SPEC_MAX_COLUMN || !s_text_ok (name, name_len))
        return mt_fail (cause, "plan: column %zu's name is empty, too long or not printable", i);
    for (int c = 0; c < self->n_columns; c++)
        if (strcmp (self->columns [c].name, name) == 0)
            return mt_fail (cause, "plan: column '%s' appears twice", name);
    int rc;
    if (strcmp (kind, "numeric") == 0) {
        json_t *median = json_object_get (entry, "median");
        json_t *indicator = json_object_get (entry, "indicator");
        if (!json_is_boolean (indicator) || !(json_is_null (median) || json_is_number (median)))
            return mt_fail (cause, "plan: column '%s' needs a median (number or null) and an "
                            "indicator (true or false)", name);
        float value = json_is_null (median) ? 0 : (float) json_number_value (median);
        if (!isfinite (value))
            return mt_fail (cause, "plan: column '%s' has a median that is not finite", name);
        rc = json_is_null (median) ? encode_add_legacy (self, name, cause)
           : encode_add_numeric (self, name, &value, 1, json_is_true (indicator), cause);
        if (rc == 0 && json_is_null (median) && json_is_true (indicator))
            rc = mt_fail (cause, "plan: column '%s' has an indicator but no median", name);
    }
    else
    if (strcmp (kind, "categorical") == 0)
        rc = s_read_categories (self, name, entry, i, cause);
    else
        rc = mt_fail (cause, "plan: column '%s' has an unknown kind '%.32s'", name, kind);
    if (rc)
        return -1;
    const s_column_t *column = &self->columns [self->n_columns - 1];
    if ((json_int_t) column->offset != json_integer_value (offset)
    ||  (json_int_t) column->width != json_integer_value (width))
        return mt_fail (cause, "plan: column '%s' says offset %lld width %lld, its kind makes "
                        "%zu and %zu", name, (long long) json_integer_value (offset),
                        (long long) json_integer_value (width), column->offset, column->width);
    return 0;
}

static int
s_read_categories (encode_t *self, const char *name, json_t *entry, size_t i, char **cause)
{
    json_t *list = json_object_get (entry, "categories");
    json_t *missing = json_object_get (entry, "missing");
    size_t n = json_array_size (list);
    if (!json_is_array (list) || !json_is_boolean (missing) || n > ENCODE_MAX_CATEGORIES)
        return mt_fail (cause, "plan: column '%s' needs categories (a list of at most %d) and "
                        "missing (true or false)", name, ENCODE_MAX_CATEGORIES);
    const char **values = calloc (n + 1, sizeof *values);
    size_t *counts = calloc (n + 1, sizeof *counts);
    int rc = values && counts ? 0 : mt_fail (cause, "encode: out of memory");
    json_t *item;
    size_t k;
    json_array_foreach (list, k, item) {
        values [k] = json_string_value (item);
        counts [k] = 1;
        //  Any text JSON holds but NUL: a category may hold a tab or a line end
        if (rc == 0 && (!values [k] || strlen (values [k]) != json_string_length (item)))
            rc = mt_fail (cause, "plan: column '%s' category %zu is not a string without NUL",
                          name, k);
    }
    if (rc == 0)
        rc = encode_add_categorical (self, name, values, counts, (int) n,
                                     json_is_true (missing), ENCODE_MAX_CATEGORIES, cause);
    //  The file's order is the outputs' order: it must be the one sorting gives
    const s_column_t *column = rc == 0 ? &self->columns [self->n_columns - 1] : NULL;
    if (column && (size_t) column->n_categories != n) {
        rc = mt_fail (cause, "plan: column '%s': a category is spelled like a reserved level "
                      "(%s, %s)", name, ENCODE_OTHER, ENCODE_MISSING);
        column = NULL;
    }
    for (k = 0; column && k < n; k++)
        if (strcmp (column->categories [k], values [k]) != 0)
            rc = mt_fail (cause, "plan: column '%s': categories are not sorted or not distinct"
                          " ('%.40s' at %zu)", name, values [k], k);
    for (k = 0; column && k < n && rc == 0; k++)
        if ((size_t) encode_level (self, self->n_columns - 1, values [k], strlen (values [k])) != k)
            rc = mt_fail (cause, "plan: column '%s': category '%.40s' appears twice", name,
                          values [k]);
    (void) i;
    free (values);
    free (counts);
    return rc;
}

//  No NUL or other control byte in the len bytes at s
static bool
s_text_ok (const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) s [i] < 0x20 || s [i] == 0x7f)
            return false;
    return true;
}


//  --------------------------------------------------------------------------
//  Small helpers

static uint64_t
s_hash (const char *s, size_t len)
{
    uint64_t hash = UINT64_C (14695981039346656037);
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char) s [i]) * UINT64_C (1099511628211);
    return hash;
}

//  Most frequent first; ties bytewise
static int
s_cmp_count (const void *a, const void *b)
{
    const s_level_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp (x->value, y->value);
}

static int
s_cmp_number (const void *a, const void *b)
{
    const s_level_t *x = a, *y = b;
    if (x->number != y->number)
        return x->number < y->number ? -1 : 1;
    return strcmp (x->value, y->value);     // "1" and "1.0" are different categories
}

static int
s_cmp_bytes (const void *a, const void *b)
{
    const s_level_t *x = a, *y = b;
    return strcmp (x->value, y->value);
}

//  The k-th smallest of v's n values (0-based), v reordered so that those
//  before it are no larger (Hoare's selection, middle pivot)
static float
s_select (float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v [lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v [i] < pivot)
                i++;
            while (v [j] > pivot)
                j--;
            if (i <= j) {
                float t = v [i];
                v [i] = v [j];
                v [j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else
        if (k >= i)
            lo = i;
        else
            break;
    }
    return v [k];
}

//  A whole decimal number, as strtod reads it (no nan or inf)
static bool
s_number (const char *s, double *out)
{
    char *end = NULL;
    if (!*s || strchr (s, 'n') || strchr (s, 'N') || strchr (s, 'x') || strchr (s, 'X'))
        return false;
    *out = strtod (s, &end);
    return end && *end == 0 && end != s && isfinite (*out);
}

//  1 when the len bytes at s spell (other), 2 (missing), else 0
static int
s_reserved (const char *s, size_t len)
{
    if (len == strlen (ENCODE_OTHER) && memcmp (s, ENCODE_OTHER, len) == 0)
        return 1;
    if (len == strlen (ENCODE_MISSING) && memcmp (s, ENCODE_MISSING, len) == 0)
        return 2;
    return 0;
}
