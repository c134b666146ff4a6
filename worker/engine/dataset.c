/*  dataset - a CSV or JSONL table read into float features and a target  */

//  What is accepted:
//  - CSV (RFC 4180): a header row, then records; "quoted" fields may hold
//    commas, "" and line ends; LF or CRLF; a UTF-8 BOM is skipped; blank
//    lines are skipped; unquoted fields are trimmed of spaces and tabs.
//  - JSONL: one object per line; the first object's keys, in order, are the
//    columns; later objects must have the needed keys (target, features),
//    other keys are ignored; blank lines are skipped.
//  - Regression targets are decimal numbers (JSON numbers in JSONL), read as
//    (float) strtod would; nan, inf and values outside float32 are errors.
//    Classes are integers or strings, never empty.
//  - Features are raw fields: numbers, text, or missing (a missing-value
//    token such as "" or NA, JSON null, or a key a JSONL object lacks).
//    Training reads each once into a row-major table of the raw columns
//    (a float, or the id of the text in the column's dictionary: no
//    allocation per field; a number is parsed straight into its cell),
//    infers the kinds from them and builds the plan (encode.h), then
//    encodes row by row; when every column is numeric with no missing
//    value, that table is the encoded one and is kept as it is. A column
//    that turns to text after numbers were read is read again, in a second
//    pass, so its numbers become categories by their own text. With a
//    model's plan (predict, eval) each row is encoded as it is read.
//  - A row whose target is missing is skipped and counted, or an error.
//  - Every error names the file (the path as given), the 1-based physical
//    line where the record starts, and the column when there is one.
//  - Before either reader runs, the file's head is sniffed (s_sniff), so a
//    file that is not what it seems says what it is: not text (a NUL byte,
//    or a compressor's or archive's magic), UTF-16 or UTF-32, CR-only line
//    ends, or a JSON array. dataset_columns and the loader sniff alike.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mt/util.h"
#include "csv.h"
#include "dataset.h"
#include "numparse.h"

//  A string-to-index hash table over borrowed keys (column or class names).
typedef struct {
    const char *key;            // NULL = empty slot
    size_t len;
    int value;
} s_slot_t;

typedef struct {
    s_slot_t *slots;
    size_t cap;                 // a power of two
    size_t count;
} s_map_t;

//  One raw feature column while training reads it. Its cells (column j of
//  the row-major table in ds->x, n_raw floats a row) hold floats (NAN when
//  missing) until it holds text, then ids into its dictionary of distinct
//  texts (-1 when missing), an int32 in the float's bytes (s_code_put).
typedef struct {
    int forced;                 // -1, or the kind opts force
    bool text;                  // holds text: categorical, unless forced numeric
    size_t missing;             // missing values
    char *arena;                // the distinct texts, each NUL-terminated
    size_t arena_len, arena_cap;
    uint32_t *offsets;          // n_values: each text's offset in arena
    size_t *counts;             // n_values: rows holding it
    int n_values, cap_values;
    int32_t *slots;             // hash: id + 1, 0 = empty
    size_t n_slots;             // a power of two, kept at most half full
} s_raw_t;

#define S_SHOWN(n) ((n) * 4 + 8)   // buffer bytes to show n bytes escaped
#define S_SHOWN_FIRST S_SHOWN (40)  // a first text value shown (S_VALUE_SHOWN bytes)

//  A file column that turned to text: the first value that was not a
//  number, for the warning when most of its values are (kept across the
//  second pass, which reads the column as text from the start)
typedef struct {
    bool text;                  // text from the first row (second pass)
    size_t line;                // of the first value not a number; 0 = none seen
    char first [S_SHOWN_FIRST]; // that value, escaped
} s_text_col_t;

//  A dataset being built, whichever format it comes from.
typedef struct {
    const char *name;           // the file, for messages
    const dataset_opts_t *opts;
    char **cause;
    dataset_t *ds;
    char **columns;             // the file's column names (owned)
    int n_columns;
    int *feature_col;           // ds->cols entries: each feature's column
    int target_col;             // -1 without a target
    size_t cap_rows;            // rows allocated in ds->x, y, label
    s_map_t class_map;          // class name -> id (index in class_names)
    char **class_names;         // in order of first sight, or as opts gave them
    int n_class_names;
    int cap_class_names;
    bool fixed_classes;         // opts->classes given: no new ones
    mt_format_t format;         // the format settled on: csv or jsonl
    bool head_only;             // the columns only (dataset_columns): no rows are read,
    bool partial;               //   from a head that may stop short of the file's end
    bool more;                  //   and did stop before the header's end: read on
    int n_raw;                  // raw feature columns (feature_col entries)
    const encode_t *apply;      // opts->plan: encode each row as it is read
    encode_t *plan;             // training: the NA tokens now, the columns at the end
    const encode_t *na;         // whose missing-value tokens apply
    s_raw_t *raw;               // training: n_raw columns
    s_text_col_t *text_cols;    // by file column: which turned to text, and where
    bool repass;                // a column turned to text after numbers: read again
    bool numbers_first;         // no missing-value token is a number: parse before the check
    float *row;                 // with apply: the row being encoded
} s_build_t;

//  A class name with what sorting needs.
typedef struct {
    char *name;
    long long value;            // when all names are integers
    int id;                     // id before sorting
} s_class_t;

#define S_VALUE_SHOWN 40        // bytes of a bad value quoted in a message
#define S_HEAD_CHUNK 65536      // bytes read at a time from what cannot be mapped
#define S_COLUMNS_SHOWN 8       // column names listed when one is missing
#define S_SNIFF_BYTES 4096      // bytes of the head sniffed for NULs and UTF-16
//  After a text value in a regression target: iris's 'setosa' is a class
#define S_TEXT_TARGET_HINT " (the target holds text: for class labels use --task classification)"

static int s_load (const char *name, const char *data, size_t len,
                   const dataset_opts_t *opts, char **cause, dataset_t **out);
static int s_open (const char *path, char **cause);
static int s_read_file (int fd, const char *path, char **data, size_t *len, char **cause);
static int s_read_some (int fd, const char *path, char **data, size_t *len, bool *eof,
                        char **cause);
static int s_head (const char *path, const char *data, size_t len, bool eof,
                   mt_format_t format, dataset_columns_t **out, char **cause);
static int s_parse (s_build_t *b, const char *data, size_t len);
static mt_format_t s_format (const char *name, const char *data, size_t len);
static mt_format_t s_format_by_name (const char *name);

static int s_sniff (const char *name, const char *data, size_t len, bool partial,
                    mt_format_t format, char **cause);
static int s_sniff_binary (const char *name, const char *data, size_t len, bool partial,
                           char **cause);
static int s_sniff_wide (const char *name, const char *data, size_t len, char **cause);
static int s_sniff_line_ends (const char *name, const char *data, size_t len, bool partial,
                              char **cause);
static int s_sniff_array (const char *name, const char *data, size_t len, bool partial,
                          mt_format_t format, char **cause);
static size_t s_skip_space (const char *data, size_t len, size_t i);
static size_t s_utf8_invalid (const unsigned char *s, size_t len);
static int s_more (s_build_t *b);

static int s_load_csv (s_build_t *b, const char *data, size_t len);
static int s_csv_first (s_build_t *b, csv_t *csv);
static int s_csv_header (s_build_t *b, csv_t *csv, size_t count);
static int s_csv_row (s_build_t *b, const csv_field_t *fields, size_t count, size_t line);
static int s_csv_error (s_build_t *b, csv_t *csv);

static int s_load_jsonl (s_build_t *b, const char *data, size_t len);
static int s_jsonl_line (s_build_t *b, const char *p, size_t len, size_t line);
static int s_jsonl_header (s_build_t *b, json_t *obj, size_t line);
static int s_jsonl_row (s_build_t *b, json_t *obj, size_t line);
static int s_json_number (s_build_t *b, json_t *value, int col, size_t line, float *out);
static int s_json_label (s_build_t *b, json_t *value, size_t line, int32_t *out);
static const char *s_json_type (const json_t *value);

static int s_build_init (s_build_t *b, const char *name, const dataset_opts_t *opts,
                         char **cause);
static void s_build_free (s_build_t *b);
static int s_build_columns (s_build_t *b, size_t line);
static int s_build_roles (s_build_t *b, const s_map_t *map, size_t line);
static int s_build_check_name (s_build_t *b, const char *name, size_t len, int col,
                               size_t line);
static int s_build_target (s_build_t *b, const s_map_t *map, size_t line);
static int s_build_features (s_build_t *b, const s_map_t *map, size_t line);
static int s_build_all_features (s_build_t *b, size_t line);
static int s_build_kinds (s_build_t *b, const s_map_t *map, size_t line);
static bool s_listed (const char *const *names, int n, const char *name);
static int s_build_raw (s_build_t *b, size_t line);
static int s_build_value (s_build_t *b, int j, const char *s, size_t len, const float *number,
                          size_t line);
static int s_apply_value (s_build_t *b, int j, const char *s, size_t len, const float *number,
                          size_t line);
static int s_raw_text (s_build_t *b, s_raw_t *c, int j, size_t r, const char *s, size_t len,
                       size_t line);
static int s_raw_intern (s_build_t *b, s_raw_t *c, int j, const char *s, size_t len,
                         size_t line, int32_t *id);
