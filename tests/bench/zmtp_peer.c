/*  zmtp_peer - a ZMTP 3.0 DEALER on a plain TCP socket, for load generators  */
#include "zmtp_peer.h"
#include "mt/msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_GREETING 64            // bytes of a ZMTP 3 greeting
#define S_MORE     0x01          // frame flags
#define S_LONG     0x02
#define S_COMMAND  0x04
#define S_READ     (64 << 10)    // bytes asked of one recv

typedef struct {
    char *data;
    size_t start;                // bytes before start are consumed
    size_t end;                  // bytes up to end are filled
    size_t size;
} s_buf_t;

typedef struct {
    unsigned char flags;
    const char *data;            // NULL when the next frame has not all arrived
    size_t size;
} s_frame_t;

struct zmtp_peer_t {
    int fd;
    s_buf_t in;
    s_buf_t out;
    zmsg_t *partial;             // frames of a message not yet whole
    char failure [256];          // why the last call failed
};

static int s_reserve (s_buf_t *buf, size_t more);
static int s_append (s_buf_t *buf, const void *bytes, size_t size);
static int s_append_frame (s_buf_t *buf, unsigned char flags, const void *data, size_t size);
static int s_fail (zmtp_peer_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));
static int s_take_frame (zmtp_peer_t *self, s_frame_t *frame);
static int s_address (const char *endpoint, struct sockaddr_in *addr);
static int s_wait (zmtp_peer_t *self, short events, int64_t deadline);
static int s_connect (zmtp_peer_t *self, const struct sockaddr_in *addr, int64_t deadline);
static int s_handshake (zmtp_peer_t *self, int64_t deadline);

//  Room for more bytes at the end; 0 or -1.
static int
s_reserve (s_buf_t *buf, size_t more)
{
    if (buf->start > 0 && buf->start == buf->end)
        buf->start = buf->end = 0;
    if (buf->end + more <= buf->size)
        return 0;
    if (buf->start > 0) {
        memmove (buf->data, buf->data + buf->start, buf->end - buf->start);
        buf->end -= buf->start;
        buf->start = 0;
        if (buf->end + more <= buf->size)
            return 0;
    }
    size_t size = buf->size ? buf->size : 4096;
    while (size < buf->end + more)
        size *= 2;
    char *data = realloc (buf->data, size);
    if (!data)
        return -1;
    buf->data = data;
    buf->size = size;
    return 0;
}

static int
s_append (s_buf_t *buf, const void *bytes, size_t size)
{
    if (s_reserve (buf, size))
        return -1;
    memcpy (buf->data + buf->end, bytes, size);
    buf->end += size;
    return 0;
}

//  One frame's header and body on buf; 0 or -1.
static int
s_append_frame (s_buf_t *buf, unsigned char flags, const void *data, size_t size)
{
    unsigned char head [9];
    size_t head_size = 2;
    head [0] = flags;
    head [1] = (unsigned char) size;
    if (size > 255) {
        head [0] |= S_LONG;
        for (int i = 0; i < 8; i++)
            head [1 + i] = (unsigned char) ((uint64_t) size >> (56 - 8 * i));
        head_size = 9;
    }
    if (s_append (buf, head, head_size))
        return -1;
    return size ? s_append (buf, data, size) : 0;
}

static int
s_fail (zmtp_peer_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->failure, sizeof self->failure, format, args);
    va_end (args);
    return -1;
}

//  The next frame on the input, consumed when it has all arrived (frame->data
//  NULL when not). 0, or -1 when it is larger than any message of mtbroker.
static int
s_take_frame (zmtp_peer_t *self, s_frame_t *frame)
{
    size_t have = self->in.end - self->in.start;
    frame->data = NULL;
    if (have < 2)
        return 0;
    const unsigned char *at = (const unsigned char *) self->in.data + self->in.start;
    size_t head = (at [0] & S_LONG) ? 9 : 2;
    if (have < head)
        return 0;
    uint64_t body = at [1];
    if (head == 9)
        for (int i = 2; i < 9; i++)
            body = (body << 8) | at [i];
    if (body > MT_MAX_MESSAGE)
        return s_fail (self, "a frame of %llu bytes, over the %d a message may have",
                       (unsigned long long) body, MT_MAX_MESSAGE);
    if (have - head < body)
        return 0;
    frame->flags = at [0];
    frame->data = (const char *) at + head;
    frame->size = (size_t) body;
    self->in.start += head + (size_t) body;
    return 0;
}

