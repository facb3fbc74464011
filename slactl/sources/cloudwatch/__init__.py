"""The CloudWatch source: ``source`` is the adapter (boto3), ``latency`` turns percentile ranks into buckets."""
