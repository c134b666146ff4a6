/*  test_trainer - the training process kept across jobs: commands on fd 4, "exit" ends a job, stops name their job  */
#include "testutil.h"
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_WAIT_MS 30000         // a line that does not come in this long fails the test

typedef struct {
    pid_t pid;
    int report;                 // our end of its fd 3
    int command;                // our end of its fd 4
    char buf [1 << 16];
    size_t len;
} s_trainer_t;

static char s_dir [256];
static char s_csv [512];

//  A training process as the agent makes one: signals blocked until it
//  takes them, reports on fd 3, commands on fd 4.
static void
s_start (s_trainer_t *t)
{
    int report [2], command [2];
    CHECK (pipe (report) == 0 && pipe (command) == 0);
    sigset_t stops, was;
    sigemptyset (&stops);
    sigaddset (&stops, SIGTERM);
    sigaddset (&stops, SIGINT);
    sigaddset (&stops, AGENT_STOP_SIGNAL);
    sigprocmask (SIG_BLOCK, &stops, &was);
    pid_t pid = fork ();
    CHECK (pid >= 0);
    if (pid == 0) {
        int r = fcntl (report [1], F_DUPFD, 10), c = fcntl (command [0], F_DUPFD, 10);
        if (r < 0 || c < 0 || dup2 (r, 3) != 3 || dup2 (c, 4) != 4)
            _exit (99);
        close_range (5, ~0U, 0);
        _exit (agent_child_serve ());
    }
    sigprocmask (SIG_SETMASK, &was, NULL);
    close (report [1]);
    close (command [0]);
    *t = (s_trainer_t) { .pid = pid, .report = report [0], .command = command [1] };
}

//  The job of sequence number seq: epochs epochs of the test table in a
//  folder of its own.
static void
s_job (s_trainer_t *t, uint32_t seq, int epochs)
{
    static int made = 0;        // folders made: the second process numbers from 1 again
    char folder [300], spec [256], text [2048];
    snprintf (folder, sizeof folder, "%s/job%u-%d", s_dir, seq, ++made);
    CHECK (mkdir (folder, 0700) == 0);
    snprintf (spec, sizeof spec, "{\"target\":\"y\",\"epochs\":%d,\"val_split\":0,"
              "\"data_path\":\"t.csv\"}", epochs);
    const char *args [] = { folder, "mtworker", "--train-child", "--dir", folder, "--spec-json",
                            spec, "--threads", "1", "--progress-ms", "0",
                            "--checkpoint-min-ms", "0", "--data", s_csv };
    size_t len = 0;
    for (size_t i = 0; i < sizeof args / sizeof args [0]; i++) {
        size_t n = strlen (args [i]) + 1;
        memcpy (text + 8 + len, args [i], n);
        len += n;
    }
    uint32_t head [2] = { (uint32_t) len, seq };
    memcpy (text, head, sizeof head);
    CHECK (write (t->command, text, 8 + len) == (ssize_t) (8 + len));
}

//  The next report line whose kind is one of kinds ("|"-separated), the
//  lines before it skipped; fails after S_WAIT_MS. Returns its kind's
//  first letter.
static char
s_until (s_trainer_t *t, const char *kinds)
{
    struct timespec start;
    clock_gettime (CLOCK_MONOTONIC, &start);
    for (;;) {
        char *nl;
        while ((nl = memchr (t->buf, '\n', t->len))) {
            *nl = 0;
            char kind [32];
            snprintf (kind, sizeof kind, "|%.*s|", (int) strcspn (t->buf, " "), t->buf);
            char want [128];
            snprintf (want, sizeof want, "|%s|", kinds);
            size_t used = (size_t) (nl + 1 - t->buf);
            char first = t->buf [0];
            memmove (t->buf, nl + 1, t->len - used);
            t->len -= used;
            if (strstr (want, kind))
                return first;
        }
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        CHECK_MSG (waited < S_WAIT_MS, "no '%s' line in %d ms", kinds, S_WAIT_MS);
        struct pollfd p = { .fd = t->report, .events = POLLIN };
        poll (&p, 1, 100);
        if (p.revents) {
            ssize_t n = read (t->report, t->buf + t->len, sizeof t->buf - 1 - t->len);
            CHECK_MSG (n > 0, "the training process ended, waiting for '%s'", kinds);
            t->len += (size_t) n;
        }
    }
}

