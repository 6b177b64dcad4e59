"""The domain: entities, state machines, DAG rules, variables, errors and ports. No I/O here."""
