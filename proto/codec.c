/*  codec - the only code that speaks msgpack: message frames to and from JSON bodies  */
//  Bodies are small: start the pack buffer small rather than at msgpack-c's
//  8 KiB, whose every allocation makes glibc consolidate its free lists
#define MSGPACK_SBUFFER_INIT_SIZE 512
#include "mt/msg.h"
#include "mt/util.h"

#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

//  Bytes being packed: in place up to S_BUF_LOCAL, then on the heap.
#define S_BUF_LOCAL 256
typedef struct {
    char *data;
    size_t size, alloc;
    char local [S_BUF_LOCAL];
} s_buf_t;

struct mt_msg_t {
    char command [MT_MAX_COMMAND + 1];
    json_t *body;               // always an object
    void *payload;              // binary chunk or NULL
    size_t payload_size;
    s_buf_t added;              // fields of mt_msg_add_*, packed (key, value)...
    size_t added_count;         //   and how many
    bool added_failed;          // one could not be stored: the message cannot be encoded
};

static int s_pack (msgpack_packer *pk, json_t *value, int depth);
static json_t *s_unpack (const msgpack_object *obj, int depth, char **cause);
static bool s_valid_command (const char *data, size_t size);
static bool s_ascii_run (const char *data, size_t size);
static mt_msg_t *s_msg_new (const char *command, size_t len, json_t *body);
static int s_prescan (const uint8_t *data, size_t size);
static json_t *s_ascii (const char *text);
static mt_msg_t *s_decode (const void *const *data, const size_t *size, size_t count,
                           const char **code, char **cause);
static int s_pack_map (msgpack_packer *pk, json_t *object, int depth, size_t more);
static void s_buf_init (s_buf_t *buf);
static int s_buf_write (void *data, const char *bytes, size_t len);
static void s_buf_free (s_buf_t *buf);
static int s_encode_body (const mt_msg_t *self, s_buf_t *buf);

mt_msg_t *
mt_msg_new (const char *command)
{
    size_t len = strlen (command);
    return s_valid_command (command, len) ? s_msg_new (command, len, json_object ()) : NULL;
}

//  A message with command (valid, len bytes) and body, which it takes (NULL
//  when body is NULL or out of memory, and then body is released).
static mt_msg_t *
s_msg_new (const char *command, size_t len, json_t *body)
{
    mt_msg_t *self = body ? calloc (1, sizeof *self) : NULL;
    if (!self) {
        json_decref (body);
        return NULL;
    }
    memcpy (self->command, command, len);
    self->command [len] = 0;
    self->body = body;
    s_buf_init (&self->added);
    return self;
}

void
mt_msg_destroy (mt_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mt_msg_t *self = *self_p;
    json_decref (self->body);
    free (self->payload);
    s_buf_free (&self->added);
    free (self);
    *self_p = NULL;
}

const char *mt_msg_command (const mt_msg_t *self) { return self->command; }
bool mt_msg_is (const mt_msg_t *self, const char *command) { return strcmp (self->command, command) == 0; }
json_t *mt_msg_body (mt_msg_t *self) { return self->body; }

const void *
mt_msg_payload (const mt_msg_t *self, size_t *size)
{
    if (size)
        *size = self->payload_size;
    return self->payload;
}

void
mt_msg_set_payload (mt_msg_t *self, const void *data, size_t size)
{
    free (self->payload);
    self->payload = NULL;
    self->payload_size = 0;
    if (!data)
        return;
    self->payload = malloc (size ? size : 1);
    assert (self->payload);
    memcpy (self->payload, data, size);
    self->payload_size = size;
}

//  True when every byte is ASCII: such a string is valid UTF-8 without
//  jansson's byte-by-byte check, which cost a tenth of a message's decoding.
static bool
s_ascii_run (const char *data, size_t size)
{
    unsigned char any = 0;
    for (size_t i = 0; i < size; i++)
        any |= (unsigned char) data [i];
    return any < 0x80;
}

json_t *
mt_json_string (const char *text, size_t len)
{
    return s_ascii_run (text, len) ? json_stringn_nocheck (text, len) : json_stringn (text, len);
}

