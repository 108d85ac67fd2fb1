"""Loopback fakes users run to rehearse for free (`sdfgen fake-api`); not part of the pipeline.

They speak the real HTTP protocols, so the real client libraries talk to them unchanged.
"""
