/*  columns - the column names of a local CSV or JSONL file, read from its head only  */
#include "columns.h"
#include "csv.h"
#include "mt/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct columns_t {
    mt_format_t format;         // as read: csv or jsonl
    char **names;               // count names, in the file's order
    size_t count;
    const char *path;           // as given, for messages (borrowed)
};

//  The head of the file read so far.
typedef struct {
    const char *path;
    char *data;
    size_t len;                 // bytes read
    size_t cap;
    bool eof;                   // the whole file is in data
} s_head_t;

//  What a look at the head found: the columns, a need for more bytes, or a
//  failure (with *cause; -1, so `return mt_fail (...)` gives it).
typedef enum { S_FAILED = -1, S_FOUND = 0, S_MORE = 1 } s_look_t;

static int s_read_more (s_head_t *head, int fd, char **cause);
static s_look_t s_look (columns_t *self, const s_head_t *head, char **cause);
static s_look_t s_look_csv (columns_t *self, const s_head_t *head, char **cause);
static s_look_t s_csv_failed (const s_head_t *head, csv_t *csv, char **cause);
static s_look_t s_look_jsonl (columns_t *self, const s_head_t *head, char **cause);
static s_look_t s_jsonl_header (columns_t *self, const s_head_t *head, const char *line,
                                size_t len, size_t number, char **cause);
static int s_add (columns_t *self, const char *name, size_t len);

columns_t *
columns_read (const char *path, mt_format_t format, char **cause)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mt_fail (cause, "cannot open '%s': %s", path, strerror (errno));
        return NULL;
    }
    columns_t *self = calloc (1, sizeof *self);
    s_head_t head = { .path = path };
    s_look_t look = S_MORE;
    if (self)
        self->path = path;
    else
        look = mt_fail (cause, "out of memory");
    while (look == S_MORE) {
        if (head.len >= COLUMNS_MAX_HEAD)
            look = mt_fail (cause, "%s: no header row in its first %d bytes (a record may "
                            "have %d at most)", path, COLUMNS_MAX_HEAD, DATASET_MAX_LINE);
        else
        if (s_read_more (&head, fd, cause))
            look = S_FAILED;
        else {
            //  The dataset reader's choice; spaces only so far: read on
            self->format = format != MT_FORMAT_AUTO ? format
                         : dataset_format (path, head.data, head.len);
            if (self->format == MT_FORMAT_AUTO && head.eof)
                self->format = MT_FORMAT_CSV;
            if (self->format != MT_FORMAT_AUTO)
                look = s_look (self, &head, cause);
        }
    }
    close (fd);
    free (head.data);
    if (look != S_FOUND)
        columns_destroy (&self);
    return self;
}

void
columns_destroy (columns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    columns_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        free (self->names [i]);
    free (self->names);
    free (self);
    *self_p = NULL;
}

mt_format_t columns_format (const columns_t *self) { return self->format; }
size_t columns_size (const columns_t *self) { return self->count; }

const char *
columns_name (const columns_t *self, size_t index)
{
    return index < self->count ? self->names [index] : NULL;
}

bool
columns_has (const columns_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->count; i++)
        if (strcmp (self->names [i], name) == 0)
            return true;
    return false;
}

int
columns_require (const columns_t *self, const char *flag, const char *name, char **cause)
{
    if (columns_has (self, name))
        return 0;
    char *list = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&list, &size);
    if (!out)
        return mt_fail (cause, "out of memory");
    for (size_t i = 0; i < self->count && i < COLUMNS_SHOWN; i++)
        fprintf (out, "%s%s", i ? ", " : "", self->names [i]);
    if (self->count > COLUMNS_SHOWN)
        fprintf (out, ", ... (%zu in all)", self->count);
    fclose (out);
    const char *base = strrchr (self->path, '/');
    mt_fail (cause, "%s: no column '%s' in %s; its columns are: %s", flag, name,
             base ? base + 1 : self->path, list ? list : "?");
    free (list);
    return -1;
}

//  Append what one read gives, COLUMNS_CHUNK bytes at most: a pipe gives
//  what it holds, so a header is found without waiting for the writer to
//  close it.
static int
s_read_more (s_head_t *head, int fd, char **cause)
{
    if (head->cap - head->len < COLUMNS_CHUNK) {
        char *bigger = realloc (head->data, head->cap + COLUMNS_CHUNK);
        if (!bigger)
            return mt_fail (cause, "out of memory");
        head->data = bigger;
        head->cap += COLUMNS_CHUNK;
    }
    ssize_t got;
    do
        got = read (fd, head->data + head->len, COLUMNS_CHUNK);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return mt_fail (cause, "cannot read '%s': %s", head->path, strerror (errno));
    head->len += (size_t) got;
    head->eof = got == 0;
    return 0;
}

