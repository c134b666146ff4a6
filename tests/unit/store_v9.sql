-- store_v9 - a job database as schema version 9 left it, for test_store's migration test:
-- store_v8.sql's jobs taken up by the migration step 8 -> 9, with a stopped sweep whose two
-- trials never started and two epochs' metrics of a trial, then dumped
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS "attempts" (  job INTEGER NOT NULL REFERENCES jobs (id), attempt INTEGER NOT NULL,  worker TEXT, started_at INTEGER, finished_at INTEGER, outcome TEXT,  resumed_from_epoch INTEGER NOT NULL DEFAULT 0,  PRIMARY KEY (job, attempt)) WITHOUT ROWID;
INSERT INTO attempts VALUES(1,1,'h:1',2000,3000,'succeeded',0);
INSERT INTO attempts VALUES(2,1,'h:1',2100,4000,'worker_lost',0);
CREATE TABLE IF NOT EXISTS "jobs" (  id INTEGER PRIMARY KEY, name TEXT, key TEXT, state TEXT NOT NULL, spec TEXT NOT NULL,  data_hash TEXT, priority INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,  max_retries INTEGER NOT NULL DEFAULT 3, worker TEXT,  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,  not_before INTEGER NOT NULL DEFAULT 0, attempt_started_at INTEGER,  resumed_from_epoch INTEGER NOT NULL DEFAULT 0, metrics TEXT, error TEXT,  model_hash TEXT, checkpoint_hash TEXT, checkpoint_epoch INTEGER NOT NULL DEFAULT 0,  client TEXT, time_limit_s INTEGER NOT NULL DEFAULT 0, init_hash TEXT, worker_instance TEXT, worker_key TEXT, val_data_hash TEXT, sweep INTEGER, params TEXT);
INSERT INTO jobs VALUES(1,'done',NULL,'succeeded','{"target":"y","data_path":"/x.csv"}',NULL,0,1,3,'h:1',1000,2000,3000,0,NULL,0,'{"loss":0.5}',NULL,'aa',NULL,0,NULL,0,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO jobs VALUES(2,'resumed',NULL,'running','{"target":"y","data_path":"/x.csv"}',NULL,0,2,3,'h:2',1100,2100,NULL,0,5000,3,NULL,NULL,NULL,'cc',3,NULL,0,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO jobs VALUES(3,'keyed','key-1','queued','{"target":"y","data_path":"/x.csv"}',NULL,0,0,3,NULL,1200,NULL,NULL,0,NULL,0,NULL,NULL,NULL,NULL,0,NULL,0,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO jobs VALUES(4,'plain',NULL,'queued','{"target":"y","data_path":"/x.csv"}',NULL,5,0,3,NULL,1300,NULL,NULL,0,NULL,0,NULL,NULL,NULL,NULL,0,NULL,0,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO jobs VALUES(5,'warm',NULL,'queued','{"target":"y","data_path":"/x.csv","init_hash":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","time_limit_s":90}',NULL,0,0,3,NULL,1400,NULL,NULL,0,NULL,0,NULL,NULL,NULL,NULL,0,NULL,90,'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',NULL,NULL,NULL,NULL,NULL);
CREATE TABLE progress (
  job INTEGER NOT NULL, attempt INTEGER NOT NULL, at INTEGER NOT NULL,
  epoch INTEGER, step INTEGER, loss REAL, val_loss REAL, val_metric REAL, epochs INTEGER, steps INTEGER, samples_per_sec REAL, eta_s REAL, metrics TEXT);
INSERT INTO progress VALUES(1,1,2500,1,10,0.9000000000000000222,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO progress VALUES(1,1,2900,2,20,0.5,NULL,NULL,2,20,400.0,0.0,NULL);
INSERT INTO progress VALUES(2,1,3000,3,30,0.4000000000000000222,0.4500000000000000111,0.69999999999999995559,NULL,NULL,NULL,NULL,NULL);
INSERT INTO progress VALUES(2,2,5900,4,40,0.25,0.29999999999999998889,0.75,10,100,300.0,12.5,NULL);
CREATE TABLE sweeps (  id INTEGER PRIMARY KEY, name TEXT, owner TEXT, spec TEXT NOT NULL, space TEXT NOT NULL,  search TEXT NOT NULL, seed INTEGER NOT NULL, trials INTEGER NOT NULL,  parallel INTEGER NOT NULL, early_stop TEXT NOT NULL, min_epochs INTEGER NOT NULL,  reduction INTEGER NOT NULL, metric TEXT NOT NULL, mode TEXT NOT NULL,  state TEXT NOT NULL, created_at INTEGER NOT NULL);
INSERT INTO sweeps VALUES(1,'grid',NULL,'{"target":"y","data_hash":"aa"}','{"lr":[0.1,0.01]}','grid',0,2,1,'asha',1,3,'val_loss','min','stopped',5000);
CREATE TABLE sweep_trials (  sweep INTEGER NOT NULL, trial INTEGER NOT NULL, params TEXT NOT NULL, job INTEGER,  runs INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (sweep, trial)) WITHOUT ROWID;
INSERT INTO sweep_trials VALUES(1,0,'{"lr":0.1}',NULL,0);
INSERT INTO sweep_trials VALUES(1,1,'{"lr":0.01}',NULL,0);
CREATE TABLE rungs (  sweep INTEGER NOT NULL, rung INTEGER NOT NULL, job INTEGER NOT NULL, value REAL,  epoch INTEGER NOT NULL, decision TEXT NOT NULL, cutoff REAL,  PRIMARY KEY (sweep, rung, job)) WITHOUT ROWID;
CREATE TABLE sweep_epochs (  sweep INTEGER NOT NULL, job INTEGER NOT NULL, epoch INTEGER NOT NULL, value REAL,  PRIMARY KEY (sweep, job, epoch)) WITHOUT ROWID;
INSERT INTO sweep_epochs VALUES(1,7,1,0.5);
INSERT INTO sweep_epochs VALUES(1,7,2,0.25);
CREATE INDEX progress_job ON progress (job, attempt);
CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;
CREATE INDEX jobs_sweep ON jobs (sweep) WHERE sweep IS NOT NULL;
COMMIT;
PRAGMA user_version = 9;
