-- compose.yaml: one PostgreSQL server, one database per service.
CREATE DATABASE hydra OWNER truss;
CREATE DATABASE kratos OWNER truss;
