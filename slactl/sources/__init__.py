"""Metrics sources: a Protocol (``base.Source``) and the built-in adapters.

The built-in adapters are imported only when a config uses their type (see
``base.build``): the CloudWatch adapter brings boto3, which costs every run that
never talks to AWS a noticeable fraction of a second.
"""