static void s_raw_free (s_raw_t *c);
static inline void s_code_put (float *cell, int32_t id);
static inline int32_t s_code_get (const float *cell);
static bool s_na_numbers (const dataset_opts_t *opts);
static int s_skip_target (s_build_t *b, const char *s, size_t len, size_t line);
static int s_build_plan (s_build_t *b);
static int s_plan_column (s_build_t *b, int j, float median, int32_t **levels);
static bool s_id_like (const s_raw_t *c, size_t numbers);
static void s_raw_numbers (const s_raw_t *c, size_t *numbers, size_t *values);
static int s_warn (s_build_t *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static int s_build_encode (s_build_t *b, int32_t **levels);
static int s_build_names (s_build_t *b);
static int s_json_value (s_build_t *b, int j, json_t *value, size_t line);
static int s_build_missing (s_build_t *b, const char *column, const char *role, size_t line);
static int s_build_row (s_build_t *b, size_t line, float **row);
static int s_build_number (s_build_t *b, const char *s, size_t len, int col, size_t line,
                           float *out);
static const char *s_text_hint (const s_build_t *b, int col);
static int s_build_label (s_build_t *b, const char *s, size_t len, size_t line,
                          int32_t *out);
static int s_build_add_class (s_build_t *b, const char *s, size_t len, size_t line);
static int s_build_finish (s_build_t *b);
static int s_build_sort_classes (s_build_t *b);
static void s_build_shrink (s_build_t *b);

static bool s_integer (const char *s, long long *value);
static int s_cmp_numeric (const void *a, const void *b);
static int s_cmp_bytes (const void *a, const void *b);
static const char *s_printable (char *buf, size_t size, const char *s, size_t len);
static int s_fail (s_build_t *b, size_t line, const char *column, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int s_map_put (s_map_t *map, const char *key, size_t len, int value);
static int s_map_get (const s_map_t *map, const char *key, size_t len);
static void s_map_free (s_map_t *map);


//  --------------------------------------------------------------------------
//  Public API

dataset_t *
dataset_load (const char *path, const dataset_opts_t *opts, char **cause)
{
    int fd = s_open (path, cause);
    if (fd < 0)
        return NULL;
    struct stat st;
    dataset_t *ds = NULL;
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0
    &&  (uint64_t) st.st_size <= SIZE_MAX) {
        //  Parse straight from the page cache: no copy of the file is made.
        size_t len = (size_t) st.st_size;
        void *map = mmap (NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        close (fd);
        if (map == MAP_FAILED) {
            mt_fail (cause, "%s: cannot map: %s", path, strerror (errno));
            return NULL;
        }
        madvise (map, len, MADV_SEQUENTIAL);
        s_load (path, map, len, opts, cause, &ds);
        munmap (map, len);
        return ds;
    }
    //  Empty files, pipes and the like are read into memory.
    char *data = NULL;
    size_t len = 0;
    int rc = s_read_file (fd, path, &data, &len, cause);
    close (fd);
    if (rc == 0)
        s_load (path, data, len, opts, cause, &ds);
    free (data);
    return ds;
}

dataset_t *
dataset_load_buffer (const char *name, const char *data, size_t len,
                     const dataset_opts_t *opts, char **cause)
{
    dataset_t *ds = NULL;
    s_load (name ? name : "(buffer)", len ? data : "", len, opts, cause, &ds);
    return ds;
}

void
dataset_destroy (dataset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dataset_t *self = *self_p;
    free (self->x);
    free (self->y);
    free (self->label);
    for (size_t i = 0; self->feature_names && i < self->cols; i++)
        free (self->feature_names [i]);
    free (self->feature_names);
    free (self->target_name);
    for (int i = 0; self->classes && i < self->n_classes; i++)
        free (self->classes [i]);
    free (self->classes);
    encode_destroy (&self->plan);
    for (int i = 0; self->raw_names && i < self->n_raw; i++)
        free (self->raw_names [i]);
    free (self->raw_names);
    for (int i = 0; i < self->n_warnings; i++)
        free (self->warnings [i]);
    free (self->warnings);
    free (self);
    *self_p = NULL;
}

void
dataset_opts_from_spec (dataset_opts_t *opts, const mt_spec_t *spec)
{
    *opts = (dataset_opts_t) {
        .format = spec->format, .target = spec->target,
        .features = (const char *const *) spec->features, .n_features = spec->n_features,
        .task = spec->task,
        .categorical = (const char *const *) spec->categorical,
        .n_categorical = spec->n_categorical,
        .numeric = (const char *const *) spec->numeric, .n_numeric = spec->n_numeric,
        .ignore = (const char *const *) spec->ignore, .n_ignore = spec->n_ignore,
        .na_values = (const char *const *) spec->na_values, .n_na_values = spec->n_na_values,
        .max_categories = spec->max_categories,
        .missing_target_error = spec->on_missing_target == MT_MISSING_TARGET_ERROR
    };
}

dataset_t *
dataset_load_spec (const char *path, const mt_spec_t *spec, char **cause)
{
    dataset_opts_t opts;
    dataset_opts_from_spec (&opts, spec);
    return dataset_load (path, &opts, cause);
}

//  The head grows a read at a time until it holds the header: a pipe gives
//  what its writer has written so far, so nothing waits for the writer to
//  close it.
dataset_columns_t *
dataset_columns (const char *path, mt_format_t format, char **cause)
{
    int fd = s_open (path, cause);
    if (fd < 0)
        return NULL;
    dataset_columns_t *columns = NULL;
    char *head = NULL;
    size_t len = 0;
    bool eof = false;
    int rc = 1;
    while (rc == 1) {
        if (len >= DATASET_MAX_HEAD)
            rc = mt_fail (cause, "%s: no header row in its first %d bytes (a record may have "
                          "%d at most)", path, DATASET_MAX_HEAD, DATASET_MAX_LINE);
        else
        if (s_read_some (fd, path, &head, &len, &eof, cause))
            rc = -1;
        else
            rc = s_head (path, head, len, eof, format, &columns, cause);
    }
    close (fd);
    free (head);
    return columns;
}

void
dataset_columns_destroy (dataset_columns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dataset_columns_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        free (self->names [i]);
    free (self->names);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Files and formats

static int
s_load (const char *name, const char *data, size_t len, const dataset_opts_t *opts,
        char **cause, dataset_t **out)
{
    static const dataset_opts_t defaults = { .format = MT_FORMAT_AUTO };
    s_build_t b;
    int rc = s_build_init (&b, name, opts ? opts : &defaults, cause);
    if (rc == 0)
        rc = s_sniff (name, data, len, false, b.opts->format, cause);
    if (rc == 0)
        rc = s_parse (&b, data, len);
    if (rc == 0 && b.repass) {
        //  Read again, the columns that turned to text being text from the start
        s_text_col_t *text_cols = b.text_cols;
        b.text_cols = NULL;
        s_build_free (&b);
        rc = s_build_init (&b, name, opts ? opts : &defaults, cause);
        b.text_cols = text_cols;
        if (rc == 0)
            rc = s_parse (&b, data, len);
    }
    if (rc == 0)
        rc = s_build_finish (&b);
    if (rc == 0) {
        *out = b.ds;
        b.ds = NULL;
    }
    s_build_free (&b);
    return rc;
}

//  path opened for reading, or -1 with *cause; a folder is refused by name.
static int
s_open (const char *path, char **cause)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mt_fail (cause, "%s: cannot open: %s", path, strerror (errno));
        return -1;
    }
    struct stat st;
    if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode)) {
        close (fd);
        mt_fail (cause, "%s: is a directory", path);
        return -1;
    }
    return fd;
}

//  Read what sources that cannot be mapped (pipes, empty files) hold from
//  fd, to its end.
static int
s_read_file (int fd, const char *path, char **data, size_t *len, char **cause)
{
    *data = NULL;
    *len = 0;
    bool eof = false;
    while (!eof)
        if (s_read_some (fd, path, data, len, &eof, cause)) {
            free (*data);
            *data = NULL;
            return -1;
        }
    return 0;
}

//  Append what one read of fd gives to *data (S_HEAD_CHUNK bytes at most);
//  *eof when it gave nothing.
static int
s_read_some (int fd, const char *path, char **data, size_t *len, bool *eof, char **cause)
{
    char *bigger = realloc (*data, *len + S_HEAD_CHUNK);
    if (!bigger)
        return mt_fail (cause, "%s: out of memory reading it", path);
    *data = bigger;
    ssize_t got;
    do
        got = read (fd, *data + *len, S_HEAD_CHUNK);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return mt_fail (cause, "%s: cannot read: %s", path, strerror (errno));
    *len += (size_t) got;
    *eof = got == 0;
    return 0;
}

//  The columns in the first len bytes of path (all of it when eof): 0 with
//  *out, 1 when the header may go on past them, or -1 with *cause.
static int
s_head (const char *path, const char *data, size_t len, bool eof, mt_format_t format,
        dataset_columns_t **out, char **cause)
{
    int sniffed = s_sniff (path, data, len, !eof, format, cause);
    if (sniffed)
        return sniffed;
    //  Whole lines only: a record cut short by the read would look shorter
    if (!eof) {
        const char *lf = memrchr (data, '\n', len);
        if (!lf)
            return 1;
        len = (size_t) (lf + 1 - data);
    }
    dataset_opts_t opts = { .format = format };
    s_build_t b;
    int rc = s_build_init (&b, path, &opts, cause);
    b.head_only = true;
    b.partial = !eof;
    if (rc == 0)
        rc = s_parse (&b, data, len);
    dataset_columns_t *columns = rc == 0 ? calloc (1, sizeof *columns) : NULL;
    if (rc == 0 && !columns)
        rc = s_fail (&b, 0, NULL, "out of memory");
    if (rc == 0) {
        *columns = (dataset_columns_t) { b.format, b.columns, (size_t) b.n_columns };
        b.columns = NULL;
        b.n_columns = 0;
        *out = columns;
    }
    if (b.more)
        rc = 1;
    s_build_free (&b);
    return rc;
}

//  data read in the format the options give, or else the one it settles on.
static int
s_parse (s_build_t *b, const char *data, size_t len)
{
    b->format = b->opts->format;
    if (b->format == MT_FORMAT_AUTO)
        b->format = s_format (b->name, data, len);
    if (b->format == MT_FORMAT_AUTO && b->partial)
        return s_more (b);
    if (b->format == MT_FORMAT_AUTO)
        b->format = MT_FORMAT_CSV;      // spaces only: the CSV reader says it is empty
    if (b->format == MT_FORMAT_CSV)
        return s_load_csv (b, data, len);
    if (b->format == MT_FORMAT_JSONL)
        return s_load_jsonl (b, data, len);
    return s_fail (b, 0, NULL, "unknown format %d", (int) b->format);
}

