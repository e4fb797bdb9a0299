/** Kafka settings by name, as in server.properties (`num.partitions`, `log.retention.ms`, ...). */
export type ConfigValues = Record<string, string | number | boolean>;
