-- Create "metric_samples" table
CREATE TABLE `metric_samples` (`id` text NOT NULL, `app_id` text NULL, `at` datetime NOT NULL, `cpu_percent` real NOT NULL, `memory_bytes` integer NOT NULL, `memory_limit` integer NOT NULL, `net_rx` integer NOT NULL, `net_tx` integer NOT NULL, `block_read` integer NOT NULL, `block_write` integer NOT NULL, PRIMARY KEY (`id`));
-- Create index "metricsample_app_id_at" to table: "metric_samples"
CREATE INDEX `metricsample_app_id_at` ON `metric_samples` (`app_id`, `at`);
-- Create index "metricsample_at" to table: "metric_samples"
CREATE INDEX `metricsample_at` ON `metric_samples` (`at`);
