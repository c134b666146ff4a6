/*  bench_beanstalkd - beanstalkd's put -> reserve -> delete rate, pipelined, for comparison  */
//  Producers keep WINDOW puts in flight each, topped up with one write;
//  consumers hold one job at a time each (reserve, then delete and reserve
//  again), as mt's workers do. Which connections to read is learnt from
//  epoll, as bench_broker does for its sockets.
//  The body is an mt spec of the same size as bench_broker's. Bounded: the
//  run gives up after S_RUN_MS. Prints one human line and one RESULT line.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_RUN_MS    600000       // one run, at most, ms
#define S_MAX_CONNS 256
#define S_BUF       (1 << 16)

typedef struct {
    int fd;
    bool producer;
    int inflight;                // producer: puts not yet answered
    char in [S_BUF];
    size_t have;
    size_t skip;                 // consumer: body bytes still to drop
} s_conn_t;

static const char s_body [] = "{\"data_hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef"
                              "0123456789abcdef\",\"target\":\"y\",\"epochs\":1}";

static int s_connect (int port);
static int s_write (int fd, const char *data, size_t size);
static int s_read (s_conn_t *conn, int *put_acked, int *deleted);
static double s_now (void);
static double s_cpu_seconds (void);

int
main (int argc, char **argv)
{
    if (argc != 6) {
        fprintf (stderr, "usage: bench_beanstalkd PORT JOBS PRODUCERS WINDOW CONSUMERS\n");
        return 2;
    }
    int port = atoi (argv [1]), jobs = atoi (argv [2]), producers = atoi (argv [3]);
    int window = atoi (argv [4]), consumers = atoi (argv [5]);
    int n = producers + consumers;
    if (jobs < 1 || producers < 1 || window < 1 || consumers < 1 || n > S_MAX_CONNS)
        return 2;
    static s_conn_t conns [S_MAX_CONNS];
    int ep = epoll_create1 (0);
    if (ep < 0) {
        perror ("bench_beanstalkd: epoll_create1");
        return 1;
    }
    double start = s_now ();
    for (int i = 0; i < n; i++) {
        //  beanstalkd may still be starting: retry for up to a second
        for (int tries = 0; (conns [i].fd = s_connect (port)) < 0 && tries < 100; tries++)
            usleep (10000);
        if (conns [i].fd < 0) {
            fprintf (stderr, "bench_beanstalkd: cannot connect to 127.0.0.1:%d\n", port);
            return 1;
        }
        conns [i].producer = i < producers;
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t) i };
        if (epoll_ctl (ep, EPOLL_CTL_ADD, conns [i].fd, &ev)) {
            perror ("bench_beanstalkd: epoll_ctl");
            return 1;
        }
        if (!conns [i].producer && s_write (conns [i].fd, "reserve\r\n", 9))
            return 1;
    }
    char put [256];
    int len = snprintf (put, sizeof put, "put 0 0 60 %zu\r\n%s\r\n", strlen (s_body), s_body);
    static char puts [S_BUF];
    if ((size_t) window * (size_t) len > sizeof puts) {
        fprintf (stderr, "bench_beanstalkd: a window of %d puts is over %zu bytes\n", window,
                 sizeof puts);
        return 2;
    }
    int submitted = 0, acked = 0, deleted = 0;
    start = s_now ();
    double cpu = s_cpu_seconds ();
    while (deleted < jobs && (s_now () - start) * 1000 < S_RUN_MS) {
        for (int i = 0; i < producers; i++) {
            size_t size = 0;
            while (conns [i].inflight < window && submitted < jobs) {
                memcpy (puts + size, put, (size_t) len);
                size += (size_t) len;
                conns [i].inflight++;
                submitted++;
            }
            if (size && s_write (conns [i].fd, puts, size))
                return 1;
        }
        struct epoll_event events [S_MAX_CONNS];
        int ready = epoll_wait (ep, events, S_MAX_CONNS, 100);
        if (ready < 0 && errno != EINTR)
            return 1;
        for (int e = 0; e < ready; e++)
            if (s_read (&conns [events [e].data.u32], &acked, &deleted))
                return 1;
    }
    double secs = s_now () - start;
    cpu = s_cpu_seconds () - cpu;
    for (int i = 0; i < n; i++)
        close (conns [i].fd);
    close (ep);
    if (deleted < jobs) {
        fprintf (stderr, "bench_beanstalkd: %d of %d jobs deleted in time\n", deleted, jobs);
        return 1;
    }
    printf ("%d jobs (%d producers x window %d, %d consumers) in %.2f s: %.0f jobs/s"
            " put -> reserve -> delete (driver CPU %.2f s)\n", jobs, producers, window, consumers,
            secs, jobs / secs, cpu);
    printf ("RESULT mode=beanstalkd jobs=%d secs=%.3f jobs_per_s=%.0f driver_cpu_s=%.3f\n", jobs,
            secs, jobs / secs, cpu);
    return 0;
}

static int
s_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int one = 1;
    if (fd < 0)
        return -1;
    if (connect (fd, (struct sockaddr *) &addr, sizeof addr)) {
        close (fd);
        return -1;
    }
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

//  Write all of data (the socket is blocking; replies are small, so the
//  server never waits on us for long).
static int
s_write (int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write (fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            perror ("bench_beanstalkd: write");
            return -1;
        }
        data += n;
        size -= (size_t) n;
    }
    return 0;
}

//  Read what arrived and act on each complete reply line.
static int
s_read (s_conn_t *conn, int *acked, int *deleted)
{
    ssize_t got = read (conn->fd, conn->in + conn->have, sizeof conn->in - conn->have);
    if (got <= 0) {
        fprintf (stderr, "bench_beanstalkd: the server closed the connection\n");
        return -1;
    }
    conn->have += (size_t) got;
    size_t at = 0;
    while (at < conn->have) {
        if (conn->skip) {
            size_t drop = conn->have - at < conn->skip ? conn->have - at : conn->skip;
            at += drop;
            conn->skip -= drop;
            continue;
        }
        char *eol = memchr (conn->in + at, '\n', conn->have - at);
        if (!eol)
            break;
        *eol = 0;
        char *line = conn->in + at;
        at = (size_t) (eol - conn->in) + 1;
        unsigned long long id;
        size_t bytes;
        char cmd [64];
        if (conn->producer && strncmp (line, "INSERTED ", 9) == 0) {
            conn->inflight--;
            (*acked)++;
        }
        else
        if (!conn->producer && sscanf (line, "RESERVED %llu %zu", &id, &bytes) == 2) {
            conn->skip = bytes + 2;
            int len = snprintf (cmd, sizeof cmd, "delete %llu\r\nreserve\r\n", id);
            if (s_write (conn->fd, cmd, (size_t) len))
                return -1;
        }
        else
        if (!conn->producer && strncmp (line, "DELETED", 7) == 0)
            (*deleted)++;
        else {
            fprintf (stderr, "bench_beanstalkd: unexpected reply: %s\n", line);
            return -1;
        }
    }
    memmove (conn->in, conn->in + at, conn->have - at);
    conn->have -= at;
    return 0;
}

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
s_cpu_seconds (void)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}