//  The format auto settles on for a file called name that starts with data:
//  by the name's extension (.csv; .jsonl, .ndjson), else by the first byte
//  that is not a space ('{' is JSONL, anything else CSV), after a byte order
//  mark. MT_FORMAT_AUTO when neither decides yet (data holds spaces only).
static mt_format_t
s_format (const char *name, const char *data, size_t len)
{
    mt_format_t format = s_format_by_name (name);
    if (format != MT_FORMAT_AUTO)
        return format;
    size_t i = s_skip_space (data, len, 0);
    if (i == len)
        return MT_FORMAT_AUTO;
    return data [i] == '{' ? MT_FORMAT_JSONL : MT_FORMAT_CSV;
}

//  The format a name's extension gives, or MT_FORMAT_AUTO.
static mt_format_t
s_format_by_name (const char *name)
{
    const char *dot = strrchr (name, '.');
    if (dot && strcasecmp (dot, ".csv") == 0)
        return MT_FORMAT_CSV;
    if (dot && (strcasecmp (dot, ".jsonl") == 0 || strcasecmp (dot, ".ndjson") == 0))
        return MT_FORMAT_JSONL;
    return MT_FORMAT_AUTO;
}

//  The first index from i on that is not a space or a line end, after a
//  UTF-8 byte order mark when i is 0; len when there is none.
static size_t
s_skip_space (const char *data, size_t len, size_t i)
{
    if (i == 0 && len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (data [i] == ' ' || data [i] == '\t' || data [i] == '\r'
                   ||  data [i] == '\n'))
        i++;
    return i;
}


//  --------------------------------------------------------------------------
//  Sniffing: what a file is, from its head, before a reader makes less
//  sense of it. Each check returns 0 (no objection), 1 (a head that stops
//  short of the file's end cannot tell yet: read on) or -1 with *cause.

//  The first bytes of files that are not text, and what to do with them.
static const struct {
    const char *magic;
    size_t len;
    const char *what;
} s_magic [] = {
    { "\x1F\x8B", 2, "a gzip file: decompress it first (gunzip)" },
    { "PK\x03\x04", 4, "a zip archive (an .xlsx workbook is one): extract the table, "
                       "or export the sheet as CSV" },
    { "\xFD" "7zXZ", 5, "an xz file: decompress it first (unxz)" },
    { "\x28\xB5\x2F\xFD", 4, "a zstd file: decompress it first (unzstd)" },
};

static int
s_sniff (const char *name, const char *data, size_t len, bool partial, mt_format_t format,
         char **cause)
{
    int rc = s_sniff_binary (name, data, len, partial, cause);
    if (rc == 0)
        rc = s_sniff_line_ends (name, data, len, partial, cause);
    if (rc == 0)
        rc = s_sniff_array (name, data, len, partial, format, cause);
    return rc;
}

//  A compressed file or archive, UTF-16 or UTF-32, or a NUL byte in the
//  first S_SNIFF_BYTES: not a text file.
static int
s_sniff_binary (const char *name, const char *data, size_t len, bool partial, char **cause)
{
    for (size_t i = 0; i < sizeof s_magic / sizeof s_magic [0]; i++) {
        size_t n = len < s_magic [i].len ? len : s_magic [i].len;
        if (n == 0 || memcmp (data, s_magic [i].magic, n) != 0)
            continue;
        if (n == s_magic [i].len)
            return mt_fail (cause, "%s: this is not a text file but %s", name,
                            s_magic [i].what);
        if (partial)
            return 1;           // the start of a magic so far
    }
    if (s_sniff_wide (name, data, len, cause))
        return -1;
    const char *nul = memchr (data, 0, len < S_SNIFF_BYTES ? len : S_SNIFF_BYTES);
    if (nul)
        return mt_fail (cause, "%s: byte 0x00 at offset %zu: this is not a text file",
                        name, (size_t) (nul - data));
    return 0;
}

//  UTF-16 or UTF-32 text, by its byte order mark, or (UTF-16 without one)
//  by every other byte being 0x00, as ASCII text in UTF-16 is.
static int
s_sniff_wide (const char *name, const char *data, size_t len, char **cause)
{
    const char *remedy = "save it as UTF-8";
    if (len >= 4 && (memcmp (data, "\xFF\xFE\0\0", 4) == 0
                 ||  memcmp (data, "\0\0\xFE\xFF", 4) == 0))
        return mt_fail (cause, "%s looks like UTF-32 text (it starts with a UTF-32 byte "
                        "order mark); %s", name, remedy);
    if (len >= 2 && (memcmp (data, "\xFF\xFE", 2) == 0 || memcmp (data, "\xFE\xFF", 2) == 0))
        return mt_fail (cause, "%s looks like UTF-16 text (it starts with a UTF-16 byte "
                        "order mark); %s", name, remedy);
    size_t pairs = (len < 512 ? len : 512) / 2, zero_even = 0, zero_odd = 0;
    for (size_t i = 0; i < pairs; i++) {
        zero_even += data [2 * i] == 0;
        zero_odd += data [2 * i + 1] == 0;
    }
    bool le = zero_odd * 2 >= pairs && zero_even * 8 < pairs;
    bool be = zero_even * 2 >= pairs && zero_odd * 8 < pairs;
    if (pairs >= 2 && (le || be))
        return mt_fail (cause, "%s looks like UTF-16 text (every other byte is 0x00); %s",
                        name, remedy);
    return 0;
}

//  Line ends that are CR alone: the first line ends in a CR that is not
//  followed by a LF, and no LF comes in the S_SNIFF_BYTES after it (a CR
//  alone is data inside a line of a LF or CRLF file).
static int
s_sniff_line_ends (const char *name, const char *data, size_t len, bool partial,
                   char **cause)
{
    size_t i = 0;
    while (i < len && data [i] != '\r' && data [i] != '\n')
        i++;
    if (i == len || i + 1 == len)
        return partial ? 1 : 0;
    if (data [i] == '\n' || data [i + 1] == '\n')
        return 0;
    size_t rest = len - i;
    if (memchr (data + i, '\n', rest < S_SNIFF_BYTES ? rest : S_SNIFF_BYTES))
        return 0;
    if (partial && rest < S_SNIFF_BYTES)
        return 1;
    return mt_fail (cause, "%s: line endings are CR only (old Mac); convert them to LF "
                    "or CRLF", name);
}

//  A JSON array where JSON Lines are expected ('[' first), or read as CSV
//  ('[' then '{', '[', ']' or '"': a CSV header such as "[a],b" is let be).
static int
s_sniff_array (const char *name, const char *data, size_t len, bool partial,
               mt_format_t format, char **cause)
{
    size_t i = s_skip_space (data, len, 0);
    if (i == len || data [i] != '[')
        return 0;
    if (format == MT_FORMAT_AUTO)
        format = s_format_by_name (name);
    if (format != MT_FORMAT_JSONL) {
        size_t next = s_skip_space (data, len, i + 1);
        if (next == len)
            return partial ? 1 : 0;
        if (!memchr ("{[]\"", data [next], 4))
            return 0;
    }
    return mt_fail (cause, "%s is a JSON array; write one JSON object per line "
                    "(JSON Lines)", name);
}


//  --------------------------------------------------------------------------
//  CSV

static int
s_load_csv (s_build_t *b, const char *data, size_t len)
{
    csv_t *csv = csv_new (data, len, DATASET_MAX_LINE);
    if (!csv)
        return s_fail (b, 0, NULL, "out of memory");
    size_t count;
    int rc = s_csv_first (b, csv);
    while (rc == 0 && !b->head_only) {
        if (csv_next (csv, &count))
            rc = s_csv_error (b, csv);
        else
        if (count == 0)
            break;
        else
            rc = s_csv_row (b, csv_fields (csv), count, csv_line (csv));
    }
    csv_destroy (&csv);
    return rc;
}

//  The header, the first record; a head that ends before it or inside it
//  may hold it once more is read.
static int
s_csv_first (s_build_t *b, csv_t *csv)
{
    size_t count, field;
    int rc = csv_next (csv, &count);
    if (b->partial && (rc ? csv_error (csv, &field) == CSV_UNTERMINATED : count == 0))
        return s_more (b);
    if (rc)
        return s_csv_error (b, csv);
    if (count == 0)
        return s_fail (b, 0, NULL, "empty file (no header row)");
    return s_csv_header (b, csv, count);
}

static int
s_csv_header (s_build_t *b, csv_t *csv, size_t count)
{
    size_t line = csv_line (csv);
    const csv_field_t *fields = csv_fields (csv);
    b->columns = calloc (count, sizeof *b->columns);
    if (!b->columns)
        return s_fail (b, line, NULL, "out of memory");
    b->n_columns = (int) count;
    for (size_t i = 0; i < count; i++) {
        if (s_build_check_name (b, fields [i].ptr, fields [i].len, (int) i, line))
            return -1;
        b->columns [i] = strndup (fields [i].ptr, fields [i].len);
        if (!b->columns [i])
            return s_fail (b, line, NULL, "out of memory");
    }
    return s_build_columns (b, line);
}

