-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_exec_runs" table
CREATE TABLE `new_exec_runs` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `container_id` text NOT NULL, `name` text NOT NULL, `once` bool NOT NULL DEFAULT (false), `once_key` text NULL, `command` text NOT NULL, `args` json NULL, `env` json NULL, `state` text NOT NULL DEFAULT ('starting'), `exit_code` integer NULL, `stdout` text NULL, `stderr` text NULL, `output_cap` integer NOT NULL DEFAULT (0), `truncated` bool NOT NULL DEFAULT (false), `started_at` datetime NULL, `finished_at` datetime NULL, `app_exec_runs` text NOT NULL, `exec_run_task` text NULL, PRIMARY KEY (`id`), CONSTRAINT `exec_runs_apps_exec_runs` FOREIGN KEY (`app_exec_runs`) REFERENCES `apps` (`id`) ON DELETE CASCADE, CONSTRAINT `exec_runs_tasks_task` FOREIGN KEY (`exec_run_task`) REFERENCES `tasks` (`id`) ON DELETE SET NULL);
-- Copy rows from old table "exec_runs" to new temporary table "new_exec_runs"
INSERT INTO `new_exec_runs` (`id`, `created_at`, `updated_at`, `container_id`, `name`, `once`, `once_key`, `command`, `args`, `env`, `state`, `exit_code`, `stdout`, `stderr`, `output_cap`, `truncated`, `started_at`, `finished_at`, `app_exec_runs`) SELECT `id`, `created_at`, `updated_at`, `container_id`, `name`, `once`, `once_key`, `command`, `args`, `env`, `state`, `exit_code`, `stdout`, `stderr`, `output_cap`, `truncated`, `started_at`, `finished_at`, `app_exec_runs` FROM `exec_runs`;
-- Drop "exec_runs" table after copying rows
DROP TABLE `exec_runs`;
-- Rename temporary table "new_exec_runs" to "exec_runs"
ALTER TABLE `new_exec_runs` RENAME TO `exec_runs`;
-- Create index "exec_runs_once_key_key" to table: "exec_runs"
CREATE UNIQUE INDEX `exec_runs_once_key_key` ON `exec_runs` (`once_key`);
-- Create index "execrun_container_id_name" to table: "exec_runs"
CREATE INDEX `execrun_container_id_name` ON `exec_runs` (`container_id`, `name`);
-- Create "port_claims" table
CREATE TABLE `port_claims` (`id` text NOT NULL, `port` integer NOT NULL, `proto` text NOT NULL, `env_var` text NOT NULL, `app_port_claims` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `port_claims_apps_port_claims` FOREIGN KEY (`app_port_claims`) REFERENCES `apps` (`id`) ON DELETE CASCADE);
-- Create index "portclaim_port_proto" to table: "port_claims"
CREATE UNIQUE INDEX `portclaim_port_proto` ON `port_claims` (`port`, `proto`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
