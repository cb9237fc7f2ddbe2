"""Ingest: MQTT visit events → verified, deduplicated, enriched store records (docs/ingest.md).

Public entry points: ``consumer.IngestWorker`` (one worker; ``run()`` or ``start()``/``stop()``;
its parts: ``source.MessageSource``/``PahoSource``, ``writer.BatchWriter``, ``maintenance.MaintenanceRunner``),
``config.IngestConfig`` (``config.from_settings``: from ``ronde.settings``),
``validate.validate`` (pure), ``gaps.record_gaps``, ``rollup.RollupScheduler``; the command is
``ronde ingest run|retire|gaps|gateways check``.
"""