//  Command names are 1..32 upper-case letters, digits and underscores.
static bool
s_valid_command (const char *data, size_t size)
{
    if (size == 0 || size > MT_MAX_COMMAND)
        return false;
    for (size_t i = 0; i < size; i++)
        if (!((data [i] >= 'A' && data [i] <= 'Z') || (data [i] >= '0' && data [i] <= '9')
            || data [i] == '_'))
            return false;
    return true;
}

//  An empty buffer, writing in place.
static void
s_buf_init (s_buf_t *buf)
{
    buf->data = buf->local;
    buf->size = 0;
    buf->alloc = sizeof buf->local;
}

//  msgpack-c's write callback into an s_buf_t.
static int
s_buf_write (void *data, const char *bytes, size_t len)
{
    s_buf_t *buf = data;
    if (buf->size + len > buf->alloc) {
        size_t alloc = buf->alloc * 2 > buf->size + len ? buf->alloc * 2 : buf->size + len;
        char *grown = buf->data == buf->local ? malloc (alloc) : realloc (buf->data, alloc);
        if (!grown)
            return -1;
        if (buf->data == buf->local)
            memcpy (grown, buf->local, buf->size);
        buf->data = grown;
        buf->alloc = alloc;
    }
    memcpy (buf->data + buf->size, bytes, len);
    buf->size += len;
    return 0;
}

static void
s_buf_free (s_buf_t *buf)
{
    if (buf->data != buf->local)
        free (buf->data);
    s_buf_init (buf);
}

int
mt_msgpack_from_json (json_t *value, char **data, size_t *size)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    if (s_pack (&pk, value, 0)) {
        msgpack_sbuffer_destroy (&sbuf);
        return -1;
    }
    *data = sbuf.data;
    *size = sbuf.size;
    return 0;
}

//  A packer that appends one field's key to the message's added fields.
static int
s_add_key (mt_msg_t *self, msgpack_packer *pk, const char *key)
{
    msgpack_packer_init (pk, &self->added, s_buf_write);
    size_t len = strlen (key);
    self->added_count++;
    return msgpack_pack_str (pk, len) || msgpack_pack_str_body (pk, key, len);
}

int
mt_msg_add_int (mt_msg_t *self, const char *key, int64_t value)
{
    msgpack_packer pk;
    if (s_add_key (self, &pk, key) || msgpack_pack_int64 (&pk, value))
        self->added_failed = true;
    return self->added_failed ? -1 : 0;
}

int
mt_msg_add_bool (mt_msg_t *self, const char *key, bool value)
{
    msgpack_packer pk;
    if (s_add_key (self, &pk, key) || (value ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk)))
        self->added_failed = true;
    return self->added_failed ? -1 : 0;
}

int
mt_msg_add_str (mt_msg_t *self, const char *key, const char *value, size_t len)
{
    msgpack_packer pk;
    if (s_add_key (self, &pk, key) || msgpack_pack_str (&pk, len)
    ||  msgpack_pack_str_body (&pk, value, len))
        self->added_failed = true;
    return self->added_failed ? -1 : 0;
}

//  The body as msgpack into buf (initialized here): the JSON fields, then
//  the added ones, in one map. Returns 0, or -1 (buf freed).
static int
s_encode_body (const mt_msg_t *self, s_buf_t *buf)
{
    s_buf_init (buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, s_buf_write);
    int rc = self->added_failed || s_pack_map (&pk, self->body, 0, self->added_count)
          || s_buf_write (buf, self->added.data, self->added.size);
    if (rc)
        s_buf_free (buf);
    return rc ? -1 : 0;
}

zmsg_t *
mt_msg_encode (const mt_msg_t *self)
{
    s_buf_t body;
    if (s_encode_body (self, &body))
        return NULL;
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, MT_PROTOCOL);
    zmsg_addstr (zmsg, self->command);
    zmsg_addmem (zmsg, body.data, body.size);
    s_buf_free (&body);
    if (self->payload)
        zmsg_addmem (zmsg, self->payload, self->payload_size);
    return zmsg;
}

int
mt_msg_send (const mt_msg_t *self, zsock_t *sock, zframe_t *identity)
{
    return mt_msg_send_to (self, zsock_resolve (sock), identity ? zframe_data (identity) : NULL,
                           identity ? zframe_size (identity) : 0);
}

//  One frame of a message; once the first has gone, a signal must not leave
//  the message half sent, so later frames are sent again after EINTR.
static int
s_send_frame (void *handle, const void *data, size_t size, int flags, bool first)
{
    int rc;
    do
        rc = zmq_send (handle, data, size, flags);
    while (rc < 0 && errno == EINTR && !first);
    return rc < 0 ? -1 : 0;
}