//  One data record: every feature and the target; other columns are skipped.
static int
s_csv_row (s_build_t *b, const csv_field_t *fields, size_t count, size_t line)
{
    if (count < (size_t) b->n_columns)
        return s_fail (b, line, b->columns [count], "missing (the row has %zu fields, "
                       "the header %d)", count, b->n_columns);
    if (count > (size_t) b->n_columns)
        return s_fail (b, line, NULL, "column %d: extra field (the row has %zu fields, "
                       "the header %d)", b->n_columns + 1, count, b->n_columns);
    const csv_field_t *target = b->target_col >= 0 ? &fields [b->target_col] : NULL;
    if (target && encode_is_na (b->na, target->ptr, target->len))
        return s_skip_target (b, target->ptr, target->len, line);
    if (s_build_row (b, line, NULL))
        return -1;
    //  Training's hot loop: a number goes straight into its cell; text,
    //  missing values and bad numbers take s_build_value's way
    float *cells = b->apply ? NULL : b->ds->x + (b->ds->rows - 1) * (size_t) b->n_raw;
    for (int j = 0; j < b->n_raw; j++) {
        const csv_field_t *field = &fields [b->feature_col [j]];
        if (cells && b->numbers_first && !b->raw [j].text
        &&  numparse_float (field->ptr, field->len, &cells [j]) == 0)
            continue;
        if (s_build_value (b, j, field->ptr, field->len, NULL, line))
            return -1;
    }
    if (!target)
        return 0;
    size_t r = b->ds->rows - 1;
    if (b->ds->y)
        return s_build_number (b, target->ptr, target->len, b->target_col, line,
                               &b->ds->y [r]);
    return s_build_label (b, target->ptr, target->len, line, &b->ds->label [r]);
}

static int
s_csv_error (s_build_t *b, csv_t *csv)
{
    size_t field;
    csv_error_t error = csv_error (csv, &field);
    size_t line = csv_line (csv);
    const char *column = b->columns && field < (size_t) b->n_columns
                       ? b->columns [field] : NULL;
    char number [32];
    if (!column) {
        snprintf (number, sizeof number, "%zu", field + 1);
        column = number;
    }
    if (error == CSV_TOO_LONG)
        return s_fail (b, line, NULL, "record is longer than %d bytes", DATASET_MAX_LINE);
    if (error == CSV_UNTERMINATED)
        return s_fail (b, line, column, "unterminated quoted field");
    if (error == CSV_AFTER_QUOTE)
        return s_fail (b, line, column, "text after a closing quote");
    return s_fail (b, line, NULL, "out of memory");
}


//  --------------------------------------------------------------------------
//  JSONL

static int
s_load_jsonl (s_build_t *b, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    if (len >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    for (size_t line = 1; p < end && !(b->head_only && b->columns); line++) {
        const char *nl = memchr (p, '\n', (size_t) (end - p));
        const char *stop = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (stop > p && stop [-1] == '\r')
            stop--;
        if (s_jsonl_line (b, p, (size_t) (stop - p), line))
            return -1;
        p = next;
    }
    if (!b->columns && b->partial)
        return s_more (b);          // blank lines so far
    if (!b->columns)
        return s_fail (b, 0, NULL, "empty file (no JSON object)");
    return 0;
}

static int
s_jsonl_line (s_build_t *b, const char *p, size_t len, size_t line)
{
    if (len > DATASET_MAX_LINE)
        return s_fail (b, line, NULL, "line is longer than %d bytes", DATASET_MAX_LINE);
    size_t i = 0;
    while (i < len && (p [i] == ' ' || p [i] == '\t'))
        i++;
    if (i == len)
        return 0;               // blank lines are skipped
    json_error_t error;
    json_t *obj = json_loadb (p, len, JSON_REJECT_DUPLICATES, &error);
    if (!obj)
        return s_fail (b, line, NULL, "invalid JSON at character %d: %s%s",
                       error.column, error.text,
                       strstr (error.text, "unable to decode byte")
                       ? " (not UTF-8; the file may be in Windows-1252: save it as UTF-8)" : "");
    int rc;
    if (!json_is_object (obj))
        rc = s_fail (b, line, NULL, "not a JSON object but %s", s_json_type (obj));
    else
    if (!b->columns && s_jsonl_header (b, obj, line))
        rc = -1;
    else
        rc = b->head_only ? 0 : s_jsonl_row (b, obj, line);
    json_decref (obj);
    return rc;
}

//  The first object's keys, in their order, are the columns.
static int
s_jsonl_header (s_build_t *b, json_t *obj, size_t line)
{
    size_t count = json_object_size (obj);
    if (count == 0)
        return s_fail (b, line, NULL, "the first object has no keys (no columns)");
    b->columns = calloc (count, sizeof *b->columns);
    if (!b->columns)
        return s_fail (b, line, NULL, "out of memory");
    const char *key;
    json_t *value;
    json_object_foreach (obj, key, value) {
        int col = b->n_columns;
        if (s_build_check_name (b, key, strlen (key), col, line))
            return -1;
        b->columns [col] = strdup (key);
        if (!b->columns [col])
            return s_fail (b, line, NULL, "out of memory");
        b->n_columns++;
    }
    return s_build_columns (b, line);
}

//  Only the needed keys are read; others, in any line, are ignored. A key
//  an object lacks is a missing value, as null is.
static int
s_jsonl_row (s_build_t *b, json_t *obj, size_t line)
{
    json_t *target = b->target_col >= 0 ? json_object_get (obj, b->columns [b->target_col])
                                        : NULL;
    bool missing = b->target_col >= 0 && (!target || json_is_null (target)
                || (json_is_string (target)
                    && encode_is_na (b->na, json_string_value (target),
                                     json_string_length (target))));
    if (missing)
        return s_skip_target (b, target && json_is_string (target) ? json_string_value (target)
                                                                   : "null",
                              target && json_is_string (target) ? json_string_length (target)
                                                                : 4, line);
    if (s_build_row (b, line, NULL))
        return -1;
    for (int j = 0; j < b->n_raw; j++)
        if (s_json_value (b, j, json_object_get (obj, b->columns [b->feature_col [j]]), line))
            return -1;
    if (b->target_col < 0)
        return 0;
    size_t r = b->ds->rows - 1;
    if (b->ds->y)
        return s_json_number (b, target, b->target_col, line, &b->ds->y [r]);
    return s_json_label (b, target, line, &b->ds->label [r]);
}

//  A JSONL feature: null (or no key) is missing, a number is a number that
//  also has its text, a string is text, true and false are text
static int
s_json_value (s_build_t *b, int j, json_t *value, size_t line)
{
    if (!value || json_is_null (value))
        return s_build_value (b, j, NULL, 0, NULL, line);
    if (json_is_string (value))
        return s_build_value (b, j, json_string_value (value), json_string_length (value),
                              NULL, line);
    if (json_is_boolean (value))
        return s_build_value (b, j, json_is_true (value) ? "true" : "false",
                              json_is_true (value) ? 4 : 5, NULL, line);
    if (!json_is_number (value))
        return s_fail (b, line, b->columns [b->feature_col [j]], "expected a number, a string,"
                       " true, false or null, got %s", s_json_type (value));
    char text [40];
    int len;
    if (json_is_integer (value))
        len = snprintf (text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value (value));
    else {
        //  The shortest text that reads back as the same double
        double v = json_real_value (value);
        int digits = 15;
        do
            len = snprintf (text, sizeof text, "%.*g", digits, v);
        while (strtod (text, NULL) != v && ++digits <= 17);
    }
    float number = (float) json_number_value (value);
    if (!isfinite (number))
        return s_fail (b, line, b->columns [b->feature_col [j]],
                       "%g is out of range for float32", json_number_value (value));
    return s_build_value (b, j, text, (size_t) len, &number, line);
}

//  A JSON number as float32: via double, as strtod reads it.
static int
s_json_number (s_build_t *b, json_t *value, int col, size_t line, float *out)
{
    const char *column = b->columns [col];
    if (!value)
        return s_fail (b, line, column, "missing from this object");
    if (!json_is_number (value)) {
        if (json_is_string (value)) {
            char shown [S_SHOWN (S_VALUE_SHOWN)];
            return s_fail (b, line, column, "expected a number, got the string '%s'%s",
                           s_printable (shown, sizeof shown, json_string_value (value),
                                        json_string_length (value)), s_text_hint (b, col));
        }
        return s_fail (b, line, column, "expected a number, got %s", s_json_type (value));
    }
    float number = (float) json_number_value (value);
    if (!isfinite (number))
        return s_fail (b, line, column, "%g is out of range for float32",
                       json_number_value (value));
    *out = number;
    return 0;
}

//  A class: a JSON integer (by its decimal form) or a string.
static int
s_json_label (s_build_t *b, json_t *value, size_t line, int32_t *out)
{
    if (json_is_integer (value)) {
        char text [32];
        int len = snprintf (text, sizeof text, "%" JSON_INTEGER_FORMAT,
                            json_integer_value (value));
        return s_build_label (b, text, (size_t) len, line, out);
    }
    if (json_is_string (value))
        return s_build_label (b, json_string_value (value), json_string_length (value),
                             line, out);
    return s_fail (b, line, b->columns [b->target_col],
                   "a class must be an integer or a string, got %s", s_json_type (value));
}

static const char *
s_json_type (const json_t *value)
{
    switch (json_typeof (value)) {
        case JSON_OBJECT:  return "an object";
        case JSON_ARRAY:   return "an array";
        case JSON_STRING:  return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL:    return "a real number";
        case JSON_TRUE:    return "true";
        case JSON_FALSE:   return "false";
        case JSON_NULL:    return "null";
    }
    return "an unknown value";
}


//  --------------------------------------------------------------------------
//  Building the table

static int
s_build_init (s_build_t *b, const char *name, const dataset_opts_t *opts, char **cause)
{
    memset (b, 0, sizeof *b);
    b->name = name;
    b->opts = opts;
    b->cause = cause;
    b->target_col = -1;
    b->ds = calloc (1, sizeof *b->ds);
    if (!b->ds)
        return mt_fail (cause, "%s: out of memory", name);
    if (opts->task != MT_TASK_REGRESSION && opts->task != MT_TASK_CLASSIFICATION)
        return s_fail (b, 0, NULL, "unknown task %d", (int) opts->task);
    b->ds->task = opts->task;
    b->apply = opts->plan;
    if (!b->apply) {
        char *why = NULL;
        b->plan = encode_new (opts->na_values, opts->na_values ? opts->n_na_values : 0, &why);
        if (!b->plan) {
            s_fail (b, 0, NULL, "%s", why);
            free (why);
            return -1;
        }
    }
    b->na = b->apply ? b->apply : b->plan;
    b->numbers_first = !b->apply && !s_na_numbers (opts);
    if (!opts->target || opts->task != MT_TASK_CLASSIFICATION || opts->n_classes <= 0)
        return 0;
    if (!opts->classes || opts->n_classes > DATASET_MAX_CLASSES)
        return s_fail (b, 0, NULL, "bad class list (%d classes)", opts->n_classes);
    for (int i = 0; i < opts->n_classes; i++) {
        const char *class = opts->classes [i] ? opts->classes [i] : "";
        if (s_build_add_class (b, class, strlen (class), 0))
            return -1;
    }
    b->fixed_classes = true;
    return 0;
}

static void
s_build_free (s_build_t *b)
{
    for (int i = 0; b->columns && i < b->n_columns; i++)
        free (b->columns [i]);
    free (b->columns);
    free (b->feature_col);
    for (int i = 0; i < b->n_class_names; i++)
        free (b->class_names [i]);
    free (b->class_names);
    s_map_free (&b->class_map);
    for (int j = 0; b->raw && j < b->n_raw; j++)
        s_raw_free (&b->raw [j]);
    free (b->raw);
    free (b->text_cols);
    encode_destroy (&b->plan);
    dataset_destroy (&b->ds);
}

//  With the column names known: find the target and the features.
static int
s_build_columns (s_build_t *b, size_t line)
{
    s_map_t map = { 0 };
    int rc = 0;
    for (int col = 0; col < b->n_columns && rc == 0; col++) {
        const char *column = b->columns [col];
        int seen = s_map_get (&map, column, strlen (column));
        if (seen >= 0)
            rc = s_fail (b, line, column, "appears twice (columns %d and %d)",
                         seen + 1, col + 1);
        else
        if (s_map_put (&map, column, strlen (column), col))
            rc = s_fail (b, line, NULL, "out of memory");
    }
    if (rc == 0 && !b->head_only)
        rc = s_build_roles (b, &map, line);
    s_map_free (&map);
    return rc;
}

//  The target and the features among the columns (map: name -> column).
static int
s_build_roles (s_build_t *b, const s_map_t *map, size_t line)
{
    int rc = s_build_target (b, map, line);
    if (rc == 0)
        rc = s_build_kinds (b, map, line);
    if (rc == 0)
        rc = b->opts->features || b->apply ? s_build_features (b, map, line)
                                           : s_build_all_features (b, line);
    if (rc == 0)
        rc = s_build_raw (b, line);
    return rc;
}

//  The columns opts force a kind on or ignore are in the file, and not
//  the target (the spec checks they are in one list at most)
static int
s_build_kinds (s_build_t *b, const s_map_t *map, size_t line)
{
    const dataset_opts_t *o = b->opts;
    struct { const char *const *names; int n; const char *role; } lists [] = {
        { o->categorical, o->n_categorical, "given as --categorical" },
        { o->numeric, o->n_numeric, "given as --numeric" },
        { o->ignore, o->n_ignore, "given as --ignore" },
    };
    for (size_t l = 0; !b->apply && l < sizeof lists / sizeof lists [0]; l++)
        for (int i = 0; i < lists [l].n; i++) {
            const char *name = lists [l].names [i] ? lists [l].names [i] : "";
            int col = s_map_get (map, name, strlen (name));
            if (col < 0)
                return s_build_missing (b, name, lists [l].role, line);
            if (col == b->target_col)
                return s_fail (b, line, name, "is the target, and %s", lists [l].role);
            if (l < 2 && o->features && !s_listed (o->features, o->n_features, name))
                return s_fail (b, line, name, "is %s but is not one of --features",
                               lists [l].role);
        }
    return 0;
}

static bool
s_listed (const char *const *names, int n, const char *name)
{
    for (int i = 0; names && i < n; i++)
        if (names [i] && strcmp (names [i], name) == 0)
            return true;
    return false;
}

//  The state each raw feature column needs: with a plan, the row being
//  encoded; training, its column store, text from the start when forced
//  categorical or found to be text in a first pass
static int
s_build_raw (s_build_t *b, size_t line)
{
    dataset_t *ds = b->ds;
    ds->n_raw = b->n_raw;
    ds->raw_names = calloc ((size_t) b->n_raw + 1, sizeof (char *));
    if (!ds->raw_names)
        return s_fail (b, line, NULL, "out of memory");
    for (int j = 0; j < b->n_raw; j++)
        if (!(ds->raw_names [j] = strdup (b->columns [b->feature_col [j]])))
            return s_fail (b, line, NULL, "out of memory");
    if (b->apply) {
        ds->cols = encode_width (b->apply);
        return 0;
    }
    b->raw = calloc ((size_t) b->n_raw + 1, sizeof *b->raw);
    if (!b->text_cols)
        b->text_cols = calloc ((size_t) b->n_columns + 1, sizeof *b->text_cols);
    if (!b->raw || !b->text_cols)
        return s_fail (b, line, NULL, "out of memory");
    const dataset_opts_t *o = b->opts;
    for (int j = 0; j < b->n_raw; j++) {
        s_raw_t *c = &b->raw [j];
        const char *name = b->columns [b->feature_col [j]];
        c->forced = s_listed (o->categorical, o->n_categorical, name) ? ENCODE_CATEGORICAL
                  : s_listed (o->numeric, o->n_numeric, name) ? ENCODE_NUMERIC : -1;
        c->text = c->forced == ENCODE_CATEGORICAL || b->text_cols [b->feature_col [j]].text;
    }
    return 0;
}

static int
s_build_check_name (s_build_t *b, const char *name, size_t len, int col, size_t line)
{
    if (len == 0)
        return s_fail (b, line, NULL, "column %d has an empty name", col + 1);
    if (len > MT_SPEC_MAX_COLUMN)
        return s_fail (b, line, NULL, "column %d: name is longer than %d bytes",
                       col + 1, MT_SPEC_MAX_COLUMN);
    if (memchr (name, 0, len))
        return s_fail (b, line, NULL, "column %d: name holds a NUL byte", col + 1);
    //  A job spec's feature and target names refuse control characters too
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) name [i] < 0x20 || name [i] == 0x7f)
            return s_fail (b, line, NULL, "column %d: name holds a control character (byte "
                           "0x%02X at byte %zu of it); rename the column in the header",
                           col + 1, (unsigned char) name [i], i + 1);
    size_t bad = s_utf8_invalid ((const unsigned char *) name, len);
    if (bad < len)
        return s_fail (b, line, NULL, "column %d: name is not valid UTF-8 (byte 0x%02X at "
                       "byte %zu of it); the file may be in Windows-1252: save it as UTF-8",
                       col + 1, (unsigned char) name [bad], bad + 1);
    return 0;
}

