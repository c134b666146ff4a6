/*  model - a trained MLP with its scaling, read from and written to safetensors  */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "mt/util.h"
#include "encode.h"
#include "mlp.h"
#include "model.h"

#if !defined (__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "model.c reads and writes little-endian float32 directly; port s_le for this host"
#endif

#define S_MAX_HEADER   (100 * 1024 * 1024)      // bytes in a safetensors header at most
#define S_MAX_DIMS     8                        // tensor rank at most
#define S_VERSION      "1"

typedef struct {
    char *name;
    int ndim;
    int64_t shape [S_MAX_DIMS];
    size_t count;               // elements
    float *data;                // owned (for extras) or borrowed (on save)
} s_tensor_t;

struct model_t {
    mt_spec_t spec;
    char **features;
    int n_features;
    char *target;
    char **classes;             // NULL for regression
    int n_classes;
    mlp_t *mlp;
    float *in_mean, *in_std;    // n_features each
    float target_scale [2];     // mean, std
    s_tensor_t *extra;          // extra tensors, owned
    int n_extra;
    json_t *meta;               // extra metadata, string values
    encode_t *plan;             // how raw columns become the inputs; never NULL
    bool bare;                  // weights only (a PyTorch state dict): inputs by position
};

//  A file being read: its bytes and the tensors its header names
typedef struct {
    const char *path;
    unsigned char *bytes;
    size_t size;
    const unsigned char *data;  // the data section
    size_t data_len;
    json_t *header;
    json_t *metadata;           // borrowed from header, may be NULL
    bool header_only;           // bytes hold the length and the header only (model_check)
    bool bare;                  // no mt metadata is needed (model_load_bare)
} s_file_t;

static char **s_strv_dup (const char *const *strv, int count);
static void s_strv_free (char **strv, int count);
static void s_tensor_free (s_tensor_t *tensor);
static int s_main_tensors (const model_t *self, s_tensor_t *list, char (*names) [32]);
static json_t *s_tensor_entry (const s_tensor_t *tensor, size_t offset);
static json_t *s_metadata (const model_t *self);
static json_t *s_string_list (char *const *strv, int count);
static void s_set_json_string (json_t *object, const char *key, json_t *value);
static int s_open (const s_file_t *file, struct stat *st, char **cause);
static uint64_t s_header_len (const s_file_t *file);
static int s_read_file (s_file_t *file, char **cause);
static int s_parse_header (s_file_t *file, char **cause);
static int s_check_read (s_file_t *file, const mt_spec_t *spec, int way, char **cause);
static int s_tensor_get (const s_file_t *file, const char *name, json_t *entry,
                         s_tensor_t *tensor, char **cause);
static model_t *s_model_from_meta (const s_file_t *file, char **cause);
static const char *s_meta_string (const s_file_t *file, const char *key, char **cause);
static char **s_meta_list (const s_file_t *file, const char *key, int *count, char **cause);
static int s_fill_tensor (const s_file_t *file, const char *name, float *dst,
                          const int64_t *shape, int ndim, char **cause);
static int s_fill_model (model_t *self, const s_file_t *file, char **cause);
static int s_keep_extras (model_t *self, const s_file_t *file, char **cause);
static bool s_is_main (const model_t *self, const char *name);
static int s_read_header (s_file_t *file, char **cause);
static int s_check_tensors (const s_file_t *file, size_t *end, char **cause);
static int s_check_shape (const s_file_t *file, const char *name, const int64_t *shape,
                          int ndim, char **cause);
static int s_check_layers (const s_file_t *file, const mt_spec_t *spec, int64_t n_in,
                           int64_t n_out, char **cause);
enum { S_CHECK_BOTH, S_CHECK_FAST, S_CHECK_FULL };     // the ways of s_check
static int s_check (const char *path, const mt_spec_t *spec, int way, char **cause);
static bool s_fast_fits (const s_file_t *file, const mt_spec_t *spec);
typedef struct s_scan_t s_scan_t;
typedef struct s_fast_t s_fast_t;
typedef struct s_fast_tensor_t s_fast_tensor_t;
static bool s_fast_plan (const s_fast_t *fast, const mt_spec_t *spec, int n_features);
static void s_fast_ws (s_scan_t *scan);
static bool s_fast_lit (s_scan_t *scan, char c);
static bool s_fast_string (s_scan_t *scan, const char **raw, size_t *raw_len, char *out,
                           size_t out_size);
static bool s_fast_int (s_scan_t *scan, int64_t *value);
static bool s_fast_ints (s_scan_t *scan, int64_t *values, int max, int *count);
static void s_fast_layer (s_fast_tensor_t *tensor);
static bool s_fast_entry (s_scan_t *scan, s_fast_tensor_t *tensor);
static bool s_fast_entries (s_scan_t *scan, s_fast_t *fast);
static bool s_fast_scan (s_scan_t *scan, s_fast_t *fast);
static bool s_fast_meta (const s_fast_t *fast, const char *key, char *out, size_t out_size);
static int s_fast_list (const s_fast_t *fast, const char *key);
static const s_fast_tensor_t *s_fast_tensor (const s_fast_t *fast, const char *name);
static bool s_fast_shape (const s_fast_tensor_t *tensor, int64_t d0, int64_t d1, int ndim);
static encode_t *s_legacy_plan (char *const *features, int n_features);
static int s_read_plan (model_t *self, const s_file_t *file, char **cause);
static int s_check_plan (const s_file_t *file, int n_features, char **cause);
static model_t *s_model_from_tensors (const s_file_t *file, char **cause);

//  ---------------------------------------------------------------------------
//  Construction and accessors

model_t *
model_new (const mt_spec_t *spec, const char *const *features, int n_features,
           const char *target, const char *const *classes, int n_classes, int max_batch,
           char **cause)
{
    bool classify = spec->task == MT_TASK_CLASSIFICATION;
    if (n_features < 1 || n_features > ENCODE_MAX_WIDTH)
        return mt_fail (cause, "model: %d inputs (need 1 to %d)", n_features,
                        ENCODE_MAX_WIDTH), NULL;
    if (classify && (n_classes < 2 || !classes))
        return mt_fail (cause, "model: classification needs at least 2 classes (got %d)",
                        n_classes), NULL;
    model_t *self = calloc (1, sizeof *self);
    if (!self || mt_spec_copy (&self->spec, spec))
        goto oom;
    self->n_features = n_features;
    self->features = s_strv_dup (features, n_features);
    self->target = strdup (target ? target : "");
    self->n_classes = classify ? n_classes : 0;
    self->classes = classify ? s_strv_dup (classes, n_classes) : NULL;
    self->mlp = mlp_new (n_features, spec->hidden, spec->n_hidden, classify ? n_classes : 1,
                         spec->activation, max_batch);
    self->in_mean = calloc ((size_t) n_features, sizeof (float));
    self->in_std = calloc ((size_t) n_features, sizeof (float));
    self->meta = json_object ();
    self->plan = self->features ? s_legacy_plan (self->features, n_features) : NULL;
    if (!self->features || !self->target || (classify && !self->classes) || !self->mlp
    ||  !self->in_mean || !self->in_std || !self->meta || !self->plan)
        goto oom;
    for (int i = 0; i < n_features; i++)
        self->in_std [i] = 1.0f;
    self->target_scale [1] = 1.0f;
    return self;
oom:
    if (self && !self->mlp && self->features)
        mt_fail (cause, "model: layer sizes out of range or out of memory");
    else
        mt_fail (cause, "model: out of memory");
    model_destroy (&self);
    return NULL;
}

void
model_destroy (model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    model_t *self = *self_p;
    mt_spec_clear (&self->spec);
    s_strv_free (self->features, self->n_features);
    s_strv_free (self->classes, self->n_classes);
    free (self->target);
    mlp_destroy (&self->mlp);
    free (self->in_mean);
    free (self->in_std);
    model_clear_extras (self);
    json_decref (self->meta);
    encode_destroy (&self->plan);
    free (self);
    *self_p = NULL;
}

