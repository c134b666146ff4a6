/*  test_zmtp_peer - the benchmark's plain-socket ZMTP peer against a libzmq ROUTER  */
#include "../bench/zmtp_peer.h"
#include "testutil.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Frames of 0, 255 and 256 bytes (the short and long size forms) and one of
//  3 MiB (many partial reads and sends), each byte its frame's letter.
static const size_t s_sizes [] = { 0, 255, 256, 3 << 20 };
#define S_FRAMES (sizeof s_sizes / sizeof s_sizes [0])

static zmsg_t *
s_message (void)
{
    zmsg_t *msg = zmsg_new ();
    for (size_t i = 0; i < S_FRAMES; i++) {
        char *bytes = malloc (s_sizes [i] + 1);
        memset (bytes, 'a' + (int) i, s_sizes [i]);
        zmsg_addmem (msg, bytes, s_sizes [i]);
        free (bytes);
    }
    return msg;
}

static void
s_check_message (zmsg_t *msg)
{
    CHECK (zmsg_size (msg) == S_FRAMES);
    size_t i = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg), i++) {
        CHECK (zframe_size (frame) == s_sizes [i]);
        const unsigned char *data = zframe_data (frame);
        for (size_t k = 0; k < s_sizes [i]; k += 4099)
            CHECK (data [k] == 'a' + i);
    }
}

//  Send everything queued, waiting for room as needed.
static void
s_flush_all (zmtp_peer_t *peer)
{
    while (zmtp_peer_pending (peer)) {
        CHECK (zmtp_peer_flush (peer) == 0);
        struct pollfd item = { .fd = zmtp_peer_fd (peer), .events = POLLOUT };
        poll (&item, 1, 1000);
    }
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_rcvtimeo (router, 5000);
    zsock_set_sndtimeo (router, 5000);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    char *cause = NULL;
    zmtp_peer_t *peer = zmtp_peer_connect (endpoint, 5000, &cause);
    CHECK_MSG (peer, "connect: %s", cause ? cause : "?");

    //  Peer to ROUTER, three times over, one message encoded once
    zmsg_t *msg = s_message ();
    char *wire;
    size_t wire_size;
    CHECK (zmtp_peer_encode (msg, &wire, &wire_size) == 0);
    CHECK (zmtp_peer_queue_msg (peer, msg) == 0);
    CHECK (zmtp_peer_queue (peer, wire, wire_size) == 0);
    CHECK (zmtp_peer_queue_msg (peer, msg) == 0);
    free (wire);
    s_flush_all (peer);
    zframe_t *identity = NULL;
    for (int n = 0; n < 3; n++) {
        zmsg_t *got = zmsg_recv (router);
        CHECK (got);
        zframe_destroy (&identity);
        identity = zmsg_pop (got);
        s_check_message (got);
        zmsg_destroy (&got);
    }

    //  ROUTER to peer, three times; whole messages only, however they arrive
    for (int n = 0; n < 3; n++) {
        zmsg_t *copy = zmsg_dup (msg);
        zmsg_pushmem (copy, zframe_data (identity), zframe_size (identity));
        CHECK (zmsg_send (&copy, router) == 0);
    }
    int got = 0;
    while (got < 3) {
        struct pollfd item = { .fd = zmtp_peer_fd (peer), .events = POLLIN };
        CHECK_MSG (poll (&item, 1, 5000) == 1, "only %d of 3 messages came", got);
        CHECK (zmtp_peer_read (peer) == 0);
        zmsg_t *in;
        while (zmtp_peer_next (peer, &in) == 0 && in) {
            s_check_message (in);
            zmsg_destroy (&in);
            got++;
        }
    }
    zmsg_t *none;
    CHECK (zmtp_peer_next (peer, &none) == 0 && none == NULL);

    //  The server goes away: a read says so, with the reason
    zsock_destroy (&router);
    struct pollfd item = { .fd = zmtp_peer_fd (peer), .events = POLLIN };
    CHECK (poll (&item, 1, 5000) == 1);
    CHECK (zmtp_peer_read (peer) == -1);
    CHECK_STR_CONTAINS (zmtp_peer_failure (peer), "closed");
    zmsg_destroy (&msg);
    zframe_destroy (&identity);
    zmtp_peer_destroy (&peer);
    zmtp_peer_destroy (&peer);
    CHECK (peer == NULL);

    //  No server, a bad endpoint, a server that is not ZMTP: NULL and why
    free (cause);
    cause = NULL;
    CHECK (zmtp_peer_connect (endpoint, 1000, &cause) == NULL);
    CHECK_MSG (cause && strstr (cause, endpoint), "cause: %s", cause ? cause : "none");
    free (cause);
    cause = NULL;
    CHECK (zmtp_peer_connect ("tcp://localhost:1", 1000, &cause) == NULL);
    CHECK_STR_CONTAINS (cause, "not tcp://A.B.C.D:PORT");
    free (cause);
    cause = NULL;
    zsock_t *stream = zsock_new (ZMQ_STREAM);
    port = zsock_bind (stream, "tcp://127.0.0.1:*");
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    zmtp_peer_t *none_peer = zmtp_peer_connect (endpoint, 500, &cause);
    CHECK (none_peer == NULL);
    CHECK_STR_CONTAINS (cause, "greeting");
    free (cause);
    zsock_destroy (&stream);
    printf ("test_zmtp_peer: ok\n");
    return 0;
}
