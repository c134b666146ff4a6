/*  bench_sse - N subscribers to the gateway's event stream; prints progress events' delays  */
//  usage: bench_sse HOST PORT SUBSCRIBERS SECONDS [TOKEN]
//  Opens SUBSCRIBERS connections to GET /api/v1/events, reads for SECONDS, and for every
//  `progress` event takes its receipt time (wall clock, ms) minus the event's `at` (the
//  broker's wall clock when the PROGRESS arrived): the delay from the broker to a
//  subscriber. Prints "connected N", then "delays COUNT p50 p90 p99 max" in ms, then
//  "gaps G resyncs R" (seq jumps seen on a connection; resync events). Exits 1 when a
//  connection failed.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)       // bytes one connection may hold unparsed

typedef struct {
    int fd;
    char *buf;
    size_t len;
    bool header_done;               // the HTTP response head was read
    long long last_seq;             // 0 before the first event
} s_conn_t;

typedef struct {
    double *delays;                 // ms
    size_t count, size;
    long gaps, resyncs;
} s_stats_t;

static double
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int
s_connect (const char *host, int port, const char *token)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (port) };
    if (fd < 0 || inet_pton (AF_INET, host, &addr.sin_addr) != 1
    ||  connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char request [1024];
    int n = snprintf (request, sizeof request,
                      "GET /api/v1/events HTTP/1.1\r\nHost: %s:%d\r\n"
                      "Accept: text/event-stream\r\n%s%s%s\r\n",
                      host, port, token ? "Authorization: Bearer " : "",
                      token ? token : "", token ? "\r\n" : "");
    if (write (fd, request, n) != n) {
        close (fd);
        return -1;
    }
    return fd;
}

static void
s_record (s_stats_t *stats, double delay)
{
    if (stats->count == stats->size) {
        stats->size = stats->size ? stats->size * 2 : 4096;
        stats->delays = realloc (stats->delays, stats->size * sizeof (double));
        if (!stats->delays) {
            fprintf (stderr, "bench_sse: out of memory\n");
            exit (1);
        }
    }
    stats->delays [stats->count++] = delay;
}

//  One SSE block: "event: T\nid: SEQ\ndata: {...}"
static void
s_event (s_conn_t *conn, char *block, double now, s_stats_t *stats)
{
    const char *event = strstr (block, "event: ");
    const char *id = strstr (block, "\nid: ");
    const char *data = strstr (block, "data: ");
    if (!event || !data)
        return;                     // a comment (ping)
    if (strncmp (event + 7, "resync", 6) == 0)
        stats->resyncs++;
    if (id) {
        long long seq = strtoll (id + 5, NULL, 10);
        if (conn->last_seq && seq != conn->last_seq + 1)
            stats->gaps++;
        conn->last_seq = seq;
    }
    if (strncmp (event + 7, "progress", 8) != 0)
        return;
    //  A block that a chunk's size line split may not parse: skip a nonsense `at`
    const char *at = strstr (data, "\"at\":");
    double at_ms = at ? strtod (at + 5, NULL) : 0;
    if (at_ms > 1e12 && at_ms < now + 60000)
        s_record (stats, now - at_ms);
}

//  Take whole blocks off the connection's buffer
static void
s_parse (s_conn_t *conn, double now, s_stats_t *stats)
{
    char *start = conn->buf;
    conn->buf [conn->len] = 0;
    if (!conn->header_done) {
        char *end = strstr (start, "\r\n\r\n");
        if (!end)
            return;
        if (strncmp (start, "HTTP/1.1 200", 12) != 0 && strncmp (start, "HTTP/1.0 200", 12) != 0) {
            fprintf (stderr, "bench_sse: the gateway answered %.40s\n", start);
            exit (1);
        }
        conn->header_done = true;
        start = end + 4;
    }
    //  a chunked body's size lines are between blocks; they hold no "event: "
    char *end;
    while ((end = strstr (start, "\n\n"))) {
        *end = 0;
        s_event (conn, start, now, stats);
        start = end + 2;
    }
    conn->len -= start - conn->buf;
    memmove (conn->buf, start, conn->len);
}

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double
s_percentile (s_stats_t *stats, double p)
{
    size_t i = (size_t) (p * (stats->count - 1) + 0.5);
    return stats->delays [i];
}

int
main (int argc, char *argv [])
{
    if (argc < 5) {
        fprintf (stderr, "usage: bench_sse HOST PORT SUBSCRIBERS SECONDS [TOKEN]\n");
        return 2;
    }
    int port = atoi (argv [2]), n = atoi (argv [3]);
    double seconds = atof (argv [4]);
    const char *token = argc > 5 ? argv [5] : NULL;
    int poll = epoll_create1 (0);
    s_conn_t *conns = calloc (n, sizeof *conns);
    s_stats_t stats = { 0 };
    for (int i = 0; i < n; i++) {
        conns [i].fd = s_connect (argv [1], port, token);
        conns [i].buf = malloc (BUF_SIZE + 1);
        if (conns [i].fd < 0 || !conns [i].buf) {
            fprintf (stderr, "bench_sse: connection %d failed: %s\n", i, strerror (errno));
            return 1;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns [i] };
        epoll_ctl (poll, EPOLL_CTL_ADD, conns [i].fd, &ev);
    }
    printf ("connected %d\n", n);
    fflush (stdout);
    double end = s_now_ms () + seconds * 1000;
    int open = n;
    while (open > 0 && s_now_ms () < end) {
        struct epoll_event events [64];
        int ready = epoll_wait (poll, events, 64, 100);
        double now = s_now_ms ();
        for (int i = 0; i < ready; i++) {
            s_conn_t *conn = events [i].data.ptr;
            ssize_t got = read (conn->fd, conn->buf + conn->len, BUF_SIZE - conn->len);
            if (got <= 0) {
                fprintf (stderr, "bench_sse: a connection closed: %s\n",
                         got < 0 ? strerror (errno) : "end of stream");
                epoll_ctl (poll, EPOLL_CTL_DEL, conn->fd, NULL);
                open--;
                continue;
            }
            conn->len += got;
            s_parse (conn, now, &stats);
            if (conn->len == BUF_SIZE)
                conn->len = 0;      // a block larger than the buffer: drop it
        }
    }
    if (open < n) {
        fprintf (stderr, "bench_sse: %d of %d connections closed early\n", n - open, n);
        return 1;
    }
    if (stats.count == 0) {
        printf ("delays 0\n");
        return 1;
    }
    qsort (stats.delays, stats.count, sizeof (double), s_compare);
    printf ("delays %zu %.1f %.1f %.1f %.1f\n", stats.count, s_percentile (&stats, 0.5),
            s_percentile (&stats, 0.9), s_percentile (&stats, 0.99),
            stats.delays [stats.count - 1]);
    printf ("gaps %ld resyncs %ld\n", stats.gaps, stats.resyncs);
    return 0;
}