static int
s_build_target (s_build_t *b, const s_map_t *map, size_t line)
{
    const char *target = b->opts->target;
    if (!target)
        return 0;
    b->target_col = s_map_get (map, target, strlen (target));
    if (b->target_col < 0)
        return s_build_missing (b, target, "the target", line);
    b->ds->target_name = strdup (target);
    size_t rows_bytes = 1024;
    if (b->ds->task == MT_TASK_REGRESSION)
        b->ds->y = malloc (rows_bytes * sizeof (float));
    else
        b->ds->label = malloc (rows_bytes * sizeof (int32_t));
    if (!b->ds->target_name || (!b->ds->y && !b->ds->label))
        return s_fail (b, line, NULL, "out of memory");
    return 0;
}

//  The features the caller named, in its order.
static int
s_build_features (s_build_t *b, const s_map_t *map, size_t line)
{
    int n = b->apply ? encode_columns (b->apply) : b->opts->n_features;
    if (n < 1 || n > MT_SPEC_MAX_FEATURES)
        return s_fail (b, line, NULL, "%d features asked for; 1 to %d are allowed",
                       n, MT_SPEC_MAX_FEATURES);
    b->feature_col = malloc ((size_t) n * sizeof *b->feature_col);
    bool *used = calloc ((size_t) b->n_columns, sizeof *used);
    int rc = b->feature_col && used ? 0 : s_fail (b, line, NULL, "out of memory");
    for (int j = 0; j < n && rc == 0; j++) {
        const char *feature = b->apply ? encode_column_name (b->apply, j)
                            : b->opts->features [j] ? b->opts->features [j] : "";
        int col = s_map_get (map, feature, strlen (feature));
        if (col < 0)
            rc = s_build_missing (b, feature, "a feature", line);
        else
        if (col == b->target_col)
            rc = s_fail (b, line, feature, "is both the target and a feature");
        else
        if (used [col])
            rc = s_fail (b, line, feature, "is listed twice as a feature");
        else {
            used [col] = true;
            b->feature_col [j] = col;
        }
    }
    free (used);
    b->n_raw = rc == 0 ? n : 0;
    return rc;
}

//  Every column but the target and those ignored, in file order.
static int
s_build_all_features (s_build_t *b, size_t line)
{
    const dataset_opts_t *o = b->opts;
    int n = 0;
    for (int col = 0; col < b->n_columns; col++)
        n += col != b->target_col && !s_listed (o->ignore, o->n_ignore, b->columns [col]);
    if (n == 0)
        return s_fail (b, line, NULL, "no feature columns (only the target '%s'%s)",
                       o->target ? o->target : "", o->n_ignore ? " and those ignored" : "");
    if (n > MT_SPEC_MAX_FEATURES)
        return s_fail (b, line, NULL, "%d feature columns, more than the limit of %d",
                       n, MT_SPEC_MAX_FEATURES);
    b->feature_col = malloc ((size_t) n * sizeof *b->feature_col);
    if (!b->feature_col)
        return s_fail (b, line, NULL, "out of memory");
    int j = 0;
    for (int col = 0; col < b->n_columns; col++)
        if (col != b->target_col && !s_listed (o->ignore, o->n_ignore, b->columns [col]))
            b->feature_col [j++] = col;
    b->n_raw = n;
    return 0;
}