//  Every feature a number with no imputation: what a model without a plan
//  (written before plans existed) reads
static encode_t *
s_legacy_plan (char *const *features, int n_features)
{
    encode_t *plan = encode_new (NULL, 0, NULL);
    for (int i = 0; plan && i < n_features; i++)
        if (encode_add_legacy (plan, features [i], NULL))
            encode_destroy (&plan);
    return plan;
}

const encode_t *model_plan (const model_t *self) { return self->plan; }
bool model_is_bare (const model_t *self) { return self->bare; }

int
model_set_plan (model_t *self, const encode_t *plan, char **cause)
{
    if (encode_width (plan) != (size_t) self->n_features)
        return mt_fail (cause, "model: a plan %zu inputs wide for a model of %d",
                        encode_width (plan), self->n_features);
    char *why = NULL;
    encode_t *copy = encode_dup (plan, &why);
    if (!copy) {
        mt_fail (cause, "model: %s", why ? why : "out of memory");
        free (why);
        return -1;
    }
    encode_destroy (&self->plan);
    self->plan = copy;
    return 0;
}

mt_task_t model_task (const model_t *self) { return self->spec.task; }
const char *model_target (const model_t *self) { return self->target; }
const mt_spec_t *model_spec (const model_t *self) { return &self->spec; }
mlp_t *model_mlp (model_t *self) { return self->mlp; }
const mlp_t *model_mlp_const (const model_t *self) { return self->mlp; }
float *model_input_mean (model_t *self) { return self->in_mean; }
float *model_input_std (model_t *self) { return self->in_std; }
float *model_target_scale (model_t *self) { return self->target_scale; }

const char *const *
model_features (const model_t *self, int *count)
{
    if (count)
        *count = self->n_features;
    return (const char *const *) self->features;
}

const char *const *
model_classes (const model_t *self, int *count)
{
    if (count)
        *count = self->n_classes;
    return (const char *const *) self->classes;
}

void
model_param_name (int layer, bool bias, char *name, size_t size)
{
    snprintf (name, size, "%d.%s", 2 * layer, bias ? "bias" : "weight");
}

int
model_set_meta (model_t *self, const char *key, const char *value, char **cause)
{
    if (json_object_set_new (self->meta, key, json_string (value)))
        return mt_fail (cause, "model: cannot set metadata '%s'", key);
    return 0;
}

const char *
model_meta (const model_t *self, const char *key)
{
    return json_string_value (json_object_get (self->meta, key));
}

int
model_set_tensor (model_t *self, const char *name, const float *data, const int64_t *shape,
                  int ndim, char **cause)
{
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t) shape [i];
    if (ndim < 1 || ndim > S_MAX_DIMS || s_is_main (self, name))
        return mt_fail (cause, "model: bad extra tensor '%s'", name);
    s_tensor_t *tensor = NULL;
    for (int i = 0; i < self->n_extra && !tensor; i++)
        if (strcmp (self->extra [i].name, name) == 0)
            tensor = &self->extra [i];
    if (!tensor) {
        s_tensor_t *grown = realloc (self->extra, (size_t) (self->n_extra + 1) * sizeof *grown);
        if (!grown)
            return mt_fail (cause, "model: out of memory");
        self->extra = grown;
        tensor = &self->extra [self->n_extra];
        memset (tensor, 0, sizeof *tensor);
        if (!(tensor->name = strdup (name)))
            return mt_fail (cause, "model: out of memory");
        self->n_extra++;
    }
    float *copy = malloc (count ? count * sizeof (float) : 1);
    if (!copy)
        return mt_fail (cause, "model: out of memory");
    memcpy (copy, data, count * sizeof (float));
    free (tensor->data);
    tensor->data = copy;
    tensor->count = count;
    tensor->ndim = ndim;
    memcpy (tensor->shape, shape, (size_t) ndim * sizeof (int64_t));
    return 0;
}

const float *
model_tensor (const model_t *self, const char *name, size_t *count)
{
    for (int i = 0; i < self->n_extra; i++)
        if (strcmp (self->extra [i].name, name) == 0) {
            if (count)
                *count = self->extra [i].count;
            return self->extra [i].data;
        }
    return NULL;
}

void
model_clear_extras (model_t *self)
{
    for (int i = 0; i < self->n_extra; i++)
        s_tensor_free (&self->extra [i]);
    free (self->extra);
    self->extra = NULL;
    self->n_extra = 0;
    if (self->meta)
        json_object_clear (self->meta);
}

