"""Cipher adapters: secret values encrypted at rest (``hostler.core.ports.Cipher``)."""