//  "no column 'z' (the target); the columns are: a, b, c"
static int
s_build_missing (s_build_t *b, const char *column, const char *role, size_t line)
{
    char list [S_COLUMNS_SHOWN * (MT_SPEC_MAX_COLUMN + 2) + 8] = "";
    size_t used = 0;
    for (int col = 0; col < b->n_columns && col < S_COLUMNS_SHOWN; col++)
        used += (size_t) snprintf (list + used, sizeof list - used, "%s%s",
                                   col ? ", " : "", b->columns [col]);
    if (b->n_columns > S_COLUMNS_SHOWN)
        snprintf (list + used, sizeof list - used, ", ...");
    char shown [S_SHOWN (MT_SPEC_MAX_COLUMN)];
    return s_fail (b, line, NULL, "no column '%s' (%s); the columns are: %s",
                   s_printable (shown, sizeof shown, column, strlen (column)), role, list);
}

//  Room for one more row: arrays grow geometrically, so n rows cost O(n).
//  With a plan the row is encoded in place (b->row, zeroed); training
//  grows the raw columns' table (n_raw cells a row, in ds->x) instead.
static int
s_build_row (s_build_t *b, size_t line, float **row)
{
    dataset_t *ds = b->ds;
    if (ds->rows == b->cap_rows) {
        size_t cap = b->cap_rows ? b->cap_rows * 2 : 1024;
        size_t cols = b->apply ? ds->cols : (size_t) b->n_raw;
        if (cap > SIZE_MAX / sizeof (float) / (cols ? cols : 1) || cap > INT32_MAX)
            return s_fail (b, line, NULL, "too many rows");
        float *x = realloc (ds->x, (cap * cols + 1) * sizeof *x);
        bool ok = x != NULL;
        if (x)
            ds->x = x;
        float *y = ok && ds->y ? realloc (ds->y, cap * sizeof *y) : NULL;
        if (y)
            ds->y = y;
        int32_t *label = ok && ds->label ? realloc (ds->label, cap * sizeof *label) : NULL;
        if (label)
            ds->label = label;
        if (!ok || (ds->y && !y) || (ds->label && !label))
            return s_fail (b, line, NULL, "out of memory at row %zu", ds->rows + 1);
        b->cap_rows = cap;
    }
    if (b->apply) {
        b->row = ds->x + ds->rows * ds->cols;
        memset (b->row, 0, ds->cols * sizeof (float));
    }
    if (row)
        *row = b->row;
    ds->rows++;
    return 0;
}

//  Feature j's value in the current row: text (s, len), a JSON number
//  (number, with its text), or missing (s NULL, or a missing-value token)
static int
s_build_value (s_build_t *b, int j, const char *s, size_t len, const float *number,
               size_t line)
{
    if (b->apply)
        return s_apply_value (b, j, s, len, number, line);
    s_raw_t *c = &b->raw [j];
    size_t r = b->ds->rows - 1;
    float *cell = b->ds->x + r * (size_t) b->n_raw + j;
    if (!s || (!number && encode_is_na (b->na, s, len))) {
        if (c->text)
            s_code_put (cell, -1);
        else
            *cell = NAN;
        c->missing++;
        return 0;
    }
    if (!c->text) {
        float value;
        if (number ? (value = *number, 1) : numparse_float (s, len, &value) == 0) {
            *cell = value;
            return 0;
        }
        if (c->forced == ENCODE_NUMERIC)
            return s_build_number (b, s, len, b->feature_col [j], line, &value);
        if (s_raw_text (b, c, j, r, s, len, line))
            return -1;
    }
    int32_t id = -1;
    if (s_raw_intern (b, c, j, s, len, line, &id))
        return -1;
    s_code_put (cell, id);
    return 0;
}

//  Column c holds text from row r on (s, len at line, the first value not
//  a number): ids from now, the rows before are missing; when some were
//  numbers (the rows before that were not missing), the whole file is
//  read again
static int
s_raw_text (s_build_t *b, s_raw_t *c, int j, size_t r, const char *s, size_t len, size_t line)
{
    for (size_t i = 0; i < r; i++)
        s_code_put (b->ds->x + i * (size_t) b->n_raw + j, -1);
    c->text = true;
    s_text_col_t *t = &b->text_cols [b->feature_col [j]];
    t->text = true;
    t->line = line;
    s_printable (t->first, sizeof t->first, s, len);
    if (r > c->missing)
        b->repass = true;
    return 0;
}

//  The id of the text s in c's dictionary, added when new (then checked:
//  no NUL, valid UTF-8, as a model's JSON needs)
static int
s_raw_intern (s_build_t *b, s_raw_t *c, int j, const char *s, size_t len, size_t line,
              int32_t *id)
{
    const char *column = b->columns [b->feature_col [j]];
    if (memchr (s, 0, len))
        return s_fail (b, line, column, "a value holds a NUL byte");
    uint64_t hash = UINT64_C (14695981039346656037);
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char) s [i]) * UINT64_C (1099511628211);
    size_t mask = c->n_slots - 1, i = c->n_slots ? hash & mask : 0;
    for (; c->n_slots && c->slots [i]; i = (i + 1) & mask) {
        int k = c->slots [i] - 1;
        const char *known = c->arena + c->offsets [k];
        if (strncmp (known, s, len) == 0 && known [len] == 0) {
            c->counts [k]++;
            *id = k;
            return 0;
        }
    }
    char shown [S_SHOWN (S_VALUE_SHOWN)];
    if (s_utf8_invalid ((const unsigned char *) s, len) < len)
        return s_fail (b, line, column, "'%s' is not valid UTF-8; the file may be in "
                       "Windows-1252: save it as UTF-8", s_printable (shown, sizeof shown, s, len));
    if (c->n_values == INT32_MAX - 1)
        return s_fail (b, line, column, "too many distinct values");
    //  Grow: the arena, the lists, and the hash (rebuilt at half full)
    if (c->arena_len + len + 1 > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap * 2 : 4096;
        while (cap < c->arena_len + len + 1)
            cap *= 2;
        char *arena = realloc (c->arena, cap);
        if (!arena)
            return s_fail (b, line, NULL, "out of memory");
        c->arena = arena;
        c->arena_cap = cap;
    }
    if (c->n_values == c->cap_values) {
        int cap = c->cap_values ? c->cap_values * 2 : 64;
        uint32_t *offsets = realloc (c->offsets, (size_t) cap * sizeof *offsets);
        if (offsets)
            c->offsets = offsets;
        size_t *counts = offsets ? realloc (c->counts, (size_t) cap * sizeof *counts) : NULL;
        if (counts)
            c->counts = counts;
        if (!offsets || !counts)
            return s_fail (b, line, NULL, "out of memory");
        c->cap_values = cap;
    }
    if (c->arena_len + len + 1 > UINT32_MAX)
        return s_fail (b, line, column, "more than 4 GB of distinct text");
    if ((size_t) (c->n_values + 1) * 2 > c->n_slots) {
        size_t n = c->n_slots ? c->n_slots * 2 : 64;
        int32_t *slots = calloc (n, sizeof *slots);
        if (!slots)
            return s_fail (b, line, NULL, "out of memory");
        for (int k = 0; k < c->n_values; k++) {
            const char *t = c->arena + c->offsets [k];
            uint64_t h = UINT64_C (14695981039346656037);
            for (const char *p = t; *p; p++)
                h = (h ^ (unsigned char) *p) * UINT64_C (1099511628211);
            size_t at = h & (n - 1);
            while (slots [at])
                at = (at + 1) & (n - 1);
            slots [at] = k + 1;
        }
        free (c->slots);
        c->slots = slots;
        c->n_slots = n;
        mask = n - 1;
        for (i = hash & mask; c->slots [i]; i = (i + 1) & mask)
            ;
    }
    int k = c->n_values++;
    c->offsets [k] = (uint32_t) c->arena_len;
    c->counts [k] = 1;
    memcpy (c->arena + c->arena_len, s, len);
    c->arena [c->arena_len + len] = 0;
    c->arena_len += len + 1;
    c->slots [i] = k + 1;
    *id = k;
    return 0;
}

static void
s_raw_free (s_raw_t *c)
{
    free (c->arena);
    free (c->offsets);
    free (c->counts);
    free (c->slots);
}

//  An id in a raw table's float cell, by its bytes (no conversion, no
//  aliasing)
static inline void
s_code_put (float *cell, int32_t id)
{
    memcpy (cell, &id, sizeof id);
}

static inline int32_t
s_code_get (const float *cell)
{
    int32_t id;
    memcpy (&id, cell, sizeof id);
    return id;
}

//  True when one of the missing-value tokens opts give reads as a number
//  ("-999"): then every field is checked against them before it is parsed
static bool
s_na_numbers (const dataset_opts_t *opts)
{
    float value;
    for (int i = 0; opts->na_values && i < opts->n_na_values; i++)
        if (opts->na_values [i]
        &&  numparse_float (opts->na_values [i], strlen (opts->na_values [i]), &value) == 0)
            return true;
    return false;
}

//  With a model's plan: encode the value straight into the row
static int
s_apply_value (s_build_t *b, int j, const char *s, size_t len, const float *number,
               size_t line)
{
    const encode_t *plan = b->apply;
    dataset_t *ds = b->ds;
    if (!s || (!number && encode_is_na (plan, s, len))) {
        if (encode_put_missing (plan, j, b->row, &ds->counts) == 0)
            return 0;
        return s_fail (b, line, b->columns [b->feature_col [j]], "missing value; this model "
                       "(written before mt imputed missing values) has nothing to put in its place");
    }
    if (encode_column_kind (plan, j) == ENCODE_CATEGORICAL) {
        encode_put_category (plan, j, s, len, b->row, &ds->counts);
        return 0;
    }
    float value;
    if (number)
        value = *number;
    else
    if (numparse_float (s, len, &value))
        return s_build_number (b, s, len, b->feature_col [j], line, &value);
    encode_put_number (plan, j, value, b->row);
    return 0;
}

