"""Fakes with behaviour for the platforms newsbot talks to (loopback servers, no mocks)."""
