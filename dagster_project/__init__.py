"""The Dagster code location: definitions, jobs and schedule, sensors, executors."""