//  A row whose target is missing: counted and left out, or an error
static int
s_skip_target (s_build_t *b, const char *s, size_t len, size_t line)
{
    if (b->opts->missing_target_error) {
        char shown [S_SHOWN (S_VALUE_SHOWN)];
        return s_fail (b, line, b->columns [b->target_col], "the target is missing ('%s'); "
                       "without --on-missing-target error such rows are skipped and counted",
                       s_printable (shown, sizeof shown, s, len));
    }
    b->ds->rows_skipped++;
    return 0;
}

//  A number for column col; explains why when it is not one.
static int
s_build_number (s_build_t *b, const char *s, size_t len, int col, size_t line, float *out)
{
    if (numparse_float (s, len, out) == 0)
        return 0;
    const char *column = b->columns [col];
    char shown [S_SHOWN (S_VALUE_SHOWN)];
    s_printable (shown, sizeof shown, s, len);
    if (len == 0)
        return s_fail (b, line, column, "empty value");
    if (numparse_is_nonfinite (s, len))
        return s_fail (b, line, column, "'%s' is not a finite number", shown);
    if (numparse_is_decimal (s, len))
        return s_fail (b, line, column, "'%s' is out of range for float32", shown);
    return s_fail (b, line, column, "'%s' is not a number%s", shown, s_text_hint (b, col));
}

//  What to add to "not a number" for column col: a hint when it is the
//  target of a regression and text from its first row on (class labels,
//  most likely; a stray word further down is more likely a typo)
static const char *
s_text_hint (const s_build_t *b, int col)
{
    bool first_row = b->ds->rows == 1;
    return col == b->target_col && first_row && b->ds->task == MT_TASK_REGRESSION
         ? S_TEXT_TARGET_HINT : "";
}

//  The class id of a target value, adding it when classes come from the data.
static int
s_build_label (s_build_t *b, const char *s, size_t len, size_t line, int32_t *out)
{
    int id = s_map_get (&b->class_map, s, len);
    if (id >= 0) {
        *out = id;
        return 0;
    }
    const char *column = b->columns [b->target_col];
    char shown [S_SHOWN (S_VALUE_SHOWN)];
    if (len == 0)
        return s_fail (b, line, column, "empty class");
    if (b->fixed_classes)
        return s_fail (b, line, column, "unknown class '%s' (not one of the %d given)",
                       s_printable (shown, sizeof shown, s, len), b->n_class_names);
    if (s_build_add_class (b, s, len, line))
        return -1;
    *out = b->n_class_names - 1;
    return 0;
}

static int
s_build_add_class (s_build_t *b, const char *s, size_t len, size_t line)
{
    const char *column = b->opts->target;
    char shown [S_SHOWN (S_VALUE_SHOWN)];
    if (memchr (s, 0, len))
        return s_fail (b, line, column, "a class name holds a NUL byte");
    if (len == 0)
        return s_fail (b, line, column, "empty class name");
    //  A model keeps its classes as JSON text, which is UTF-8
    if (s_utf8_invalid ((const unsigned char *) s, len) < len)
        return s_fail (b, line, column, "class '%s' is not valid UTF-8; the file may be in "
                       "Windows-1252: save it as UTF-8",
                       s_printable (shown, sizeof shown, s, len));
    if (s_map_get (&b->class_map, s, len) >= 0)
        return s_fail (b, line, column, "class '%s' is given twice",
                       s_printable (shown, sizeof shown, s, len));
    if (b->n_class_names == DATASET_MAX_CLASSES)
        return s_fail (b, line, column, "more than %d classes", DATASET_MAX_CLASSES);
    if (b->n_class_names == b->cap_class_names) {
        int cap = b->cap_class_names ? b->cap_class_names * 2 : 16;
        char **names = realloc (b->class_names, (size_t) cap * sizeof *names);
        if (!names)
            return s_fail (b, line, NULL, "out of memory");
        b->class_names = names;
        b->cap_class_names = cap;
    }
    char *name = strndup (s, len);
    if (!name || s_map_put (&b->class_map, name, len, b->n_class_names)) {
        free (name);
        return s_fail (b, line, NULL, "out of memory");
    }
    b->class_names [b->n_class_names++] = name;
    return 0;
}

static int
s_build_finish (s_build_t *b)
{
    dataset_t *ds = b->ds;
    if (ds->rows == 0 && ds->rows_skipped > 0)
        return s_fail (b, 0, ds->target_name, "no data rows with a target (all %zu are "
                       "missing it)", ds->rows_skipped);
    if (ds->rows == 0)
        return s_fail (b, 0, NULL, "no data rows (only a header)");
    if (ds->label && !b->fixed_classes && b->n_class_names < 2) {
        char shown [S_SHOWN (S_VALUE_SHOWN)];
        const char *only = b->class_names [0];
        return s_fail (b, 0, ds->target_name, "only one class ('%s'); classification "
                       "needs at least 2", s_printable (shown, sizeof shown, only,
                                                        strlen (only)));
    }
    if (ds->label && !b->fixed_classes && s_build_sort_classes (b))
        return -1;
    if (ds->label) {
        ds->classes = b->class_names;
        ds->n_classes = b->n_class_names;
        b->class_names = NULL;
        b->n_class_names = 0;
    }
    if (b->apply) {
        char *why = NULL;
        ds->plan = encode_dup (b->apply, &why);
        int rc = ds->plan ? 0 : s_fail (b, 0, NULL, "%s", why ? why : "out of memory");
        free (why);
        if (rc)
            return -1;
    }
    else
    if (s_build_plan (b))
        return -1;
    if (s_build_names (b))
        return -1;
    s_build_shrink (b);
    return 0;
}

//  Training: each raw column's kind and outputs, then every row encoded
static int
s_build_plan (s_build_t *b)
{
    size_t n_raw = (size_t) b->n_raw;
    int32_t **levels = calloc (n_raw + 1, sizeof *levels);
    float *medians = calloc (n_raw + 1, sizeof *medians);
    bool *numeric = calloc (n_raw + 1, sizeof *numeric);
    int rc = levels && medians && numeric ? 0 : s_fail (b, 0, NULL, "out of memory");
    for (size_t j = 0; rc == 0 && j < n_raw; j++)
        numeric [j] = !b->raw [j].text;
    //  Every numeric column's median, in one pass over the raw table
    if (rc == 0 && encode_medians (b->ds->x, b->ds->rows, n_raw, numeric, medians))
        rc = s_fail (b, 0, NULL, "out of memory");
    for (int j = 0; j < b->n_raw && rc == 0; j++)
        rc = s_plan_column (b, j, medians [j], &levels [j]);
    if (rc == 0 && encode_columns (b->plan) == 0)
        rc = s_fail (b, 0, NULL, "no feature columns left: every one was left out as an id "
                     "(name them with --categorical to keep them)");
    if (rc == 0)
        rc = s_build_encode (b, levels);
    for (int j = 0; levels && j < b->n_raw; j++)
        free (levels [j]);
    free (levels);
    free (medians);
    free (numeric);
    if (rc == 0) {
        b->ds->plan = b->plan;
        b->plan = NULL;
        b->na = NULL;
    }
    return rc;
}

//  Column j into the plan (or left out, as an id); a numeric column with
//  its median (encode_medians'); *levels gets, for a categorical column,
//  each dictionary id's output within the column and, at [n_values], the
//  missing one's
static int
s_plan_column (s_build_t *b, int j, float median, int32_t **levels)
{
    s_raw_t *c = &b->raw [j];
    const char *name = b->columns [b->feature_col [j]];
    char *why = NULL;
    int rc = 0;
    if (!c->text) {
        //  The median of one value, the median, is itself
        rc = encode_add_numeric (b->plan, name, &median, 1, c->missing > 0, &why);
        if (rc == 0)
            c->n_values = -1;       // numeric: levels unused
        if (rc) {
            s_fail (b, 0, name, "%s", why);
            free (why);
        }
        return rc;
    }
    size_t numbers = 0, values_n = 0;
    s_raw_numbers (c, &numbers, &values_n);
    if (c->forced != ENCODE_CATEGORICAL && s_id_like (c, numbers))
        return s_warn (b, "column '%s' left out: its %d values are all distinct and %s, "
                       "like an id or a name (--categorical %s keeps it, --ignore %s "
                       "silences this)", name, c->n_values,
                       numbers ? "most are not numbers" : "not numbers", name, name);
    const s_text_col_t *t = &b->text_cols [b->feature_col [j]];
    if (c->forced != ENCODE_CATEGORICAL && numbers * 2 >= values_n && t->line
    &&  s_warn (b, "column '%s' read as categories, though %zu of its %zu values are numbers: "
                "line %zu holds '%s' (to read it as numbers, --numeric %s with --na-values "
                "naming that token among the missing ones)", name, numbers, values_n,
                t->line, t->first, name))
        return -1;
    const char **values = malloc (((size_t) c->n_values + 1) * sizeof *values);
    *levels = malloc (((size_t) c->n_values + 1) * sizeof **levels);
    if (!values || !*levels) {
        free (values);
        return s_fail (b, 0, NULL, "out of memory");
    }
    for (int k = 0; k < c->n_values; k++)
        values [k] = c->arena + c->offsets [k];
    int col = encode_columns (b->plan);
    rc = encode_add_categorical (b->plan, name, values, c->counts, c->n_values, c->missing > 0,
                                 b->opts->max_categories, &why);
    for (int k = 0; rc == 0 && k < c->n_values; k++)
        (*levels) [k] = encode_level (b->plan, col, values [k], strlen (values [k]));
    if (rc == 0) {
        int n_kept = 0;
        encode_column_categories (b->plan, col, &n_kept);
        (*levels) [c->n_values] = n_kept;     // (missing) follows the kept ones
    }
    else {
        s_fail (b, 0, name, "%s", why);
        free (why);
    }
    free (values);
    return rc;
}

