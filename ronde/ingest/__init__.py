"""Ingest: MQTT visit events → verified, deduplicated, enriched store records (docs/ingest.md).

Public entry points: ``consumer.IngestWorker`` (one worker; ``run()`` or ``start()``/``stop()``;
its parts: ``source.MessageSource``/``PahoSource``, ``writer.BatchWriter``, ``maintenance.MaintenanceRunner``),
``config.IngestConfig`` / ``config.load_config``, ``gateways.load_gateways``,
``validate.validate`` (pure), ``gaps.record_gaps``, ``rollup.RollupScheduler``; the command is
``ronde ingest run|retire|gaps|gateways check``.
"""
