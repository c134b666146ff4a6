/*  csv - an RFC 4180 record tokenizer over a buffer in memory  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "csv.h"

struct csv_t {
    const char *p;              // next unread byte
    const char *end;            // end of input
    const char *lim;            // end of the window the current record must fit in
    const char *record_start;   // first byte of the current record
    const char *record_end;     // end of the current record, its line end excluded
    size_t max_record;          // bytes
    size_t line;                // physical line of the next record, 1-based
    size_t record_line;         // physical line of the current record
    csv_field_t *fields;
    size_t n_fields;
    size_t cap_fields;
    char *scratch;              // unescaped quoted fields of the current record
    size_t scratch_len;
    size_t scratch_cap;
    csv_error_t error;
    size_t error_field;
};

static void s_skip_blank_lines (csv_t *self);
static int s_read_field (csv_t *self);
static int s_read_quoted (csv_t *self, const char *q, csv_field_t *field);
static int s_unescape (csv_t *self, const char *from, const char *to, csv_field_t *field);
static int s_end_of_field (csv_t *self, bool *last);
static int s_fail (csv_t *self, csv_error_t error);
static size_t s_count_newlines (const char *p, const char *end);
static inline const char *s_find_delimiter (const char *p, const char *lim);

csv_t *
csv_new (const char *data, size_t len, size_t max_record)
{
    csv_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->p = data;
    self->end = data + len;
    if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
        self->p += 3;
    self->max_record = max_record;
    self->line = 1;
    self->record_line = 1;
    return self;
}

void
csv_destroy (csv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    csv_t *self = *self_p;
    free (self->fields);
    free (self->scratch);
    free (self);
    *self_p = NULL;
}

int
csv_next (csv_t *self, size_t *count)
{
    *count = 0;
    self->n_fields = 0;
    self->scratch_len = 0;
    self->error = CSV_OK;
    s_skip_blank_lines (self);
    self->record_line = self->line;
    if (self->p == self->end)
        return 0;
    const char *start = self->record_start = self->p;
    size_t avail = (size_t) (self->end - start);
    self->lim = avail > self->max_record ? start + self->max_record + 1 : self->end;
    bool last = false;
    bool quotes = false;
    while (!last) {
        if (s_read_field (self))
            return -1;
        quotes |= self->fields [self->n_fields - 1].quoted;
        if (s_end_of_field (self, &last))
            return -1;
    }
    //  Only quoted fields hold line ends inside a record.
    self->line += 1 + (quotes ? s_count_newlines (start, self->record_end) : 0);
    *count = self->n_fields;
    return 0;
}

const csv_field_t *
csv_fields (const csv_t *self)
{
    return self->fields;
}

size_t
csv_line (const csv_t *self)
{
    return self->record_line;
}

csv_error_t
csv_error (const csv_t *self, size_t *field)
{
    if (field)
        *field = self->error_field;
    return self->error;
}

static void
s_skip_blank_lines (csv_t *self)
{
    while (self->p < self->end) {
        if (*self->p == '\n')
            self->p++;
        else
        if (*self->p == '\r' && (self->end - self->p == 1 || self->p [1] == '\n'))
            self->p += self->end - self->p == 1 ? 1 : 2;
        else
            break;
        self->line++;
    }
}

//  Read one field at self->p and append it; stops at its delimiter.
static int
s_read_field (csv_t *self)
{
    if (self->n_fields == self->cap_fields) {
        size_t cap = self->cap_fields ? self->cap_fields * 2 : 64;
        csv_field_t *fields = realloc (self->fields, cap * sizeof *fields);
        if (!fields)
            return s_fail (self, CSV_NO_MEMORY);
        self->fields = fields;
        self->cap_fields = cap;
    }
    csv_field_t *field = &self->fields [self->n_fields++];
    const char *p = self->p, *lim = self->lim, *end = self->end;
    const char *q = p;
    while (q < lim && (*q == ' ' || *q == '\t'))
        q++;
    if (q < lim && *q == '"')
        return s_read_quoted (self, q + 1, field);
    //  The hot loop: most fields are short unquoted numbers.
    for (p = s_find_delimiter (p, lim);
         p < lim && *p == '\r' && p + 1 < end && p [1] != '\n';
         p = s_find_delimiter (p + 1, lim))
        ;                       // a lone CR is data
    const char *s = self->p;
    self->p = p;
    while (s < p && (*s == ' ' || *s == '\t'))
        s++;
    while (p > s && (p [-1] == ' ' || p [-1] == '\t'))
        p--;
    *field = (csv_field_t) { s, (size_t) (p - s), false };
    return 0;
}

//  A quoted field whose content starts at q: up to the lone closing quote.
static int
s_read_quoted (csv_t *self, const char *q, csv_field_t *field)
{
    const char *start = q, *lim = self->lim;
    bool escaped = false;
    for (;;) {
        const char *quote = memchr (q, '"', (size_t) (lim - q));
        if (!quote) {
            self->p = lim;
            return s_fail (self, lim < self->end ? CSV_TOO_LONG : CSV_UNTERMINATED);
        }
        if (quote + 1 < lim && quote [1] == '"') {
            escaped = true;
            q = quote + 2;
            continue;
        }
        self->p = quote + 1;
        break;
    }
    *field = (csv_field_t) { start, (size_t) (self->p - 1 - start), true };
    return escaped ? s_unescape (self, start, self->p - 1, field) : 0;
}

//  Copy from..to into the scratch buffer with each "" made ". The scratch
//  is sized once for the longest record from here on, so earlier fields'
//  pointers into it stay valid.
static int
s_unescape (csv_t *self, const char *from, const char *to, csv_field_t *field)
{
    if (!self->scratch) {
        size_t input = (size_t) (self->end - self->record_start);
        size_t cap = (input < self->max_record ? input : self->max_record) + 1;
        self->scratch = malloc (cap);
        if (!self->scratch)
            return s_fail (self, CSV_NO_MEMORY);
        self->scratch_cap = cap;
    }
    char *out = self->scratch + self->scratch_len;
    char *o = out;
    while (from < to) {
        *o++ = *from;
        from += *from == '"' ? 2 : 1;
    }
    field->ptr = out;
    field->len = (size_t) (o - out);
    self->scratch_len += field->len;
    return 0;
}

//  After a field: a comma (more fields), a line end or the end of input
//  (*last). Spaces after a closing quote are allowed, other text is not.
static int
s_end_of_field (csv_t *self, bool *last)
{
    const char *p = self->p, *lim = self->lim;
    if (self->fields [self->n_fields - 1].quoted)
        while (p < lim && (*p == ' ' || *p == '\t'))
            p++;
    if (p == lim) {
        if (lim < self->end)
            return s_fail (self, CSV_TOO_LONG);
        self->p = self->record_end = p;
        *last = true;
        return 0;
    }
    if (*p == ',') {
        self->p = p + 1;
        return 0;
    }
    //  A line end inside the window keeps the record within max_record.
    const char *end = self->end;
    if (*p == '\n' || (*p == '\r' && (p + 1 == end || p [1] == '\n'))) {
        self->record_end = p;
        self->p = p + (*p == '\r' && p + 1 < end ? 2 : 1);
        *last = true;
        return 0;
    }
    return s_fail (self, CSV_AFTER_QUOTE);
}

static int
s_fail (csv_t *self, csv_error_t error)
{
    self->error = error;
    self->error_field = self->n_fields ? self->n_fields - 1 : 0;
    return -1;
}

static size_t
s_count_newlines (const char *p, const char *end)
{
    size_t count = 0;
    while (p < end && (p = memchr (p, '\n', (size_t) (end - p)))) {
        count++;
        p++;
    }
    return count;
}

#define S_ONES  UINT64_C (0x0101010101010101)
#define S_HIGHS UINT64_C (0x8080808080808080)

//  The first ',', LF or CR at or after p, or lim. Eight bytes at a time: the
//  lowest byte flagged by the zero-byte trick is always exact on a
//  little-endian machine (only bytes above a match can be false alarms).
static inline const char *
s_find_delimiter (const char *p, const char *lim)
{
#if defined (__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (lim - p >= 8) {
        uint64_t word;
        memcpy (&word, p, sizeof word);
        uint64_t comma = word ^ (S_ONES * ','), lf = word ^ (S_ONES * '\n'),
                 cr = word ^ (S_ONES * '\r');
        uint64_t hits = ((comma - S_ONES) & ~comma) | ((lf - S_ONES) & ~lf)
                      | ((cr - S_ONES) & ~cr);
        hits &= S_HIGHS;
        if (hits)
            return p + (__builtin_ctzll (hits) >> 3);
        p += 8;
    }
#endif
    while (p < lim && *p != ',' && *p != '\n' && *p != '\r')
        p++;
    return p;
}