//  Every value distinct, and under half of them numbers (numbers of
//  them): an id or a name. A numeric column with a few stray values is
//  kept, as categories (with a warning)
static bool
s_id_like (const s_raw_t *c, size_t numbers)
{
    if (c->n_values < 2)
        return false;
    for (int k = 0; k < c->n_values; k++)
        if (c->counts [k] > 1)
            return false;
    return numbers * 2 < (size_t) c->n_values;
}

//  Of a text column's values (not missing; *values of them), how many
//  parse as numbers (*numbers)
static void
s_raw_numbers (const s_raw_t *c, size_t *numbers, size_t *values)
{
    for (int k = 0; k < c->n_values; k++) {
        float value;
        const char *text = c->arena + c->offsets [k];
        if (numparse_float (text, strlen (text), &value) == 0)
            *numbers += c->counts [k];
        *values += c->counts [k];
    }
}

static int
s_warn (s_build_t *b, const char *fmt, ...)
{
    dataset_t *ds = b->ds;
    char **grown = realloc (ds->warnings, (size_t) (ds->n_warnings + 1) * sizeof *grown);
    if (!grown)
        return s_fail (b, 0, NULL, "out of memory");
    ds->warnings = grown;
    va_list args;
    va_start (args, fmt);
    int rc = vasprintf (&ds->warnings [ds->n_warnings], fmt, args);
    va_end (args);
    if (rc < 0)
        return s_fail (b, 0, NULL, "out of memory");
    ds->n_warnings++;
    return 0;
}

//  x from the raw table (ds->x, n_raw cells a row), as the plan says, row
//  by row; the raw table is x already when every column is numeric,
//  kept, and has no missing value
static int
s_build_encode (s_build_t *b, int32_t **levels)
{
    dataset_t *ds = b->ds;
    size_t width = encode_width (b->plan), n_raw = (size_t) b->n_raw;
    bool same = width == n_raw;
    for (size_t j = 0; same && j < n_raw; j++)
        same = !b->raw [j].text && b->raw [j].missing == 0;
    if (same) {
        ds->cols = width;
        return 0;
    }
    if (width && ds->rows > SIZE_MAX / sizeof (float) / width)
        return s_fail (b, 0, NULL, "too many rows for %zu inputs", width);
    float *x = calloc (ds->rows * width + 1, sizeof (float));
    int *cols = malloc ((n_raw + 1) * sizeof *cols);
    size_t *offsets = malloc ((n_raw + 1) * sizeof *offsets);
    if (!x || !cols || !offsets) {
        free (x);
        free (cols);
        free (offsets);
        return s_fail (b, 0, NULL, "out of memory for %zu rows of %zu inputs", ds->rows, width);
    }
    //  Each raw column's plan column (-1: left out) and first output
    int col = 0;
    for (size_t j = 0; j < n_raw; j++) {
        bool out = b->raw [j].text && !levels [j];
        cols [j] = out ? -1 : col;
        offsets [j] = out ? 0 : encode_column_offset (b->plan, col);
        col += !out;
    }
    for (size_t r = 0; r < ds->rows; r++) {
        const float *cells = ds->x + r * n_raw;
        float *row = x + r * width;
        for (size_t j = 0; j < n_raw; j++) {
            const s_raw_t *c = &b->raw [j];
            if (cols [j] < 0)
                continue;
            if (c->text) {
                int32_t id = s_code_get (&cells [j]);
                row [offsets [j] + (size_t) levels [j][id < 0 ? c->n_values : id]] = 1;
            }
            else
            if (isnan (cells [j]))
                encode_put_missing (b->plan, cols [j], row, &ds->counts);
            else
                row [offsets [j]] = cells [j];      // as encode_put_number
        }
    }
    free (ds->x);
    ds->x = x;
    ds->cols = width;
    free (cols);
    free (offsets);
    ds->counts = (encode_counts_t) { 0 };
    return 0;
}

//  feature_names: the encoded inputs' names
static int
s_build_names (s_build_t *b)
{
    dataset_t *ds = b->ds;
    ds->feature_names = encode_names (ds->plan);
    if (!ds->feature_names)
        return s_fail (b, 0, NULL, "out of memory");
    return 0;
}

//  Sort the classes (numerically when all are integers) and renumber labels.
static int
s_build_sort_classes (s_build_t *b)
{
    int n = b->n_class_names;
    s_class_t *classes = malloc ((size_t) n * sizeof *classes);
    int32_t *rank = malloc ((size_t) n * sizeof *rank);
    if (!classes || !rank) {
        free (classes);
        free (rank);
        return s_fail (b, 0, NULL, "out of memory");
    }
    bool numeric = true;
    for (int i = 0; i < n; i++) {
        classes [i] = (s_class_t) { b->class_names [i], 0, i };
        numeric = numeric && s_integer (classes [i].name, &classes [i].value);
    }
    qsort (classes, (size_t) n, sizeof *classes, numeric ? s_cmp_numeric : s_cmp_bytes);
    for (int i = 0; i < n; i++) {
        rank [classes [i].id] = i;
        b->class_names [i] = classes [i].name;
    }
    for (size_t r = 0; r < b->ds->rows; r++)
        b->ds->label [r] = rank [b->ds->label [r]];
    free (classes);
    free (rank);
    return 0;
}

//  Give back what geometric growth over-allocated.
static void
s_build_shrink (s_build_t *b)
{
    dataset_t *ds = b->ds;
    float *x = realloc (ds->x, (ds->rows * ds->cols + 1) * sizeof *x);
    if (x)
        ds->x = x;
    float *y = ds->y ? realloc (ds->y, ds->rows * sizeof *y) : NULL;
    if (y)
        ds->y = y;
    int32_t *label = ds->label ? realloc (ds->label, ds->rows * sizeof *label) : NULL;
    if (label)
        ds->label = label;
}


//  --------------------------------------------------------------------------
//  Small helpers

//  An optional sign and digits that fit a long long.
static bool
s_integer (const char *s, long long *value)
{
    const char *digits = s + (*s == '-' || *s == '+');
    if (!*digits || strspn (digits, "0123456789") != strlen (digits))
        return false;
    errno = 0;
    *value = strtoll (s, NULL, 10);
    return errno == 0;
}

static int
s_cmp_numeric (const void *a, const void *b)
{
    const s_class_t *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return strcmp (x->name, y->name);      // "02" and "2" are different classes
}

static int
s_cmp_bytes (const void *a, const void *b)
{
    const s_class_t *x = a, *y = b;
    return strcmp (x->name, y->name);
}

//  As much of s as fits buf (sized with S_SHOWN), with control and non-ASCII
//  bytes as \xNN, and "..." when cut short.
static const char *
s_printable (char *buf, size_t size, const char *s, size_t len)
{
    size_t used = 0, shown = (size - 8) / 4;
    if (shown > len)
        shown = len;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char) s [i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            buf [used++] = (char) c;
        else
            used += (size_t) snprintf (buf + used, size - used, "\\x%02X", c);
    }
    if (shown < len)
        used += (size_t) snprintf (buf + used, size - used, "...");
    buf [used] = 0;
    return buf;
}

//  The offset of the first byte of s that does not belong to well-formed
//  UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), or
//  len when all do.
static size_t
s_utf8_invalid (const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s [i];
        size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (n == 0 || i + n > len)
            return i;
        //  The second byte's range rules out overlong forms and surrogates
        unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        if (n > 1 && (s [i + 1] < lo || s [i + 1] > hi))
            return i;
        for (size_t k = 2; k < n; k++)
            if ((s [i + k] & 0xC0) != 0x80)
                return i;
        i += n;
    }
    return len;
}

//  The head read so far ends before the header does: -1, with no cause.
static int
s_more (s_build_t *b)
{
    b->more = true;
    return -1;
}

//  "name:line: column 'c': what", without the parts that are 0 or NULL.
static int
s_fail (s_build_t *b, size_t line, const char *column, const char *fmt, ...)
{
    char what [2048];
    va_list args;
    va_start (args, fmt);
    vsnprintf (what, sizeof what, fmt, args);
    va_end (args);
    char where [64] = "";
    if (line)
        snprintf (where, sizeof where, ":%zu", line);
    if (!column)
        return mt_fail (b->cause, "%s%s: %s", b->name, where, what);
    char shown [S_SHOWN (MT_SPEC_MAX_COLUMN)];
    return mt_fail (b->cause, "%s%s: column '%s': %s", b->name, where,
                    s_printable (shown, sizeof shown, column, strlen (column)), what);
}


//  --------------------------------------------------------------------------
//  The hash map (FNV-1a, open addressing, kept at most half full)

static uint64_t
s_hash (const char *key, size_t len)
{
    uint64_t hash = UINT64_C (14695981039346656037);
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char) key [i]) * UINT64_C (1099511628211);
    return hash;
}

static int
s_map_get (const s_map_t *map, const char *key, size_t len)
{
    if (map->cap == 0)
        return -1;
    for (size_t i = s_hash (key, len) & (map->cap - 1);; i = (i + 1) & (map->cap - 1)) {
        const s_slot_t *slot = &map->slots [i];
        if (!slot->key)
            return -1;
        if (slot->len == len && memcmp (slot->key, key, len) == 0)
            return slot->value;
    }
}

static int
s_map_put (s_map_t *map, const char *key, size_t len, int value)
{
    if ((map->count + 1) * 2 > map->cap) {
        s_map_t grown = { calloc (map->cap ? map->cap * 2 : 16, sizeof (s_slot_t)),
                          map->cap ? map->cap * 2 : 16, 0 };
        if (!grown.slots)
            return -1;
        for (size_t i = 0; i < map->cap; i++)
            if (map->slots [i].key)
                s_map_put (&grown, map->slots [i].key, map->slots [i].len,
                           map->slots [i].value);
        free (map->slots);
        *map = grown;
    }
    size_t i = s_hash (key, len) & (map->cap - 1);
    while (map->slots [i].key)
        i = (i + 1) & (map->cap - 1);
    map->slots [i] = (s_slot_t) { key, len, value };
    map->count++;
    return 0;
}

static void
s_map_free (s_map_t *map)
{
    free (map->slots);
    *map = (s_map_t) { 0 };
}
