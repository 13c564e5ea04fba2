"""The Ory clients (Hydra, Kratos) over one HTTP layer, and their typed models: nothing else lives here."""