//  The frames of mt_msg_encode, each handed to ZeroMQ at once: no czmq
//  frames or lists on the way.
int
mt_msg_send_to (const mt_msg_t *self, void *handle, const void *identity, size_t identity_size)
{
    s_buf_t body;
    if (s_encode_body (self, &body))
        return -1;
    int last = self->payload ? ZMQ_SNDMORE : 0;
    int rc = (identity && s_send_frame (handle, identity, identity_size, ZMQ_SNDMORE, true))
          || s_send_frame (handle, MT_PROTOCOL, strlen (MT_PROTOCOL), ZMQ_SNDMORE, !identity)
          || s_send_frame (handle, self->command, strlen (self->command), ZMQ_SNDMORE, false)
          || s_send_frame (handle, body.data, body.size, last, false)
          || (self->payload
              && s_send_frame (handle, self->payload, self->payload_size, 0, false)) ? -1 : 0;
    s_buf_free (&body);
    return rc;
}

int
mt_frames_recv (mt_frames_t *self, void *handle)
{
    self->count = self->total = 0;
    int more = 1;
    while (more) {
        zmq_msg_t scratch, *part = self->count < MT_MAX_FRAMES ? &self->part [self->count]
                                                                 : &scratch;
        zmq_msg_init (part);
        //  The first frame without waiting; the rest of a message is there
        //  with it (ZeroMQ delivers messages whole), and a signal must not
        //  leave it half read
        int rc;
        do
            rc = zmq_msg_recv (part, handle, self->total ? 0 : ZMQ_DONTWAIT);
        while (rc < 0 && errno == EINTR && self->total);
        if (rc < 0) {
            int err = errno;
            zmq_msg_close (part);
            mt_frames_close (self);
            errno = err;
            return err == EAGAIN ? 0 : -1;
        }
        more = zmq_msg_more (part);
        self->total++;
        if (part == &scratch)
            zmq_msg_close (part);
        else
            self->count++;
    }
    return 1;
}

void
mt_frames_close (mt_frames_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        zmq_msg_close (&self->part [i]);
    self->count = self->total = 0;
}

const void *mt_frames_data (mt_frames_t *self, size_t index) { return zmq_msg_data (&self->part [index]); }
size_t mt_frames_size (mt_frames_t *self, size_t index) { return zmq_msg_size (&self->part [index]); }

//  A map of the object's fields and, to follow them, more entries the
//  caller packs itself.
static int
s_pack_map (msgpack_packer *pk, json_t *object, int depth, size_t more)
{
    const char *key;
    json_t *item;
    if (msgpack_pack_map (pk, json_object_size (object) + more))
        return -1;
    json_object_foreach (object, key, item) {
        size_t len = strlen (key);
        if (msgpack_pack_str (pk, len) || msgpack_pack_str_body (pk, key, len)
        ||  s_pack (pk, item, depth + 1))
            return -1;
    }
    return 0;
}

static int
s_pack (msgpack_packer *pk, json_t *value, int depth)
{
    //  depth counts the containers around value; the root map is level 1
    if ((json_is_object (value) || json_is_array (value)) && depth >= MT_MAX_DEPTH)
        return -1;
    switch (json_typeof (value)) {
        case JSON_OBJECT:
            return s_pack_map (pk, value, depth, 0);
        case JSON_ARRAY: {
            size_t i;
            json_t *item;
            msgpack_pack_array (pk, json_array_size (value));
            json_array_foreach (value, i, item)
                if (s_pack (pk, item, depth + 1))
                    return -1;
            return 0;
        }
        case JSON_STRING: {
            size_t len = json_string_length (value);
            msgpack_pack_str (pk, len);
            return msgpack_pack_str_body (pk, json_string_value (value), len);
        }
        case JSON_INTEGER:
            return msgpack_pack_int64 (pk, json_integer_value (value));
        case JSON_REAL:
            return msgpack_pack_double (pk, json_real_value (value));
        case JSON_TRUE:
            return msgpack_pack_true (pk);
        case JSON_FALSE:
            return msgpack_pack_false (pk);
        case JSON_NULL:
            return msgpack_pack_nil (pk);
    }
    return -1;
}