//  tcp://A.B.C.D:PORT to an address; 0 or -1.
static int
s_address (const char *endpoint, struct sockaddr_in *addr)
{
    char host [64];
    int port;
    if (sscanf (endpoint, "tcp://%63[0-9.]:%d", host, &port) != 2 || port < 1 || port > 65535)
        return -1;
    memset (addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons ((uint16_t) port);
    return inet_pton (AF_INET, host, &addr->sin_addr) == 1 ? 0 : -1;
}

//  Wait until the socket is ready for events or the deadline (zclock_mono,
//  ms) passes; 0, or -1 at the deadline.
static int
s_wait (zmtp_peer_t *self, short events, int64_t deadline)
{
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            return -1;
        struct pollfd item = { .fd = self->fd, .events = events };
        int rc = poll (&item, 1, (int) left);
        if (rc == 1)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

static int
s_connect (zmtp_peer_t *self, const struct sockaddr_in *addr, int64_t deadline)
{
    int one = 1;
    self->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (self->fd < 0)
        return s_fail (self, "socket: %s", strerror (errno));
    //  As libzmq does on its TCP connections
    setsockopt (self->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect (self->fd, (const struct sockaddr *) addr, sizeof *addr) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return s_fail (self, "%s", strerror (errno));
    int err = 0;
    socklen_t len = sizeof err;
    if (s_wait (self, POLLOUT, deadline))
        return s_fail (self, "no connection in time");
    if (getsockopt (self->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
        return s_fail (self, "%s", strerror (err ? err : errno));
    return 0;
}

//  Greeting and READY, both ways; 0 or -1.
static int
s_handshake (zmtp_peer_t *self, int64_t deadline)
{
    unsigned char greeting [S_GREETING] = { 0xFF };
    greeting [9] = 0x7F;
    greeting [10] = 3;                           // ZMTP 3.0
    memcpy (greeting + 12, "NULL", 4);           // mechanism; as-server 0
    static const char ready [] = "\5READY" "\13Socket-Type" "\0\0\0\6DEALER";
    if (s_append (&self->out, greeting, sizeof greeting)
    ||  s_append_frame (&self->out, S_COMMAND, ready, sizeof ready - 1))
        return s_fail (self, "out of memory");
    while (zmtp_peer_pending (self))
        if (zmtp_peer_flush (self)
        ||  (zmtp_peer_pending (self) && s_wait (self, POLLOUT, deadline)))
            return s_fail (self, "cannot send the greeting");
    while (self->in.end - self->in.start < S_GREETING)
        if (s_wait (self, POLLIN, deadline) || zmtp_peer_read (self))
            return s_fail (self, "no ZMTP greeting");
    const unsigned char *peer = (const unsigned char *) self->in.data + self->in.start;
    if (peer [0] != 0xFF || peer [9] != 0x7F || peer [10] < 3 || memcmp (peer + 12, "NULL", 5))
        return s_fail (self, "not a ZMTP 3 server with the NULL mechanism");
    self->in.start += S_GREETING;
    s_frame_t frame;
    while (s_take_frame (self, &frame) == 0 && !frame.data)
        if (s_wait (self, POLLIN, deadline) || zmtp_peer_read (self))
            return s_fail (self, "no READY");
    if (!frame.data || !(frame.flags & S_COMMAND) || frame.size < 6
    ||  memcmp (frame.data, "\5READY", 6))
        return s_fail (self, "the server's first command is not READY");
    return 0;
}

zmtp_peer_t *
zmtp_peer_connect (const char *endpoint, int timeout_ms, char **cause)
{
    struct sockaddr_in addr;
    zmtp_peer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->fd = -1;
    int64_t deadline = zclock_mono () + timeout_ms;
    if (s_address (endpoint, &addr))
        s_fail (self, "not tcp://A.B.C.D:PORT");
    else
    if (s_connect (self, &addr, deadline) == 0 && s_handshake (self, deadline) == 0)
        return self;
    if (cause)
        *cause = zsys_sprintf ("%s: %s", endpoint, self->failure);
    zmtp_peer_destroy (&self);
    return NULL;
}

void
zmtp_peer_destroy (zmtp_peer_t **self_p)
{
    zmtp_peer_t *self = *self_p;
    if (!self)
        return;
    if (self->fd >= 0)
        close (self->fd);
    free (self->in.data);
    free (self->out.data);
    zmsg_destroy (&self->partial);
    free (self);
    *self_p = NULL;
}

int
zmtp_peer_fd (zmtp_peer_t *self)
{
    return self->fd;
}

const char *
zmtp_peer_failure (zmtp_peer_t *self)
{
    return self->failure;
}

int
zmtp_peer_encode (zmsg_t *frames, char **bytes, size_t *size)
{
    s_buf_t buf = { 0 };
    size_t count = zmsg_size (frames), index = 0;
    for (zframe_t *frame = zmsg_first (frames); frame; frame = zmsg_next (frames))
        if (s_append_frame (&buf, ++index < count ? S_MORE : 0, zframe_data (frame),
                            zframe_size (frame))) {
            free (buf.data);
            return -1;
        }
    *bytes = buf.data;
    *size = buf.end;
    return 0;
}

int
zmtp_peer_queue (zmtp_peer_t *self, const void *bytes, size_t size)
{
    return s_append (&self->out, bytes, size) ? s_fail (self, "out of memory") : 0;
}

int
zmtp_peer_queue_msg (zmtp_peer_t *self, zmsg_t *frames)
{
    size_t count = zmsg_size (frames), index = 0;
    for (zframe_t *frame = zmsg_first (frames); frame; frame = zmsg_next (frames))
        if (s_append_frame (&self->out, ++index < count ? S_MORE : 0, zframe_data (frame),
                            zframe_size (frame)))
            return s_fail (self, "out of memory");
    return 0;
}

bool
zmtp_peer_pending (zmtp_peer_t *self)
{
    return self->out.end > self->out.start;
}

int
zmtp_peer_flush (zmtp_peer_t *self)
{
    while (zmtp_peer_pending (self)) {
        ssize_t n = send (self->fd, self->out.data + self->out.start,
                          self->out.end - self->out.start, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno != EINTR)
            return s_fail (self, "send: %s", strerror (errno));
        if (n > 0)
            self->out.start += (size_t) n;
    }
    return 0;
}

int
zmtp_peer_read (zmtp_peer_t *self)
{
    if (s_reserve (&self->in, S_READ))
        return s_fail (self, "out of memory");
    ssize_t n = recv (self->fd, self->in.data + self->in.end, S_READ, 0);
    if (n > 0)
        self->in.end += (size_t) n;
    else
    if (n == 0)
        return s_fail (self, "the server closed the connection");
    else
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return s_fail (self, "recv: %s", strerror (errno));
    return 0;
}

int
zmtp_peer_next (zmtp_peer_t *self, zmsg_t **msg_p)
{
    *msg_p = NULL;
    s_frame_t frame;
    int rc;
    while ((rc = s_take_frame (self, &frame)) == 0 && frame.data) {
        if (frame.flags & S_COMMAND) {
            if (frame.size >= 6 && memcmp (frame.data, "\5ERROR", 6) == 0)
                return s_fail (self, "the server sent a ZMTP ERROR command");
            continue;                   // PING and the like: nothing to do
        }
        if (!self->partial && !(self->partial = zmsg_new ()))
            return s_fail (self, "out of memory");
        if (zmsg_addmem (self->partial, frame.data, frame.size))
            return s_fail (self, "out of memory");
        if (!(frame.flags & S_MORE)) {
            *msg_p = self->partial;
            self->partial = NULL;
            return 0;
        }
    }
    return rc;
}
