-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_apps" table
CREATE TABLE `new_apps` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `location` text NOT NULL, `image` text NOT NULL, `installation_state` text NOT NULL DEFAULT ('pending_install'), `run_state` text NOT NULL DEFAULT ('stopped'), `error` json NULL, `port_bindings` json NULL, `env` json NULL, `cpu_quota` integer NOT NULL DEFAULT (100), `memory_limit` integer NOT NULL DEFAULT (268435456), `notes` text NULL, `checklist` json NULL, `mail_server_fqdn` bool NOT NULL DEFAULT (false), `container_id` text NULL, `app_backup_site` text NULL, PRIMARY KEY (`id`), CONSTRAINT `apps_backup_sites_backup_site` FOREIGN KEY (`app_backup_site`) REFERENCES `backup_sites` (`id`) ON DELETE SET NULL);
-- Copy rows from old table "apps" to new temporary table "new_apps"
INSERT INTO `new_apps` (`id`, `created_at`, `updated_at`, `location`, `image`, `installation_state`, `run_state`, `error`, `port_bindings`, `env`, `cpu_quota`, `memory_limit`, `notes`, `checklist`, `mail_server_fqdn`, `container_id`, `app_backup_site`) SELECT `id`, `created_at`, `updated_at`, `location`, `image`, `installation_state`, `run_state`, `error`, `port_bindings`, `env`, `cpu_quota`, `memory_limit`, `notes`, `checklist`, `mail_server_fqdn`, `container_id`, `app_backup_site` FROM `apps`;
-- Drop "apps" table after copying rows
DROP TABLE `apps`;
-- Rename temporary table "new_apps" to "apps"
ALTER TABLE `new_apps` RENAME TO `apps`;
-- Create index "apps_location_key" to table: "apps"
CREATE UNIQUE INDEX `apps_location_key` ON `apps` (`location`);
-- Create "new_exec_runs" table
CREATE TABLE `new_exec_runs` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `container_id` text NOT NULL, `name` text NOT NULL, `once` bool NOT NULL DEFAULT (false), `once_key` text NULL, `command` text NOT NULL, `args` json NULL, `env` json NULL, `state` text NOT NULL DEFAULT ('starting'), `exit_code` integer NULL, `stdout` text NULL, `stderr` text NULL, `output_cap` integer NOT NULL DEFAULT (0), `truncated` bool NOT NULL DEFAULT (false), `started_at` datetime NULL, `finished_at` datetime NULL, `app_exec_runs` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `exec_runs_apps_exec_runs` FOREIGN KEY (`app_exec_runs`) REFERENCES `apps` (`id`) ON DELETE CASCADE);
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
-- Create "new_tasks" table
CREATE TABLE `new_tasks` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `type` text NOT NULL, `state` text NOT NULL DEFAULT ('pending'), `percent` integer NOT NULL DEFAULT (0), `message` text NOT NULL DEFAULT (''), `log_lines` integer NOT NULL DEFAULT (0), `error` json NULL, `result` json NULL, `args` json NULL, `priority` integer NOT NULL DEFAULT (0), `lock_keys` json NULL, `pid` integer NULL, `host` text NULL, `deadline` datetime NULL, `started_at` datetime NULL, `finished_at` datetime NULL, `app_tasks` text NULL, `user_created_tasks` text NULL, PRIMARY KEY (`id`), CONSTRAINT `tasks_apps_tasks` FOREIGN KEY (`app_tasks`) REFERENCES `apps` (`id`) ON DELETE SET NULL, CONSTRAINT `tasks_users_created_tasks` FOREIGN KEY (`user_created_tasks`) REFERENCES `users` (`id`) ON DELETE SET NULL);
-- Copy rows from old table "tasks" to new temporary table "new_tasks"
INSERT INTO `new_tasks` (`id`, `created_at`, `updated_at`, `type`, `state`, `percent`, `message`, `error`, `result`, `args`, `priority`, `lock_keys`, `pid`, `host`, `deadline`, `started_at`, `finished_at`, `app_tasks`, `user_created_tasks`) SELECT `id`, `created_at`, `updated_at`, `type`, `state`, `percent`, `message`, `error`, `result`, `args`, `priority`, `lock_keys`, `pid`, `host`, `deadline`, `started_at`, `finished_at`, `app_tasks`, `user_created_tasks` FROM `tasks`;
-- Drop "tasks" table after copying rows
DROP TABLE `tasks`;
-- Rename temporary table "new_tasks" to "tasks"
ALTER TABLE `new_tasks` RENAME TO `tasks`;
-- Create index "task_state_priority_created_at" to table: "tasks"
CREATE INDEX `task_state_priority_created_at` ON `tasks` (`state`, `priority`, `created_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