json_t *
mt_msgpack_to_json (const char *data, size_t size, char **cause)
{
    if (size > MT_MAX_BODY) {
        mt_fail (cause, "body is %zu bytes, over the limit of %d", size, MT_MAX_BODY);
        return NULL;
    }
    //  msgpack-c allocates a container's items from its declared count, so
    //  counts are checked against the bytes that could hold them first
    if (s_prescan ((const uint8_t *) data, size)) {
        mt_fail (cause, "body is not valid msgpack (malformed or truncated)");
        return NULL;
    }
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (&result, data, size, &offset);
    json_t *value = NULL;
    if (rc != MSGPACK_UNPACK_SUCCESS)
        mt_fail (cause, "body is not valid msgpack (%s)",
                 rc == MSGPACK_UNPACK_CONTINUE ? "truncated" : "malformed");
    else
    if (offset != size)
        mt_fail (cause, "body has %zu trailing bytes after its msgpack value", size - offset);
    else
        value = s_unpack (&result.data, 0, cause);
    msgpack_unpacked_destroy (&result);
    return value;
}

static json_t *
s_unpack_map (const msgpack_object_map *map, int depth, char **cause)
{
    json_t *object = json_object ();
    for (uint32_t i = 0; object && i < map->size; i++) {
        const msgpack_object *key = &map->ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR || key->via.str.size > 256) {
            mt_fail (cause, "map keys must be strings of at most 256 bytes");
            goto err;
        }
        char name [257];
        //  msgpack-c may give an empty string a NULL pointer
        if (key->via.str.size)
            memcpy (name, key->via.str.ptr, key->via.str.size);
        name [key->via.str.size] = 0;
        if (strlen (name) != key->via.str.size) {
            mt_fail (cause, "a map key holds a NUL byte");
            goto err;
        }
        json_t *value = s_unpack (&map->ptr [i].val, depth + 1, cause);
        if (!value)
            goto err;
        size_t len = key->via.str.size;
        if (s_ascii_run (name, len) ? json_object_setn_new_nocheck (object, name, len, value)
                                    : json_object_setn_new (object, name, len, value)) {
            mt_fail (cause, "a map key is not valid UTF-8");
            goto err;
        }
        //  A repeated key replaced the first: the object did not grow. It
        //  passed the UTF-8 check, so it may be quoted
        if (json_object_size (object) != i + 1) {
            mt_fail (cause, "map key '%s' is repeated", name);
            goto err;
        }
    }
    return object;
err:
    json_decref (object);
    return NULL;
}

