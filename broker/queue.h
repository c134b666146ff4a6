/*  queue - the queued jobs in memory, in dispatch order: priority with aging, then age  */
#ifndef MT_QUEUE_H_INCLUDED
#define MT_QUEUE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_AGING_MS 60000    // a queued job gains one priority level per minute waited

//  The store holds the truth; the queue mirrors its queued jobs so dispatch
//  and the per-client limit need no database read. Changes made between
//  queue_begin and queue_commit are undone by queue_rollback, so the queue
//  follows a transaction that fails to commit.
typedef struct queue_t queue_t;

queue_t *queue_new (void);
void queue_destroy (queue_t **self_p);

//  Add a queued job. It may start from not_before (ms since epoch; 0 = at
//  once) and ranks by priority plus one level per QUEUE_AGING_MS since
//  created_at. client names the submitter for queue_count. Returns 0, or -1
//  when the job is queued already or memory ran out.
int queue_add (queue_t *self, int64_t id, int priority, int64_t created_at, int64_t not_before,
               const char *client);

//  Take a job out (it started or was stopped). Returns 0, or -1 when it was
//  not queued.
int queue_remove (queue_t *self, int64_t id);

//  The job to start at now_ms: highest effective priority among the jobs
//  whose not_before has passed, the oldest (lowest id) among equals; 0 when
//  none. The job stays queued until queue_remove.
int64_t queue_next (queue_t *self, int64_t now_ms);

//  Since when job id may start (ms since epoch): the latest of its
//  created_at, its not_before and the time given to queue_set_since (when
//  it was queued again); 0 when it is not queued. For the queue's wait
//  times only: it changes no order.
int64_t queue_since (queue_t *self, int64_t id);
void queue_set_since (queue_t *self, int64_t id, int64_t since_ms);

//  Jobs queued by client; all queued jobs.
int64_t queue_count (queue_t *self, const char *client);
size_t queue_size (queue_t *self);

//  Start recording changes; forget them (commit) or undo them (rollback).
void queue_begin (queue_t *self);
void queue_commit (queue_t *self);
void queue_rollback (queue_t *self);

#endif
