/*  columns - the column names of a local CSV or JSONL file, read from its head only  */
#ifndef MT_CLIENT_COLUMNS_H_INCLUDED
#define MT_CLIENT_COLUMNS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "dataset.h"
#include "mt/spec.h"

//  Bytes read at most to find the header: the dataset reader's longest record
//  plus room for a byte order mark, blank lines and a line end.
#define COLUMNS_MAX_HEAD    (DATASET_MAX_LINE + 65536)
#define COLUMNS_CHUNK       65536   // bytes per read
#define COLUMNS_SHOWN       20      // column names listed in a message at most

typedef struct columns_t columns_t;

//  The columns of the data file at path, as the dataset reader (worker/dataset.c)
//  would see them: the first record of a CSV file (RFC 4180, a BOM skipped,
//  blank lines skipped), or the keys of the first object of a JSONL file, in
//  order. format MT_FORMAT_AUTO is resolved as that reader does: by the file
//  name's extension (.csv, .jsonl, .ndjson), then by the first byte that is not
//  a space ('{' is JSONL). Only the head is read, COLUMNS_MAX_HEAD bytes at
//  most, never the whole file; a pipe is not read to its end. Returns a new
//  columns_t the caller destroys (path is borrowed: it must outlive it), or
//  NULL with *cause naming the file ("d.csv: empty file (no header row)").
columns_t *columns_read (const char *path, mt_format_t format, char **cause);
void columns_destroy (columns_t **self_p);

//  True when path names something that is there but not a regular file
//  (after links), such as a pipe: a pipe's head, once read here, would be
//  gone for the reader after us. A path that is not there is not special.
bool columns_special (const char *path);

//  The format the file was read as (never MT_FORMAT_AUTO).
mt_format_t columns_format (const columns_t *self);

//  The number of columns, and the name of column index (borrowed).
size_t columns_size (const columns_t *self);
const char *columns_name (const columns_t *self, size_t index);

//  True when name is one of the columns.
bool columns_has (const columns_t *self, const char *name);

//  0 when name is one of the columns; else -1 with *cause, one line naming
//  flag and listing the columns: "--target: no column 'z' in d.csv; its
//  columns are: a, b, y" (at most COLUMNS_SHOWN names, then "... (N in all)").
int columns_require (const columns_t *self, const char *flag, const char *name, char **cause);

#endif
