/*  zmtp_peer - a ZMTP 3.0 DEALER on a plain TCP socket, for load generators  */
//  The benchmark drivers talk to their servers on plain sockets: beanstalkd
//  over its text protocol, mtbroker over ZMTP (RFC 23, NULL mechanism). A
//  peer has no I/O thread: what is queued goes out with one send per
//  flush, what one recv brings is cut into whole messages (zmsg_t) here.
#ifndef ZMTP_PEER_H_INCLUDED
#define ZMTP_PEER_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct zmtp_peer_t zmtp_peer_t;

//  Connect to tcp://A.B.C.D:PORT as a DEALER and finish the handshake
//  (greeting, READY both ways) within timeout_ms; the socket is non-blocking
//  afterwards. NULL on failure, with *cause (caller frees) when cause is set.
zmtp_peer_t *zmtp_peer_connect (const char *endpoint, int timeout_ms, char **cause);

//  Close the connection and free the peer; accepts NULL, safe twice.
void zmtp_peer_destroy (zmtp_peer_t **self_p);

//  The socket, for poll or epoll. Borrowed.
int zmtp_peer_fd (zmtp_peer_t *self);

//  Why the last call that returned -1 failed. Borrowed, "" before any failure.
const char *zmtp_peer_failure (zmtp_peer_t *self);

//  A message's frames as they go on the wire (caller frees *bytes), so a
//  message sent many times is encoded once. 0, or -1 out of memory.
int zmtp_peer_encode (zmsg_t *frames, char **bytes, size_t *size);

//  Queue wire bytes, or a message's frames (borrowed), for the next flush.
//  0, or -1 out of memory.
int zmtp_peer_queue (zmtp_peer_t *self, const void *bytes, size_t size);
int zmtp_peer_queue_msg (zmtp_peer_t *self, zmsg_t *frames);

//  True while queued bytes wait for the socket to take them.
bool zmtp_peer_pending (zmtp_peer_t *self);

//  Send what is queued, as far as the socket takes it without waiting.
//  0, or -1 when the connection failed.
int zmtp_peer_flush (zmtp_peer_t *self);

//  Read what the socket has, without waiting. 0, or -1 when the server
//  closed the connection or the read failed.
int zmtp_peer_read (zmtp_peer_t *self);

//  The next whole message read into *msg_p (caller owns; NULL when none is
//  complete yet). ZMTP's own commands are skipped, but an ERROR command
//  fails. 0, or -1 when what came is not a message from
//  mtbroker (a frame over MT_MAX_MESSAGE, an ERROR, out of memory).
int zmtp_peer_next (zmtp_peer_t *self, zmsg_t **msg_p);

#endif
