"""Object store adapters: content-addressed blobs (``hostler.core.ports.ObjectStore``)."""