static void
s_stop (s_trainer_t *t, uint32_t seq)
{
    union sigval value = { .sival_int = (int) seq };
    CHECK (sigqueue (t->pid, AGENT_STOP_SIGNAL, value) == 0);
}

//  The exit status of t, waited for at most S_WAIT_MS; -1 if it ran on.
static int
s_reaped (s_trainer_t *t)
{
    for (int i = 0; i < S_WAIT_MS / 10; i++) {
        int status;
        if (waitpid (t->pid, &status, WNOHANG) == t->pid)
            return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        usleep (10000);
    }
    kill (t->pid, SIGKILL);
    waitpid (t->pid, NULL, 0);
    return -1;
}

int
main (void)
{
    test_temp_dir (s_dir, sizeof s_dir, "mt-trainer");
    snprintf (s_csv, sizeof s_csv, "%s/t.csv", s_dir);
    FILE *f = fopen (s_csv, "w");
    CHECK (f);
    fprintf (f, "a,b,y\n");
    for (int i = 0; i < 400; i++)
        fprintf (f, "%d,%d,%d\n", i % 17, i % 5, (i * 7) % 11);
    fclose (f);

    s_trainer_t t;
    s_start (&t);
    //  A job that would run for ever, stopped by its own number
    s_job (&t, 1, 1000000);
    CHECK (s_until (&t, "progress") == 'p');
    s_stop (&t, 1);
    CHECK_MSG (s_until (&t, "done|stopped") == 's', "job 1 was not stopped");
    CHECK (s_until (&t, "exit") == 'e');

    //  A late stop, for job 1, after it ended: job 2 runs to its end
    s_stop (&t, 1);
    s_job (&t, 2, 3);
    CHECK_MSG (s_until (&t, "done|stopped") == 'd', "a late stop for job 1 stopped job 2");
    CHECK (s_until (&t, "exit") == 'e');
    char model [320];
    snprintf (model, sizeof model, "%s/job2-2/model.safetensors", s_dir);
    struct stat st;
    CHECK_MSG (stat (model, &st) == 0 && st.st_size > 8, "job 2 wrote no model");

    //  An early stop, for job 3, sent before its command: job 3 stops
    s_stop (&t, 3);
    usleep (50000);             // taken, while the process waits between jobs
    s_job (&t, 3, 1000000);
    CHECK_MSG (s_until (&t, "done|stopped") == 's', "an early stop for job 3 was lost");
    CHECK (s_until (&t, "exit") == 'e');

    //  A job after a stopped one runs as on a fresh process; then one whose
    //  folder is gone fails with a reason, and the process goes on
    s_job (&t, 4, 2);
    CHECK (s_until (&t, "done|error|bad_input") == 'd');
    CHECK (s_until (&t, "exit") == 'e');
    snprintf (model, sizeof model, "%s/job5-never-made", s_dir);
    char text [1024];
    const char *args [] = { model, "mtworker", "--train-child" };
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        memcpy (text + 8 + len, args [i], strlen (args [i]) + 1);
        len += strlen (args [i]) + 1;
    }
    uint32_t head [2] = { (uint32_t) len, 5 };
    memcpy (text, head, sizeof head);
    CHECK (write (t.command, text, 8 + len) == (ssize_t) (8 + len));
    CHECK (s_until (&t, "done|error|bad_input") == 'e');
    CHECK (s_until (&t, "exit") == 'e');

    //  The end of its commands (the agent gone) ends it
    close (t.command);
    CHECK_MSG (s_reaped (&t) == 0, "the process did not leave at the end of its commands");
    close (t.report);

    //  A plain SIGTERM between jobs ends another one; during a job, it
    //  stops that job first
    s_start (&t);
    s_job (&t, 1, 1000000);
    CHECK (s_until (&t, "progress") == 'p');
    CHECK (kill (t.pid, SIGTERM) == 0);
    CHECK (s_until (&t, "done|stopped") == 's');
    CHECK (s_until (&t, "exit") == 'e');
    CHECK_MSG (s_reaped (&t) == 0, "a plain SIGTERM did not end the process");
    close (t.command);
    close (t.report);

    test_remove_dir (s_dir);
    printf ("test_trainer: ok\n");
    return 0;
}
