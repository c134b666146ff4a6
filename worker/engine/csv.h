/*  csv - an RFC 4180 record tokenizer over a buffer in memory  */
#ifndef MT_CSV_H_INCLUDED
#define MT_CSV_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

//  One field of the current record. Unquoted fields are trimmed of spaces
//  and tabs at both ends; quoted fields are taken exactly, with "" undone.
typedef struct {
    const char *ptr;            // the bytes: into the input, or the reader's scratch
    size_t len;                 // bytes
    bool quoted;
} csv_field_t;

typedef enum {
    CSV_OK = 0,
    CSV_TOO_LONG,               // a record longer than max_record bytes
    CSV_UNTERMINATED,           // a quoted field the input ends inside
    CSV_AFTER_QUOTE,            // text between a closing quote and the delimiter
    CSV_NO_MEMORY
} csv_error_t;

typedef struct csv_t csv_t;

//  A reader over len bytes at data, which must outlive it (nothing is
//  copied). A UTF-8 byte order mark at the start is skipped. Records end at
//  LF or CRLF (or the end of input) outside quotes; blank lines are skipped.
//  max_record is the longest record in bytes, line ends excluded. Returns a
//  new reader the caller destroys, NULL when out of memory.
csv_t *csv_new (const char *data, size_t len, size_t max_record);
void csv_destroy (csv_t **self_p);

//  Read the next record. Returns 0 with *count fields (0 at the end of the
//  input), or -1 on a malformed record (csv_error says why and where).
//  Fields stay valid until the next call.
int csv_next (csv_t *self, size_t *count);

//  The fields of the current record (borrowed).
const csv_field_t *csv_fields (const csv_t *self);

//  1-based physical line where the current (or failed) record starts.
size_t csv_line (const csv_t *self);

//  Why csv_next failed, with the 0-based index of the field it failed in.
csv_error_t csv_error (const csv_t *self, size_t *field);

#endif
