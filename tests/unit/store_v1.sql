-- store_v1 - a job database as the first mtbroker schema (version 1) left it, for test_store's migration test
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  name TEXT, key TEXT UNIQUE,
  state TEXT NOT NULL,
  spec TEXT NOT NULL,
  data_hash TEXT,
  priority INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_retries INTEGER NOT NULL DEFAULT 3,
  worker TEXT,
  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
  not_before INTEGER NOT NULL DEFAULT 0,
  epoch INTEGER, epochs INTEGER, step INTEGER, steps INTEGER,
  loss REAL, val_loss REAL, val_metric REAL, samples_per_sec REAL, eta_s REAL,
  updated_at INTEGER,
  metrics TEXT, error TEXT, model_hash TEXT,
  checkpoint_hash TEXT, checkpoint_epoch INTEGER NOT NULL DEFAULT 0);
CREATE INDEX jobs_queue ON jobs (state, priority DESC, id);
CREATE TABLE attempts (
  job INTEGER NOT NULL REFERENCES jobs (id), attempt INTEGER NOT NULL,
  worker TEXT, started_at INTEGER, finished_at INTEGER, outcome TEXT,
  resumed_from_epoch INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job, attempt));
CREATE TABLE progress (
  job INTEGER NOT NULL, attempt INTEGER NOT NULL, at INTEGER NOT NULL,
  epoch INTEGER, step INTEGER, loss REAL, val_loss REAL, val_metric REAL);
CREATE INDEX progress_job ON progress (job, attempt);
-- 1: succeeded on its first attempt
INSERT INTO jobs VALUES (1, 'done', NULL, 'succeeded', '{"target":"y","data_path":"/x.csv"}', NULL,
  0, 1, 3, 'h:1', 1000, 2000, 3000, 0, 2, 2, 20, 20, 0.5, NULL, NULL, 400.0, 0.0, 2900,
  '{"loss":0.5}', NULL, 'aa', NULL, 0);
INSERT INTO attempts VALUES (1, 1, 'h:1', 2000, 3000, 'succeeded', 0);
INSERT INTO progress VALUES (1, 1, 2500, 1, 10, 0.9, NULL, NULL);
INSERT INTO progress VALUES (1, 1, 2900, 2, 20, 0.5, NULL, NULL);
-- 2: running its second attempt, resumed from epoch 3 after its first worker was lost
INSERT INTO jobs VALUES (2, 'resumed', NULL, 'running', '{"target":"y","data_path":"/x.csv"}', NULL,
  0, 2, 3, 'h:2', 1100, 2100, NULL, 0, 4, 10, 40, 100, 0.25, 0.3, 0.75, 300.0, 12.5, 5900,
  NULL, NULL, NULL, 'cc', 3);
INSERT INTO attempts VALUES (2, 1, 'h:1', 2100, 4000, 'worker_lost', 0);
INSERT INTO attempts VALUES (2, 2, 'h:2', 5000, NULL, NULL, 3);
INSERT INTO progress VALUES (2, 1, 3000, 3, 30, 0.4, 0.45, 0.7);
INSERT INTO progress VALUES (2, 2, 5900, 4, 40, 0.25, 0.3, 0.75);
-- 3 and 4: queued, one with an idempotency key
INSERT INTO jobs (id, name, key, state, spec, created_at)
  VALUES (3, 'keyed', 'key-1', 'queued', '{"target":"y","data_path":"/x.csv"}', 1200);
INSERT INTO jobs (id, name, state, spec, priority, created_at)
  VALUES (4, 'plain', 'queued', '{"target":"y","data_path":"/x.csv"}', 5, 1300);
-- 5: queued, warm-started from a model, with a time limit (schema 6 keeps both in columns)
INSERT INTO jobs (id, name, state, spec, created_at)
  VALUES (5, 'warm', 'queued', '{"target":"y","data_path":"/x.csv","init_hash":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","time_limit_s":90}', 1400);
PRAGMA user_version = 1;
