"""The bridge keeps no models of its own: what it reads (tenants, claims) lives in truss.models."""