static json_t *
s_unpack (const msgpack_object *obj, int depth, char **cause)
{
    if ((obj->type == MSGPACK_OBJECT_ARRAY || obj->type == MSGPACK_OBJECT_MAP)
    &&  depth >= MT_MAX_DEPTH) {
        mt_fail (cause, "body nests deeper than %d levels", MT_MAX_DEPTH);
        return NULL;
    }
    json_t *value = NULL;
    switch (obj->type) {
        case MSGPACK_OBJECT_NIL:
            return json_null ();
        case MSGPACK_OBJECT_BOOLEAN:
            return json_boolean (obj->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            if (obj->via.u64 > INT64_MAX) {
                mt_fail (cause, "integer %llu is out of range",
                         (unsigned long long) obj->via.u64);
                return NULL;
            }
            return json_integer ((json_int_t) obj->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return json_integer ((json_int_t) obj->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            //  JSON has no NaN or infinity; they travel as nil
            return isfinite (obj->via.f64) ? json_real (obj->via.f64) : json_null ();
        case MSGPACK_OBJECT_STR:
            if (obj->via.str.size > MT_MAX_STRING) {
                mt_fail (cause, "a string is over %d bytes", MT_MAX_STRING);
                return NULL;
            }
            value = mt_json_string (obj->via.str.size ? obj->via.str.ptr : "", obj->via.str.size);
            if (!value)
                mt_fail (cause, "a string is not valid UTF-8");
            return value;
        case MSGPACK_OBJECT_ARRAY:
            value = json_array ();
            for (uint32_t i = 0; value && i < obj->via.array.size; i++) {
                json_t *item = s_unpack (&obj->via.array.ptr [i], depth + 1, cause);
                if (!item) {
                    json_decref (value);
                    return NULL;
                }
                json_array_append_new (value, item);
            }
            return value;
        case MSGPACK_OBJECT_MAP:
            return s_unpack_map (&obj->via.map, depth, cause);
        default:
            mt_fail (cause, "binary and extension values are not allowed in a body");
            return NULL;
    }
}

mt_msg_t *
mt_msg_decode (zmsg_t *zmsg, const char **code, char **cause)
{
    const void *data [4] = { NULL };
    size_t size [4] = { 0 };
    size_t count = zmsg_size (zmsg);
    zframe_t *frame = zmsg_first (zmsg);
    for (size_t i = 0; i < 4 && frame; i++, frame = zmsg_next (zmsg)) {
        data [i] = zframe_data (frame);
        size [i] = zframe_size (frame);
    }
    return s_decode (data, size, count, code, cause);
}

mt_msg_t *
mt_frames_decode (mt_frames_t *self, size_t first, const char **code, char **cause)
{
    const void *data [4] = { NULL };
    size_t size [4] = { 0 };
    size_t count = first <= self->total ? self->total - first : 0;
    for (size_t i = 0; i < 4 && first + i < self->count; i++) {
        data [i] = zmq_msg_data (&self->part [first + i]);
        size [i] = zmq_msg_size (&self->part [first + i]);
    }
    return s_decode (data, size, count, code, cause);
}

//  The decoder proper, over a message's frames: count frames, the first
//  four of them in data and size.
static mt_msg_t *
s_decode (const void *const *data, const size_t *size, size_t count, const char **code,
          char **cause)
{
    *code = MT_ERR_BAD_MESSAGE;
    if (count < 3 || count > 4) {
        mt_fail (cause, "a message has 3 or 4 frames (got %zu)", count);
        return NULL;
    }
    if (size [0] != strlen (MT_PROTOCOL) || memcmp (data [0], MT_PROTOCOL, strlen (MT_PROTOCOL))) {
        *code = MT_ERR_VERSION;
        mt_fail (cause, "frame 0 must be the protocol signature '%s'", MT_PROTOCOL);
        return NULL;
    }
    if (!s_valid_command ((const char *) data [1], size [1])) {
        mt_fail (cause, "frame 1 must be a command name (A-Z, 0-9, _; 1 to %d bytes)",
                 MT_MAX_COMMAND);
        return NULL;
    }
    if (size [2] > MT_MAX_BODY) {
        *code = MT_ERR_TOO_LARGE;
        mt_fail (cause, "body is %zu bytes, over the limit of %d", size [2], MT_MAX_BODY);
        return NULL;
    }
    json_t *body = mt_msgpack_to_json ((const char *) data [2], size [2], cause);
    if (!body)
        return NULL;
    if (!json_is_object (body)) {
        json_decref (body);
        mt_fail (cause, "the body must be a msgpack map");
        return NULL;
    }
    mt_msg_t *self = s_msg_new ((const char *) data [1], size [1], body);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    if (count == 4) {
        if (size [3] > MT_MAX_PAYLOAD) {
            *code = MT_ERR_TOO_LARGE;
            mt_fail (cause, "payload is %zu bytes, over the limit of %d", size [3],
                     MT_MAX_PAYLOAD);
            mt_msg_destroy (&self);
            return NULL;
        }
        mt_msg_set_payload (self, data [3], size [3]);
    }
    return self;
}

static json_t *
s_field (mt_msg_t *self, const char *key, bool optional, char **cause, bool *absent)
{
    json_t *value = json_object_get (self->body, key);
    *absent = !value || json_is_null (value);
    if (*absent && !optional)
        mt_fail (cause, "%s: field '%s' is missing", self->command, key);
    return *absent ? NULL : value;
}

static int
s_get_int (mt_msg_t *self, const char *key, int64_t lo, int64_t hi, int64_t *out,
           bool optional, char **cause)
{
    bool absent;
    json_t *value = s_field (self, key, optional, cause, &absent);
    if (absent)
        return optional ? 0 : -1;
    if (!json_is_integer (value))
        return mt_fail (cause, "%s: field '%s' must be an integer", self->command, key);
    json_int_t v = json_integer_value (value);
    if (v < lo || v > hi)
        return mt_fail (cause, "%s: field '%s' must be between %lld and %lld (got %lld)",
                        self->command, key, (long long) lo, (long long) hi, (long long) v);
    *out = v;
    return 0;
}

int
mt_msg_get_int (mt_msg_t *self, const char *key, int64_t lo, int64_t hi, int64_t *out,
                char **cause)
{
    return s_get_int (self, key, lo, hi, out, false, cause);
}

int
mt_msg_opt_int (mt_msg_t *self, const char *key, int64_t lo, int64_t hi, int64_t *out,
                char **cause)
{
    return s_get_int (self, key, lo, hi, out, true, cause);
}

int
mt_msg_get_real (mt_msg_t *self, const char *key, double *out, char **cause)
{
    bool absent;
    json_t *value = s_field (self, key, false, cause, &absent);
    if (absent)
        return -1;
    if (!json_is_number (value))
        return mt_fail (cause, "%s: field '%s' must be a number", self->command, key);
    *out = json_number_value (value);
    return 0;
}

static int
s_get_str (mt_msg_t *self, const char *key, size_t max, const char **out, bool optional,
           char **cause)
{
    bool absent;
    json_t *value = s_field (self, key, optional, cause, &absent);
    if (absent)
        return optional ? 0 : -1;
    if (!json_is_string (value))
        return mt_fail (cause, "%s: field '%s' must be a string", self->command, key);
    if (json_string_length (value) > max)
        return mt_fail (cause, "%s: field '%s' is over %zu bytes", self->command, key, max);
    if (strlen (json_string_value (value)) != json_string_length (value))
        return mt_fail (cause, "%s: field '%s' holds a NUL byte", self->command, key);
    *out = json_string_value (value);
    return 0;
}

int
mt_msg_get_str (mt_msg_t *self, const char *key, size_t max, const char **out, char **cause)
{
    return s_get_str (self, key, max, out, false, cause);
}

int
mt_msg_opt_str (mt_msg_t *self, const char *key, size_t max, const char **out, char **cause)
{
    return s_get_str (self, key, max, out, true, cause);
}

int
mt_msg_get_bool (mt_msg_t *self, const char *key, bool *out, char **cause)
{
    bool absent;
    json_t *value = s_field (self, key, false, cause, &absent);
    if (absent)
        return -1;
    if (!json_is_boolean (value))
        return mt_fail (cause, "%s: field '%s' must be true or false", self->command, key);
    *out = json_is_true (value);
    return 0;
}

mt_msg_t *
mt_msg_error (const char *code, const char *text)
{
    mt_msg_t *self = mt_msg_new ("ERROR");
    json_object_set_new (self->body, "code", json_string (code));
    json_t *value = json_string (text ? text : code);
    if (!value)                         // not UTF-8 (a cause quoting a peer's bytes)
        value = s_ascii (text);
    json_object_set_new (self->body, "text", value);
    return self;
}

//  A JSON string of text with every byte outside printable ASCII as '?'.
static json_t *
s_ascii (const char *text)
{
    char *copy = strdup (text);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
            *p = '?';
    json_t *value = json_string (copy);
    free (copy);
    return value;
}

static uint64_t
s_be (const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p [i];
    return v;
}

//  Walk one msgpack value without allocating: every header must fit, every
//  length must fit in the bytes left, and the items a container announces
//  must be no more than the bytes left (each item takes at least one).
static int
s_prescan (const uint8_t *data, size_t size)
{
    static const uint8_t fixed [32] = {     // 0xc0..0xdf: bytes after the type byte
        0, 0, 0, 0, 1, 2, 4, 2, 3, 5, 4, 8, 1, 2, 4, 8,
        1, 2, 4, 8, 2, 3, 5, 9, 17, 1, 2, 4, 2, 4, 2, 4 };
    size_t pos = 0;
    uint64_t pending = 1;
    while (pending > 0) {
        if (pos >= size)
            return -1;
        uint8_t type = data [pos++];
        pending--;
        uint64_t items = 0, skip = 0;
        if (type <= 0x7f || type >= 0xe0)
            continue;
        if (type <= 0x8f)
            items = 2 * (uint64_t) (type & 0x0f);
        else if (type <= 0x9f)
            items = type & 0x0f;
        else if (type <= 0xbf)
            skip = type & 0x1f;
        else {
            int len = fixed [type - 0xc0];
            if (type == 0xc1 || size - pos < (size_t) len)
                return -1;
            uint64_t n = 0;
            if ((type >= 0xc4 && type <= 0xc9) || (type >= 0xd9 && type <= 0xdf))
                n = s_be (data + pos, type >= 0xc7 && type <= 0xc9 ? len - 1 : len);
            pos += (size_t) len;
            if (type >= 0xc4 && type <= 0xc9) skip = n;
            else if (type >= 0xd9 && type <= 0xdb) skip = n;
            else if (type == 0xdc || type == 0xdd) items = n;
            else if (type == 0xde || type == 0xdf) items = 2 * n;
        }
        if (skip > size - pos || items > size - pos)
            return -1;
        pos += (size_t) skip;
        pending += items;
        if (pending > size - pos)
            return -1;
    }
    return 0;
}

//  --- Compact JSON text ---------------------------------------------------------

//  A growing text buffer; a failed growth marks it broken.
typedef struct {
    char *data;
    size_t size, used;
    bool broken;
} s_text_t;

static void
s_text_add (s_text_t *text, const char *data, size_t len)
{
    if (text->broken)
        return;
    if (text->used + len + 1 > text->size) {
        size_t size = text->size ? text->size : 256;
        while (text->used + len + 1 > size)
            size *= 2;
        char *grown = realloc (text->data, size);
        if (!grown) {
            text->broken = true;
            return;
        }
        text->data = grown;
        text->size = size;
    }
    memcpy (text->data + text->used, data, len);
    text->used += len;
    text->data [text->used] = 0;
}

//  A JSON string: quotes, backslashes and control characters escaped,
//  everything else (UTF-8, checked when the value was made) as it is.
static void
s_text_string (s_text_t *text, const char *data, size_t len)
{
    s_text_add (text, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) data [i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        s_text_add (text, data + run, i - run);
        char escape [8];
        const char *named = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                          : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
        if (!named)
            snprintf (escape, sizeof escape, "\\u%04x", c);
        s_text_add (text, named ? named : escape, strlen (named ? named : escape));
        run = i + 1;
    }
    s_text_add (text, data + run, len - run);
    s_text_add (text, "\"", 1);
}

static void
s_text_value (s_text_t *text, const json_t *value, int depth)
{
    char number [40];
    if (depth > 2 * MT_MAX_DEPTH + 64) {
        text->broken = true;
        return;
    }
    switch (json_typeof (value)) {
        case JSON_OBJECT: {
            const char *key;
            json_t *item;
            bool first = true;
            s_text_add (text, "{", 1);
            json_object_foreach ((json_t *) value, key, item) {
                if (!first)
                    s_text_add (text, ",", 1);
                first = false;
                s_text_string (text, key, strlen (key));
                s_text_add (text, ":", 1);
                s_text_value (text, item, depth + 1);
            }
            s_text_add (text, "}", 1);
            break;
        }
        case JSON_ARRAY:
            s_text_add (text, "[", 1);
            for (size_t i = 0; i < json_array_size (value); i++) {
                if (i)
                    s_text_add (text, ",", 1);
                s_text_value (text, json_array_get (value, i), depth + 1);
            }
            s_text_add (text, "]", 1);
            break;
        case JSON_STRING:
            s_text_string (text, json_string_value (value), json_string_length (value));
            break;
        case JSON_INTEGER:
            s_text_add (text, number, (size_t) snprintf (number, sizeof number, "%" JSON_INTEGER_FORMAT,
                                                         json_integer_value (value)));
            break;
        case JSON_REAL: {
            //  17 significant digits bring the same double back; a real that
            //  prints like an integer gets ".0" so that it reads back as a real
            int len = snprintf (number, sizeof number, "%.17g", json_real_value (value));
            s_text_add (text, number, (size_t) len);
            if (strspn (number, "-0123456789") == (size_t) len)
                s_text_add (text, ".0", 2);
            break;
        }
        case JSON_TRUE:
            s_text_add (text, "true", 4);
            break;
        case JSON_FALSE:
            s_text_add (text, "false", 5);
            break;
        case JSON_NULL:
            s_text_add (text, "null", 4);
            break;
    }
}

char *
mt_json_compact (const json_t *value)
{
    s_text_t text = { NULL, 0, 0, false };
    if (!json_is_object (value) && !json_is_array (value))
        return NULL;
    s_text_value (&text, value, 0);
    if (text.broken) {
        free (text.data);
        return NULL;
    }
    return text.data;
}
