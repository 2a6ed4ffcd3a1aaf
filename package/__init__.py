"""sales-scorecard: real-time sales performance engine.

Sub-packages: ``core`` (pure KPI, period, target, commission math), ``schemas``
(event contracts and validation), ``streams`` (Faust app, topics, tables, settings,
web views), ``agents`` (Faust agents), ``cli`` (the ``scorecard`` command) and
``localkafka`` (the local Apache Kafka broker for development and tests).
"""

__version__ = "0.1.0"
