"""The REST API under ``/api/v1``: app factory, routes per resource, wire schemas, error mapping.

Routes translate HTTP to use cases in ``hostler.services`` and back; they hold no domain logic.
"""
