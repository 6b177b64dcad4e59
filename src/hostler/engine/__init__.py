"""The run shepherd: dispatch by the DAG and the limits, task execution, log collection."""
