/*  zmtp_peer - a ZMTP 3.0 DEALER on a plain TCP socket, for load generators  */
//  The benchmark drivers talk to their servers on plain sockets: beanstalkd
//  over its text protocol, mtbroker over ZMTP (RFC 23, NULL mechanism). A
//  peer has no I/O thread: what is queued goes out with one write per
//  flush, what one read brings is cut into whole messages (zmsg_t) here.
#ifndef ZMTP_PEER_H_INCLUDED
#define ZMTP_PEER_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct zmtp_peer_t zmtp_peer_t;

//  Connect to tcp://A.B.C.D:PORT as a DEALER and finish the handshake
//  (greeting, READY both ways) within timeout_ms. NULL, with the reason on
//  stderr, when that fails. The socket is non-blocking afterwards.
zmtp_peer_t *zmtp_peer_connect (const char *endpoint, int timeout_ms);
void zmtp_peer_destroy (zmtp_peer_t **self_p);
int zmtp_peer_fd (zmtp_peer_t *self);

//  A message's frames as they go on the wire (caller frees *bytes), so a
//  message sent many times is encoded once. Returns 0, or -1 out of memory.
int zmtp_wire (zmsg_t *frames, char **bytes, size_t *size);

//  Queue wire bytes or a message's frames for the next flush; 0 or -1.
int zmtp_peer_queue (zmtp_peer_t *self, const void *bytes, size_t size);
int zmtp_peer_queue_msg (zmtp_peer_t *self, zmsg_t *frames);
bool zmtp_peer_pending (zmtp_peer_t *self);

//  Write what is queued, as far as the socket takes it: 0, or -1 on an error.
int zmtp_peer_flush (zmtp_peer_t *self);

//  Read what the socket has (never waits): 0, or -1 when the broker closed
//  the connection or sent what is not ZMTP (the reason on stderr).
int zmtp_peer_read (zmtp_peer_t *self);

//  The next whole message read into *msg_p (caller owns): 1, 0 when none is
//  complete, -1 when a frame is too large to be the broker's (on stderr).
//  Commands (ZMTP's own frames) are skipped.
int zmtp_peer_next (zmtp_peer_t *self, zmsg_t **msg_p);

#endif
