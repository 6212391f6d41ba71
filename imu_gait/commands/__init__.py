"""Subcommands of the ``imu-gait`` CLI, one module each (see imu_gait.cli)."""
