/*  zmtp_peer - a ZMTP 3.0 DEALER on a plain TCP socket, for load generators  */
#include "zmtp_peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_GREETING  64
#define S_MORE      0x01
#define S_LONG      0x02
#define S_COMMAND   0x04
#define S_MAX_FRAME (64 << 20)   // larger than anything the broker sends
#define S_READ      (64 << 10)   // bytes asked of one read

typedef struct {
    char *data;
    size_t start;                // bytes before start are consumed
    size_t end;                  // bytes up to end are filled
    size_t size;
} s_buf_t;

struct zmtp_peer_t {
    int fd;
    s_buf_t in;
    s_buf_t out;
    zmsg_t *partial;             // frames of a message not yet whole
};

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
    size_t head_size;
    if (size > 255) {
        head [0] = flags | S_LONG;
        for (int i = 0; i < 8; i++)
            head [1 + i] = (unsigned char) ((uint64_t) size >> (56 - 8 * i));
        head_size = 9;
    }
    else {
        head [0] = flags;
        head [1] = (unsigned char) size;
        head_size = 2;
    }
    if (s_append (buf, head, head_size))
        return -1;
    return size ? s_append (buf, data, size) : 0;
}

//  The next whole frame on the input: 1 (flags, data and size set; its bytes
//  consumed), 0 when it has not all arrived, -1 when it is too large.
static int
s_take_frame (zmtp_peer_t *self, unsigned char *flags, const char **data, size_t *size)
{
    const unsigned char *at = (const unsigned char *) self->in.data + self->in.start;
    size_t have = self->in.end - self->in.start;
    if (have < 2)
        return 0;
    size_t head = (at [0] & S_LONG) ? 9 : 2;
    if (have < head)
        return 0;
    uint64_t body = 0;
    if (head == 9)
        for (int i = 0; i < 8; i++)
            body = (body << 8) | at [1 + i];
    else
        body = at [1];
    if (body > S_MAX_FRAME) {
        fprintf (stderr, "zmtp_peer: a frame of %llu bytes: not ZMTP from mtbroker\n",
                 (unsigned long long) body);
        return -1;
    }
    if (have < head + body)
        return 0;
    *flags = at [0];
    *data = (const char *) at + head;
    *size = (size_t) body;
    self->in.start += head + (size_t) body;
    return 1;
}

