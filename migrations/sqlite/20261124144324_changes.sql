-- Create "volumes" table
CREATE TABLE `volumes` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `host_path` text NOT NULL, `kind` text NOT NULL, PRIMARY KEY (`id`));
-- Create index "volumes_name_key" to table: "volumes"
CREATE UNIQUE INDEX `volumes_name_key` ON `volumes` (`name`);
-- Create "volume_mounts" table
CREATE TABLE `volume_mounts` (`id` text NOT NULL, `target` text NOT NULL, `read_only` bool NOT NULL DEFAULT (false), `app_volume_mounts` text NOT NULL, `volume_mounts` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `volume_mounts_apps_volume_mounts` FOREIGN KEY (`app_volume_mounts`) REFERENCES `apps` (`id`) ON DELETE CASCADE, CONSTRAINT `volume_mounts_volumes_mounts` FOREIGN KEY (`volume_mounts`) REFERENCES `volumes` (`id`) ON DELETE NO ACTION);
-- Create index "volumemount_app_volume_mounts_volume_mounts" to table: "volume_mounts"
CREATE UNIQUE INDEX `volumemount_app_volume_mounts_volume_mounts` ON `volume_mounts` (`app_volume_mounts`, `volume_mounts`);
