-- Create "api_tokens" table
CREATE TABLE `api_tokens` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL DEFAULT (''), `kind` text NOT NULL, `secret_hash` text NOT NULL, `hint` text NOT NULL DEFAULT (''), `role` text NOT NULL, `expires_at` datetime NULL, `last_used_at` datetime NULL, `user_tokens` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `api_tokens_users_tokens` FOREIGN KEY (`user_tokens`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Create index "api_tokens_secret_hash_key" to table: "api_tokens"
CREATE UNIQUE INDEX `api_tokens_secret_hash_key` ON `api_tokens` (`secret_hash`);
-- Create "apps" table
CREATE TABLE `apps` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `location` text NOT NULL, `image` text NOT NULL, `installation_state` text NOT NULL DEFAULT ('pending_install'), `run_state` text NOT NULL DEFAULT ('stopped'), `error` json NULL, `port_bindings` json NULL, `env` json NULL, `cpu_quota` integer NOT NULL DEFAULT (100), `memory_limit` integer NOT NULL DEFAULT (268435456), `notes` text NOT NULL DEFAULT (''), `checklist` json NULL, `mail_server_fqdn` bool NOT NULL DEFAULT (false), `container_id` text NULL, `app_backup_site` text NULL, PRIMARY KEY (`id`), CONSTRAINT `apps_backup_sites_backup_site` FOREIGN KEY (`app_backup_site`) REFERENCES `backup_sites` (`id`) ON DELETE SET NULL);
-- Create index "apps_location_key" to table: "apps"
CREATE UNIQUE INDEX `apps_location_key` ON `apps` (`location`);
-- Create "archives" table
CREATE TABLE `archives` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `icon` blob NULL, `app_store_icon` blob NULL, `app_config` json NOT NULL, `backup_archive` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `archives_backups_archive` FOREIGN KEY (`backup_archive`) REFERENCES `backups` (`id`) ON DELETE NO ACTION);
-- Create index "archives_backup_archive_key" to table: "archives"
CREATE UNIQUE INDEX `archives_backup_archive_key` ON `archives` (`backup_archive`);
-- Create "backups" table
CREATE TABLE `backups` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `state` text NOT NULL DEFAULT ('creating'), `remote_path` text NOT NULL DEFAULT (''), `size` integer NOT NULL DEFAULT (0), `image` text NULL, `app_config` json NULL, `error` json NULL, `finished_at` datetime NULL, `app_backups` text NULL, `backup_site_backups` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `backups_apps_backups` FOREIGN KEY (`app_backups`) REFERENCES `apps` (`id`) ON DELETE SET NULL, CONSTRAINT `backups_backup_sites_backups` FOREIGN KEY (`backup_site_backups`) REFERENCES `backup_sites` (`id`) ON DELETE NO ACTION);
-- Create index "backup_state_created_at" to table: "backups"
CREATE INDEX `backup_state_created_at` ON `backups` (`state`, `created_at`);
-- Create "backup_sites" table
CREATE TABLE `backup_sites` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `provider` text NOT NULL, `config` json NULL, `format` text NOT NULL DEFAULT ('tgz'), `encryption_passphrase` text NULL, `schedule` text NOT NULL DEFAULT (''), `retention` json NULL, `enable_for_updates` bool NOT NULL DEFAULT (false), PRIMARY KEY (`id`));
-- Create index "backup_sites_name_key" to table: "backup_sites"
CREATE UNIQUE INDEX `backup_sites_name_key` ON `backup_sites` (`name`);
-- Create "commands" table
CREATE TABLE `commands` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `author` text NOT NULL, `target` text NOT NULL, `command` text NOT NULL, `properties` json NULL, `is_consumed` bool NOT NULL DEFAULT (false), `consumed_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "command_target_is_consumed" to table: "commands"
CREATE INDEX `command_target_is_consumed` ON `commands` (`target`, `is_consumed`);
-- Create "exec_runs" table
CREATE TABLE `exec_runs` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `container_id` text NOT NULL, `name` text NOT NULL, `once` bool NOT NULL DEFAULT (false), `once_key` text NULL, `command` text NOT NULL, `args` json NULL, `env` json NULL, `state` text NOT NULL DEFAULT ('starting'), `exit_code` integer NULL, `stdout` text NOT NULL DEFAULT (''), `stderr` text NOT NULL DEFAULT (''), `output_cap` integer NOT NULL DEFAULT (0), `truncated` bool NOT NULL DEFAULT (false), `started_at` datetime NULL, `finished_at` datetime NULL, `app_exec_runs` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `exec_runs_apps_exec_runs` FOREIGN KEY (`app_exec_runs`) REFERENCES `apps` (`id`) ON DELETE CASCADE);
-- Create index "exec_runs_once_key_key" to table: "exec_runs"
CREATE UNIQUE INDEX `exec_runs_once_key_key` ON `exec_runs` (`once_key`);
-- Create index "execrun_container_id_name" to table: "exec_runs"
CREATE INDEX `execrun_container_id_name` ON `exec_runs` (`container_id`, `name`);
-- Create "locks" table
CREATE TABLE `locks` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `key` text NOT NULL, `version` integer NOT NULL DEFAULT (0), `holder` text NOT NULL DEFAULT (''), `holder_pid` integer NULL, `holder_host` text NOT NULL DEFAULT (''), `acquired_at` datetime NULL, `expires_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "locks_key_key" to table: "locks"
CREATE UNIQUE INDEX `locks_key_key` ON `locks` (`key`);
-- Create "tasks" table
CREATE TABLE `tasks` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `type` text NOT NULL, `state` text NOT NULL DEFAULT ('pending'), `percent` integer NOT NULL DEFAULT (0), `message` text NOT NULL DEFAULT (''), `error` json NULL, `result` json NULL, `args` json NULL, `priority` integer NOT NULL DEFAULT (0), `lock_keys` json NULL, `pid` integer NULL, `host` text NULL, `deadline` datetime NULL, `started_at` datetime NULL, `finished_at` datetime NULL, `app_tasks` text NULL, `user_created_tasks` text NULL, PRIMARY KEY (`id`), CONSTRAINT `tasks_apps_tasks` FOREIGN KEY (`app_tasks`) REFERENCES `apps` (`id`) ON DELETE SET NULL, CONSTRAINT `tasks_users_created_tasks` FOREIGN KEY (`user_created_tasks`) REFERENCES `users` (`id`) ON DELETE SET NULL);
-- Create index "task_state_priority_created_at" to table: "tasks"
CREATE INDEX `task_state_priority_created_at` ON `tasks` (`state`, `priority`, `created_at`);
-- Create "users" table
CREATE TABLE `users` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `username` text NOT NULL, `password_hash` text NOT NULL, `role` text NOT NULL DEFAULT ('user'), `disabled` bool NOT NULL DEFAULT (false), PRIMARY KEY (`id`));
-- Create index "users_username_key" to table: "users"
CREATE UNIQUE INDEX `users_username_key` ON `users` (`username`);
-- Create "app_operators" table
CREATE TABLE `app_operators` (`app_id` text NOT NULL, `user_id` text NOT NULL, PRIMARY KEY (`app_id`, `user_id`), CONSTRAINT `app_operators_app_id` FOREIGN KEY (`app_id`) REFERENCES `apps` (`id`) ON DELETE CASCADE, CONSTRAINT `app_operators_user_id` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Create "backup_parts" table
CREATE TABLE `backup_parts` (`backup_id` text NOT NULL, `full_backup_id` text NOT NULL, PRIMARY KEY (`backup_id`, `full_backup_id`), CONSTRAINT `backup_parts_backup_id` FOREIGN KEY (`backup_id`) REFERENCES `backups` (`id`) ON DELETE CASCADE, CONSTRAINT `backup_parts_full_backup_id` FOREIGN KEY (`full_backup_id`) REFERENCES `backups` (`id`) ON DELETE CASCADE);