static s_look_t
s_look (columns_t *self, const s_head_t *head, char **cause)
{
    return self->format == MT_FORMAT_JSONL ? s_look_jsonl (self, head, cause)
                                           : s_look_csv (self, head, cause);
}

//  The reader gets the head up to its last line end, so a record cut by the
//  end of what was read shows as an unterminated quoted field or no record,
//  never as a shorter header.
static s_look_t
s_look_csv (columns_t *self, const s_head_t *head, char **cause)
{
    size_t usable = head->len;
    if (!head->eof) {
        const char *lf = memrchr (head->data, '\n', head->len);
        if (!lf)
            return S_MORE;
        usable = (size_t) (lf + 1 - head->data);
    }
    csv_t *csv = csv_new (head->data, usable, DATASET_MAX_LINE);
    if (!csv)
        return mt_fail (cause, "out of memory");
    size_t count = 0;
    s_look_t look = S_FOUND;
    if (csv_next (csv, &count))
        look = s_csv_failed (head, csv, cause);
    else
    if (count == 0 && !head->eof)
        look = S_MORE;
    else
    if (count == 0)
        look = mt_fail (cause, "%s: empty file (no header row)", head->path);
    const csv_field_t *fields = csv_fields (csv);
    for (size_t i = 0; look == S_FOUND && i < count; i++)
        if (s_add (self, fields [i].ptr, fields [i].len))
            look = mt_fail (cause, "out of memory");
    csv_destroy (&csv);
    return look;
}

static s_look_t
s_csv_failed (const s_head_t *head, csv_t *csv, char **cause)
{
    size_t field = 0;
    csv_error_t error = csv_error (csv, &field);
    if (error == CSV_UNTERMINATED && !head->eof)
        return S_MORE;
    if (error == CSV_TOO_LONG)
        return mt_fail (cause, "%s:%zu: the header row is longer than %d bytes", head->path,
                        csv_line (csv), DATASET_MAX_LINE);
    return mt_fail (cause, "%s:%zu: column %zu of the header row: %s", head->path,
                    csv_line (csv), field + 1,
                    error == CSV_UNTERMINATED ? "unterminated quoted field"
                  : error == CSV_AFTER_QUOTE ? "text after a closing quote" : "out of memory");
}

//  Lines as dataset.c splits them: at LF, a CR before it dropped, blank
//  lines (spaces and tabs only) skipped; the first other line is the header.
static s_look_t
s_look_jsonl (columns_t *self, const s_head_t *head, char **cause)
{
    const char *p = head->data, *end = head->data + head->len;
    if (head->len >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    for (size_t number = 1; p < end; number++) {
        const char *nl = memchr (p, '\n', (size_t) (end - p));
        if (!nl && !head->eof)
            return S_MORE;
        const char *stop = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (stop > p && stop [-1] == '\r')
            stop--;
        const char *text = p;
        while (text < stop && (*text == ' ' || *text == '\t'))
            text++;
        if (text < stop)
            return s_jsonl_header (self, head, p, (size_t) (stop - p), number, cause);
        p = next;
    }
    if (!head->eof)
        return S_MORE;
    return mt_fail (cause, "%s: empty file (no JSON object)", head->path);
}

static s_look_t
s_jsonl_header (columns_t *self, const s_head_t *head, const char *line, size_t len,
                size_t number, char **cause)
{
    if (len > DATASET_MAX_LINE)
        return mt_fail (cause, "%s:%zu: line is longer than %d bytes", head->path, number,
                        DATASET_MAX_LINE);
    json_error_t error;
    json_t *object = json_loadb (line, len, JSON_REJECT_DUPLICATES, &error);
    s_look_t look = S_FOUND;
    if (!object)
        look = mt_fail (cause, "%s:%zu: invalid JSON at character %d: %s", head->path, number,
                        error.column, error.text);
    else
    if (!json_is_object (object) || json_object_size (object) == 0)
        look = mt_fail (cause, "%s:%zu: the first line is not a JSON object with keys "
                        "(the columns)", head->path, number);
    const char *key;
    json_t *value;
    if (look == S_FOUND)
        json_object_foreach (object, key, value)
            if (look == S_FOUND && s_add (self, key, strlen (key)))
                look = mt_fail (cause, "out of memory");
    json_decref (object);
    return look;
}

static int
s_add (columns_t *self, const char *name, size_t len)
{
    char **names = realloc (self->names, (self->count + 1) * sizeof *names);
    if (!names)
        return -1;
    self->names = names;
    self->names [self->count] = strndup (name, len);
    if (!self->names [self->count])
        return -1;
    self->count++;
    return 0;
}

bool
columns_special (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && !S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode);
}
