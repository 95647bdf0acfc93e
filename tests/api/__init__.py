"""Tests of the REST API: authentication, schema, each resource, and role scoping."""