//  Wait up to timeout_ms for the socket to be readable, then read; 0 when
//  something was read, -1 on a timeout or an error.
static int
s_read_wait (zmtp_peer_t *self, int timeout_ms)
{
    struct pollfd item = { .fd = self->fd, .events = POLLIN };
    if (poll (&item, 1, timeout_ms) != 1)
        return -1;
    size_t before = self->in.end - self->in.start;
    if (zmtp_peer_read (self))
        return -1;
    return self->in.end - self->in.start > before ? 0 : -1;
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

//  Greeting and READY, both ways; 0 or -1 (the reason on stderr).
static int
s_handshake (zmtp_peer_t *self, const char *endpoint, int timeout_ms)
{
    unsigned char greeting [S_GREETING] = { 0xFF };
    greeting [9] = 0x7F;
    greeting [10] = 3;                           // ZMTP 3.0
    memcpy (greeting + 12, "NULL", 4);           // mechanism; as-server 0
    static const char ready [] = "\5READY" "\13Socket-Type" "\0\0\0\6DEALER";
    if (s_append (&self->out, greeting, sizeof greeting)
    ||  s_append_frame (&self->out, S_COMMAND, ready, sizeof ready - 1)
    ||  zmtp_peer_flush (self) || zmtp_peer_pending (self)) {
        fprintf (stderr, "zmtp_peer: %s: cannot send the greeting\n", endpoint);
        return -1;
    }
    while (self->in.end - self->in.start < S_GREETING)
        if (s_read_wait (self, timeout_ms)) {
            fprintf (stderr, "zmtp_peer: %s: no ZMTP greeting\n", endpoint);
            return -1;
        }
    const unsigned char *peer = (const unsigned char *) self->in.data + self->in.start;
    if (peer [0] != 0xFF || peer [9] != 0x7F || peer [10] < 3 || memcmp (peer + 12, "NULL", 5)) {
        fprintf (stderr, "zmtp_peer: %s: not a ZMTP 3 peer with the NULL mechanism\n",
                 endpoint);
        return -1;
    }
    self->in.start += S_GREETING;
    unsigned char flags;
    const char *data;
    size_t size;
    int rc;
    while ((rc = s_take_frame (self, &flags, &data, &size)) == 0)
        if (s_read_wait (self, timeout_ms)) {
            fprintf (stderr, "zmtp_peer: %s: no READY\n", endpoint);
            return -1;
        }
    if (rc < 0 || !(flags & S_COMMAND) || size < 6 || memcmp (data, "\5READY", 6)) {
        fprintf (stderr, "zmtp_peer: %s: the peer's first command is not READY\n", endpoint);
        return -1;
    }
    return 0;
}

zmtp_peer_t *
zmtp_peer_connect (const char *endpoint, int timeout_ms)
{
    struct sockaddr_in addr;
    if (s_address (endpoint, &addr)) {
        fprintf (stderr, "zmtp_peer: %s: not tcp://A.B.C.D:PORT\n", endpoint);
        return NULL;
    }
    zmtp_peer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    int one = 1;
    self->fd = socket (AF_INET, SOCK_STREAM, 0);
    if (self->fd < 0 || connect (self->fd, (struct sockaddr *) &addr, sizeof addr)) {
        fprintf (stderr, "zmtp_peer: %s: %s\n", endpoint, strerror (errno));
        zmtp_peer_destroy (&self);
        return NULL;
    }
    //  As libzmq does on its TCP connections
    setsockopt (self->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl (self->fd, F_SETFL, fcntl (self->fd, F_GETFL) | O_NONBLOCK)
    ||  s_handshake (self, endpoint, timeout_ms))
        zmtp_peer_destroy (&self);
    return self;
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

int
zmtp_wire (zmsg_t *frames, char **bytes, size_t *size)
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
    return s_append (&self->out, bytes, size);
}

int
zmtp_peer_queue_msg (zmtp_peer_t *self, zmsg_t *frames)
{
    size_t count = zmsg_size (frames), index = 0;
    for (zframe_t *frame = zmsg_first (frames); frame; frame = zmsg_next (frames))
        if (s_append_frame (&self->out, ++index < count ? S_MORE : 0, zframe_data (frame),
                            zframe_size (frame)))
            return -1;
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
        if (n < 0 && errno != EINTR) {
            fprintf (stderr, "zmtp_peer: send: %s\n", strerror (errno));
            return -1;
        }
        if (n > 0)
            self->out.start += (size_t) n;
    }
    self->out.start = self->out.end = 0;
    return 0;
}

int
zmtp_peer_read (zmtp_peer_t *self)
{
    if (s_reserve (&self->in, S_READ))
        return -1;
    ssize_t n = recv (self->fd, self->in.data + self->in.end, S_READ, 0);
    if (n > 0) {
        self->in.end += (size_t) n;
        return 0;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    fprintf (stderr, "zmtp_peer: the broker %s\n",
             n == 0 ? "closed the connection" : strerror (errno));
    return -1;
}

int
zmtp_peer_next (zmtp_peer_t *self, zmsg_t **msg_p)
{
    unsigned char flags;
    const char *data;
    size_t size;
    int rc;
    while ((rc = s_take_frame (self, &flags, &data, &size)) == 1) {
        if (flags & S_COMMAND)
            continue;
        if (!self->partial)
            self->partial = zmsg_new ();
        zmsg_addmem (self->partial, data, size);
        if (!(flags & S_MORE)) {
            *msg_p = self->partial;
            self->partial = NULL;
            return 1;
        }
    }
    return rc;
}
