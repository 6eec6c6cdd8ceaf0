-- Every task run changes state several times (pending → ready → running → success), and the state
-- is in the WHERE of the claim's partial index, so dead index entries pile up fast under load: the
-- scheduler bench saw a 10-row claim touch ~240 buffers after 50,000 tasks. Vacuum task_run after
-- 1 % of its rows changed instead of the default 20 %.
ALTER TABLE "dfm"."task_run" SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
