-- Modify "apps" table
ALTER TABLE `apps` MODIFY COLUMN `notes` longtext NULL;
-- Modify "exec_runs" table
ALTER TABLE `exec_runs` MODIFY COLUMN `stdout` longtext NULL, MODIFY COLUMN `stderr` longtext NULL;
-- Modify "tasks" table
ALTER TABLE `tasks` ADD COLUMN `log_lines` bigint NOT NULL DEFAULT 0;