int
model_predict (const model_t *self, const float *x, size_t rows, float *out, char **cause)
{
    if (rows == 0)
        return 0;
    size_t n_in = (size_t) self->n_features;
    int chunk = 256;
    float *scaled = malloc (rows * n_in * sizeof (float));
    float *scratch = malloc (mlp_scratch_floats (self->mlp, chunk) * sizeof (float));
    if (!scaled || !scratch) {
        free (scaled);
        free (scratch);
        return mt_fail (cause, "model: out of memory predicting %zu rows", rows);
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n_in; j++)
            scaled [r * n_in + j] = (x [r * n_in + j] - self->in_mean [j]) / self->in_std [j];
    mlp_infer (self->mlp, scaled, rows, out, scratch, chunk);
    if (self->spec.task == MT_TASK_CLASSIFICATION)
        mlp_softmax (out, rows, self->n_classes);
    else
        for (size_t r = 0; r < rows; r++)
            out [r] = out [r] * self->target_scale [1] + self->target_scale [0];
    free (scaled);
    free (scratch);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Writing

//  The model's own tensors in file order (borrowed data); returns the count
static int
s_main_tensors (const model_t *self, s_tensor_t *list, char (*names) [32])
{
    int n = 0;
    mlp_t *mlp = self->mlp;
    for (int l = 0; l < mlp_layers (mlp); l++) {
        int64_t out = mlp_layer_out (mlp, l), in = mlp_layer_in (mlp, l);
        model_param_name (l, false, names [2 * l], 32);
        model_param_name (l, true, names [2 * l + 1], 32);
        list [n++] = (s_tensor_t) { .name = names [2 * l], .ndim = 2, .shape = { out, in },
                                    .count = (size_t) (out * in), .data = mlp_weight (mlp, l) };
        list [n++] = (s_tensor_t) { .name = names [2 * l + 1], .ndim = 1, .shape = { out },
                                    .count = (size_t) out, .data = mlp_bias (mlp, l) };
    }
    list [n++] = (s_tensor_t) { .name = "input.mean", .ndim = 1, .shape = { self->n_features },
                                .count = (size_t) self->n_features, .data = self->in_mean };
    list [n++] = (s_tensor_t) { .name = "input.std", .ndim = 1, .shape = { self->n_features },
                                .count = (size_t) self->n_features, .data = self->in_std };
    if (self->spec.task == MT_TASK_REGRESSION) {
        list [n++] = (s_tensor_t) { .name = "target.mean", .ndim = 1, .shape = { 1 },
                                    .count = 1, .data = (float *) &self->target_scale [0] };
        list [n++] = (s_tensor_t) { .name = "target.std", .ndim = 1, .shape = { 1 },
                                    .count = 1, .data = (float *) &self->target_scale [1] };
    }
    return n;
}

static json_t *
s_tensor_entry (const s_tensor_t *tensor, size_t offset)
{
    json_t *shape = json_array ();
    for (int i = 0; i < tensor->ndim; i++)
        json_array_append_new (shape, json_integer (tensor->shape [i]));
    return json_pack ("{s:s, s:o, s:[I,I]}", "dtype", "F32", "shape", shape, "data_offsets",
                      (json_int_t) offset, (json_int_t) (offset + tensor->count * 4));
}

static json_t *
s_string_list (char *const *strv, int count)
{
    json_t *list = json_array ();
    for (int i = 0; i < count; i++)
        json_array_append_new (list, json_string (strv [i]));
    return list;
}

//  Set key to the compact JSON text of value (stolen)
static void
s_set_json_string (json_t *object, const char *key, json_t *value)
{
    char *text = json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_object_set_new (object, key, json_string (text ? text : "null"));
    free (text);
    json_decref (value);
}

static json_t *
s_metadata (const model_t *self)
{
    json_t *meta = json_object ();
    char *spec = mt_spec_to_json (&self->spec);
    json_object_set_new (meta, "spec", json_string (spec ? spec : "{}"));
    free (spec);
    s_set_json_string (meta, "features", s_string_list (self->features, self->n_features));
    char *plan = encode_to_json (self->plan);
    json_object_set_new (meta, "plan", json_string (plan ? plan : "{}"));
    free (plan);
    json_object_set_new (meta, "target", json_string (self->target));
    json_object_set_new (meta, "task", json_string (mt_task_name (self->spec.task)));
    if (self->classes)
        s_set_json_string (meta, "classes", s_string_list (self->classes, self->n_classes));
    json_object_set_new (meta, "epoch", json_string ("0"));
    json_object_set_new (meta, "step", json_string ("0"));
    json_object_set_new (meta, "metrics", json_string ("{}"));
    json_object_update (meta, self->meta);
    json_object_set_new (meta, "version", json_string (S_VERSION));
    return meta;
}

//  The model as safetensors bytes, *total of them (caller frees); NULL
//  with *cause (path names the file in it).
static unsigned char *
s_encode (const model_t *self, const char *path, size_t *total, char **cause)
{
    s_tensor_t list [2 * MLP_MAX_LAYERS + 4];
    char names [2 * MLP_MAX_LAYERS][32];
    int n_main = s_main_tensors (self, list, names);
    json_t *header = json_object ();
    json_object_set_new (header, "__metadata__", s_metadata (self));
    size_t offset = 0;
    for (int i = 0; i < n_main + self->n_extra; i++) {
        const s_tensor_t *t = i < n_main ? &list [i] : &self->extra [i - n_main];
        json_object_set_new (header, t->name, s_tensor_entry (t, offset));
        offset += t->count * 4;
    }
    char *text = json_dumps (header, JSON_COMPACT);
    json_decref (header);
    if (!text) {
        mt_fail (cause, "%s: cannot encode the model header", path);
        return NULL;
    }
    size_t text_len = strlen (text);
    size_t header_len = (text_len + 7) & ~(size_t) 7;
    *total = 8 + header_len + offset;
    unsigned char *buf = malloc (*total);
    if (!buf) {
        free (text);
        mt_fail (cause, "%s: out of memory (%zu bytes)", path, *total);
        return NULL;
    }
    for (int i = 0; i < 8; i++)
        buf [i] = (unsigned char) ((uint64_t) header_len >> (8 * i));
    memcpy (buf + 8, text, text_len);
    memset (buf + 8 + text_len, ' ', header_len - text_len);
    free (text);
    unsigned char *data = buf + 8 + header_len;
    for (int i = 0; i < n_main + self->n_extra; i++) {
        const s_tensor_t *t = i < n_main ? &list [i] : &self->extra [i - n_main];
        memcpy (data, t->data, t->count * 4);
        data += t->count * 4;
    }
    return buf;
}

//  The model's bytes to path through writer (mt_file_replace or
//  mt_file_overwrite). Returns 0, or -1 with *cause.
static int
s_save (const model_t *self, const char *path,
        int (*writer) (const char *, const void *, size_t, char **), char **cause)
{
    size_t total = 0;
    unsigned char *buf = s_encode (self, path, &total, cause);
    int rc = buf ? writer (path, buf, total, cause) : -1;
    free (buf);
    return rc;
}

int
model_save (const model_t *self, const char *path, char **cause)
{
    return s_save (self, path, mt_file_replace, cause);
}

int
model_save_in_place (const model_t *self, const char *path, char **cause)
{
    return s_save (self, path, mt_file_overwrite, cause);
}

//  ---------------------------------------------------------------------------
//  Reading: every length, offset, shape and name is checked before use

model_t *
model_load (const char *path, char **cause)
{
    s_file_t file = { .path = path };
    model_t *self = NULL;
    if (s_read_file (&file, cause) || s_parse_header (&file, cause))
        goto done;
    self = s_model_from_meta (&file, cause);
    if (self && (s_fill_model (self, &file, cause) || s_read_plan (self, &file, cause)
             ||  s_keep_extras (self, &file, cause)))
        model_destroy (&self);
done:
    json_decref (file.header);
    free (file.bytes);
    return self;
}

//  The file opened, once it is a regular file of at least 8 bytes; returns
//  its descriptor (caller closes) and *st, or -1 with *cause
static int
s_open (const s_file_t *file, struct stat *st, char **cause)
{
    int fd = open (file->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mt_fail (cause, "%s: cannot open: %s", file->path, strerror (errno));
    if (fstat (fd, st) || !S_ISREG (st->st_mode))
        mt_fail (cause, "%s: not a regular file", file->path);
    else
    if (st->st_size < 8)
        mt_fail (cause, "%s: truncated: %lld bytes, a safetensors file has at least 8",
                 file->path, (long long) st->st_size);
    else
        return fd;
    close (fd);
    return -1;
}

//  All len bytes at offset, however many reads that takes; false on an
//  error or an end of file before them
//  The header's length: the file's first 8 bytes, little-endian
static uint64_t
s_header_len (const s_file_t *file)
{
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len |= (uint64_t) file->bytes [i] << (8 * i);
    return len;
}

static int
s_read_file (s_file_t *file, char **cause)
{
    struct stat st;
    int fd = s_open (file, &st, cause);
    if (fd < 0)
        return -1;
    int rc = -1;
    if (!(file->bytes = malloc ((size_t) st.st_size)))
        mt_fail (cause, "%s: out of memory (%lld bytes)", file->path, (long long) st.st_size);
    else
    if (mt_read_at (fd, file->bytes, (size_t) st.st_size, 0))
        mt_fail (cause, "%s: read error or file changed while reading", file->path);
    else {
        file->size = (size_t) st.st_size;
        rc = 0;
    }
    close (fd);
    return rc;
}

static int
s_parse_header (s_file_t *file, char **cause)
{
    uint64_t len = s_header_len (file);
    if (len > S_MAX_HEADER)
        return mt_fail (cause, "%s: not a safetensors file (its first 8 bytes give a header"
                        " length of %" PRIu64 ", over the %d-byte limit)", file->path, len,
                        S_MAX_HEADER);
    if (len > file->size - 8)
        return mt_fail (cause, "%s: truncated: header length %" PRIu64 " but only %zu bytes follow",
                        file->path, len, file->size - 8);
    json_error_t error;
    file->header = json_loadb ((const char *) file->bytes + 8, (size_t) len,
                               JSON_REJECT_DUPLICATES, &error);
    if (!file->header)
        return mt_fail (cause, "%s: header is not valid JSON: %s", file->path, error.text);
    if (!json_is_object (file->header))
        return mt_fail (cause, "%s: header is not a JSON object", file->path);
    file->data = file->header_only ? NULL : file->bytes + 8 + len;
    file->data_len = file->size - 8 - (size_t) len;
    file->metadata = json_object_get (file->header, "__metadata__");
    if (file->bare && (!file->metadata || json_is_object (file->metadata)))
        return 0;
    if (!json_is_object (file->metadata))
        return mt_fail (cause, "%s: no __metadata__ object (not an mt model)", file->path);
    const char *key;
    json_t *value;
    json_object_foreach (file->metadata, key, value)
        if (!json_is_string (value))
            return mt_fail (cause, "%s: metadata '%s' is not a string", file->path, key);
    const char *version = json_string_value (json_object_get (file->metadata, "version"));
    if (!version || strcmp (version, S_VERSION))
        return mt_fail (cause, "%s: unsupported model version '%s' (this build reads %s)",
                        file->path, version ? version : "(none)", S_VERSION);
    return 0;
}

//  Check one header entry and point tensor at its bytes (not copied)
static int
s_tensor_get (const s_file_t *file, const char *name, json_t *entry, s_tensor_t *tensor,
              char **cause)
{
    const char *dtype = json_string_value (json_object_get (entry, "dtype"));
    json_t *shape = json_object_get (entry, "shape");
    json_t *offsets = json_object_get (entry, "data_offsets");
    if (!json_is_object (entry) || !dtype || !json_is_array (shape) || !json_is_array (offsets)
    ||  json_array_size (offsets) != 2)
        return mt_fail (cause, "%s: tensor '%s' lacks dtype, shape or data_offsets",
                        file->path, name);
    if (strcmp (dtype, "F32"))
        return mt_fail (cause, "%s: tensor '%s' has dtype %s, expected F32", file->path, name, dtype);
    if (json_array_size (shape) > S_MAX_DIMS)
        return mt_fail (cause, "%s: tensor '%s' has too many dimensions", file->path, name);
    tensor->ndim = (int) json_array_size (shape);
    tensor->count = 1;
    for (int i = 0; i < tensor->ndim; i++) {
        json_t *dim = json_array_get (shape, (size_t) i);
        json_int_t d = json_is_integer (dim) ? json_integer_value (dim) : -1;
        if (d < 0 || d > (json_int_t) (SIZE_MAX / 8) || (d && tensor->count > SIZE_MAX / 8 / (size_t) d))
            return mt_fail (cause, "%s: tensor '%s' has a bad shape", file->path, name);
        tensor->shape [i] = d;
        tensor->count *= (size_t) d;
    }
    json_t *b = json_array_get (offsets, 0), *e = json_array_get (offsets, 1);
    json_int_t begin = json_is_integer (b) ? json_integer_value (b) : -1;
    json_int_t end = json_is_integer (e) ? json_integer_value (e) : -1;
    if (begin < 0 || end < begin || (uint64_t) end > file->data_len)
        return mt_fail (cause, "%s: tensor '%s' has data_offsets [%lld, %lld] outside the %zu data bytes",
                        file->path, name, (long long) begin, (long long) end, file->data_len);
    if ((uint64_t) (end - begin) != tensor->count * 4)
        return mt_fail (cause, "%s: tensor '%s' has %lld bytes but its shape needs %zu",
                        file->path, name, (long long) (end - begin), tensor->count * 4);
    //  Unaligned: read with memcpy only; NULL when only the header was read
    tensor->data = file->data ? (float *) (file->data + begin) : NULL;
    return 0;
}

//  Copy a tensor the file must hold with exactly this shape into dst
static int
s_fill_tensor (const s_file_t *file, const char *name, float *dst, const int64_t *shape,
               int ndim, char **cause)
{
    json_t *entry = json_object_get (file->header, name);
    if (!entry)
        return mt_fail (cause, "%s: missing tensor '%s'", file->path, name);
    s_tensor_t t = { 0 };
    if (s_tensor_get (file, name, entry, &t, cause))
        return -1;
    bool same = t.ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t.shape [i] == shape [i];
    if (!same) {
        if (ndim == 2)
            return mt_fail (cause, "%s: tensor '%s' has the wrong shape (expected [%lld, %lld])",
                            file->path, name, (long long) shape [0], (long long) shape [1]);
        return mt_fail (cause, "%s: tensor '%s' has the wrong shape (expected [%lld])",
                        file->path, name, (long long) shape [0]);
    }
    memcpy (dst, t.data, t.count * 4);
    return 0;
}

static const char *
s_meta_string (const s_file_t *file, const char *key, char **cause)
{
    const char *value = json_string_value (json_object_get (file->metadata, key));
    if (!value)
        mt_fail (cause, "%s: metadata '%s' is missing", file->path, key);
    return value;
}

//  A metadata entry holding a JSON list of strings; caller frees
static char **
s_meta_list (const s_file_t *file, const char *key, int *count, char **cause)
{
    const char *text = s_meta_string (file, key, cause);
    if (!text)
        return NULL;
    json_t *list = json_loads (text, 0, NULL);
    char **strv = NULL;
    size_t n = json_array_size (list);
    if (!json_is_array (list) || n == 0 || n > ENCODE_MAX_WIDTH)
        mt_fail (cause, "%s: metadata '%s' is not a non-empty JSON list", file->path, key);
    else
    if ((strv = calloc (n, sizeof (char *)))) {
        for (size_t i = 0; i < n && strv; i++) {
            const char *s = json_string_value (json_array_get (list, i));
            if (!s || !(strv [i] = strdup (s))) {
                mt_fail (cause, "%s: metadata '%s' item %zu is not a string", file->path, key, i);
                s_strv_free (strv, (int) n);
                strv = NULL;
            }
        }
        *count = (int) n;
    }
    json_decref (list);
    return strv;
}

static model_t *
s_model_from_meta (const s_file_t *file, char **cause)
{
    mt_spec_t spec;
    const char *spec_text = s_meta_string (file, "spec", cause);
    const char *target = s_meta_string (file, "target", cause);
    if (!spec_text || !target)
        return NULL;
    char *why = NULL;
    if (mt_spec_from_json (&spec, spec_text, &why)) {
        mt_fail (cause, "%s: metadata 'spec': %s", file->path, why);
        free (why);
        return NULL;
    }
    model_t *self = NULL;
    int n_features = 0, n_classes = 0;
    char **features = s_meta_list (file, "features", &n_features, cause);
    char **classes = NULL;
    if (features && spec.task == MT_TASK_CLASSIFICATION)
        classes = s_meta_list (file, "classes", &n_classes, cause);
    if (features && (classes || spec.task == MT_TASK_REGRESSION)) {
        self = model_new (&spec, (const char *const *) features, n_features, target,
                          (const char *const *) classes, n_classes, 1, &why);
        if (!self) {
            mt_fail (cause, "%s: %s", file->path, why);
            free (why);
        }
    }
    s_strv_free (features, n_features);
    s_strv_free (classes, n_classes);
    mt_spec_clear (&spec);
    return self;
}

static int
s_fill_model (model_t *self, const s_file_t *file, char **cause)
{
    mlp_t *mlp = self->mlp;
    char name [32];
    for (int l = 0; l < mlp_layers (mlp); l++) {
        int64_t shape [2] = { mlp_layer_out (mlp, l), mlp_layer_in (mlp, l) };
        model_param_name (l, false, name, sizeof name);
        if (s_fill_tensor (file, name, mlp_weight (mlp, l), shape, 2, cause))
            return -1;
        model_param_name (l, true, name, sizeof name);
        if (s_fill_tensor (file, name, mlp_bias (mlp, l), shape, 1, cause))
            return -1;
    }
    int64_t n_in = self->n_features, one = 1;
    if (self->bare)
        return 0;
    if (s_fill_tensor (file, "input.mean", self->in_mean, &n_in, 1, cause)
    ||  s_fill_tensor (file, "input.std", self->in_std, &n_in, 1, cause))
        return -1;
    if (self->spec.task == MT_TASK_REGRESSION
    &&  (s_fill_tensor (file, "target.mean", &self->target_scale [0], &one, 1, cause)
    ||   s_fill_tensor (file, "target.std", &self->target_scale [1], &one, 1, cause)))
        return -1;
    return 0;
}

//  Everything the model itself does not use is kept: extra tensors (checked
//  and copied) and extra metadata
static int
s_keep_extras (model_t *self, const s_file_t *file, char **cause)
{
    const char *key;
    json_t *value;
    json_object_foreach (file->header, key, value) {
        if (strcmp (key, "__metadata__") == 0)
            continue;
        s_tensor_t t = { 0 };
        if (s_tensor_get (file, key, value, &t, cause))
            return -1;
        if (s_is_main (self, key))
            continue;
        float *copy = malloc (t.count ? t.count * 4 : 1);
        if (!copy)
            return mt_fail (cause, "%s: out of memory", file->path);
        memcpy (copy, t.data, t.count * 4);
        int64_t scalar = 1;
        int rc = model_set_tensor (self, key, copy, t.ndim ? t.shape : &scalar,
                                   t.ndim ? t.ndim : 1, cause);
        free (copy);
        if (rc)
            return -1;
    }
    static const char *own [] = { "spec", "features", "target", "task", "classes", "version",
                                  "plan" };
    json_object_foreach (file->metadata, key, value) {
        bool skip = false;
        for (size_t i = 0; i < sizeof own / sizeof own [0]; i++)
            skip = skip || strcmp (key, own [i]) == 0;
        if (!skip && model_set_meta (self, key, json_string_value (value), cause))
            return -1;
    }
    return 0;
}

static bool
s_is_main (const model_t *self, const char *name)
{
    if (strcmp (name, "input.mean") == 0 || strcmp (name, "input.std") == 0
    ||  strcmp (name, "target.mean") == 0 || strcmp (name, "target.std") == 0)
        return true;
    char own [32];
    for (int l = 0; l < mlp_layers (self->mlp); l++) {
        model_param_name (l, false, own, sizeof own);
        if (strcmp (name, own) == 0)
            return true;
        model_param_name (l, true, own, sizeof own);
        if (strcmp (name, own) == 0)
            return true;
    }
    return false;
}

//  ---------------------------------------------------------------------------
//  Checking a file against a spec, from its header and size alone

int
model_check (const char *path, const mt_spec_t *spec, char **cause)
{
    return s_check (path, spec, S_CHECK_BOTH, cause);
}

int
model_check_bytes (const char *name, const void *bytes, size_t size, const mt_spec_t *spec,
                   char **cause)
{
    if (size < 8)
        return mt_fail (cause, "%s: truncated: %zu bytes, a safetensors file has at least 8",
                        name, size);
    s_file_t file = { .path = name, .header_only = true, .size = size };
    if (!(file.bytes = malloc (size)))
        return mt_fail (cause, "%s: out of memory (%zu bytes)", name, size);
    memcpy (file.bytes, bytes, size);
    return s_check_read (&file, spec, S_CHECK_BOTH, cause);
}

bool
model_check_fast (const char *path, const mt_spec_t *spec)
{
    return s_check (path, spec, S_CHECK_FAST, NULL) == 0;
}

int
model_check_full (const char *path, const mt_spec_t *spec, char **cause)
{
    return s_check (path, spec, S_CHECK_FULL, cause);
}

//  The check in one of two ways, both on the header read once: the fast
//  path (fast) says only whether it can tell the file fits; the full one
//  gives the verdict and says what is wrong
static int
s_check (const char *path, const mt_spec_t *spec, int way, char **cause)
{
    s_file_t file = { .path = path, .header_only = true };
    if (s_read_header (&file, cause)) {
        free (file.bytes);
        return -1;
    }
    return s_check_read (&file, spec, way, cause);
}

//  s_check on a header read (file's bytes hold at least its length and
//  header, and size is the whole file's); frees what file holds
static int
s_check_read (s_file_t *fp, const mt_spec_t *spec, int way, char **cause)
{
    s_file_t file = *fp;
    const char *path = file.path;
    int rc = -1;
    int n_features = 0, n_classes = 0;
    char **features = NULL, **classes = NULL;
    size_t end = 0;
    //  A header as model_save writes it is checked without jansson (most of
    //  the cost of a DONE); anything else, fit or not, takes the full path,
    //  which also says what is wrong
    if (way != S_CHECK_FULL && s_fast_fits (&file, spec)) {
        rc = 0;
        goto done;
    }
    if (way == S_CHECK_FAST)
        goto done;
    if (s_parse_header (&file, cause) || s_check_tensors (&file, &end, cause))
        goto done;
    if (end != file.data_len) {
        mt_fail (cause, "%s: %zu data bytes but its tensors end at %zu", path, file.data_len,
                 end);
        goto done;
    }
    const char *task = json_string_value (json_object_get (file.metadata, "task"));
    if (task && strcmp (task, mt_task_name (spec->task))) {
        mt_fail (cause, "%s: a %s model, but the job's task is %s", path, task,
                 mt_task_name (spec->task));
        goto done;
    }
    if (!(features = s_meta_list (&file, "features", &n_features, cause)))
        goto done;
    //  With a plan, the inputs are its encoded width, whatever columns the
    //  spec names; without one (older models), one per named feature
    if (json_object_get (file.metadata, "plan")) {
        if (s_check_plan (&file, n_features, cause))
            goto done;
    }
    else
    if (spec->n_features > 0 && n_features != spec->n_features) {
        mt_fail (cause, "%s: %d input features, but the job's spec names %d", path, n_features,
                 spec->n_features);
        goto done;
    }
    bool classify = spec->task == MT_TASK_CLASSIFICATION;
    if (classify && !(classes = s_meta_list (&file, "classes", &n_classes, cause)))
        goto done;
    if (classify && n_classes < 2) {
        mt_fail (cause, "%s: classification with %d classes (needs at least 2)", path, n_classes);
        goto done;
    }
    int64_t n_in = n_features, one = 1;
    rc = s_check_layers (&file, spec, n_in, classify ? n_classes : 1, cause)
      || s_check_shape (&file, "input.mean", &n_in, 1, cause)
      || s_check_shape (&file, "input.std", &n_in, 1, cause)
      || (!classify && (s_check_shape (&file, "target.mean", &one, 1, cause)
                     || s_check_shape (&file, "target.std", &one, 1, cause))) ? -1 : 0;
done:
    s_strv_free (features, n_features);
    s_strv_free (classes, n_classes);
    json_decref (file.header);
    free (file.bytes);
    return rc;
}

//  The file's size, its 8-byte header length and the header's bytes: no
//  more, in one pread when the header is under 4 KiB (a model's usually is)
#define S_HEAD_READ 4096
static int
s_read_header (s_file_t *file, char **cause)
{
    struct stat st;
    int fd = s_open (file, &st, cause);
    if (fd < 0)
        return -1;
    int rc = -1;
    size_t first = (uint64_t) st.st_size < S_HEAD_READ ? (size_t) st.st_size : S_HEAD_READ;
    if (!(file->bytes = malloc (S_HEAD_READ)))
        mt_fail (cause, "%s: out of memory", file->path);
    else
    if (mt_read_at (fd, file->bytes, first, 0))
        mt_fail (cause, "%s: read error or file changed while reading", file->path);
    else {
        uint64_t len = s_header_len (file);
        //  s_parse_header names a length over the limit or past the end
        size_t want = len <= S_MAX_HEADER && len <= (uint64_t) st.st_size - 8 ? (size_t) len : 0;
        unsigned char *bigger = NULL;
        if (8 + want > first && !(bigger = realloc (file->bytes, 8 + want)))
            mt_fail (cause, "%s: out of memory", file->path);
        else
        if (bigger && (file->bytes = bigger)
        &&  mt_read_at (fd, file->bytes + first, 8 + want - first, (int64_t) first))
            mt_fail (cause, "%s: read error or file changed while reading", file->path);
        else {
            file->size = (size_t) st.st_size;
            rc = 0;
        }
    }
    close (fd);
    return rc;
}

//  Every tensor the header names is F32 with its shape's bytes inside the
//  data; *end gets where the last one ends
static int
s_check_tensors (const s_file_t *file, size_t *end, char **cause)
{
    const char *key;
    json_t *value;
    json_object_foreach (file->header, key, value) {
        if (strcmp (key, "__metadata__") == 0)
            continue;
        s_tensor_t t = { 0 };
        if (s_tensor_get (file, key, value, &t, cause))
            return -1;
        size_t stop = (size_t) json_integer_value (json_array_get (json_object_get (value,
                                                   "data_offsets"), 1));
        if (stop > *end)
            *end = stop;
    }
    return 0;
}

//  The file holds tensor name (checked by s_check_tensors) with this shape
static int
s_check_shape (const s_file_t *file, const char *name, const int64_t *shape, int ndim,
               char **cause)
{
    json_t *entry = json_object_get (file->header, name);
    if (!entry)
        return mt_fail (cause, "%s: missing tensor '%s'", file->path, name);
    json_t *dims = json_object_get (entry, "shape");
    bool same = json_array_size (dims) == (size_t) ndim;
    for (int i = 0; same && i < ndim; i++)
        same = json_integer_value (json_array_get (dims, (size_t) i)) == shape [i];
    if (same)
        return 0;
    if (ndim == 2)
        return mt_fail (cause, "%s: tensor '%s' has the wrong shape (the spec makes it [%lld, %lld])",
                        file->path, name, (long long) shape [0], (long long) shape [1]);
    return mt_fail (cause, "%s: tensor '%s' has the wrong shape (the spec makes it [%lld])",
                    file->path, name, (long long) shape [0]);
}

//  The layers the spec makes, n_in wide in and n_out wide out, each a
//  weight [out, in] and a bias [out], and no layer after the last
static int
s_check_layers (const s_file_t *file, const mt_spec_t *spec, int64_t n_in, int64_t n_out,
                char **cause)
{
    if (n_out < 1 || n_out > MT_SPEC_MAX_WIDTH)
        return mt_fail (cause, "%s: an output %lld wide (1 to %d)", file->path,
                        (long long) n_out, MT_SPEC_MAX_WIDTH);
    char name [32];
    int64_t in = n_in;
    for (int l = 0; l <= spec->n_hidden; l++) {
        int64_t out = l < spec->n_hidden ? spec->hidden [l] : n_out;
        int64_t weight [2] = { out, in };
        model_param_name (l, false, name, sizeof name);
        if (s_check_shape (file, name, weight, 2, cause))
            return -1;
        model_param_name (l, true, name, sizeof name);
        if (s_check_shape (file, name, &out, 1, cause))
            return -1;
        in = out;
    }
    model_param_name (spec->n_hidden + 1, false, name, sizeof name);
    if (json_object_get (file->header, name))
        return mt_fail (cause, "%s: tensor '%s': more layers than the spec's %d hidden",
                        file->path, name, spec->n_hidden);
    return 0;
}

//  ---------------------------------------------------------------------------
//  model_check's fast path: the JSON that model_save writes, scanned in place
//
//  It takes a subset of JSON only: ASCII strings whose escapes are \" \\ \/
//  \b \f \n \r \t, numbers that are plain non-negative integers, tensor
//  entries of dtype, shape and data_offsets, metadata of strings, no key
//  twice. Each such header is one that jansson parses to the same values,
//  so when this path says a file fits, the full path would say so too
//  (fuzz_model checks that); anything outside the subset, or any check
//  that fails, it leaves to the full path.

#define S_FAST_TENSORS 64       // tensors in a header the fast path takes
#define S_FAST_META    32       // metadata entries
#define S_FAST_NAME    32       // bytes in a tensor's name, with its NUL

struct s_scan_t {
    const char *p, *end;
};

struct s_fast_tensor_t {
    char name [S_FAST_NAME];
    int layer;                  // the layer (2 * layer).weight/bias names, -1 for another
    bool bias;
    int ndim;
    int64_t shape [S_MAX_DIMS];
    int64_t begin, end;
};

struct s_fast_t {
    s_fast_tensor_t tensors [S_FAST_TENSORS];
    int n_tensors;
    struct { const char *key, *value; size_t key_len, value_len; } meta [S_FAST_META];
    int n_meta;                 // the raw (escaped) spans of each metadata entry
    bool has_meta;
};

static void
s_fast_ws (s_scan_t *scan)
{
    while (scan->p < scan->end
    &&    (*scan->p == ' ' || *scan->p == '\n' || *scan->p == '\r' || *scan->p == '\t'))
        scan->p++;
}

static bool
s_fast_lit (s_scan_t *scan, char c)
{
    s_fast_ws (scan);
    if (scan->p < scan->end && *scan->p == c) {
        scan->p++;
        return true;
    }
    return false;
}

//  A string of the subset: its raw span between the quotes; when out is
//  not NULL its unescaped bytes go there too (out_size including a NUL)
static bool
s_fast_string (s_scan_t *scan, const char **raw, size_t *raw_len, char *out, size_t out_size)
{
    if (!s_fast_lit (scan, '"'))
        return false;
    const char *start = scan->p;
    size_t n = 0;
    while (scan->p < scan->end && *scan->p != '"') {
        unsigned char c = (unsigned char) *scan->p++;
        if (c < 0x20 || c >= 0x80)
            return false;
        if (c == '\\') {
            if (scan->p == scan->end)
                return false;
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *at = strchr (from, *scan->p);
            if (!*scan->p || !at)
                return false;           // \u and anything else: the full path
            c = (unsigned char) to [at - from];
            scan->p++;
        }
        if (out && n + 1 >= out_size)
            return false;
        if (out)
            out [n] = (char) c;
        n++;
    }
    if (scan->p == scan->end)
        return false;
    *raw = start;
    *raw_len = (size_t) (scan->p - start);
    if (out)
        out [n] = 0;
    scan->p++;
    return true;
}

//  A plain non-negative integer of at most 18 digits (no sign, fraction,
//  exponent or leading zero)
static bool
s_fast_int (s_scan_t *scan, int64_t *value)
{
    s_fast_ws (scan);
    const char *start = scan->p;
    int64_t v = 0;
    while (scan->p < scan->end && *scan->p >= '0' && *scan->p <= '9' && scan->p - start < 18)
        v = v * 10 + (*scan->p++ - '0');
    size_t digits = (size_t) (scan->p - start);
    if (!digits || (digits > 1 && *start == '0')
    ||  (scan->p < scan->end && strchr ("0123456789.eE", *scan->p) && *scan->p))
        return false;
    *value = v;
    return true;
}

//  [int, int...] with at most max items
static bool
s_fast_ints (s_scan_t *scan, int64_t *values, int max, int *count)
{
    *count = 0;
    if (!s_fast_lit (scan, '['))
        return false;
    if (s_fast_lit (scan, ']'))
        return true;
    do {
        if (*count == max || !s_fast_int (scan, &values [*count]))
            return false;
        (*count)++;
    } while (s_fast_lit (scan, ','));
    return s_fast_lit (scan, ']');
}

//  Which layer's weight or bias a tensor's name is ("2.weight": layer 1),
//  as model_param_name writes them
static void
s_fast_layer (s_fast_tensor_t *t)
{
    t->layer = -1;
    const char *p = t->name;
    int64_t n = 0;
    while (*p >= '0' && *p <= '9' && p - t->name < 9)
        n = n * 10 + (*p++ - '0');
    if (p == t->name || (p - t->name > 1 && t->name [0] == '0') || n % 2)
        return;
    if (strcmp (p, ".weight") == 0 || strcmp (p, ".bias") == 0) {
        t->layer = (int) (n / 2);
        t->bias = p [1] == 'b';
    }
}

static bool
s_fast_entry (s_scan_t *scan, s_fast_tensor_t *t)
{
    bool dtype = false, shape = false, offsets = false;
    if (!s_fast_lit (scan, '{'))
        return false;
    do {
        const char *key;
        size_t len;
        char value [8];
        int64_t pair [2];
        int n;
        if (!s_fast_string (scan, &key, &len, NULL, 0) || !s_fast_lit (scan, ':'))
            return false;
        if (len == 5 && memcmp (key, "dtype", 5) == 0 && !dtype) {
            const char *raw;
            size_t raw_len;
            if (!s_fast_string (scan, &raw, &raw_len, value, sizeof value) || strcmp (value, "F32"))
                return false;
            dtype = true;
        }
        else
        if (len == 5 && memcmp (key, "shape", 5) == 0 && !shape) {
            if (!s_fast_ints (scan, t->shape, S_MAX_DIMS, &t->ndim))
                return false;
            shape = true;
        }
        else
        if (len == 12 && memcmp (key, "data_offsets", 12) == 0 && !offsets) {
            if (!s_fast_ints (scan, pair, 2, &n) || n != 2)
                return false;
            t->begin = pair [0];
            t->end = pair [1];
            offsets = true;
        }
        else
            return false;
    } while (s_fast_lit (scan, ','));
    return s_fast_lit (scan, '}') && dtype && shape && offsets;
}

static bool
s_fast_entries (s_scan_t *scan, s_fast_t *fast)
{
    if (!s_fast_lit (scan, '{'))
        return false;
    if (s_fast_lit (scan, '}'))
        return true;
    do {
        if (fast->n_meta == S_FAST_META)
            return false;
        typeof (fast->meta [0]) *m = &fast->meta [fast->n_meta];
        if (!s_fast_string (scan, &m->key, &m->key_len, NULL, 0) || !s_fast_lit (scan, ':')
        ||  !s_fast_string (scan, &m->value, &m->value_len, NULL, 0)
        ||  memchr (m->key, '\\', m->key_len))
            return false;           // a key with an escape: the full path
        for (int i = 0; i < fast->n_meta; i++)
            if (fast->meta [i].key_len == m->key_len
            &&  memcmp (fast->meta [i].key, m->key, m->key_len) == 0)
                return false;           // keys without escapes: the same text, the same key
        fast->n_meta++;
    } while (s_fast_lit (scan, ','));
    return s_fast_lit (scan, '}');
}

//  The whole header: one object of tensor entries and one __metadata__
static bool
s_fast_scan (s_scan_t *scan, s_fast_t *fast)
{
    if (!s_fast_lit (scan, '{'))
        return false;
    if (s_fast_lit (scan, '}'))
        return false;
    do {
        char name [S_FAST_NAME];
        const char *raw;
        size_t len;
        if (!s_fast_string (scan, &raw, &len, name, sizeof name) || !s_fast_lit (scan, ':'))
            return false;
        if (strcmp (name, "__metadata__") == 0) {
            if (fast->has_meta || !s_fast_entries (scan, fast))
                return false;
            fast->has_meta = true;
            continue;
        }
        if (fast->n_tensors == S_FAST_TENSORS)
            return false;
        for (int i = 0; i < fast->n_tensors; i++)
            if (strcmp (fast->tensors [i].name, name) == 0)
                return false;
        s_fast_tensor_t *t = &fast->tensors [fast->n_tensors++];
        memcpy (t->name, name, sizeof name);
        s_fast_layer (t);
        if (!s_fast_entry (scan, t))
            return false;
    } while (s_fast_lit (scan, ','));
    if (!s_fast_lit (scan, '}'))
        return false;
    s_fast_ws (scan);
    return scan->p == scan->end && fast->has_meta;
}

//  A metadata value, unescaped into out (out_size with its NUL); false
//  when missing or too long
static bool
s_fast_meta (const s_fast_t *fast, const char *key, char *out, size_t out_size)
{
    size_t key_len = strlen (key);
    for (int i = 0; i < fast->n_meta; i++)
        if (fast->meta [i].key_len == key_len && memcmp (fast->meta [i].key, key, key_len) == 0) {
            //  Scan it again as the string it is, quotes included
            s_scan_t scan = { fast->meta [i].value - 1,
                              fast->meta [i].value + fast->meta [i].value_len + 1 };
            const char *raw;
            size_t raw_len;
            return s_fast_string (&scan, &raw, &raw_len, out, out_size);
        }
    return false;
}

//  How many strings the metadata list under key holds (a JSON list of
//  strings, as s_meta_list reads it), or -1
static int
s_fast_list (const s_fast_t *fast, const char *key)
{
    size_t size = 0;
    for (int i = 0; i < fast->n_meta; i++)
        if (fast->meta [i].key_len == strlen (key)
        &&  memcmp (fast->meta [i].key, key, fast->meta [i].key_len) == 0)
            size = fast->meta [i].value_len + 1;
    char *text = size ? malloc (size) : NULL;
    int count = -1;
    if (text && s_fast_meta (fast, key, text, size)) {
        s_scan_t scan = { text, text + strlen (text) };
        const char *raw;
        size_t len;
        int n = 0;
        bool ok = s_fast_lit (&scan, '[');
        do
            ok = ok && s_fast_string (&scan, &raw, &len, NULL, 0) && ++n <= MT_SPEC_MAX_FEATURES;
        while (ok && s_fast_lit (&scan, ','));
        ok = ok && s_fast_lit (&scan, ']');
        s_fast_ws (&scan);
        if (ok && scan.p == scan.end)
            count = n;
    }
    free (text);
    return count;
}

static const s_fast_tensor_t *
s_fast_tensor (const s_fast_t *fast, const char *name)
{
    for (int i = 0; i < fast->n_tensors; i++)
        if (strcmp (fast->tensors [i].name, name) == 0)
            return &fast->tensors [i];
    return NULL;
}

static bool
s_fast_shape (const s_fast_tensor_t *t, int64_t d0, int64_t d1, int ndim)
{
    return t && t->ndim == ndim && t->shape [0] == d0 && (ndim == 1 || t->shape [1] == d1);
}

//  The inputs as the full path checks them: a plan that parses and is as
//  wide as the features; without one (older models), one per feature the
//  spec names
static bool
s_fast_plan (const s_fast_t *fast, const mt_spec_t *spec, int n_features)
{
    size_t size = 0;
    for (int i = 0; i < fast->n_meta; i++)
        if (fast->meta [i].key_len == 4 && memcmp (fast->meta [i].key, "plan", 4) == 0)
            size = fast->meta [i].value_len + 1;
    if (!size)
        return spec->n_features <= 0 || n_features == spec->n_features;
    char *text = malloc (size);
    encode_t *plan = text && s_fast_meta (fast, "plan", text, size)
                   ? encode_from_json (text, strlen (text), NULL) : NULL;
    bool fits = plan && encode_width (plan) == (size_t) n_features;
    encode_destroy (&plan);
    free (text);
    return fits;
}

//  True when file (its header read) fits spec by the checks of
//  model_check's full path; false when it does not or this path cannot tell
static bool
s_fast_fits (const s_file_t *file, const mt_spec_t *spec)
{
    uint64_t len = s_header_len (file);
    if (len > S_MAX_HEADER || len > file->size - 8)
        return false;
    //  Not calloc: zeroing 8 KiB of table cost more than the scan
    s_fast_t *fast = malloc (sizeof *fast);
    if (fast) {
        fast->n_tensors = fast->n_meta = 0;
        fast->has_meta = false;
    }
    s_scan_t scan = { (const char *) file->bytes + 8, (const char *) file->bytes + 8 + len };
    bool fits = fast && s_fast_scan (&scan, fast);
    //  Every tensor is F32 (the scan saw to it) with its shape's bytes, and
    //  the last one ends where the file does
    uint64_t data_len = file->size - 8 - len, end = 0;
    for (int i = 0; fits && i < fast->n_tensors; i++) {
        const s_fast_tensor_t *t = &fast->tensors [i];
        uint64_t count = 1;
        for (int d = 0; fits && d < t->ndim; d++) {
            fits = (uint64_t) t->shape [d] <= SIZE_MAX / 8
                && (!t->shape [d] || count <= SIZE_MAX / 8 / (uint64_t) t->shape [d]);
            count *= (uint64_t) t->shape [d];
        }
        fits = fits && t->begin <= t->end && (uint64_t) t->end <= data_len
            && (uint64_t) (t->end - t->begin) == count * 4;
        if (fits && (uint64_t) t->end > end)
            end = (uint64_t) t->end;
    }
    char version [8], task [32];
    bool classify = spec->task == MT_TASK_CLASSIFICATION;
    int n_features = fits ? s_fast_list (fast, "features") : -1;
    int n_classes = fits && classify ? s_fast_list (fast, "classes") : 0;
    fits = fits && end == data_len
        && s_fast_meta (fast, "version", version, sizeof version) && strcmp (version, S_VERSION) == 0
        && (!s_fast_meta (fast, "task", task, sizeof task)
            || strcmp (task, mt_task_name (spec->task)) == 0)
        && n_features >= 1 && (!classify || n_classes >= 2)
        && s_fast_plan (fast, spec, n_features);
    //  The layers, each a weight [out, in] and a bias [out], none after the
    //  last; then the scaling
    int64_t in = n_features, n_out = classify ? n_classes : 1;
    fits = fits && n_out <= MT_SPEC_MAX_WIDTH;
    for (int l = 0; fits && l <= spec->n_hidden; l++) {
        int64_t out = l < spec->n_hidden ? spec->hidden [l] : n_out;
        const s_fast_tensor_t *weight = NULL, *bias = NULL;
        for (int i = 0; i < fast->n_tensors; i++)
            if (fast->tensors [i].layer == l) {
                if (fast->tensors [i].bias)
                    bias = &fast->tensors [i];
                else
                    weight = &fast->tensors [i];
            }
        fits = s_fast_shape (weight, out, in, 2) && s_fast_shape (bias, out, 0, 1);
        in = out;
    }
    for (int i = 0; fits && i < fast->n_tensors; i++)
        fits = !(fast->tensors [i].layer == spec->n_hidden + 1 && !fast->tensors [i].bias);
    fits = fits && s_fast_shape (s_fast_tensor (fast, "input.mean"), n_features, 0, 1)
        && s_fast_shape (s_fast_tensor (fast, "input.std"), n_features, 0, 1)
        && (classify || (s_fast_shape (s_fast_tensor (fast, "target.mean"), 1, 0, 1)
                      && s_fast_shape (s_fast_tensor (fast, "target.std"), 1, 0, 1)));
    free (fast);
    return fits;
}

//  The plan, and weights without mt metadata

//  The plan in the metadata, when there is one: it must encode to exactly
//  the model's inputs, names and order
static int
s_read_plan (model_t *self, const s_file_t *file, char **cause)
{
    json_t *value = json_object_get (file->metadata, "plan");
    if (!value)
        return 0;
    char *why = NULL;
    encode_t *plan = encode_from_json (json_string_value (value), json_string_length (value),
                                       &why);
    if (!plan) {
        mt_fail (cause, "%s: metadata 'plan': %s", file->path, why);
        free (why);
        return -1;
    }
    char **names = encode_width (plan) == (size_t) self->n_features ? encode_names (plan) : NULL;
    int same = names ? -1 : encode_width (plan) == (size_t) self->n_features ? -2 : -3;
    for (int i = 0; names && same == -1 && i < self->n_features; i++)
        if (strcmp (names [i], self->features [i]) != 0)
            same = i;
    encode_names_free (names, encode_width (plan));
    if (same != -1) {
        encode_destroy (&plan);
        return same == -2 ? mt_fail (cause, "%s: out of memory", file->path)
             : same == -3 ? mt_fail (cause, "%s: metadata 'plan' makes %zu inputs, 'features' "
                                     "names %d", file->path, encode_width (plan),
                                     self->n_features)
             : mt_fail (cause, "%s: metadata 'plan' names input %d '%s' differently",
                        file->path, same, self->features [same]);
    }
    encode_destroy (&self->plan);
    self->plan = plan;
    return 0;
}

//  model_check's: the plan parses and is as wide as the features
static int
s_check_plan (const s_file_t *file, int n_features, char **cause)
{
    json_t *value = json_object_get (file->metadata, "plan");
    char *why = NULL;
    encode_t *plan = encode_from_json (json_string_value (value), json_string_length (value),
                                       &why);
    int rc = 0;
    if (!plan)
        rc = mt_fail (cause, "%s: metadata 'plan': %s", file->path, why);
    else
    if (encode_width (plan) != (size_t) n_features)
        rc = mt_fail (cause, "%s: its plan encodes %zu inputs, but it has %d features",
                      file->path, encode_width (plan), n_features);
    encode_destroy (&plan);
    free (why);
    return rc;
}

model_t *
model_load_bare (const char *path, char **cause)
{
    s_file_t file = { .path = path, .bare = true };
    model_t *self = NULL;
    if (s_read_file (&file, cause) || s_parse_header (&file, cause))
        goto done;
    self = s_model_from_tensors (&file, cause);
    if (self && s_fill_model (self, &file, cause))
        model_destroy (&self);
done:
    json_decref (file.header);
    free (file.bytes);
    return self;
}

model_t *
model_load_init (const char *path, char **cause)
{
    char *why = NULL;
    model_t *self = model_load (path, &why);
    s_file_t file = { .path = path, .bare = true };
    if (!self && s_read_file (&file, NULL) == 0 && s_parse_header (&file, NULL) == 0
    &&  !json_object_get (file.metadata, "spec")) {
        free (why);                     // not an mt model: say what the bare reading found
        why = NULL;
        self = model_load_bare (path, &why);
    }
    json_decref (file.header);
    free (file.bytes);
    if (!self && cause) {
        *cause = why;
        why = NULL;
    }
    free (why);
    return self;
}

//  The layers "0.weight", "0.bias", "2.weight"... as nn.Sequential names
//  them, with an activation between each: every other tensor is ignored
static model_t *
s_model_from_tensors (const s_file_t *file, char **cause)
{
    mt_spec_t spec;
    mt_spec_init (&spec);
    spec.n_hidden = 0;
    int64_t n_in = 0, out = 0;
    char name [32];
    int l = 0;
    for (; l <= MT_SPEC_MAX_HIDDEN; l++) {
        model_param_name (l, false, name, sizeof name);
        json_t *dims = json_object_get (json_object_get (file->header, name), "shape");
        if (!dims)
            break;
        json_int_t o = json_integer_value (json_array_get (dims, 0));
        json_int_t i = json_integer_value (json_array_get (dims, 1));
        if (json_array_size (dims) != 2 || o < 1 || o > MT_SPEC_MAX_WIDTH || i < 1
        ||  i > ENCODE_MAX_WIDTH || (l > 0 && i != out))
            return mt_fail (cause, "%s: tensor '%s' has a shape that does not chain as an "
                            "nn.Sequential of Linear layers", file->path, name), NULL;
        if (l == 0)
            n_in = i;
        else
            spec.hidden [l - 1] = (int) out;    // the layer before's output
        out = o;
    }
    if (l == 0)
        return mt_fail (cause, "%s: no tensor '0.weight' (nor mt metadata): not a model of "
                        "Linear layers as nn.Sequential names them", file->path), NULL;
    spec.n_hidden = l - 1;
    spec.task = out > 1 ? MT_TASK_CLASSIFICATION : MT_TASK_REGRESSION;
    char **inputs = calloc ((size_t) n_in, sizeof (char *));
    char **outputs = calloc ((size_t) out, sizeof (char *));
    bool ok = inputs && outputs;
    for (int64_t i = 0; ok && i < n_in; i++)
        ok = asprintf (&inputs [i], "%lld", (long long) i) > 0;
    for (int64_t i = 0; ok && i < out; i++)
        ok = asprintf (&outputs [i], "%lld", (long long) i) > 0;
    model_t *self = ok ? model_new (&spec, (const char *const *) inputs, (int) n_in, "",
                                    (const char *const *) outputs, (int) out, 1, cause)
                       : (mt_fail (cause, "%s: out of memory", file->path), NULL);
    if (self)
        self->bare = true;
    s_strv_free (inputs, inputs ? (int) n_in : 0);
    s_strv_free (outputs, outputs ? (int) out : 0);
    mt_spec_clear (&spec);
    return self;
}

//  ---------------------------------------------------------------------------
//  Small helpers

static char **
s_strv_dup (const char *const *strv, int count)
{
    char **copy = calloc ((size_t) count, sizeof (char *));
    for (int i = 0; copy && i < count; i++)
        if (!(copy [i] = strdup (strv [i] ? strv [i] : ""))) {
            s_strv_free (copy, count);
            return NULL;
        }
    return copy;
}

static void
s_strv_free (char **strv, int count)
{
    for (int i = 0; strv && i < count; i++)
        free (strv [i]);
    free (strv);
}

static void
s_tensor_free (s_tensor_t *tensor)
{
    free (tensor->name);
    free (tensor->data);
}
